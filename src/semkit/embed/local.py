"""Local sentence-transformers models, loaded from a directory on disk.

Everything about the model that semkit needs before embedding (fingerprint,
dimension, token limit, prompts, tokenizer) is read from the directory's files,
so constructing a ``LocalProvider`` imports no torch and loads no weights; the
model itself is loaded, quietly, on the first ``embed``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from semkit.embed.base import Provider
from semkit.embed.quiet import quiet_libraries
from semkit.errors import ModelError
from semkit.text.tokens import HFTokenizer, Tokenizer

# Files that do not change what the model computes.
_IGNORED_SUFFIXES = {".md", ".txt.lock", ".lock"}
_IGNORED_NAMES = {".gitattributes", "README.md", "LICENSE", "data_config.json"}
_IGNORED_DIRS = {"onnx", "openvino", ".git", ".cache"}
_POOLING_MODES = (
    "pooling_mode_cls_token",
    "pooling_mode_mean_tokens",
    "pooling_mode_max_tokens",
    "pooling_mode_mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens",
    "pooling_mode_lasttoken",
)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read model file {path}: {exc}") from exc


def is_model_dir(path: Path) -> bool:
    return path.is_dir() and ((path / "modules.json").is_file() or (path / "config.json").is_file())


def _model_files(path: Path) -> list[Path]:
    files = []
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path)
        if (
            rel.parts[0] in _IGNORED_DIRS
            or p.name in _IGNORED_NAMES
            or p.suffix in _IGNORED_SUFFIXES
            or not p.is_file()
        ):
            continue
        files.append(p)
    return files


def directory_stat(path: Path) -> str:
    """Cheap summary of the directory's files (names, sizes, mtimes) for memoisation."""
    h = hashlib.sha256()
    for p in _model_files(path):
        st = p.stat()
        h.update(f"{p.relative_to(path)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def directory_fingerprint(path: Path) -> str:
    """SHA-256 over the names and contents of the files that define the model."""
    h = hashlib.sha256()
    for p in _model_files(path):
        with p.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        h.update(f"{p.relative_to(path).as_posix()}:{digest}\n".encode())
    return "st-" + h.hexdigest()[:24]


class LocalProvider(Provider):
    """A sentence-transformers model directory (safetensors weights, JSON configs)."""

    default_batch_size = 16  # measured: batches of 8-16 beat 32+ on CPU for short texts

    def __init__(
        self,
        path: str | Path,
        model_id: str | None = None,
        *,
        trust_remote_code: bool = False,
        fingerprint_memo: Any = None,
    ) -> None:
        self.path = Path(path).expanduser().resolve()
        if not is_model_dir(self.path):
            raise ModelError(
                f"{self.path} is not a model directory (no modules.json or "
                f"config.json); pass a sentence-transformers model directory"
            )
        self.model_id = model_id or self.path.name
        self.trust_remote_code = trust_remote_code
        self._memo = fingerprint_memo
        self._fingerprint: str | None = None
        self._tokenizer: Tokenizer | None = None
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._st_config = _read_json(self.path / "sentence_bert_config.json") or {}
        self._st_meta = _read_json(self.path / "config_sentence_transformers.json") or {}
        self._hf_config = _read_json(self.path / "config.json") or {}
        self._dim = self._dim_from_config()

    # --- what the files say -------------------------------------------------------------
    def _dim_from_config(self) -> int | None:
        modules = _read_json(self.path / "modules.json")
        if not modules:
            return self._hf_config.get("hidden_size")
        dim = None
        for module in modules:
            kind = module.get("type", "")
            cfg = _read_json(self.path / module.get("path", "") / "config.json") or {}
            if kind.endswith("Pooling"):
                modes = sum(bool(cfg.get(m)) for m in _POOLING_MODES) or 1
                if "word_embedding_dimension" in cfg:
                    dim = int(cfg["word_embedding_dimension"]) * modes
            elif kind.endswith("Dense") and "out_features" in cfg:
                dim = int(cfg["out_features"])
            elif kind.endswith(("Normalize", "Transformer")):
                continue
            elif kind:
                return None  # an unknown module may change the size: ask the loaded model
        return dim

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            if self._memo is not None:
                self._fingerprint = self._memo.memo_fingerprint(
                    self.path, directory_stat(self.path), lambda: directory_fingerprint(self.path)
                )
            else:
                self._fingerprint = directory_fingerprint(self.path)
        return self._fingerprint

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.model.get_embedding_dimension())
        return self._dim

    @property
    def max_tokens(self) -> int:
        for value in (
            self._st_config.get("max_seq_length"),
            self._hf_config.get("max_position_embeddings"),
        ):
            if value:
                return int(value)
        return 512

    @property
    def prompts(self) -> dict[str, str]:
        return dict(self._st_meta.get("prompts") or {})

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            tok_file = self.path / "tokenizer.json"
            if not tok_file.is_file():
                raise ModelError(
                    f"{self.path} has no tokenizer.json; semkit needs a fast "
                    f"tokenizer file to count tokens and chunk text"
                )
            self._tokenizer = HFTokenizer(tok_file)
        return self._tokenizer

    # --- the model itself ---------------------------------------------------------------
    @property
    def model(self) -> Any:
        with self._load_lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self) -> Any:
        with quiet_libraries() as captured:
            try:
                from sentence_transformers import SentenceTransformer

                return SentenceTransformer(
                    str(self.path),
                    device="cpu",
                    local_files_only=True,
                    trust_remote_code=self.trust_remote_code,
                )
            except Exception as exc:
                detail = captured.getvalue().strip().splitlines()[-1:] or [""]
                raise ModelError(
                    f"cannot load model {self.model_id} from {self.path}: "
                    f"{type(exc).__name__}: {exc} {detail[0]}".strip()
                ) from exc

    def embed(
        self, texts: list[str], *, prompt: str, dims: int | None, batch_size: int
    ) -> np.ndarray:
        model = self.model
        with quiet_libraries():
            out = model.encode(
                texts,
                prompt=prompt or None,
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32)

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "source": str(self.path)}

    def close(self) -> None:
        self._model = None
