"""OpenAIProvider against a real local HTTP server speaking the OpenAI embeddings API."""

from __future__ import annotations

import hashlib
import re
import socket
import sys
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import semkit
from semkit.embedding.openai import OpenAIProvider, TiktokenTokenizer, _tiktoken_tokenizer
from semkit.embedding.registry import resolve
from semkit.errors import ConfigError, InputError, ModelError, ProviderError, RateLimitError
from semkit.text.chunking import chunk_text
from semkit.text.tokens import EstimateTokenizer

if TYPE_CHECKING:
    from openai_server import FakeOpenAIServer

pytest_plugins = ["openai_server"]  # the `openai_server` fixture: a real local HTTP server

MODEL = "text-embedding-3-small"
KEY = "sk-test-123"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user config, key, proxy or tiktoken cache leaks into the tests."""
    monkeypatch.setenv("SEMKIT_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("SEMKIT_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "no-tiktoken"))
    for name in (
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "SEMKIT_OPENAI_TIMEOUT",
        "SEMKIT_OPENAI_MAX_RETRIES",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sleeps() -> list[float]:
    """Durations the provider asked to sleep; nothing really waits."""
    return []


@pytest.fixture
def make_provider(
    openai_server: FakeOpenAIServer, sleeps: list[float]
) -> Iterator[Callable[..., OpenAIProvider]]:
    made: list[OpenAIProvider] = []

    def make(model: str = MODEL, **options: Any) -> OpenAIProvider:
        options = {
            "base_url": openai_server.url,
            "api_key": KEY,
            "sleep": sleeps.append,
            "backoff_base": 0.01,
            "timeout": 5.0,
            **options,
        }
        made.append(OpenAIProvider(model, **options))
        return made[-1]

    yield make
    for provider in made:
        provider.close()


@pytest.fixture
def make_embedder(
    openai_server: FakeOpenAIServer, sleeps: list[float], tmp_path: Path
) -> Iterator[Callable[..., semkit.Embedder]]:
    """Embedders as a user makes them: a model spec, a cache directory, provider options."""
    made: list[semkit.Embedder] = []

    def make(spec: str = f"openai:{MODEL}", **options: Any) -> semkit.Embedder:
        options = {
            "cache": tmp_path / "cache",
            "base_url": openai_server.url,
            "api_key": KEY,
            "sleep": sleeps.append,
            "backoff_base": 0.01,
            "timeout": 5.0,
            **options,
        }
        made.append(semkit.Embedder(spec, **options))
        return made[-1]

    yield make
    for embedder in made:
        embedder.close()


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def entries(embedder: semkit.Embedder) -> int:
    assert embedder.cache is not None
    return int(embedder.cache.stats()["entries"])


TEXTS = [
    "the cat sat on the mat",
    "a dog barked",
    "semantic search is neat",
    "vectors all the way down",
    "short",
    "one more sentence here",
    "x y z",
]


# --- through the Embedder, as a user -------------------------------------------------------
def test_embedder_returns_the_servers_vectors(openai_server, make_embedder):
    emb = make_embedder()
    assert isinstance(emb.provider, OpenAIProvider)
    assert openai_server.requests == []  # constructing touched no network
    out = emb.encode(TEXTS[:3])
    assert out.shape == (3, 1536) and out.dtype == np.float32
    for row, text in zip(out, TEXTS[:3], strict=True):
        np.testing.assert_allclose(row, unit(openai_server.vector(text, 1536)), rtol=1e-6)
    (request,) = openai_server.requests
    assert request.path == "/v1/embeddings"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body == {"model": MODEL, "input": TEXTS[:3], "encoding_format": "float"}
    assert emb.fingerprint == f"openai-compatible:{openai_server.url}/{MODEL}"


def test_order_kept_across_split_requests_with_shuffled_answers(openai_server, make_embedder):
    openai_server.shuffle = True
    emb = make_embedder(max_batch_inputs=3)
    out = emb.encode(TEXTS)
    sizes = [len(b["input"]) for b in openai_server.embedding_requests]
    assert sizes == [3, 3, 1]
    expected = np.stack([unit(openai_server.vector(t, 1536)) for t in TEXTS])
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_requests_split_by_tokens(openai_server, make_provider):
    openai_server.shuffle = True
    tok = EstimateTokenizer()
    provider = make_provider(max_batch_tokens=10)
    out = provider.embed(TEXTS, prompt="", dims=None, batch_size=100)
    requests = openai_server.embedding_requests
    assert len(requests) > 2
    assert openai_server.inputs_seen == TEXTS  # every text once, in order
    for body in requests:
        assert len(body["input"]) == 1 or sum(tok.count(body["input"])) <= 10
    np.testing.assert_array_equal(out, np.stack([openai_server.vector(t, 1536) for t in TEXTS]))


def test_batch_size_caps_texts_per_request(openai_server, make_provider):
    make_provider().embed(TEXTS, batch_size=2)
    assert [len(b["input"]) for b in openai_server.embedding_requests] == [2, 2, 2, 1]


def test_dimensions_sent_and_output_shape(openai_server, make_embedder):
    emb = make_embedder(dims=256)
    out = emb.encode(TEXTS[:2])
    assert out.shape == (2, 256) and emb.dim == 256
    assert [b["dimensions"] for b in openai_server.embedding_requests] == [256]
    np.testing.assert_allclose(out[1], unit(openai_server.vector(TEXTS[1], 1536)[:256]), rtol=1e-6)


def test_dims_refused_for_ada_002_before_sending(openai_server, make_embedder, make_provider):
    with pytest.raises(ModelError, match="does not support `dimensions`"):
        make_embedder("openai:text-embedding-ada-002", dims=256).encode("hello")
    with pytest.raises(ModelError, match="text-embedding-3-small"):
        make_provider("text-embedding-ada-002").embed(["hello"], dims=256)
    assert openai_server.requests == []


def test_unknown_model_gets_dimensions_sent(openai_server, make_provider):
    out = make_provider("my-local-model").embed(["a", "b"], dims=16)
    assert out.shape == (2, 16)
    assert openai_server.embedding_requests[0]["dimensions"] == 16


def test_unknown_model_dim_is_learned(openai_server, make_provider):
    probe = make_provider("my-local-model")
    assert probe.dim == 64  # one probe request
    assert probe.dim == 64
    assert openai_server.inputs_seen == ["dimension probe"]
    learner = make_provider("my-local-model")
    assert learner.embed(["a", "b"]).shape == (2, 64)
    assert learner.dim == 64 and len(openai_server.requests) == 2  # learned, no probe
    assert make_provider("my-local-model", dim=64).dim == 64
    assert len(openai_server.requests) == 2


def test_known_models_and_limits_need_no_request(openai_server, make_provider):
    small, large = make_provider(), make_provider("text-embedding-3-large")
    assert (small.dim, small.max_tokens, large.dim) == (1536, 8191, 3072)
    assert make_provider("my-local-model", max_input_tokens=512).max_tokens == 512
    assert make_provider("my-local-model").max_tokens == 8191
    assert small.describe()["endpoint"] == openai_server.url
    assert openai_server.requests == []


# --- retries ----------------------------------------------------------------------------
def test_429_with_retry_after_seconds_is_honoured(openai_server, make_embedder, sleeps):
    openai_server.fail(429, message="Rate limit reached", headers={"Retry-After": "2"})
    out = make_embedder().encode(TEXTS[:2])
    assert out.shape == (2, 1536)
    assert sleeps == [2.0]
    assert len(openai_server.requests) == 2


def test_retry_after_http_date_and_ms(openai_server, make_provider, sleeps):
    when = datetime.now(UTC) + timedelta(seconds=30)
    openai_server.fail(429, headers={"Retry-After": format_datetime(when, usegmt=True)})
    openai_server.fail(503, headers={"retry-after-ms": "250"})
    make_provider().embed(["hello"])
    assert 28 < sleeps[0] <= 30
    assert sleeps[1] == pytest.approx(0.25)


def test_5xx_retried_with_full_jitter_backoff(openai_server, make_provider, sleeps):
    openai_server.fail(500)
    openai_server.fail(502)
    openai_server.fail(503)
    out = make_provider(backoff_base=0.5).embed(["hello"])
    np.testing.assert_array_equal(out[0], openai_server.vector("hello", 1536))
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        assert 0 <= delay <= 0.5 * 2**attempt


def test_timeout_is_retried(openai_server, make_embedder, sleeps):
    openai_server.slow(3.0)
    out = make_embedder(timeout=0.3).encode(TEXTS[:2])
    assert out.shape == (2, 1536)
    assert len(openai_server.requests) == 2 and len(sleeps) == 1


def test_timeouts_past_the_budget_say_so(openai_server, make_provider, sleeps):
    openai_server.slow(3.0)
    openai_server.slow(3.0)
    with pytest.raises(RateLimitError, match=r"no answer within 0.2 s.*2 attempt\(s\).*TIMEOUT"):
        make_provider(timeout=0.2, max_retries=1).embed(["hello"])
    assert len(openai_server.requests) == 2 and len(sleeps) == 1


def test_rate_limit_error_after_the_budget(openai_server, make_embedder, sleeps):
    openai_server.fail(429, message="Rate limit reached for requests", times=3)
    emb = make_embedder(max_retries=2)
    with pytest.raises(RateLimitError) as info:
        emb.encode(TEXTS[:2])
    message = str(info.value)
    for part in (
        "HTTP 429",
        "Rate limit reached for requests",
        "3 attempt(s)",
        "max_retries=2",
        MODEL,
        openai_server.url,
    ):
        assert part in message
    assert isinstance(info.value, ProviderError)
    assert len(openai_server.requests) == 3 and len(sleeps) == 2
    assert entries(emb) == 0


def test_too_long_retry_after_gives_up_at_once(openai_server, make_provider, sleeps):
    openai_server.fail(429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimitError, match="asks to wait 3600 s"):
        make_provider().embed(["hello"])
    assert len(openai_server.requests) == 1 and sleeps == []


def test_connection_refused_is_retried_then_rate_limit_error(make_provider, sleeps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = make_provider(base_url=f"http://127.0.0.1:{port}/v1", max_retries=2)
    with pytest.raises(RateLimitError, match=r"connection failed.*3 attempt\(s\)"):
        provider.embed(["hello"])
    assert len(sleeps) == 2


def test_redirect_is_not_followed_and_explained(openai_server, make_provider):
    openai_server.fail(308, headers={"Location": "https://elsewhere.example/v1/embeddings"})
    with pytest.raises(ProviderError, match=re.escape("redirects to https://elsewhere.example")):
        make_provider().embed(["hello"])
    assert len(openai_server.requests) == 1


@pytest.mark.parametrize("status", [400, 404, 422])
def test_other_4xx_not_retried(openai_server, make_provider, sleeps, status):
    openai_server.fail(status, message="Invalid 'input': something specific")
    with pytest.raises(ProviderError, match=f"HTTP {status}.*something specific") as info:
        make_provider().embed(["hello"])
    assert not isinstance(info.value, RateLimitError)
    assert len(openai_server.requests) == 1 and sleeps == []


def test_wrong_key_and_wrong_path_explain_what_to_do(openai_server, make_provider):
    openai_server.api_key = "sk-right"
    with pytest.raises(ProviderError, match=r"Incorrect API key.*OPENAI_API_KEY"):
        make_provider(api_key="sk-wrong").embed(["hello"])
    assert make_provider(api_key="sk-right").embed(["hello"]).shape == (1, 1536)
    with pytest.raises(ProviderError, match=r"HTTP 404.*ends in /v1"):
        make_provider(base_url=openai_server.root, api_key="sk-right").embed(["hello"])
    assert len(openai_server.requests) == 3


# --- malformed answers ------------------------------------------------------------------
def _drop_index(payload: dict[str, Any]) -> None:
    del payload["data"][0]["index"]


def _duplicate_index(payload: dict[str, Any]) -> None:
    payload["data"][1]["index"] = payload["data"][0]["index"]


def _non_numeric(payload: dict[str, Any]) -> None:
    payload["data"][0]["embedding"][3] = "0.5"


def _ragged(payload: dict[str, Any]) -> None:
    payload["data"][0]["embedding"].append(0.0)


def _out_of_range(payload: dict[str, Any]) -> None:
    payload["data"][0]["index"] = 7


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p["data"].pop(), "returned 2 embeddings for 3 inputs"),
        (lambda p: p["data"].append(dict(p["data"][0])), "returned 4 embeddings for 3 inputs"),
        (_drop_index, "index None"),
        (_duplicate_index, "twice"),
        (_out_of_range, "index 7"),
        (_non_numeric, "not a list of numbers"),
        (lambda p: p["data"][2].update(embedding=None), "not a list of numbers"),
        (_ragged, "different lengths"),
        (lambda p: p.pop("data"), "without a 'data' list"),
    ],
)
def test_malformed_answers_are_provider_errors_not_retried(
    openai_server, make_embedder, sleeps, edit, message
):
    openai_server.corrupt(edit)
    emb = make_embedder()
    with pytest.raises(ProviderError, match=re.escape(message)):
        emb.encode(TEXTS[:3])
    assert len(openai_server.requests) == 1 and sleeps == []
    assert entries(emb) == 0


def test_malformed_json_caches_nothing_then_a_good_run_caches(openai_server, make_embedder):
    openai_server.malformed()
    emb = make_embedder()
    with pytest.raises(ProviderError, match="malformed JSON"):
        emb.encode(TEXTS[:3])
    assert entries(emb) == 0
    assert emb.encode(TEXTS[:3]).shape == (3, 1536)
    assert entries(emb) == 3


def test_ignored_dimensions_is_an_error(openai_server, make_embedder):
    def full_vectors(payload: dict[str, Any]) -> None:
        for item in payload["data"]:
            item["embedding"] = openai_server.vector("x", 1536).tolist()

    openai_server.corrupt(full_vectors)
    emb = make_embedder(dims=8)
    with pytest.raises(ProviderError, match="dimensions=8 was asked"):
        emb.encode(["a", "b"])
    assert entries(emb) == 0


def test_nan_in_answer_is_an_error(openai_server, make_provider):
    openai_server.corrupt(lambda p: p["data"][0]["embedding"].__setitem__(0, float("nan")))
    with pytest.raises(ProviderError, match="NaN"):
        make_provider().embed(["a"])


def test_base64_answers_are_accepted(openai_server, make_provider):
    openai_server.base64 = True
    out = make_provider().embed(["a", "b"], dims=32)
    np.testing.assert_array_equal(out[1], openai_server.vector("b", 1536)[:32])


# --- cache, limits, input checks --------------------------------------------------------
def test_cache_hit_makes_no_request(openai_server, make_embedder):
    first = make_embedder().encode(TEXTS[:3])
    assert len(openai_server.requests) == 1
    again = make_embedder()  # a new process would do the same: the cache is on disk
    np.testing.assert_array_equal(again.encode(TEXTS[:3]), first)
    assert len(openai_server.requests) == 1 and again.last_stats.cached == 3
    again.encode(TEXTS[:4])
    assert openai_server.embedding_requests[-1]["input"] == [TEXTS[3]]


def test_over_long_input_refused_before_sending(openai_server, make_embedder, make_provider):
    with pytest.raises(InputError, match=r"8191-token limit.*nothing was sent"):
        make_embedder().encode(["fine", "word " * 9000])
    with pytest.raises(InputError, match="5-token limit"):
        make_provider("my-local-model", max_input_tokens=5, dim=64).embed(
            ["one two three four five six seven"]
        )
    assert openai_server.requests == []


def test_empty_text_refused_before_sending(openai_server, make_embedder, make_provider):
    with pytest.raises(InputError, match="#1"):
        make_embedder().encode(["ok", "   "])
    with pytest.raises(InputError, match="#1 is empty"):
        make_provider().embed(["ok", ""])
    assert openai_server.requests == []


def test_newline_replacement_and_prompt(openai_server, make_provider):
    make_provider("text-embedding-ada-002").embed(["a\nb"])
    make_provider().embed(["a\nb"], prompt="query: ")
    kept = make_provider("text-embedding-ada-002", replace_newlines=False)
    kept.embed(["a\nb"])
    replaced = make_provider(replace_newlines=True)
    replaced.embed(["a\nb"])
    assert openai_server.inputs_seen == ["a b", "query: a\nb", "a\nb", "a b"]
    # a non-default choice changes the vectors, so it changes the fingerprint
    assert kept.fingerprint.endswith(";newlines=kept")
    assert replaced.fingerprint.endswith(";newlines=space")
    assert make_provider().fingerprint == f"openai-compatible:{openai_server.url}/{MODEL}"


# --- configuration ----------------------------------------------------------------------
def test_official_api_without_key_is_a_config_error_at_first_use():
    provider = OpenAIProvider(MODEL)  # fine: no network, no key needed yet
    assert provider.fingerprint == f"openai:{MODEL}"
    assert provider.dim == 1536
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        provider.embed(["hello"])
    provider.close()


def test_local_server_needs_no_key(openai_server, make_provider):
    make_provider(api_key="").embed(["hello"])
    assert "authorization" not in openai_server.requests[0].headers


def test_defaults_come_from_config(openai_server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.url + "/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("SEMKIT_OPENAI_TIMEOUT", "7.5")
    monkeypatch.setenv("SEMKIT_OPENAI_MAX_RETRIES", "1")
    provider = OpenAIProvider(MODEL)
    assert (provider.base_url, provider.timeout, provider.max_retries) == (
        openai_server.url,
        7.5,
        1,
    )
    provider.embed(["hello"])
    provider.close()
    assert openai_server.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_fingerprint_normalises_the_base_url():
    provider = OpenAIProvider(MODEL, base_url="HTTP://user:pw@LocalHost:80/v1/?x=1")
    assert provider.fingerprint == f"openai-compatible:http://localhost/v1/{MODEL}"
    assert OpenAIProvider(MODEL, base_url="https://api.openai.com/v1/").fingerprint == (
        f"openai:{MODEL}"
    )


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"max_retries": -1},
        {"base_url": "ftp://example.com/v1"},
        {"base_url": "not a url"},
        {"max_batch_inputs": 0},
        {"max_batch_tokens": 1.5},
        {"dim": -3},
        {"backoff_base": -1.0},
        {"backoff_base": 5.0, "backoff_max": 1.0},
    ],
)
def test_invalid_options_are_config_errors(options):
    with pytest.raises(ConfigError):
        OpenAIProvider(MODEL, **options)


def test_registry_resolves_openai_specs(openai_server):
    provider = resolve(f"openai:{MODEL}", base_url=openai_server.url)
    assert isinstance(provider, OpenAIProvider) and provider.model_id == MODEL
    assert openai_server.requests == []


# --- tokenizer --------------------------------------------------------------------------
class FakeEncoding:
    """A tiktoken-like BPE: " word" pieces of at most 3 bytes (so some split characters)."""

    name = "fake_base"

    def __init__(self) -> None:
        self.vocab: dict[bytes, int] = {}

    def encode_ordinary(self, text: str) -> list[int]:
        ids = []
        for m in re.finditer(rb" ?[^ \n]+|[ \n]+", text.encode()):
            piece = m.group()
            for i in range(0, len(piece), 3):
                ids.append(self.vocab.setdefault(piece[i : i + 3], len(self.vocab)))
        return ids

    def encode_ordinary_batch(self, texts: list[str]) -> list[list[int]]:
        return [self.encode_ordinary(t) for t in texts]

    def decode_tokens_bytes(self, ids: list[int]) -> list[bytes]:
        by_id = {v: k for k, v in self.vocab.items()}
        return [by_id[i] for i in ids]


def test_tiktoken_spans_skip_spaces_and_keep_whole_characters():
    tok = TiktokenTokenizer(FakeEncoding())
    text = "Grüße aus Köln.\n\nNew paragraph with words here"
    spans = tok.spans(text)
    assert len(spans) == tok.count([text])[0]
    starts = [s for s, _ in spans]
    assert starts == sorted(starts)
    for s, e in spans:
        assert text[s:e] == text[s:e].strip()
    covered = {i for s, e in spans for i in range(s, e)}
    assert covered == {i for i, c in enumerate(text) if not c.isspace()}
    chunks = chunk_text(text, tok, 6)
    assert all(c.text == text[c.start : c.end] for c in chunks)
    assert chunks[0].text.startswith("Grüße") and len(chunks) > 1


def _fake_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("tiktoken")

    def encoding_name_for_model(model: str) -> str:
        if model.startswith("text-embedding-"):
            return "cl100k_base"
        raise KeyError(model)

    module.encoding_name_for_model = encoding_name_for_model  # type: ignore[attr-defined]
    module.get_encoding = lambda name: FakeEncoding()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tiktoken", module)


def test_tiktoken_used_only_when_its_file_is_already_on_disk(monkeypatch, tmp_path):
    _fake_tiktoken(monkeypatch)
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    assert _tiktoken_tokenizer(MODEL) is None  # would download: not offline
    assert isinstance(OpenAIProvider(MODEL).tokenizer, EstimateTokenizer)
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"bpe ranks")
    provider = OpenAIProvider(MODEL)
    assert isinstance(provider.tokenizer, TiktokenTokenizer)
    assert provider.describe()["tokenizer"] == "tiktoken:fake_base"
    assert _tiktoken_tokenizer("my-local-model") is None  # not an OpenAI model
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # tiktoken's "no cache": always downloads
    assert _tiktoken_tokenizer(MODEL) is None


def test_without_tiktoken_the_estimate_is_used(monkeypatch):
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # import fails
    provider = OpenAIProvider(MODEL)
    assert isinstance(provider.tokenizer, EstimateTokenizer)
    assert provider.describe()["tokenizer"] == "EstimateTokenizer"


def test_given_tokenizer_is_used(openai_server, make_provider):
    class OneTokenPerChar:
        special_tokens = 0

        def spans(self, text: str) -> list[tuple[int, int]]:
            return [(i, i + 1) for i in range(len(text))]

        def count(self, texts: list[str]) -> list[int]:
            return [len(t) for t in texts]

    provider = make_provider(tokenizer=OneTokenPerChar(), max_batch_tokens=12)
    provider.embed(["abcde", "fghij", "klmno"])
    assert [len(b["input"]) for b in openai_server.embedding_requests] == [2, 1]
