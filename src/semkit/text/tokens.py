"""Tokenizers as chunking and limit checks need them: token spans in characters.

A ``Tokenizer`` answers two questions about a text: where its tokens are
(``spans``, character offsets, special tokens excluded) and how many there are
(``count``). ``special_tokens`` is what the model adds around every input
([CLS]/[SEP] for BERT), so a model limit of 256 leaves 254 for the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol


class Tokenizer(Protocol):
    special_tokens: int

    def spans(self, text: str) -> list[tuple[int, int]]: ...

    def count(self, texts: Sequence[str]) -> list[int]: ...


class HFTokenizer:
    """A Hugging Face ``tokenizers`` tokenizer (tokenizer.json): exact, fast, no torch."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer as _RustTokenizer

        self._tok = _RustTokenizer.from_file(str(path))
        # tokenizer.json files often carry truncation/padding settings meant for
        # training; counting and offsets must see the whole text.
        self._tok.no_truncation()
        self._tok.no_padding()
        self.special_tokens = self._tok.num_special_tokens_to_add(False)

    def spans(self, text: str) -> list[tuple[int, int]]:
        return list(self._tok.encode(text, add_special_tokens=False).offsets)

    def count(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encodings = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]


class EstimateTokenizer:
    """A pessimistic stand-in when the provider's tokenizer is not available locally.

    ASCII words are cut into pieces of at most ``piece`` characters, every other
    non-space character is a piece of its own, and a non-ASCII piece counts as
    two tokens (byte-pair tokenizers often spend two or more on one). For
    OpenAI's tokenizers (about 4 characters per English token) this over-counts,
    so limits checked with it are not exceeded in practice.
    """

    def __init__(self, piece: int = 3, special_tokens: int = 0) -> None:
        self._pattern = re.compile(rf"[A-Za-z0-9_]{{1,{piece}}}|[^\sA-Za-z0-9_]")
        self.special_tokens = special_tokens

    def spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in self._pattern.finditer(text)]

    def count(self, texts: Sequence[str]) -> list[int]:
        return [
            sum(1 if m.group().isascii() else 2 for m in self._pattern.finditer(t)) for t in texts
        ]
