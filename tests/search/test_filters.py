"""``where`` filters compiled to SQL and run by a real SQLite over the documents table.

Every expectation is checked three ways: the hand-written ids, the SQL result, and
a small pure-Python reference evaluator of the documented semantics (``ref_match``),
which the differential tests then compare with SQLite over many random filters.
"""

from __future__ import annotations

import json
import operator
import random
import sqlite3
from typing import Any

import pytest

from semkit.errors import InputError, SemkitError
from semkit.search.filters import (
    FIELD_OPERATORS,
    MAX_CONDITIONS,
    MAX_DEPTH,
    TOP_LEVEL_OPERATORS,
    compile_where,
    validate_where,
)

SCHEMA = """
CREATE TABLE documents(
  rowid INTEGER PRIMARY KEY AUTOINCREMENT,
  collection_id INTEGER NOT NULL,
  id TEXT NOT NULL,
  text TEXT,
  metadata TEXT NOT NULL DEFAULT '{}'
)
"""
EVIL = "x'); DROP TABLE documents; --"

# (id, text, metadata) in collection 1
DOCS: list[tuple[str, str | None, dict[str, Any]]] = [
    (
        "fox",
        "The quick brown fox jumps",
        {
            "year": 2020,
            "lang": "en",
            "tags": ["animals", "fox"],
            "rating": 4.5,
            "draft": False,
            "author": {"name": "Ann", "age": 34},
        },
    ),
    (
        "latin",
        "Lorem ipsum dolor",
        {
            "year": 2021,
            "lang": "la",
            "tags": ["latin"],
            "rating": 3,
            "draft": True,
            "author": {"name": "Bob"},
        },
    ),
    ("strnum", None, {"year": "2020", "lang": "en", "tags": "fox terrier", "rating": "4.5"}),
    (
        "real",
        "Café au lait, naïve résumé",
        {"year": 2019.0, "lang": "fr", "flag": 1, "tags": [], "rating": 0.1},
    ),
    ("empty", "", {}),
    (
        "mixed",
        "MIXED case Fox",
        {
            "year": None,
            "flag": True,
            "tags": [True, 1, None, "x", 2.5, ["fox"], {"k": "fox"}],
            "lang": ["en", "fr"],
        },
    ),
    (
        "keys",
        "odd keys",
        {
            "a.b": "dotted key",
            "a": {"b": "nested"},
            "it's": "single quote",
            "sp ace": 7,
            "日本": "語",
            "a[0]": "brackets",
            EVIL: "evil key",
        },
    ),
    ("text", "abc 2020", {"year": "abc", "rating": "high", "author": "Anonymous", "flag": False}),
    (
        "neg",
        "Ünïcödé 😀 text",
        {
            "year": -5,
            "rating": -0.0,
            "lang": "EN",
            "author": {"name": None, "age": "34"},
            "flag": 0,
            "emoji": "😀",
        },
    ),
    (
        "deep",
        "deep nest",
        {
            "nested": {"deep": {"x": 1}},
            "author": {"name": "Ann"},
            "year": 2022,
            "tags": [2020, 2021],
        },
    ),
    ("nulls", "nulls", {"year": None, "lang": None, "tags": [None], "author": None}),
    ("pct", "100% sure_thing", {"year": 1999}),
]
ALL = {doc_id for doc_id, _, _ in DOCS}


def make_db(docs: list[tuple[str, str | None, dict[str, Any]]]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(SCHEMA)
    rows = [(1, i, t, json.dumps(m, ensure_ascii=False)) for i, t, m in docs]
    # a decoy in another collection that matches almost anything
    rows.append((2, "other", "fox", json.dumps({"lang": "en", "year": 2020, "tags": ["fox"]})))
    conn.executemany(
        "INSERT INTO documents(collection_id, id, text, metadata) VALUES (?,?,?,?)", rows
    )
    return conn


@pytest.fixture(scope="module")
def docs_db():
    conn = make_db(DOCS)
    yield conn
    conn.close()


def sql_ids(docs_db: sqlite3.Connection, where: dict[str, Any] | None) -> set[str]:
    sql, params = compile_where(where)
    rows = docs_db.execute(
        f"SELECT d.id FROM documents d WHERE d.collection_id = ? AND {sql}", [1, *params]
    )
    return {row[0] for row in rows}


def ref_ids(where: dict[str, Any] | None, docs=DOCS) -> set[str]:
    return {doc_id for doc_id, text, meta in docs if ref_match(text, meta, where or {})}


def check(docs_db: sqlite3.Connection, where: dict[str, Any], expected: set[str]) -> None:
    assert ref_ids(where) == expected, "the reference evaluator disagrees with the test"
    assert sql_ids(docs_db, where) == expected


# --- the reference evaluator ---------------------------------------------------------------

MISSING = object()
RANGES = {"$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}


def ref_match(text: str | None, meta: dict[str, Any], where: dict[str, Any]) -> bool:
    for key, value in where.items():
        if key == "$and":
            ok = all(ref_match(text, meta, f) for f in value)
        elif key == "$or":
            ok = any(ref_match(text, meta, f) for f in value)
        elif key == "$not":
            ok = not ref_match(text, meta, value)
        elif key == "$contains":
            ok = text is not None and value in text
        else:
            ok = ref_field(resolve(meta, key), value)
        if not ok:
            return False
    return True


def resolve(meta: Any, name: str) -> Any:
    for segment in name.split("."):
        if not isinstance(meta, dict) or segment not in meta:
            return MISSING
        meta = meta[segment]
    return meta


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "other"


def same(x: Any, q: Any) -> bool:
    return kind(x) == kind(q) != "other" and x == q


def any_value(v: Any, test) -> bool:
    """The value itself, or any element of an array value, passes ``test``."""
    return test(v) or (isinstance(v, list) and any(test(e) for e in v))


def ref_eq(v: Any, q: Any) -> bool:
    return (q is None and v is MISSING) or any_value(v, lambda x: same(x, q))


def ref_field(v: Any, cond: Any) -> bool:
    if not isinstance(cond, dict):
        return ref_eq(v, cond)
    return all(ref_op(v, op, q) for op, q in cond.items())


def ref_op(v: Any, op: str, q: Any) -> bool:
    if op == "$eq":
        return ref_eq(v, q)
    if op == "$ne":
        return not ref_eq(v, q)
    if op in RANGES:
        return any_value(v, lambda x: kind(x) == kind(q) and RANGES[op](x, q))
    if op == "$in":
        return any(ref_eq(v, x) for x in q)
    if op == "$nin":
        return not any(ref_eq(v, x) for x in q)
    if op == "$exists":
        return (v is not MISSING) == q
    if op == "$contains":
        if isinstance(v, str):
            return isinstance(q, str) and q in v
        return isinstance(v, list) and any(same(e, q) for e in v)
    if op == "$not":
        return not ref_field(v, q)
    raise AssertionError(op)


# --- the API -------------------------------------------------------------------------------


def test_empty_filters_match_everything(docs_db):
    assert compile_where(None) == ("1", [])
    assert compile_where({}) == ("1", [])
    assert sql_ids(docs_db, None) == sql_ids(docs_db, {}) == ALL
    assert validate_where(None) is None
    assert validate_where({"year": {"$gt": 2020}}) is None


def test_compiled_sql_binds_every_value(docs_db):
    sql, params = compile_where({"year": {"$gt": 2020}})
    assert "2020" not in sql and "year" not in sql
    assert params.count('$."year"') >= 1 and 2020 in params
    assert sql.startswith("(") and sql.endswith(")")


def test_the_documented_query_shape_and_other_collections(docs_db):
    sql, params = compile_where({"lang": "en"})
    rows = docs_db.execute(
        f"SELECT rowid FROM documents d WHERE d.collection_id = ? AND {sql}", [1, *params]
    ).fetchall()
    assert len(rows) == 3  # the decoy in collection 2 is not among them
    sql, params = compile_where({"lang": "en"}, alias="docs")
    rows = docs_db.execute(f"SELECT docs.id FROM documents docs WHERE {sql}", params).fetchall()
    assert sorted(r[0] for r in rows) == ["fox", "mixed", "other", "strnum"]


def test_alias_must_be_an_identifier():
    for alias in ("d; DROP TABLE documents", "d.x", "", "1d", 'd"'):
        with pytest.raises(InputError, match="alias"):
            compile_where({"lang": "en"}, alias=alias)


# --- operators -----------------------------------------------------------------------------


OPERATOR_CASES: list[tuple[dict[str, Any], set[str]]] = [
    # implicit and explicit equality; types never mix; strings are case-sensitive
    ({"lang": "en"}, {"fox", "strnum", "mixed"}),
    ({"lang": {"$eq": "en"}}, {"fox", "strnum", "mixed"}),
    ({"lang": "EN"}, {"neg"}),
    ({"year": 2020}, {"fox"}),
    ({"year": 2020.0}, {"fox"}),
    ({"year": 2019}, {"real"}),
    ({"year": "2020"}, {"strnum"}),
    ({"rating": 0}, {"neg"}),
    ({"emoji": "😀"}, {"neg"}),
    # booleans are not numbers
    ({"flag": True}, {"mixed"}),
    ({"flag": 1}, {"real"}),
    ({"flag": False}, {"text"}),
    ({"flag": 0}, {"neg"}),
    ({"draft": False}, {"fox"}),
    # arrays match through their elements (not nested arrays or objects)
    ({"tags": "fox"}, {"fox"}),
    ({"tags": True}, {"mixed"}),
    ({"tags": 1}, {"mixed"}),
    ({"tags": 2.5}, {"mixed"}),
    ({"tags": "k"}, set()),
    # null: missing, null, or an array holding null
    ({"year": None}, {"empty", "mixed", "keys", "nulls"}),
    ({"tags": None}, {"empty", "keys", "text", "neg", "mixed", "nulls", "pct"}),
    ({"year": {"$ne": None}}, {"fox", "latin", "strnum", "real", "text", "neg", "deep", "pct"}),
    # $ne / $nin include documents without the field
    (
        {"lang": {"$ne": "en"}},
        {"latin", "real", "empty", "keys", "text", "neg", "deep", "nulls", "pct"},
    ),
    ({"flag": {"$ne": True}}, ALL - {"mixed"}),
    ({"lang": {"$in": ["fr", "la"]}}, {"latin", "real", "mixed"}),
    (
        {"year": {"$in": [2020, "abc", None]}},
        {"fox", "text", "empty", "mixed", "keys", "nulls"},
    ),
    ({"flag": {"$in": [True, 0]}}, {"mixed", "neg"}),
    ({"tags": {"$in": ["latin", 2021]}}, {"latin", "deep"}),
    (
        {"lang": {"$nin": ["en", "fr"]}},
        {"latin", "empty", "keys", "text", "neg", "deep", "nulls", "pct"},
    ),
    ({"tags": {"$nin": ["fox", None]}}, {"latin", "strnum", "real", "deep"}),
    # ranges: numbers only match numbers, strings only strings
    ({"year": {"$gt": 2020}}, {"latin", "deep"}),
    ({"year": {"$gte": 2020}}, {"fox", "latin", "deep"}),
    ({"year": {"$lt": 2020}}, {"real", "neg", "pct"}),
    ({"year": {"$lte": 2019}}, {"real", "neg", "pct"}),
    ({"year": {"$gte": 2000, "$lt": 2021.5}}, {"fox", "latin", "real"}),
    ({"year": {"$gt": "2"}}, {"strnum", "text"}),
    ({"year": {"$lt": "3"}}, {"strnum"}),
    ({"rating": {"$lte": 0.1}}, {"real", "neg"}),
    ({"rating": {"$gt": "4"}}, {"strnum", "text"}),
    ({"tags": {"$gt": 2020}}, {"deep"}),
    ({"tags": {"$gte": 2}}, {"mixed", "deep"}),
    ({"tags": {"$lt": "b"}}, {"fox"}),
    ({"flag": {"$gte": 0}}, {"real", "neg"}),
    # $exists
    ({"author": {"$exists": True}}, {"fox", "latin", "text", "neg", "deep", "nulls"}),
    ({"author.name": {"$exists": True}}, {"fox", "latin", "neg", "deep"}),
    (
        {"author.name": {"$exists": False}},
        {"strnum", "real", "empty", "mixed", "keys", "text", "nulls", "pct"},
    ),
    # nested fields
    ({"author.name": "Ann"}, {"fox", "deep"}),
    ({"author.age": 34}, {"fox"}),
    ({"author.age": "34"}, {"neg"}),
    ({"nested.deep.x": 1}, {"deep"}),
    ({"nested.deep": {"$exists": True}}, {"deep"}),
    ({"author.name.first": "Ann"}, set()),
    ({"tags.0": "animals"}, set()),
    (
        {"author.name": None},
        {"strnum", "real", "empty", "mixed", "keys", "text", "neg", "nulls", "pct"},
    ),
    # $contains on the text: case-sensitive, literal, NULL text never matches
    ({"$contains": "fox"}, {"fox"}),
    ({"$contains": "Fox"}, {"mixed"}),
    ({"$contains": "é"}, {"real", "neg"}),
    ({"$contains": "😀"}, {"neg"}),
    ({"$contains": "%"}, {"pct"}),
    ({"$contains": "_"}, {"pct"}),
    ({"$contains": "2020"}, {"text"}),
    (
        {"$not": {"$contains": "o"}},
        {"strnum", "real", "empty", "text", "neg", "deep", "nulls", "pct"},
    ),
    # $contains on a field: substring of a string, or an element of an array
    ({"tags": {"$contains": "fox"}}, {"fox", "strnum"}),
    ({"tags": {"$contains": "terr"}}, {"strnum"}),
    ({"tags": {"$contains": "anim"}}, set()),
    ({"tags": {"$contains": 2.5}}, {"mixed"}),
    ({"tags": {"$contains": True}}, {"mixed"}),
    ({"lang": {"$contains": "n"}}, {"fox", "strnum"}),
    ({"year": {"$contains": 2020}}, set()),
    # $not: a filter at the top level, an operator dict on a field
    ({"$not": {"lang": "en"}}, ALL - {"fox", "strnum", "mixed"}),
    ({"year": {"$not": {"$gt": 2020}}}, ALL - {"latin", "deep"}),
    ({"year": {"$not": {"$gte": 2000, "$lt": 2021}}}, ALL - {"fox", "real"}),
    ({"year": {"$not": {"$not": {"$gt": 2020}}}}, {"latin", "deep"}),
    ({"$not": {"$not": {"year": {"$gt": 2020}}}}, {"latin", "deep"}),
    # $and / $or / implicit AND
    ({"$or": [{"lang": "la"}, {"year": {"$lt": 0}}]}, {"latin", "neg"}),
    ({"$and": [{"lang": "en"}, {"year": 2020}]}, {"fox"}),
    ({"lang": "en", "year": 2020}, {"fox"}),
    ({"lang": "en", "$contains": "quick"}, {"fox"}),
    ({"$or": [{"$and": [{"lang": "en"}, {"tags": "fox"}]}, {"flag": True}]}, {"fox", "mixed"}),
    ({"$and": [{}, {"lang": "la"}]}, {"latin"}),
    ({"$or": [{}, {"lang": "la"}]}, ALL),
    ({"$not": {}}, set()),
    # odd keys: dots always split, every other character is literal
    ({"a.b": "nested"}, {"keys"}),
    ({"a.b": "dotted key"}, set()),
    ({"it's": "single quote"}, {"keys"}),
    ({"sp ace": {"$gt": 5}}, {"keys"}),
    ({"日本": "語"}, {"keys"}),
    ({"a[0]": "brackets"}, {"keys"}),
    ({EVIL: "evil key"}, {"keys"}),
]


@pytest.mark.parametrize(("where", "expected"), OPERATOR_CASES)
def test_operator(docs_db, where, expected):
    check(docs_db, where, expected)


def test_filters_never_evaluate_to_null(docs_db):
    """Each fragment is 0 or 1 for every row, so NOT is always the exact complement."""
    for where in (
        {"missing": {"$gt": 1}},
        {"missing": "x"},
        {"tags": {"$contains": "x"}},
        {"$contains": "x"},
        {"year": {"$nin": [1]}},
    ):
        sql, params = compile_where(where)
        values = {v for (v,) in docs_db.execute(f"SELECT {sql} FROM documents d", params)}
        assert values <= {0, 1}, where


def test_escaped_values_and_unescaped_non_ascii_keys_match(docs_db):
    """Values may carry \\u escapes; non-ASCII keys must be stored unescaped (SQLite < 3.45)."""
    sql, params = compile_where({"日本": "語", "k": {"$contains": "😀"}}, alias="m")
    query = f"SELECT {sql} FROM (SELECT ? AS metadata, NULL AS text) m"
    meta = {"日本": "語", "k": "a😀b"}
    assert docs_db.execute(query, [*params, json.dumps(meta, ensure_ascii=False)]).fetchone() == (
        1,
    )
    escaped_values = '{"日本": "\\u8a9e", "k": "a\\ud83d\\ude00b"}'
    assert json.loads(escaped_values) == meta
    assert docs_db.execute(query, [*params, escaped_values]).fetchone() == (1,)


# --- injection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    [
        {EVIL: 1},
        {"lang": EVIL},
        {"lang": {"$in": [EVIL, "'", "''", "\\", "%", "_"]}},
        {"$contains": EVIL},
        {"x') OR 1=1 --": {"$exists": False}},
        {"a'.b": {"$ne": "'; DELETE FROM documents; --"}},
        {"*": 1, "a.$x": {"$exists": True}},
        {"a]": {"$gt": "x' OR '1'='1"}},
        {"tags": {"$contains": "') OR 1=1 --"}},
    ],
)
def test_malicious_names_and_values_are_harmless(docs_db, where):
    sql, _ = compile_where(where)
    assert not any(word in sql for word in ("DROP", "DELETE", "1=1", "'1'", "*", "$x"))
    assert sql_ids(docs_db, where) == ref_ids(where)
    assert docs_db.execute("SELECT count(*) FROM documents").fetchone() == (len(DOCS) + 1,)


def test_evil_key_matches_only_its_document(docs_db):
    assert sql_ids(docs_db, {EVIL: "evil key"}) == {"keys"}
    assert sql_ids(docs_db, {EVIL: {"$exists": False}}) == ALL - {"keys"}
    assert docs_db.execute("SELECT count(*) FROM documents").fetchone() == (len(DOCS) + 1,)


# --- bad filters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (["lang", "en"], r"where: a filter must be a dict.*got list"),
        ("lang = 'en'", r"a filter must be a dict"),
        ({"year": {"$foo": 1}}, r"unknown operator \$foo on field 'year'.*\$eq, \$ne, \$gt"),
        ({"year": {"$gtt": 1}}, r"did you mean \$gte?"),
        ({"$foo": 1}, r"\$foo is not a top-level operator.*\$and, \$or, \$not, \$contains"),
        ({"$gt": 1}, r"\$gt is not a top-level operator; it applies to a field"),
        ({"year": {"$or": [{"year": 1}]}}, r"unknown operator \$or.*goes at the top level"),
        ({"year": {"$gt": [1, 2]}}, r"where\['year'\]\['\$gt'\]: \$gt compares.*list.*\$in"),
        ({"year": {"$gt": True}}, r"\$gt compares with a number or a string, got bool"),
        ({"year": {"$lte": None}}, r"\$lte compares with a number or a string"),
        ({"year": {"$lt": {"a": 1}}}, r"dot notation"),
        ({"year": {"$in": []}}, r"\$in needs a non-empty list of values, got an empty list"),
        ({"year": {"$nin": "abc"}}, r"\$nin needs a non-empty list of values, got str"),
        ({"year": {"$in": [1, [2]]}}, r"where\['year'\]\['\$in'\]\[1\]: \$in element must be"),
        ({"year": {"$in": [{"a": 1}]}}, r"\$in element must be a string, number"),
        ({"$and": []}, r"\$and needs a non-empty list of filters, got an empty list"),
        ({"$or": {"a": 1}}, r"\$or needs a non-empty list of filters, got dict"),
        ({"$or": [{"a": 1}, "b"]}, r"where\['\$or'\]\[1\]: a filter must be a dict"),
        ({"$not": [{"a": 1}]}, r"where\['\$not'\]: a filter must be a dict"),
        ({"year": float("nan")}, r"must be a finite number, got nan"),
        ({"year": {"$gt": float("inf")}}, r"must be a finite number, got inf"),
        ({"year": {"$in": [1, float("-inf")]}}, r"must be a finite number"),
        ({"year": 2**70}, r"does not fit in 64 bits"),
        ({"year": [2020]}, r"got list; use \$in"),
        ({"year": (2020,)}, r"got tuple; use \$in"),
        ({"author": {"name": "Ann"}}, r"objects cannot be compared.*'author.name'"),
        ({"year": {}}, r"empty operator dict for field 'year'"),
        ({"year": {"$exists": 1}}, r"\$exists takes True or False, got int"),
        ({"year": {"$exists": "yes"}}, r"\$exists takes True or False"),
        ({"$contains": ""}, r"non-empty string"),
        ({"$contains": 5}, r"\$contains on the text takes a string, got int"),
        ({"$contains": ["a"]}, r"\$contains on the text takes a string"),
        ({"tags": {"$contains": None}}, r"use \{'field': None\}"),
        ({"tags": {"$contains": ""}}, r"non-empty string"),
        ({"tags": {"$contains": ["a", "b"]}}, r"\$in"),
        ({"year": {"$not": 5}}, r"\$not on a field takes an operator dict.*use \$ne"),
        ({"year": {"$not": {}}}, r"empty operator dict"),
        ({"": 1}, r"field '' has an empty segment"),
        ({"a..b": 1}, r"empty segment"),
        ({"a.": 1}, r"empty segment"),
        ({'a"b': 1}, r"double quote, backslash or control character"),
        ({"a\\b": 1}, r"double quote, backslash or control character"),
        ({"a\nb": 1}, r"control character"),
        ({"a\x00b": 1}, r"control character"),
        ({"lang": "\ud800"}, r"not valid Unicode"),
        ({"\udfff": 1}, r"not valid Unicode"),
        ({1: "a"}, r"keys must be field names or operators"),
        ({"year": {1: 2}}, r"objects cannot be compared"),
        ({"year": b"2020"}, r"got bytes"),
        ({"year": object()}, r"got object"),
    ],
)
def test_bad_filters_raise_input_error(where, message):
    with pytest.raises(InputError, match=message) as info:
        validate_where(where)
    assert isinstance(info.value, SemkitError) and isinstance(info.value, ValueError)
    with pytest.raises(InputError, match=message):
        compile_where(where)


def test_error_messages_list_the_valid_operators():
    with pytest.raises(InputError) as info:
        validate_where({"year": {"$regex": "x"}})
    assert all(op in str(info.value) for op in FIELD_OPERATORS)
    with pytest.raises(InputError) as info:
        validate_where({"$nor": [{"a": 1}]})
    assert all(op in str(info.value) for op in TOP_LEVEL_OPERATORS)


def test_numbers_from_other_libraries_are_accepted(docs_db):
    import numpy as np

    assert sql_ids(docs_db, {"year": np.int64(2020)}) == {"fox"}
    assert sql_ids(docs_db, {"year": {"$lt": np.float64(2019.5)}}) == {"real", "neg", "pct"}
    with pytest.raises(InputError, match="finite"):
        validate_where({"year": np.float64("nan")})


# --- limits --------------------------------------------------------------------------------


def nested(depth: int, shape: str) -> dict[str, Any]:
    """A filter ``depth`` levels deep in one of the shapes hardest for SQLite's parser."""
    where: dict[str, Any] = {"tags": {"$nin": [1, None, "a", True]}}
    wide = [{"year": {"$ne": i}} for i in range(20)]
    for level in range(depth):
        if shape == "not":
            where = {"$not": where}
        elif shape == "and-last":
            where = {"$and": [*wide, where]}
        elif shape == "or-first":
            where = {"$or": [where, *wide]}
        elif shape == "not-and":
            where = {"$not": where} if level % 2 else {"$and": [{"lang": "en"}, where]}
    if shape == "field-not":
        cond: dict[str, Any] = {"$in": [1, "a"]}
        for _ in range(depth):
            cond = {"$not": cond}
        where = {"tags": cond}
    return where


@pytest.mark.parametrize("shape", ["not", "and-last", "or-first", "not-and", "field-not"])
def test_deepest_allowed_filters_run_and_deeper_ones_are_refused(docs_db, shape):
    where = nested(MAX_DEPTH, shape)
    sql, params = compile_where(where)
    # inside a CTE and a subquery, to leave the caller room in SQLite's parser stack
    rows = docs_db.execute(
        "WITH hits AS (SELECT d.id FROM documents d WHERE d.collection_id = ? AND d.rowid IN "
        f"(SELECT d.rowid FROM documents d WHERE {sql})) SELECT id FROM hits",
        [1, *params],
    )
    assert {r[0] for r in rows} == ref_ids(where)
    with pytest.raises(InputError, match="nested deeper than"):
        validate_where(nested(MAX_DEPTH + 1, shape))


def test_wide_filters_up_to_the_condition_limit_run(docs_db):
    where = {"$or": [{"year": i} for i in range(MAX_CONDITIONS - 1)] + [{"lang": "la"}]}
    assert sql_ids(docs_db, where) == ref_ids(where) == {"latin"}
    where = {"$and": [{"year": {"$ne": i}} for i in range(MAX_CONDITIONS)]}
    assert sql_ids(docs_db, where) == ref_ids(where)
    with pytest.raises(InputError, match=f"more than {MAX_CONDITIONS} conditions.*\\$in"):
        validate_where({"$or": [{"year": i} for i in range(MAX_CONDITIONS + 1)]})


def test_long_in_lists_are_one_condition(docs_db):
    values = [*range(5000), "la", "fr"]
    assert sql_ids(docs_db, {"lang": {"$in": values}}) == {"latin", "real", "mixed"}
    assert sql_ids(docs_db, {"year": {"$in": values}}) == {"fox", "latin", "real", "deep", "pct"}


def test_query_plan_is_one_pass_over_documents():
    where = {
        "$or": [{"lang": {"$in": ["en", "fr"]}}, {"tags": {"$contains": "fox"}}],
        "year": {"$gte": 2000},
        "$not": {"$contains": "x"},
    }
    sql, params = compile_where(where)
    conn = make_db(DOCS)
    conn.execute("CREATE INDEX documents_collection ON documents(collection_id)")
    plan = [
        row[3]
        for row in conn.execute(
            f"EXPLAIN QUERY PLAN SELECT rowid FROM documents d WHERE d.collection_id = ? AND {sql}",
            [1, *params],
        )
    ]
    assert sum(detail.startswith(("SCAN d ", "SEARCH d ")) for detail in plan) == 1, plan
    assert not any("TEMP B-TREE" in detail for detail in plan), plan
    conn.close()


# --- differential: random filters against the reference evaluator -------------------------

KEYS = ["a", "b", "c"]
SCALARS: list[Any] = [
    *(0, 1, 2.5, 2020, 2020.0, -0.0, 1e15),
    *("", "a", "ab", "B", "2020", "é", "😀"),
    *(True, False, None),
]
WORDS = ["fox", "Fox", "dog", "é", "😀", "ab", "a", "zzz", "%", "o d"]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if roll < 0.6 or depth >= 2:
        return rng.choice(SCALARS)
    if roll < 0.85:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {k: random_value(rng, depth + 1) for k in rng.sample(KEYS, rng.randint(0, 3))}


def random_doc(rng: random.Random, i: int) -> tuple[str, str | None, dict[str, Any]]:
    meta = {k: random_value(rng) for k in rng.sample(KEYS, rng.choice([0, 1, 2, 2, 3, 3]))}
    text = None if rng.random() < 0.15 else " ".join(rng.choices(WORDS, k=rng.randint(0, 5)))
    return f"r{i}", text, meta


def random_condition(rng: random.Random, depth: int) -> Any:
    op = rng.choice([*FIELD_OPERATORS, "implicit", "implicit"])
    if op == "implicit":
        return rng.choice(SCALARS)
    if op in ("$eq", "$ne"):
        q = rng.choice(SCALARS)
    elif op in RANGES:
        q = rng.choice([s for s in SCALARS if kind(s) in ("number", "string")])
    elif op in ("$in", "$nin"):
        q = [rng.choice(SCALARS) for _ in range(rng.randint(1, 4))]
    elif op == "$exists":
        q = rng.random() < 0.5
    elif op == "$contains":
        q = rng.choice([s for s in SCALARS if s is not None and s != ""])
    else:  # $not
        inner = random_condition(rng, depth + 1) if depth < 2 else {"$gt": 1}
        q = inner if isinstance(inner, dict) else {"$eq": inner}
    return {op: q}


def random_filter(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    where: dict[str, Any] = {}
    for _ in range(rng.choice([1, 1, 1, 1, 2, 3])):
        roll = rng.random()
        if roll < 0.15 and depth < 3:
            op = rng.choice(["$and", "$or"])
            where[op] = [random_filter(rng, depth + 1) for _ in range(rng.randint(1, 3))]
        elif roll < 0.25 and depth < 3:
            where["$not"] = random_filter(rng, depth + 1)
        elif roll < 0.32:
            where["$contains"] = rng.choice([*WORDS, "o", " "])
        else:
            field = rng.choice([*KEYS, *KEYS, "a.b", "a.c", "b.a", "c.c", "zz", "a.zz"])
            where[field] = random_condition(rng, depth)
    return where


@pytest.mark.parametrize("seed", range(4))
def test_sql_agrees_with_the_reference_on_random_filters(seed):
    rng = random.Random(seed)
    docs = DOCS + [random_doc(rng, i) for i in range(250)]
    conn = make_db(docs)
    # half the random documents again with \u escapes in their values (keys are ASCII)
    escaped = [
        (1, f"{i}-esc", t, json.dumps(m, ensure_ascii=True)) for i, t, m in docs[len(DOCS) :: 2]
    ]
    conn.executemany(
        "INSERT INTO documents(collection_id, id, text, metadata) VALUES (?,?,?,?)", escaped
    )
    all_docs = docs + [(i, t, json.loads(m)) for _, i, t, m in escaped]
    interesting = 0
    for _ in range(500):
        where = random_filter(rng)
        sql, params = compile_where(where)
        got = dict(
            conn.execute(f"SELECT d.id, {sql} FROM documents d WHERE d.collection_id = 1", params)
        )
        assert set(got.values()) <= {0, 1}, where
        want = {doc_id for doc_id, text, meta in all_docs if ref_match(text, meta, where)}
        assert {doc_id for doc_id, hit in got.items() if hit} == want, where
        interesting += 0 < len(want) < len(all_docs)
    assert interesting > 250  # most filters split the documents, so the test has teeth
    conn.close()
