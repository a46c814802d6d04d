"""Local sentence-transformers models, loaded from a directory on disk.

Everything about the model that semkit needs before embedding (fingerprint,
dimension, token limit, prompts, tokenizer) is read from the directory's files,
so constructing a ``LocalProvider`` imports no torch and loads no weights; the
model itself is loaded, quietly, on the first ``embed``.

Inference paths (``backend``), measured on this 2-core AVX-512 machine with 2,000
SciFact documents (bench/results/embedding.md): "torch" (fp32, sentence-transformers'
own encode), "torch-bf16" (bf16 weights; ~3x faster, cosine 0.9999 to fp32 where the
CPU has native bf16), "onnx" (ONNX Runtime fp32: exact, ~3.5 ms per query),
"onnx-int8" (two of each layer's four weight MatMuls in int8; ~2.5 ms per query). "auto" measures each path's fidelity once per machine on a fixed sample
(``semkit/data/calibration.txt``) and picks, per call, the fastest one that keeps
min cosine >= 0.995: int8 ONNX for a few texts (queries), bf16 torch for bulk.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from semkit.embed.artifacts import ModelArtifacts
from semkit.embed.base import Provider
from semkit.embed.quiet import quiet_libraries
from semkit.errors import ConfigError, ModelError
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


BACKENDS = ("auto", "torch", "torch-bf16", "onnx", "onnx-int8")
SMALL_BATCH = 8  # "auto" serves this many texts or fewer (queries) on the low-latency path
MIN_FIDELITY = 0.995  # min cosine to fp32 on the calibration sample for "auto" to use a path
SAME_VECTORS = 0.9999  # at or above this, a path's vectors share fp32's cache entries
_CALIBRATION = Path(__file__).parents[1] / "data" / "calibration.txt"


def native_bf16() -> bool:
    """Whether the CPU computes bf16 in hardware (AVX-512 BF16 or AMX); else bf16 is emulated."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


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
        backend: str | None = None,
        artifacts_dir: str | Path | None = None,
    ) -> None:
        from semkit import config

        self.backend = backend or str(config.get("backend"))
        if self.backend not in BACKENDS:
            raise ConfigError(f"unknown backend {self.backend!r}; use one of {list(BACKENDS)}")
        self._artifacts_dir = Path(artifacts_dir or config.get("artifacts_dir")).expanduser()
        self._runners: dict[str, Any] = {}
        self._fidelity: dict[str, float] = {}
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

    # --- inference paths ---------------------------------------------------------------
    @property
    def artifacts(self) -> ModelArtifacts:
        return ModelArtifacts(self.fingerprint, self._artifacts_dir)

    def variant_for(self, n_texts: int) -> str:
        """The inference path for a call embedding ``n_texts`` texts."""
        if self.backend != "auto":
            return self.backend
        if n_texts <= SMALL_BATCH:
            return "onnx-int8" if self.fidelity("onnx-int8") >= MIN_FIDELITY else "onnx"
        if native_bf16() and self.fidelity("torch-bf16") >= MIN_FIDELITY:
            return "torch-bf16"
        return "onnx"

    def cache_namespaces(self, variant: str) -> list[str]:
        """Where vectors of ``variant`` are cached (first) and found (all, in order)."""
        if variant in ("", "torch", "onnx", "auto") or self.fidelity(variant) >= SAME_VECTORS:
            return [self.fingerprint]
        return [f"{self.fingerprint}:{variant}", self.fingerprint]

    def fidelity(self, variant: str) -> float:
        """Min cosine of ``variant`` to fp32 on the calibration sample (measured once)."""
        if variant in ("torch", "onnx"):
            return 1.0
        if variant not in self._fidelity:
            self._fidelity[variant] = self.artifacts.measurement(
                f"min_cosine:{variant}", lambda: self._measure_fidelity(variant)
            )
        return self._fidelity[variant]

    def _measure_fidelity(self, variant: str) -> float:
        texts = [t for t in _CALIBRATION.read_text(encoding="utf-8").splitlines() if t.strip()]
        try:
            candidate = self._run(variant, texts, prompt="", batch_size=16)
        except ModelError:
            return 0.0  # the path does not work for this model: never chosen
        reference = self._run("torch", texts, prompt="", batch_size=16)
        a = candidate / np.linalg.norm(candidate, axis=1, keepdims=True)
        b = reference / np.linalg.norm(reference, axis=1, keepdims=True)
        return float((a * b).sum(1).min())

    def _runner(self, variant: str) -> Any:
        with self._load_lock:
            if variant not in self._runners:
                self._runners[variant] = self._make_runner(variant)
        return self._runners[variant]

    def _make_runner(self, variant: str) -> Any:
        if variant == "torch-bf16":
            with quiet_libraries():
                import torch

                model = self._load()
                model.to(torch.bfloat16)
            return model
        from semkit.embed import onnx

        fp32 = self.artifacts.file(
            "model-fp32.onnx", lambda target: onnx.export_onnx(self.path, target)
        )
        path = fp32
        if variant == "onnx-int8":
            path = self.artifacts.file(
                "model-int8.onnx", lambda target: onnx.quantize_int8(fp32, target)
            )
        return onnx.OnnxRunner(path, self.path / "tokenizer.json", self.max_tokens)

    def _run(self, variant: str, texts: list[str], prompt: str, batch_size: int) -> np.ndarray:
        if variant == "torch":
            model = self.model
        elif variant == "torch-bf16":
            model = self._runner(variant)
        else:
            if prompt and self._pooling_config().get("include_prompt") is False:
                raise ModelError(
                    f"{self.model_id} pools without its prompt; ONNX paths "
                    f"pool over every token: use backend='torch'"
                )
            return np.asarray(
                self._runner(variant).embed([prompt + t for t in texts], batch_size),
                dtype=np.float32,
            )
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

    def _pooling_config(self) -> dict[str, Any]:
        for module in _read_json(self.path / "modules.json") or []:
            if module.get("type", "").endswith("Pooling"):
                return _read_json(self.path / module.get("path", "") / "config.json") or {}
        return {}

    def embed(
        self, texts: list[str], *, prompt: str, dims: int | None, batch_size: int, variant: str = ""
    ) -> np.ndarray:
        return self._run(variant or self.variant_for(len(texts)), texts, prompt, batch_size)

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "source": str(self.path), "backend": self.backend}

    def close(self) -> None:
        self._model = None
        self._runners.clear()
