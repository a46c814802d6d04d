"""OpenAI's embeddings API, or any server that speaks it, as a semkit ``Provider``.

Contract (what ``OpenAIProvider`` promises on top of ``semkit.embedding.base``):

* Construction touches no network. Unset options come from ``semkit.config``
  (OPENAI_BASE_URL, OPENAI_API_KEY, SEMKIT_OPENAI_TIMEOUT, SEMKIT_OPENAI_MAX_RETRIES).
  The key is sent as ``Authorization: Bearer``; with no key, the official
  api.openai.com is a ``ConfigError`` at the first request, while a compatible
  server is simply called without one.
* ``embed`` sends ``POST {base_url}/embeddings`` with ``encoding_format: "float"``,
  split into requests of at most ``max_batch_inputs`` texts and ``max_batch_tokens``
  tokens, and returns float32 ``(n, d)`` in input order. Answers are checked: every
  ``index`` exactly once, one vector length, numbers only (base64 vectors are
  accepted too), and ``d == dims`` when ``dims`` was asked; anything else is a
  ``ProviderError``, so the Embedder caches nothing from it.
* ``dims`` is sent as ``dimensions`` (text-embedding-3-* and models semkit does not
  know); legacy models (text-embedding-ada-002) refuse it with a ``ModelError``.
* Empty and over-long texts (``max_tokens``, 8191 for OpenAI's models) are refused
  with an ``InputError`` before anything is sent. Tokens are counted with tiktoken
  when it is installed *and* its BPE file is already on disk (tiktoken's cache,
  ``TIKTOKEN_CACHE_DIR``); otherwise with the pessimistic ``EstimateTokenizer``,
  which over-counts, so its requests and limits are safe but fuller texts may be
  refused or split more than needed.
* Newlines become spaces for the legacy models for which OpenAI recommended it
  (``replace_newlines`` overrides; a non-default choice changes the fingerprint).
* Retries: HTTP 429, 5xx, timeouts and connection errors are retried up to
  ``max_retries`` times, waiting ``Retry-After`` (seconds or HTTP-date, or
  ``retry-after-ms``) when the server sends it, otherwise a full-jitter exponential
  backoff ``uniform(0, min(backoff_max, backoff_base * 2**attempt))``; then
  ``RateLimitError``. A server asking to wait longer than ``backoff_max`` gets a
  ``RateLimitError`` at once. Other statuses (400, 401, 404, ...) are not retried:
  ``ProviderError`` with the server's own message. Malformed 2xx answers are not
  retried either: a server that answers wrongly once will most likely do it again.
* ``dim`` is known for OpenAI's models (``OPENAI_MODELS``) or given as ``dim=``;
  otherwise it is learned from the first answer without ``dims``, and reading
  ``dim`` before any such answer embeds one short probe text (one request).
* ``fingerprint`` is ``"openai:<model>"`` for api.openai.com and
  ``"openai-compatible:<base_url>/<model>"`` for any other server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import random
import tempfile
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from itertools import accumulate
from typing import Any

import httpx
import numpy as np

from semkit import config
from semkit.embedding.base import Provider
from semkit.embedding.registry import OPENAI_MODELS
from semkit.errors import ConfigError, InputError, ModelError, ProviderError, RateLimitError
from semkit.text.tokens import EstimateTokenizer, Tokenizer

OFFICIAL_HOST = "api.openai.com"
MAX_BATCH_INPUTS = 2048  # OpenAI's limit of inputs per request
MAX_BATCH_TOKENS = 300_000  # OpenAI's limit of tokens per request (all inputs together)
DEFAULT_MAX_TOKENS = 8191  # OpenAI's per-input limit, assumed for unknown models
# First-generation models: OpenAI recommended replacing newlines; no `dimensions`.
_LEGACY_PREFIXES = ("text-embedding-ada-", "text-similarity-", "text-search-", "code-search-")
_PROBE_TEXT = "dimension probe"
_TIKTOKEN_FILES = {  # where tiktoken downloads them from; its cache file is named by sha1(url)
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


class TiktokenTokenizer:
    """OpenAI's own BPE (a tiktoken ``Encoding``) as a semkit ``Tokenizer``.

    BPE tokens carry the spaces before words (" word"); spans are trimmed of that
    whitespace so chunking sees the gaps between words, and a whitespace-only token
    is an empty span where its whitespace ends.
    """

    special_tokens = 0

    def __init__(self, encoding: Any) -> None:
        self._enc = encoding
        self.name = str(encoding.name)

    def count(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in self._enc.encode_ordinary_batch(list(texts))]

    def spans(self, text: str) -> list[tuple[int, int]]:
        pieces = self._enc.decode_tokens_bytes(self._enc.encode_ordinary(text))
        # starts[i]: byte offset of character i (and the total at the end).
        starts = list(accumulate((len(c.encode()) for c in text), initial=0))
        spans, pos = [], 0
        for piece in pieces:
            # A token may end or start inside a multi-byte character: take the whole one.
            s, e = bisect_right(starts, pos) - 1, bisect_left(starts, pos + len(piece))
            pos += len(piece)
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            spans.append((s, e))
        return spans


def _tiktoken_tokenizer(model: str) -> TiktokenTokenizer | None:
    """tiktoken's encoding for an OpenAI ``model``, only if it loads without a download."""
    try:
        import tiktoken
    except ImportError:
        return None
    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:  # not an OpenAI model: its tokenizer is not tiktoken's
        return None
    url = _TIKTOKEN_FILES.get(name)
    # The cache directory as tiktoken.load.read_file_cached finds it; "" disables it.
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if url is None or not cache_dir:
        return None
    if not os.path.isfile(os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())):
        return None
    try:
        return TiktokenTokenizer(tiktoken.get_encoding(name))
    except Exception:  # a corrupt cached file makes tiktoken download: fall back instead
        return None


def _parse_base_url(raw: str) -> tuple[httpx.URL, str]:
    """The URL to post to and its display form (no credentials, query or default port)."""
    try:
        url = httpx.URL(str(raw).strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigError(f"invalid OpenAI base URL {raw!r}: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(
            f"OpenAI base URL {raw!r} is not an http(s) URL; set OPENAI_BASE_URL "
            f"(or base_url=) to e.g. https://api.openai.com/v1 or "
            f"http://127.0.0.1:8080/v1"
        )
    host = f"[{url.host}]" if ":" in url.host else url.host
    default_port = {"http": 80, "https": 443}[url.scheme]
    port = f":{url.port}" if url.port not in (None, default_port) else ""
    return url, f"{url.scheme}://{host}{port}{url.path.rstrip('/')}"


def _positive(name: str, value: Any, kind: type = int) -> Any:
    allowed = int if kind is int else int | float
    if isinstance(value, bool) or not isinstance(value, allowed) or value <= 0:
        raise ConfigError(f"{name} must be a positive {kind.__name__}, got {value!r}")
    return kind(value)


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asks us to wait: retry-after-ms, Retry-After seconds or HTTP-date."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name, "").strip()
        if not value:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - datetime.now(UTC)).total_seconds()
        if seconds == seconds:  # not NaN
            return max(0.0, seconds)
    return None


def _server_message(response: httpx.Response) -> str:
    """The server's explanation: OpenAI's {"error": {"message": ...}} or a common variant."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        for value in (error, payload.get("detail"), payload.get("message")):
            if isinstance(value, str) and value:
                return value
    return response.text.strip()[:300] or "(no message)"


def _batches(counts: list[int], max_inputs: int, max_tokens: int) -> list[range]:
    """Consecutive runs of at most ``max_inputs`` texts and ``max_tokens`` tokens."""
    out, start, tokens = [], 0, 0
    for i, count in enumerate(counts):
        if i > start and (i - start >= max_inputs or tokens + count > max_tokens):
            out.append(range(start, i))
            start, tokens = i, 0
        tokens += count
    if counts:
        out.append(range(start, len(counts)))
    return out


class OpenAIProvider(Provider):
    """An embedding model behind the OpenAI embeddings API (see the module doc)."""

    supports_dims = True
    refuses_long_inputs = True
    default_batch_size = MAX_BATCH_INPUTS  # requests are sized by max_batch_inputs/tokens

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        replace_newlines: bool | None = None,
        max_batch_inputs: int = MAX_BATCH_INPUTS,
        max_batch_tokens: int = MAX_BATCH_TOKENS,
        max_input_tokens: int | None = None,
        dim: int | None = None,
        tokenizer: Tokenizer | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ModelError("an OpenAI model needs a name, e.g. 'openai:text-embedding-3-small'")
        self.model_id = model
        self._url, self.base_url = _parse_base_url(
            base_url if base_url is not None else config.get("openai_base_url")
        )
        self._endpoint = self._url.copy_with(path=self._url.path.rstrip("/") + "/embeddings")
        self.is_official = self._url.host == OFFICIAL_HOST
        key = api_key if api_key is not None else config.get("openai_api_key")
        self.api_key: str | None = str(key).strip() or None
        self.timeout = _positive(
            "timeout", config.get("openai_timeout") if timeout is None else timeout, float
        )
        retries = config.get("openai_max_retries") if max_retries is None else max_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"max_retries must be an integer >= 0, got {retries!r}")
        self.max_retries = retries
        legacy = model.startswith(_LEGACY_PREFIXES)
        self._newlines_default = legacy
        self.replace_newlines = legacy if replace_newlines is None else bool(replace_newlines)
        self.accepts_dimensions = not legacy
        self.max_batch_inputs = _positive("max_batch_inputs", max_batch_inputs)
        self.max_batch_tokens = _positive("max_batch_tokens", max_batch_tokens)
        known_dim, known_max = OPENAI_MODELS.get(model, (None, DEFAULT_MAX_TOKENS))
        self._max_tokens = (
            known_max
            if max_input_tokens is None
            else _positive("max_input_tokens", max_input_tokens)
        )
        self._dim: int | None = known_dim if dim is None else _positive("dim", dim)
        if not 0 <= backoff_base <= backoff_max:
            raise ConfigError(
                f"need 0 <= backoff_base <= backoff_max, got {backoff_base!r} and {backoff_max!r}"
            )
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self._sleep = sleep
        self._tokenizer = tokenizer
        self._http: httpx.Client | None = None
        self._lock = threading.Lock()

    # --- identity ------------------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        base = (
            f"openai:{self.model_id}"
            if self.is_official
            else f"openai-compatible:{self.base_url}/{self.model_id}"
        )
        if self.replace_newlines != self._newlines_default:  # other inputs, other vectors
            base += ";newlines=" + ("space" if self.replace_newlines else "kept")
        return base

    @property
    def dim(self) -> int:
        """Native dimension; for an unknown model without ``dim=``, one probe request learns it."""
        if self._dim is None:
            self.embed([_PROBE_TEXT], prompt="", dims=None, batch_size=1)
        if self._dim is None:  # pragma: no cover - embed sets it or raises
            raise ProviderError(f"could not learn the dimension of {self.model_id}")
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = _tiktoken_tokenizer(self.model_id) or EstimateTokenizer()
        return self._tokenizer

    def describe(self) -> dict[str, object]:
        tok = self.tokenizer
        name = f"tiktoken:{tok.name}" if isinstance(tok, TiktokenTokenizer) else type(tok).__name__
        return {**super().describe(), "endpoint": self.base_url, "tokenizer": name}

    # --- embedding -----------------------------------------------------------------------
    def embed(
        self,
        texts: list[str],
        *,
        prompt: str = "",
        dims: int | None = None,
        batch_size: int | None = None,
        variant: str = "",
    ) -> np.ndarray:
        """Vectors for ``texts`` in order; ``batch_size`` further caps texts per request."""
        if dims is not None:
            self._check_dims(dims)
        if not texts:
            return np.zeros((0, dims or self.dim), dtype=np.float32)
        inputs = []
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise InputError(
                    f"text #{i} is empty, whitespace only or not a string; the "
                    f"embeddings API refuses it, so nothing was sent"
                )
            full = prompt + text
            inputs.append(full.replace("\n", " ") if self.replace_newlines else full)
        counts = self.tokenizer.count(inputs)
        over = [(i, c) for i, c in enumerate(counts) if c > self._max_tokens]
        if over:
            where = ", ".join(f"#{i} ({c} tokens)" for i, c in over[:5])
            raise InputError(
                f"{len(over)} text(s) exceed the {self._max_tokens}-token limit of "
                f"{self.model_id}: {where}; nothing was sent. Split them first "
                f"(semkit.chunk) or set max_input_tokens if the server allows more"
            )
        per_request = min(self.max_batch_inputs, batch_size or self.max_batch_inputs)
        client = self._client()
        parts = [
            self._request(client, [inputs[i] for i in batch], dims)
            for batch in _batches(counts, per_request, self.max_batch_tokens)
        ]
        lengths = sorted({p.shape[1] for p in parts})
        if len(lengths) != 1:
            raise ProviderError(
                f"{self._where()} returned vectors of different lengths {lengths} across requests"
            )
        if dims is None:
            if self._dim is None:
                self._dim = lengths[0]
            elif lengths[0] != self._dim:
                raise ProviderError(
                    f"{self._where()} returned {lengths[0]}-dimensional vectors, but "
                    f"{self.model_id} has {self._dim}; if this server's model differs, pass "
                    f"dim={lengths[0]}"
                )
        return np.concatenate(parts).astype(np.float32, copy=False)

    def _check_dims(self, dims: int) -> None:
        if isinstance(dims, bool) or not isinstance(dims, int) or dims < 1:
            raise InputError(f"dims must be a positive integer, got {dims!r}")
        if not self.accepts_dimensions:
            raise ModelError(
                f"{self.model_id} does not support `dimensions` (dims={dims}); "
                f"use text-embedding-3-small or -large, or leave dims unset"
            )
        if self._dim is not None and dims > self._dim:
            raise InputError(
                f"dims={dims} is larger than the {self._dim} dimensions of "
                f"{self.model_id}; choose dims <= {self._dim}"
            )

    def _where(self) -> str:
        return f"{self.model_id} at {self.base_url}"

    def _client(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                if self.api_key is None and self.is_official:
                    raise ConfigError(
                        f"no OpenAI API key: {self.base_url} needs one. Set OPENAI_API_KEY "
                        f"(or openai_api_key in the semkit config file, or api_key=), or point "
                        f"OPENAI_BASE_URL at a compatible server"
                    )
                from semkit import __version__

                headers = {"User-Agent": f"semkit/{__version__}"}
                if self.api_key:
                    headers["Authorization"] = f"Bearer {self.api_key}"
                self._http = httpx.Client(timeout=self.timeout, headers=headers)
            return self._http

    def _request(self, client: httpx.Client, inputs: list[str], dims: int | None) -> np.ndarray:
        body: dict[str, Any] = {"model": self.model_id, "input": inputs, "encoding_format": "float"}
        if dims is not None:
            body["dimensions"] = dims
        return self._parse(self._post(client, body), len(inputs), dims)

    def _post(self, client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
        """POST with retries (see the module doc); the first 2xx answer."""
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            wait: float | None = None
            try:
                response = client.post(self._endpoint, json=body)
            except httpx.TimeoutException as exc:
                problem = f"no answer within {self.timeout:g} s ({type(exc).__name__})"
                hint = "if the server is just slow, raise SEMKIT_OPENAI_TIMEOUT (or timeout=)"
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__}: {exc})"
                hint = "check that the server is running and OPENAI_BASE_URL (or base_url=)"
            else:
                if response.is_success:
                    return response
                status = response.status_code
                problem = f"HTTP {status} {response.reason_phrase}: {_server_message(response)}"
                if status != 429 and status < 500:
                    raise ProviderError(
                        f"{self._where()} refused the request with {problem}"
                        f"{self._refusal_hint(response)}"
                    )
                wait = _retry_after(response.headers)
                hint = (
                    "you are rate limited or out of quota: wait and try again, send less "
                    "at once, or raise SEMKIT_OPENAI_MAX_RETRIES"
                    if status == 429
                    else "the server failed: try again later or raise SEMKIT_OPENAI_MAX_RETRIES"
                )
            if attempt == attempts:
                break
            if wait is None:
                wait = random.uniform(
                    0, min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
                )
            elif wait > self.backoff_max:
                raise RateLimitError(
                    f"{self._where()}: {problem}; the server asks to wait {wait:g} s, longer "
                    f"than semkit waits ({self.backoff_max:g} s), so it gave up after "
                    f"{attempt} attempt(s); try again later"
                )
            self._sleep(wait)
        raise RateLimitError(
            f"{self._where()}: {problem}; gave up after {attempts} attempt(s) "
            f"(max_retries={self.max_retries}); {hint}"
        )

    def _refusal_hint(self, response: httpx.Response) -> str:
        status = response.status_code
        if 300 <= status < 400:
            return (
                f"; the server redirects to {response.headers.get('location', '?')}: set "
                f"OPENAI_BASE_URL (or base_url=) to the final address"
            )
        if status in (401, 403):
            return "; check the API key (OPENAI_API_KEY or api_key=)"
        if status == 404:
            return (
                f"; check the model name and that OPENAI_BASE_URL ends in /v1 (the request "
                f"went to {self.base_url}/embeddings)"
            )
        if status == 413:
            return "; the request was too large: lower max_batch_inputs or max_batch_tokens"
        if status in (400, 422):
            return (
                "; the server rejected the input (with dims, the model may not support "
                "`dimensions`; with long texts, lower max_input_tokens)"
            )
        return ""

    def _parse(self, response: httpx.Response, n: int, dims: int | None) -> np.ndarray:
        """The (n, d) vectors of one answer, by ``index``; any flaw is a ProviderError."""
        where = self._where()
        try:
            payload = response.json()
        except ValueError as exc:
            raise ProviderError(
                f"{where} answered HTTP {response.status_code} with malformed "
                f"JSON ({exc}): {response.text[:200]!r}; is OPENAI_BASE_URL an "
                f"OpenAI-compatible embeddings API?"
            ) from exc
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise ProviderError(f"{where} answered without a 'data' list: {response.text[:200]!r}")
        if len(data) != n:
            raise ProviderError(f"{where} returned {len(data)} embeddings for {n} inputs")
        rows: list[np.ndarray | None] = [None] * n
        for pos, item in enumerate(data):
            index = item.get("index") if isinstance(item, dict) else None
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
                raise ProviderError(
                    f"{where} returned item #{pos} with index {index!r}; "
                    f"expected each of 0..{n - 1} once"
                )
            if rows[index] is not None:
                raise ProviderError(
                    f"{where} returned index {index} twice; expected each of 0..{n - 1} once"
                )
            rows[index] = self._vector(item.get("embedding"), index)
        vectors = [r for r in rows if r is not None]  # all set: n distinct indices in [0, n)
        lengths = sorted({v.shape[0] for v in vectors})
        if len(lengths) != 1:
            raise ProviderError(f"{where} returned vectors of different lengths {lengths}")
        if dims is not None and lengths[0] != dims:
            raise ProviderError(
                f"{where} returned {lengths[0]}-dimensional vectors though "
                f"dimensions={dims} was asked; this server may not support "
                f"`dimensions`: leave dims unset"
            )
        return np.stack(vectors)

    def _vector(self, value: Any, index: int) -> np.ndarray:
        arr: np.ndarray | None = None
        if isinstance(value, str):  # encoding_format "base64": little-endian float32
            try:
                raw = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if raw and len(raw) % 4 == 0:
                arr = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif isinstance(value, list) and value:
            try:
                candidate = np.asarray(value)
            except (ValueError, TypeError):
                candidate = None
            if candidate is not None and candidate.ndim == 1 and candidate.dtype.kind in "iuf":
                arr = candidate.astype(np.float32)
        if arr is None:
            raise ProviderError(
                f"{self._where()} returned an embedding for input #{index} "
                f"that is not a list of numbers: {str(value)[:80]}"
            )
        if not np.isfinite(arr).all():
            raise ProviderError(
                f"{self._where()} returned NaN or infinite values for input #{index}"
            )
        return arr

    def close(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None


__all__ = ["OpenAIProvider", "TiktokenTokenizer"]
