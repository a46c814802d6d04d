import semkit


def test_public_names_change_only_on_purpose():
    assert sorted(semkit.__all__) == sorted(
        [
            "DEFAULT_MODEL_ID", "Chunk", "Collection", "ConfigError", "Database", "Document",
            "Embedder", "EmbeddingCache", "EncodeStats", "Hit", "InputError", "LockedError",
            "ModelError", "Provider", "ProviderError", "RateLimitError", "SemkitError",
            "StoreError", "TruncationWarning", "WriteReport", "__version__", "analogy",
            "available_models", "chunk", "cosine", "dot", "embed", "euclidean", "open",
            "similarity", "top_k",
        ]
    )  # fmt: skip
    for name in semkit.__all__:
        assert hasattr(semkit, name), name


def test_every_error_is_a_semkit_error():
    for name in (
        "ConfigError",
        "InputError",
        "LockedError",
        "ModelError",
        "ProviderError",
        "RateLimitError",
        "StoreError",
    ):
        assert issubclass(getattr(semkit, name), semkit.SemkitError)
