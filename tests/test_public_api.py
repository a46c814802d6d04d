import semkit


def test_public_names_change_only_on_purpose():
    assert sorted(semkit.__all__) == sorted(
        [
            "DEFAULT_MODEL_ID", "Chunk", "Collection", "ConfigError", "Database", "Document",
            "DocumentsReport", "Embedder", "EmbeddingCache", "EncodeStats", "ExtractedDocument",
            "Hit", "InputError", "LockedError", "MissingExtraError", "ModelError", "NotFoundError",
            "Provider", "ProviderError", "RateLimitError", "SemkitError", "StoreError",
            "TruncationWarning", "WriteReport", "__version__", "add_documents", "analogy",
            "available_models", "chunk", "cosine", "dot", "embed", "euclidean", "extract", "open",
            "pages_of", "similarity", "top_k",
        ]
    )  # fmt: skip
    for name in semkit.__all__:
        assert hasattr(semkit, name), name


def test_every_error_is_a_semkit_error():
    for name in (
        "ConfigError",
        "InputError",
        "LockedError",
        "MissingExtraError",
        "ModelError",
        "NotFoundError",
        "ProviderError",
        "RateLimitError",
        "StoreError",
    ):
        assert issubclass(getattr(semkit, name), semkit.SemkitError)


def test_missing_collection_or_document_is_not_found(tmp_path):
    with semkit.open(tmp_path / "db") as db:
        try:
            db.collection("absent", create=False)
        except semkit.NotFoundError as exc:
            assert "absent" in str(exc)
            assert isinstance(exc, semkit.InputError)
        else:
            raise AssertionError("opening a missing collection must fail")
        coll = db.collection("vecs", model=None, dims=2)
        coll.add(embeddings=[[1.0, 0.0]], ids=["a"])
        try:
            coll.document_vectors(["b"])
        except semkit.NotFoundError as exc:
            assert "'b'" in str(exc)
        else:
            raise AssertionError("a missing document must fail")
