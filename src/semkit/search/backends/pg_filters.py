"""``where`` filters compiled to PostgreSQL over ``jsonb`` metadata, with bound parameters.

The same filters, with the same meaning, as ``semkit.search.filters`` gives SQLite
(its module doc is the specification; ``validate_where`` checks them first, so this
compiler only renders). How the rules map onto ``jsonb``:

- A field is ``d.metadata -> 'a' -> 'b'``: ``->`` with a text key reads object keys
  only, so a path never indexes into an array and walking through anything else
  gives SQL NULL, "missing".
- Equality is ``jsonb`` containment of the value, ``field @> '2020'``: scalars
  contain only an equal scalar of the same JSON type (numbers compare as numbers,
  ``true`` is not ``1``), and an array contains a scalar when one of its elements
  equals it, which is "arrays match through their elements".
- Ranges compare numbers as ``numeric`` and strings by code point (``COLLATE "C"``,
  byte order of UTF-8), on the value or on any element of an array value.
- Every fragment is true or false, never NULL, so ``NOT`` is the exact complement.

Field names and values only ever travel as parameters (``%s``, psycopg's style).
"""

from __future__ import annotations

import json
import numbers
from typing import Any

from semkit.search.filters import validate_where

Sql = tuple[str, list[Any]]
_RANGE_SQL = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def compile_where_pg(where: dict[str, Any] | None, alias: str = "d") -> Sql:
    """``(sql, params)``: a boolean over the documents table ``alias`` (see module doc)."""
    validate_where(where)
    if not where:
        return "TRUE", []
    return _Compiler(alias).filter(where)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _join(op: str, parts: list[Sql]) -> Sql:
    if len(parts) == 1:
        return parts[0]
    return "(" + f" {op} ".join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]


def _negate(part: Sql) -> Sql:
    return f"(NOT {part[0]})", part[1]


class _Compiler:
    def __init__(self, alias: str) -> None:
        self.meta = f"{alias}.metadata"
        self.text = f"{alias}.text"

    def filter(self, where: dict[str, Any]) -> Sql:
        parts: list[Sql] = []
        for key, value in where.items():
            if key in ("$and", "$or"):
                parts.append(_join(key[1:].upper(), [self.filter(f) for f in value]))
            elif key == "$not":
                parts.append(_negate(self.filter(value)))
            elif key == "$contains":
                parts.append((f"(COALESCE(strpos({self.text}, %s), 0) > 0)", [value]))
            else:
                parts.append(self.field(key, value))
        return _join("AND", parts) if parts else ("TRUE", [])

    def field(self, name: str, cond: Any) -> Sql:
        segments = name.split(".")
        value: Sql = (
            "(" + self.meta + "".join(" -> %s::text" for _ in segments) + ")",
            list(segments),
        )
        if not isinstance(cond, dict):
            return self.equal(value, [cond])
        return _join("AND", [self.operator(value, name, op, q) for op, q in cond.items()])

    def operator(self, v: Sql, name: str, op: str, q: Any) -> Sql:
        if op == "$eq":
            return self.equal(v, [q])
        if op == "$ne":
            return _negate(self.equal(v, [q]))
        if op == "$in":
            return self.equal(v, list(q))
        if op == "$nin":
            return _negate(self.equal(v, list(q)))
        if op in _RANGE_SQL:
            return self.range(v, _RANGE_SQL[op], q)
        if op == "$exists":
            return (f"({v[0]} IS {'NOT ' if q else ''}NULL)", v[1])
        if op == "$contains":
            return self.contains(v, q)
        if op == "$not":
            return _negate(self.field(name, q))
        raise AssertionError(op)  # validate_where refused it already

    def equal(self, v: Sql, values: list[Any]) -> Sql:
        """The value, or an element of an array value, equals one of ``values``;
        ``None`` also matches a missing field."""
        scalars = [_json(x) for x in values if x is not None]
        terms: list[Sql] = []
        if any(x is None for x in values):
            terms.append((f"({v[0]} IS NULL OR {v[0]} @> 'null'::jsonb)", v[1] * 2))
        if len(scalars) == 1:
            terms.append((f"COALESCE({v[0]} @> %s::jsonb, FALSE)", [*v[1], scalars[0]]))
        elif scalars:
            terms.append((f"COALESCE({v[0]} @> ANY(%s::jsonb[]), FALSE)", [*v[1], scalars]))
        return _join("OR", terms)

    def range(self, v: Sql, sql_op: str, q: Any) -> Sql:
        """Numbers compare as ``numeric``, strings by code point; a CASE guards each cast
        (PostgreSQL does not promise to evaluate AND left to right)."""
        assert isinstance(q, str | numbers.Real)
        kind, cast = (
            ("string", "#>> '{}') COLLATE \"C\"")
            if isinstance(q, str)
            else ("number", ")::numeric")
        )
        scalar = f"CASE WHEN jsonb_typeof({v[0]}) = '{kind}' THEN ({v[0]} {cast} {sql_op} %s ELSE FALSE END"
        element = (
            f"CASE WHEN jsonb_typeof({v[0]}) = 'array' THEN EXISTS (SELECT 1 FROM "
            f"jsonb_array_elements({v[0]}) AS e(x) WHERE CASE WHEN jsonb_typeof(e.x) = '{kind}' "
            f"THEN (e.x {cast} {sql_op} %s ELSE FALSE END) ELSE FALSE END"
        )
        return f"({scalar} OR {element})", [*v[1], *v[1], q, *v[1], *v[1], q]

    def contains(self, v: Sql, q: Any) -> Sql:
        """A string value containing ``q`` as a substring, or an array holding ``q``."""
        terms: list[Sql] = []
        if isinstance(q, str):
            terms.append(
                (
                    f"CASE WHEN jsonb_typeof({v[0]}) = 'string' THEN strpos({v[0]} #>> '{{}}', %s) > 0 "
                    "ELSE FALSE END",
                    [*v[1], *v[1], q],
                )
            )
        terms.append(
            (f"(jsonb_typeof({v[0]}) = 'array' AND {v[0]} @> %s::jsonb)", [*v[1], *v[1], _json(q)])
        )
        return f"COALESCE({_join('OR', terms)[0]}, FALSE)", _join("OR", terms)[1]
