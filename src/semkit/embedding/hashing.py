"""A tiny deterministic embedder: feature-hashed bag of words (spec "hashing" or "hashing:<dim>").

Not a language model: texts are similar when they share words. It needs no
weights and runs anywhere instantly, which makes it the stand-in for pipelines
and tests where the meaning of the vectors does not matter (the role httpx's
MockTransport plays for HTTP).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from semkit.embedding.base import Provider
from semkit.text.tokens import EstimateTokenizer, Tokenizer

_WORD = re.compile(r"\w+")


class HashingProvider(Provider):
    default_batch_size = 1024

    def __init__(self, dim: int = 64, max_tokens: int = 512) -> None:
        self.model_id = f"hashing:{dim}"
        self._dim = dim
        self._max_tokens = max_tokens
        self._tokenizer = EstimateTokenizer(piece=64)
        self.calls = 0  # how many times embed() ran: lets callers see a cache hit

    @property
    def fingerprint(self) -> str:
        return f"hashing-v1-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            vec[h % self._dim] += 1.0 if (h >> 32) & 1 else -1.0
        if not vec.any():
            vec[0] = 1.0
        return vec

    def embed(
        self,
        texts: list[str],
        *,
        prompt: str,
        dims: int | None,
        batch_size: int,
        variant: str = "",
    ) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vector(prompt + t) for t in texts])
