"""Token-id inputs: OpenAI's API accepts arrays of token ids, and LangChain's
``OpenAIEmbeddings`` sends them by default (it splits texts with tiktoken first).

They are ids of tiktoken's ``cl100k_base`` encoding (what every OpenAI embedding model and
LangChain's fall-back use), decoded back to text here and embedded with the served model.
The encoding file is read from tiktoken's own cache (``TIKTOKEN_CACHE_DIR``) and only if
it is there with the right SHA-256: the server never downloads it. Without it, token-id
input is a 400 whose message says how to send text instead.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from semkit.errors import InputError

ENCODING = "cl100k_base"
_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"

UNAVAILABLE = (
    "this request sends token ids, which this server cannot decode: tiktoken's "
    f"{ENCODING} file is not available locally (the server downloads nothing). Send text "
    "instead; with LangChain: OpenAIEmbeddings(..., check_embedding_ctx_length=False). "
    f"Or place {ENCODING}.tiktoken in the server's TIKTOKEN_CACHE_DIR (see the README)"
)


def cache_file() -> Path:
    """Where tiktoken keeps the cl100k_base file (its own rule: the URL's SHA-1 as name)."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    else:
        default = os.path.join(tempfile.gettempdir(), "data-gym-cache")
        cache_dir = os.environ.get("DATA_GYM_CACHE_DIR", default)
    return Path(cache_dir) / hashlib.sha1(_URL.encode()).hexdigest()


def _verified(path: Path) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == _SHA256
    except OSError:
        return False


class TokenDecoder:
    """Decodes cl100k_base token ids, if the encoding file is on this machine."""

    def __init__(self) -> None:
        self._encoding: Any = None
        if _verified(cache_file()):
            import tiktoken

            # reads the verified file from the same cache: no download is attempted
            self._encoding = tiktoken.get_encoding(ENCODING)

    @property
    def available(self) -> bool:
        return self._encoding is not None

    def decode(self, inputs: list[list[int]]) -> list[str]:
        if self._encoding is None:
            raise InputError(UNAVAILABLE)
        top = self._encoding.max_token_value
        texts = []
        for i, ids in enumerate(inputs):
            bad = next((t for t in ids if not 0 <= t <= top), None)
            if bad is not None:
                raise InputError(f"input #{i}: {bad} is not a {ENCODING} token id")
            try:
                texts.append(self._encoding.decode(ids))
            except (KeyError, ValueError, OverflowError) as exc:
                raise InputError(f"input #{i}: not {ENCODING} token ids ({exc})") from exc
        return texts
