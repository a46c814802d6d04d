"""Mongo-style ``where`` filters compiled to one SQLite boolean expression.

``compile_where(where, alias="d")`` returns ``(sql, params)``: a parenthesised
fragment to AND into ``SELECT rowid FROM documents d WHERE d.collection_id = ? AND
<sql>`` plus its bound parameters, in order. User strings (field names, values)
only ever travel as parameters; the one thing interpolated is ``alias``, which
must be a plain identifier. ``None`` or ``{}`` compiles to ``("1", [])``.
``validate_where(where)`` raises ``InputError`` for anything the compiler would
refuse; ``compile_where`` performs the same checks.

A filter is a dict. Its keys are ANDed. A key is either a field or one of the
top-level operators:

    {"lang": "en"}                          implicit $eq
    {"year": {"$gte": 2020, "$lt": 2024}}   several operators on a field are ANDed
    {"author.name": "Ann"}                  dot notation walks nested objects
    {"$and": [f, ...]}  {"$or": [f, ...]}   non-empty lists of filters
    {"$not": f}                             negates a whole filter
    {"$contains": "fox"}                    the document *text* contains the substring

Field operators: ``$eq $ne $gt $gte $lt $lte $in $nin $exists $contains $not``.

Semantics (the tests hold a pure-Python reference evaluator of exactly these):

- **Types never mix.** A number matches only JSON numbers (integer or real,
  ``2020 == 2020.0``), a string only JSON strings, ``True``/``False`` only JSON
  ``true``/``false`` (never the numbers 1/0, and ``1`` never matches ``true``).
  ``$gt $gte $lt $lte`` take a number or a string; ``"abc"`` is never ``> 2020``.
  Strings compare by code point (SQLite's BINARY collation), case-sensitively.
- **Arrays match through their elements**: a field holding an array matches
  ``$eq``, ``$in``, the range operators and ``$contains`` when *any* element
  does (Mongo). Arrays are never compared as a whole; filter values must be
  scalars (``str``, finite ``int``/``float``, ``bool``, ``None``).
- **Missing fields and null.** ``{"x": None}`` (and ``$in`` with ``None``)
  matches when ``x`` is missing, JSON ``null``, or an array holding ``null``
  (Mongo). Every other positive operator needs the field to be present.
- **Negations are exact complements.** ``$ne`` is ``NOT $eq`` and ``$nin`` is
  ``NOT $in``, so both match documents where the field is missing (Mongo).
  ``$exists: True`` matches present fields, including ``null``.
- **``$not``** at the top level takes a filter, ``{"$not": {"lang": "en"}}``; on
  a field it takes an operator dict, ``{"year": {"$not": {"$gt": 2020}}}``, which
  also matches documents without ``year``. Use ``$ne`` rather than ``$not`` with
  a plain value. Every compiled fragment evaluates to 0 or 1, never NULL, so
  ``NOT`` is always the exact complement.
- **``$contains`` is case-sensitive** and literal (no wildcards), like Chroma's
  ``where_document``. SQLite's ``lower()`` folds only ASCII, so a
  case-insensitive variant would be half-true for non-English text. At the top
  level it tests the document text (``NULL`` text never matches); on a field it
  means "the string contains the substring" or "the array has an element equal
  to the value" (elements are not searched for substrings). The needle must be
  non-empty: an empty one would match everything. No Unicode normalisation is
  applied (a composed "é" does not match "e" + combining accent).
- **Fields**: dots always split (``"a.b"`` is key ``b`` inside object ``a``; a
  key containing a dot cannot be addressed), segments are object keys only
  (``"tags.0"`` does not index arrays), and walking through anything that is not
  an object gives "missing". Each segment is quoted in the JSON path; keys with
  double quotes, backslashes or control characters are refused because SQLite's
  JSON paths cannot address them. Keys are matched against the stored JSON text,
  so metadata must be written without ``\\u`` escapes (``ensure_ascii=False``)
  for non-ASCII keys to be found on SQLite < 3.45.

Cost: every field test is ``json_type``/``json_extract`` on the row's metadata
(SQLite caches the parse within a row); ``json_each`` runs only for rows whose
field is an array. The filter adds no joins, sorts or temp tables: one pass.
Limits, refused with ``InputError``: ``MAX_DEPTH`` levels of $and/$or/$not (the
parser stack of SQLite 3.40) and ``MAX_CONDITIONS`` conditions (prepare time).
A long ``$in`` is one condition, but each value is bound twice, so it stays
under SQLite's bound-parameter limit (32766 by default) up to ~16000 values.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Callable
from typing import Any

from semkit.errors import InputError

__all__ = ["FIELD_OPERATORS", "TOP_LEVEL_OPERATORS", "compile_where", "validate_where"]

FIELD_OPERATORS = (
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$exists",
    "$contains",
    "$not",
)
TOP_LEVEL_OPERATORS = ("$and", "$or", "$not", "$contains")
MAX_DEPTH = 32  # nested $and/$or/$not; SQLite 3.40's parser fails near 65 levels
MAX_CONDITIONS = 1000  # SQLite's prepare time grows quadratically: ~0.2 s at 1000, 70 s at 16000
_FANOUT = 16

_RANGE_SQL = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_NUMBER = " IN ('integer', 'real')"
_TEXT = " = 'text'"
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BAD_KEY_CHARS = re.compile(r'["\\\x00-\x1f]')
_INT64 = (-(2**63), 2**63 - 1)

Sql = tuple[str, list[Any]]


def validate_where(where: dict[str, Any] | None) -> None:
    """Raise ``InputError`` naming the offending part if ``where`` is not a valid filter."""
    compile_where(where)


def compile_where(where: dict[str, Any] | None, alias: str = "d") -> Sql:
    """Compile a ``where`` filter to ``(sql, params)`` over the documents table ``alias``."""
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise InputError(f"table alias must be a plain SQL identifier, got {alias!r}")
    if where is None:
        return "1", []
    sql, params = _Compiler(alias).filter(where, "where", 0)
    return (f"({sql})" if sql.startswith("NOT ") else sql), params


class _Compiler:
    """One walk that both checks a filter and renders it; each method returns ``(sql, params)``."""

    def __init__(self, alias: str) -> None:
        self.meta = f"{alias}.metadata"
        self.text = f"{alias}.text"
        self.elem = f"{alias}_el"  # never equal to ``alias``, so the correlation stays unambiguous
        self.conditions = 0

    def count(self, at: str) -> None:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise InputError(
                f"{at}: filter has more than {MAX_CONDITIONS} conditions; "
                "match many values of one field with a single $in or $nin instead of long $or lists"
            )

    # --- filters -------------------------------------------------------------------------

    def filter(self, where: Any, at: str, depth: int) -> Sql:
        if not isinstance(where, dict):
            raise InputError(
                f"{at}: a filter must be a dict such as {{'lang': 'en'}}, got {_kind(where)}"
            )
        if depth > MAX_DEPTH:
            raise InputError(_too_deep())
        parts = []
        for key, value in where.items():
            here = f"{at}[{key!r}]"
            if not isinstance(key, str):
                raise InputError(f"{here}: keys must be field names or operators (strings)")
            if key in ("$and", "$or"):
                parts.append(self.logical(key, value, here, depth))
            elif key == "$not":
                parts.append(_negate(self.filter(value, here, depth + 1)))
            elif key == "$contains":
                self.count(here)
                needle = _needle(value, here, "text")
                parts.append((f"(ifnull(instr({self.text}, ?), 0) > 0)", [needle]))
            elif key.startswith("$"):
                hint = (
                    f"; it applies to a field, e.g. {{'year': {{{key!r}: ...}}}}"
                    if key in FIELD_OPERATORS
                    else _did_you_mean(key, TOP_LEVEL_OPERATORS)
                )
                raise InputError(
                    f"{here}: {key} is not a top-level operator{hint}; "
                    f"top-level operators: {', '.join(TOP_LEVEL_OPERATORS)}"
                )
            else:
                parts.append(self.field(key, value, here, depth))
        return _join("AND", parts) if parts else ("1", [])

    def logical(self, op: str, value: Any, at: str, depth: int) -> Sql:
        if not isinstance(value, list | tuple) or not value:
            got = "an empty list" if isinstance(value, list | tuple) else _kind(value)
            raise InputError(f"{at}: {op} needs a non-empty list of filters, got {got}")
        parts = [self.filter(f, f"{at}[{i}]", depth + 1) for i, f in enumerate(value)]
        return _join(op[1:].upper(), parts)

    def field(self, name: str, value: Any, at: str, depth: int) -> Sql:
        path = _json_path(name, at)
        if not isinstance(value, dict):
            self.count(at)
            return self.match(path, _eq_pred(_scalar(value, at, "a field value")))
        if not value:
            raise InputError(
                f"{at}: empty operator dict for field {name!r}; "
                f"field operators: {', '.join(FIELD_OPERATORS)}"
            )
        if depth > MAX_DEPTH:
            raise InputError(_too_deep())
        return _join(
            "AND", [self.operator(path, name, op, q, at, depth) for op, q in value.items()]
        )

    def operator(self, path: str, name: str, op: Any, q: Any, at: str, depth: int) -> Sql:
        here = f"{at}[{op!r}]"
        if not isinstance(op, str) or not op.startswith("$"):
            raise InputError(
                f"{at}: field {name!r} is compared with a dict; objects cannot be compared, "
                f"reach nested fields with dot notation such as 'author.name', or use one of "
                f"{', '.join(FIELD_OPERATORS)}"
            )
        if op != "$not":
            self.count(here)
        if op in ("$eq", "$ne"):
            matched = self.match(path, _eq_pred(_scalar(q, here, op)))
            return matched if op == "$eq" else _negate(matched)
        if op in _RANGE_SQL:
            if isinstance(q, bool) or not isinstance(q, str | numbers.Real):
                raise InputError(
                    f"{here}: {op} compares with a number or a string, got {_kind(q)}{_hint(q)}"
                )
            return self.match(path, _range_pred(_RANGE_SQL[op], _scalar(q, here, op)))
        if op in ("$in", "$nin"):
            if not isinstance(q, list | tuple | set | frozenset) or not q:
                raise InputError(
                    f"{here}: {op} needs a non-empty list of values, got "
                    f"{'an empty list' if isinstance(q, list | tuple) else _kind(q)}"
                )
            values = [_scalar(v, f"{here}[{i}]", f"{op} element") for i, v in enumerate(q)]
            matched = self.match(path, _in_pred(values))
            return matched if op == "$in" else _negate(matched)
        if op == "$exists":
            if not isinstance(q, bool):
                raise InputError(f"{here}: $exists takes True or False, got {_kind(q)}")
            test = "IS NOT NULL" if q else "IS NULL"
            return f"(json_type({self.meta}, ?) {test})", [path]
        if op == "$contains":
            needle = _needle(q, here, "field")
            substring = _substring_pred(needle) if isinstance(needle, str) else _never
            return self.match(path, substring, element_pred=_eq_pred(needle))
        if op == "$not":
            if not isinstance(q, dict):
                raise InputError(
                    f"{here}: $not on a field takes an operator dict such as "
                    f"{{'$gt': 2020}}, got {_kind(q)}; use $ne to exclude a value"
                )
            return _negate(self.field(name, q, here, depth + 1))
        if op in ("$and", "$or"):
            hint = f"; it goes at the top level: {{{op!r}: [{{{name!r}: ...}}, ...]}}"
        else:
            hint = _did_you_mean(op, FIELD_OPERATORS)
        raise InputError(
            f"{here}: unknown operator {op} on field {name!r}{hint}; "
            f"field operators: {', '.join(FIELD_OPERATORS)}"
        )

    # --- matching a field's value --------------------------------------------------------

    def match(self, path: str, pred: _Pred, element_pred: _Pred | None = None) -> Sql:
        """The field's value satisfies ``pred``, or it is an array with an element that does.

        A predicate gets SQL for the JSON type name (``'missing'`` when the path
        is absent, so nothing is NULL) and for the SQL value, and returns OR-terms
        that are each 0/1. ``element_pred`` (default ``pred``) tests array elements.
        The SQL is kept flat (``s1 OR s2 OR x AND EXISTS (...)``): SQLite 3.40's
        parser stack overflows after a few dozen nested parentheses.
        """
        scalar_type = (f"ifnull(json_type({self.meta}, ?), 'missing')", [path])
        scalar = pred(scalar_type, (f"json_extract({self.meta}, ?)", [path]))
        element = (element_pred or pred)((f"{self.elem}.type", []), (f"{self.elem}.atom", []))
        array = (
            f"json_type({self.meta}, ?) IS 'array' AND EXISTS (SELECT 1 FROM "
            f"json_each({self.meta}, ?) AS {self.elem} WHERE ",
            [path, path],
        )
        return _cat(
            "(",
            *_interleave(" OR ", [*scalar, _cat(array, *_interleave(" OR ", element), ")")]),
            ")",
        )


# --- predicates on (json type, sql value) --------------------------------------------------

_Pred = Callable[[Sql, Sql], list[Sql]]  # (type sql, value sql) -> OR-terms without an OR


def _eq_pred(q: Any) -> _Pred:
    return _in_pred([q])


def _in_pred(values: list[Any]) -> _Pred:
    numbers_ = [v for v in values if not isinstance(v, bool) and isinstance(v, int | float)]
    strings = [v for v in values if isinstance(v, str)]
    types = sorted({"true" if v else "false" for v in values if isinstance(v, bool)})
    if any(v is None for v in values):
        types += ["missing", "null"]

    def pred(t: Sql, v: Sql) -> list[Sql]:
        terms = [_cat(t, _one_of(types))] if types else []
        for kinds, group in ((_NUMBER, numbers_), (_TEXT, strings)):
            if group:
                test = " = ?" if len(group) == 1 else f" IN ({', '.join('?' * len(group))})"
                terms.append(_cat(t, f"{kinds} AND ", v, (test, group)))
        return terms

    return pred


def _range_pred(sql_op: str, q: float | str) -> _Pred:
    kinds = _TEXT if isinstance(q, str) else _NUMBER
    return lambda t, v: [_cat(t, f"{kinds} AND ", v, (f" {sql_op} ?", [q]))]


def _one_of(types: list[str]) -> str:
    """`` = 'a'`` or `` IN ('a', 'b')`` for JSON type names (constants, never user input)."""
    quoted = [f"'{t}'" for t in types]
    return f" = {quoted[0]}" if len(quoted) == 1 else f" IN ({', '.join(quoted)})"


def _substring_pred(needle: str) -> _Pred:
    return lambda t, v: [_cat(t, " = 'text' AND instr(", v, (", ?) > 0", [needle]))]


def _never(t: Sql, v: Sql) -> list[Sql]:
    return []


# --- helpers -------------------------------------------------------------------------------


def _cat(*pieces: str | Sql) -> Sql:
    """Concatenate literal SQL and ``(sql, params)`` pieces, keeping parameters in order."""
    text: list[str] = []
    params: list[Any] = []
    for piece in pieces:
        if isinstance(piece, str):
            text.append(piece)
        else:
            text.append(piece[0])
            params.extend(piece[1])
    return "".join(text), params


def _interleave(sep: str, parts: list[Sql]) -> list[str | Sql]:
    pieces: list[str | Sql] = []
    for i, part in enumerate(parts):
        pieces += [sep, part] if i else [part]
    return pieces


def _join(op: str, parts: list[Sql]) -> Sql:
    """``(a OP b OP ...)`` for parts that are parenthesised or ``NOT x``; AND/OR commute.

    SQLite 3.40's parser has a fixed stack (about 100 entries): every pending
    ``x AND (`` costs three. So the most nested part goes first (``((`` costs one
    per level), and long lists become flat runs of ``_FANOUT``: a flat run costs
    the parser nothing but adds one level of expression height (limit 1000) per
    term, while each run nested in parentheses costs parser stack.
    """
    if len(parts) == 1:
        return parts[0]
    deepest = max(range(len(parts)), key=lambda i: _nesting(parts[i][0]))
    rest = parts[:deepest] + parts[deepest + 1 :]
    while len(rest) > _FANOUT - 1:
        rest = [_flat(op, rest[i : i + _FANOUT]) for i in range(0, len(rest), _FANOUT)]
    return _flat(op, [parts[deepest], *rest])


def _flat(op: str, parts: list[Sql]) -> Sql:
    return parts[0] if len(parts) == 1 else _cat("(", *_interleave(f" {op} ", parts), ")")


def _nesting(sql: str) -> int:
    """Deepest parenthesis level in ``sql`` (our SQL has no parentheses inside literals)."""
    depth = deepest = 0
    for char in sql:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


def _negate(part: Sql) -> Sql:
    """``NOT x``: binds tighter than AND/OR, so it needs no parentheses of its own."""
    return _cat("NOT ", part)


def _json_path(name: str, at: str) -> str:
    segments = name.split(".")
    if not all(segments):
        raise InputError(
            f"{at}: field {name!r} has an empty segment; use dot notation such as 'author.name'"
        )
    if _BAD_KEY_CHARS.search(name):
        raise InputError(
            f"{at}: field {name!r} contains a double quote, backslash or control character, "
            "which SQLite JSON paths cannot address; rename the metadata key"
        )
    _check_text(name, at)
    return "$." + ".".join(f'"{s}"' for s in segments)


def _scalar(value: Any, at: str, what: str) -> Any:
    """Check one filter value and return it as a plain ``str/int/float/bool/None``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        _check_text(value, at)
        return str(value)
    if isinstance(value, numbers.Integral):
        if not _INT64[0] <= int(value) <= _INT64[1]:
            raise InputError(f"{at}: integer {value} does not fit in 64 bits")
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise InputError(f"{at}: {what} must be a finite number, got {value}")
        return float(value)
    raise InputError(
        f"{at}: {what} must be a string, number, boolean or None, got {_kind(value)}{_hint(value)}"
    )


def _needle(value: Any, at: str, target: str) -> Any:
    if target == "text" and not isinstance(value, str):
        raise InputError(f"{at}: $contains on the text takes a string, got {_kind(value)}")
    if value is None:
        raise InputError(f"{at}: $contains needs a value; use {{'field': None}} to match null")
    needle = _scalar(value, at, "$contains")
    if needle == "":
        raise InputError(f"{at}: $contains needs a non-empty string; leave it out to match all")
    return needle


def _check_text(value: str, at: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputError(f"{at}: {value!r} is not valid Unicode text ({e.reason})") from None


def _kind(value: Any) -> str:
    kind = type(value)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
    if isinstance(value, str | int | float):
        shown = repr(value)
        return f"{name} {shown if len(shown) <= 40 else shown[:37] + '...'}"
    return name


def _hint(value: Any) -> str:
    if isinstance(value, list | tuple | set):
        return "; use $in to match any of several values"
    if isinstance(value, dict):
        return "; reach nested fields with dot notation such as 'author.name'"
    return ""


def _too_deep() -> str:
    return f"filter nested deeper than {MAX_DEPTH} levels of $and/$or/$not; flatten it"


def _did_you_mean(op: str, valid: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(op, valid, n=1)
    return f" (did you mean {close[0]}?)" if close else ""
