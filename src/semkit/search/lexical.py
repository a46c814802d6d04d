"""Lexical (BM25) queries over SQLite FTS5.

Each collection has an FTS5 table (Porter stemming, Unicode folding, diacritics
removed) kept in step with its documents in the same transactions. A free-text
query becomes an OR of its quoted terms, so FTS5's query syntax never leaks to
users; SQLite's ``bm25()`` ranks (k1=1.2, b=0.75).
"""

from __future__ import annotations

import re

_TERM = re.compile(r"\w+", re.UNICODE)


def match_expression(query: str, max_terms: int = 64) -> str | None:
    """The FTS5 MATCH expression for a free-text query; ``None`` if it has no terms."""
    terms = list(dict.fromkeys(t.lower() for t in _TERM.findall(query)))[:max_terms]
    if not terms:
        return None
    return " OR ".join(f'"{t}"' for t in terms)
