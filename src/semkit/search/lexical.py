"""Lexical queries: a free-text query becomes an OR of its terms.

On SQLite each collection has an FTS5 table (Porter stemming, Unicode folding,
diacritics removed) kept in step with its documents in the same transactions; the
terms are quoted, so FTS5's query syntax never leaks to users, and SQLite's
``bm25()`` ranks (k1=1.2, b=0.75). On PostgreSQL the same terms are ORed in a
``tsquery`` (``semkit.search.backends.postgres``).
"""

from __future__ import annotations

import re

_TERM = re.compile(r"\w+", re.UNICODE)


def match_terms(query: str, max_terms: int = 64) -> list[str]:
    """The distinct lower-cased word terms of a free-text query, in order."""
    return list(dict.fromkeys(t.lower() for t in _TERM.findall(query)))[:max_terms]


def match_expression(query: str, max_terms: int = 64) -> str | None:
    """The FTS5 MATCH expression for a free-text query; ``None`` if it has no terms."""
    terms = match_terms(query, max_terms)
    if not terms:
        return None
    return " OR ".join(f'"{t}"' for t in terms)
