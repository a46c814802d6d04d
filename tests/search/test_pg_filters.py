"""``where`` filters compiled for PostgreSQL (jsonb) and run by a real server.

The same cases, reference evaluator and random filters as ``test_filters.py`` (SQLite):
both backends must give every filter the same meaning.
"""

from __future__ import annotations

import json
import random

import psycopg
import pytest
from test_filters import (
    ALL,
    DOCS,
    EVIL,
    OPERATOR_CASES,
    nested,
    random_doc,
    random_filter,
    ref_ids,
    ref_match,
)

from semkit.search.backends.pg_filters import compile_where_pg

DOCS_SQL = "CREATE TEMP TABLE documents (id text, text text, metadata jsonb NOT NULL)"


@pytest.fixture(scope="module")
def pg(pg_server):
    conn = psycopg.connect(pg_server.get_uri(), autocommit=True)
    conn.execute(DOCS_SQL)
    load(conn, DOCS)
    yield conn
    conn.close()


def load(conn, docs) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO documents VALUES (%s, %s, %s::jsonb)",
            [(i, t, json.dumps(m, ensure_ascii=False)) for i, t, m in docs],
        )


def pg_ids(conn, where) -> set[str]:
    sql, params = compile_where_pg(where)
    return {r[0] for r in conn.execute(f"SELECT d.id FROM documents d WHERE {sql}", params)}


@pytest.mark.parametrize(("where", "expected"), OPERATOR_CASES)
def test_operator(pg, where, expected):
    assert ref_ids(where) == expected
    assert pg_ids(pg, where) == expected


def test_values_travel_as_parameters_and_every_fragment_is_true_or_false(pg):
    sql, params = compile_where_pg({EVIL: {"$in": [EVIL, "'", "%"]}, "$contains": EVIL})
    assert EVIL not in sql and "DROP" not in sql and EVIL in params
    assert pg_ids(pg, {EVIL: "evil key"}) == {"keys"}
    assert pg.execute("SELECT count(*) FROM documents").fetchone() == (len(DOCS),)
    for where in ({"missing": {"$gt": 1}}, {"tags": {"$contains": "x"}}, {"year": {"$nin": [1]}}):
        sql, params = compile_where_pg(where)
        values = {r[0] for r in pg.execute(f"SELECT {sql} FROM documents d", params)}
        assert values <= {True, False}, where
    assert pg_ids(pg, None) == pg_ids(pg, {}) == ALL


@pytest.mark.parametrize("shape", ["not", "and-last", "or-first", "not-and", "field-not"])
def test_deepest_allowed_filters_run(pg, shape):
    from semkit.search.filters import MAX_DEPTH

    where = nested(MAX_DEPTH, shape)
    assert pg_ids(pg, where) == ref_ids(where)


def test_long_in_lists_are_one_parameter(pg):
    values = [*range(5000), "la", "fr"]
    sql, _ = compile_where_pg({"lang": {"$in": values}})
    assert sql.count("%s") == 2  # the field name and one array of values
    assert pg_ids(pg, {"lang": {"$in": values}}) == {"latin", "real", "mixed"}


def test_bad_filters_are_refused_as_on_sqlite():
    from semkit.errors import InputError

    with pytest.raises(InputError, match="did you mean"):
        compile_where_pg({"year": {"$gtt": 1}})


@pytest.mark.parametrize("seed", range(2))
def test_postgres_agrees_with_the_reference_on_random_filters(pg_server, seed):
    rng = random.Random(seed)
    docs = DOCS + [random_doc(rng, i) for i in range(250)]
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(DOCS_SQL)
        load(conn, docs)
        interesting = 0
        for _ in range(500):
            where = random_filter(rng)
            want = {doc_id for doc_id, text, meta in docs if ref_match(text, meta, where)}
            assert pg_ids(conn, where) == want, where
            interesting += 0 < len(want) < len(docs)
        assert interesting > 250
