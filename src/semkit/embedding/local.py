"""Local sentence-transformers models, loaded from a directory on disk.

Everything about the model that semkit needs before embedding (fingerprint,
dimension, token limit, prompts, tokenizer) is read from the directory's files,
so constructing a ``LocalProvider`` imports no torch and loads no weights; the
model itself is loaded, quietly, on the first ``embed``.

Inference paths (``backend``): "sentence-transformers" (its own ``encode`` at its
defaults: fp32, batch 32), "torch" (the same at semkit's batch size), "torch-bf16" (bf16
weights; fast where the CPU has native bf16), "onnx" (ONNX Runtime fp32 with fused
attention: exact), "onnx-int8" (int8 where measured harmless). "auto" measures each path
on this machine on a fixed sample (``semkit/data/calibration.txt``: fidelity as min cosine
to fp32, throughput, single-text latency; see ``calibration`` for how, and when it is
taken again) and picks, per call, the fastest path that keeps min cosine >=
``min_fidelity`` (setting; default 0.9999, vectors equal to sentence-transformers' to four
decimals; 0.995 admits int8). Kept in ``<artifacts_dir>/<fingerprint>/manifest.json``.
Measured: bench/results/embedding*.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from semkit.embedding import calibration
from semkit.embedding.artifacts import ModelArtifacts
from semkit.embedding.base import Provider
from semkit.embedding.calibration import SENTENCE_TRANSFORMERS, native_bf16
from semkit.embedding.quiet import quiet_libraries
from semkit.errors import ConfigError, ModelError
from semkit.extras import installed
from semkit.text.tokens import HFTokenizer, Tokenizer

# Files that do not change what the model computes.
_IGNORED_SUFFIXES = {".md", ".txt.lock", ".lock"}
_IGNORED_NAMES = {".gitattributes", "README.md", "LICENSE", "data_config.json"}
_IGNORED_DIRS = {"onnx", "openvino", ".git", ".cache", "checkpoints"}  # checkpoints: training state
_POOLING_MODES = (
    "pooling_mode_cls_token",
    "pooling_mode_mean_tokens",
    "pooling_mode_max_tokens",
    "pooling_mode_mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens",
    "pooling_mode_lasttoken",
)


BACKENDS = ("auto", SENTENCE_TRANSFORMERS, "torch", "torch-bf16", "onnx", "onnx-int8")
EXACT = (SENTENCE_TRANSFORMERS, "torch")  # fp32 through sentence-transformers: the reference
ST_BATCH_SIZE = 32  # sentence-transformers' encode default
SMALL_BATCH = 8  # "auto" serves this many texts or fewer (queries) on the low-latency path
FIDELITY_FLOOR = 0.995  # no setting may ask "auto" for less than this
QUANTIZE_TARGET = 0.9955  # the int8 selection aims a little above the floor
SAME_VECTORS = 0.9999  # at or above this, a path's vectors share fp32's cache entries
_CALIBRATION = Path(__file__).parents[1] / "data" / "calibration.txt"
log = logging.getLogger("semkit")


def _unit(x: np.ndarray) -> np.ndarray:
    unit: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return unit


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

    default_batch_size = 8  # measured here: 8 beats 16 by ~8% (bf16 and ONNX), 32+ by 10-20%

    def __init__(
        self,
        path: str | Path,
        model_id: str | None = None,
        *,
        trust_remote_code: bool = False,
        fingerprint_memo: Any = None,
        backend: str | None = None,
        artifacts_dir: str | Path | None = None,
        min_fidelity: float | None = None,
        calibration_texts: list[str] | None = None,
    ) -> None:
        """``calibration_texts``: the sample paths are measured on (default: the
        ``calibration_sample`` setting, else semkit's ``semkit/data/calibration.txt``)."""
        from semkit import config

        self.backend = backend or str(config.get("backend"))
        self.min_fidelity = float(min_fidelity or config.get("min_fidelity"))
        if not FIDELITY_FLOOR <= self.min_fidelity <= 1.0:
            raise ConfigError(
                f"min_fidelity must be in [{FIDELITY_FLOOR}, 1], got {self.min_fidelity}"
            )
        if self.backend not in BACKENDS:
            raise ConfigError(f"unknown backend {self.backend!r}; use one of {list(BACKENDS)}")
        self._artifacts_dir = Path(artifacts_dir or config.get("artifacts_dir")).expanduser()
        self._runners: dict[str, Any] = {}
        self._fidelity: dict[str, float] = {}
        self._profile: list[dict[str, Any]] | None = None
        self._reference: np.ndarray | None = None
        self._quantization: dict[str, Any] | None = None
        self._artifacts: ModelArtifacts | None = None
        self._calibration_texts = list(calibration_texts) if calibration_texts else None
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
        self._load_lock = threading.RLock()
        self._st_config = _read_json(self.path / "sentence_bert_config.json") or {}
        self._st_meta = _read_json(self.path / "config_sentence_transformers.json") or {}
        self._hf_config = _read_json(self.path / "config.json") or {}
        self._tokenizer_config = _read_json(self.path / "tokenizer_config.json") or {}
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
        # sentence-transformers < 6 writes max_seq_length to sentence_bert_config.json;
        # 6 writes it to the tokenizer's model_max_length (1e30 there means "unset").
        limit = self._tokenizer_config.get("model_max_length")
        for value in (
            self._st_config.get("max_seq_length"),
            limit if isinstance(limit, int) and limit < 10**6 else None,
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
        if self._tokenizer is None:  # two threads may both build one: harmless
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
        if self._artifacts is None:
            env = calibration.environment(self._sample())
            self._artifacts = ModelArtifacts(self.fingerprint, self._artifacts_dir, env)
        return self._artifacts

    def variant_for(self, n_texts: int, *, shared: bool = False) -> str:
        """The inference path for a call embedding ``n_texts`` texts.

        "auto": of the paths that keep min cosine >= ``min_fidelity`` to fp32 here, the one
        with the lowest single-text latency for a few texts, the highest throughput
        for more (measured on this machine, see ``profile``); with ``shared`` cores (a
        server: its request threads run beside the model) the highest throughput measured
        with one core busy.
        """
        if self.backend != "auto":
            return self.backend
        return calibration.choose(self.profile(), n_texts, SMALL_BATCH, loaded=shared)

    def _unavailable(self, variant: str) -> str:
        """Why ``variant`` cannot run here ("" if it can); measures its fidelity if needed."""
        if variant.startswith("onnx") and not calibration.onnx_available():
            return "onnxruntime is not installed (pip install 'semkit[onnx]')"
        if variant == "torch-bf16" and not native_bf16():
            return (
                "this CPU has no native bf16 (avx512_bf16 or AMX): emulated, several times slower"
            )
        if self.fidelity(variant) <= 0:
            return "does not run for this model"
        return ""

    def profile(self, *, remeasure: bool = False) -> list[dict[str, Any]]:
        """Every path's fidelity, throughput and latency on this machine, and whether
        ``auto`` may use it (and why not). Measured once per environment (see
        ``calibration``); ``remeasure`` takes the speeds again."""
        with self._load_lock:
            if self._profile is None or remeasure:
                paths = [v for v in BACKENDS if v != "auto"]
                reasons = {v: self._unavailable(v) for v in paths}
                runnable = [v for v in paths if not reasons[v]]
                speeds = self.measured_speeds(runnable, remeasure=remeasure)
                self._profile = self._rows(reasons, speeds)
                if speeds.get("unavailable") != {v: r for v, r in reasons.items() if r}:
                    self.artifacts.record(
                        "speeds", {**speeds, "unavailable": {v: r for v, r in reasons.items() if r}}
                    )
            return self._profile

    def _rows(self, reasons: dict[str, str], speeds: dict[str, Any]) -> list[dict[str, Any]]:
        rows = []
        for v, why_not in reasons.items():
            cosine = self.fidelity(v) if not why_not else 0.0
            reason = why_not or (
                f"min cosine {cosine:.5f} < min_fidelity {self.min_fidelity:g}"
                if cosine < self.min_fidelity
                else ""
            )
            figures = speeds["paths"].get(v, {})
            rows.append(
                {
                    "path": v,
                    "min_cosine": round(cosine, 6),
                    "usable": not reason,
                    "reason": reason,
                    "texts_per_s": figures.get("texts_per_s", 0.0),
                    "loaded_texts_per_s": figures.get("loaded_texts_per_s", 0.0),
                    "latency_ms": figures.get("latency_ms"),
                }
            )
        return rows

    def measured_speeds(self, paths: list[str], *, remeasure: bool = False) -> dict[str, Any]:
        """The recorded speeds of ``paths`` here, measured (again) when there are none for
        this environment, they were taken under load with attempts left, or asked to."""
        recorded = self.artifacts.measurements().get("speeds")
        if remeasure or calibration.needs_remeasuring(recorded, paths):
            log.info("measuring the inference paths of %s on this machine", self.model_id)
            previous = recorded if recorded and set(recorded["paths"]) == set(paths) else None
            recorded = self._speeds(paths, None if remeasure else previous)
            self.artifacts.record("speeds", recorded)
        return dict(recorded or {})

    def calibration_report(self, *, measure: bool = True) -> dict[str, Any]:
        """What ``auto`` chose here and why: the environment, every path's figures, the
        load seen while measuring. ``measure=False``: only what is recorded (no model runs)."""
        report: dict[str, Any] = {
            "model_id": self.model_id,
            "fingerprint": self.fingerprint,
            "backend": self.backend,
            "min_fidelity": self.min_fidelity,
            "environment": self.artifacts.environment,
        }
        if measure:
            self.profile()
        recorded = self.artifacts.measurements()
        speeds = recorded.get("speeds")
        if speeds is None:
            return {**report, "calibrated": False}
        unavailable = speeds.get("unavailable", {})
        reasons = {
            v: "" if v in speeds["paths"] else unavailable.get(v, "not measured here")
            for v in BACKENDS
            if v != "auto"
        }
        rows = self._rows(reasons, speeds)
        return {
            **report,
            "calibrated": True,
            "measured_at": speeds["measured_at"],
            "under_load": speeds["under_load"],
            "attempts": speeds["attempts"],
            "load": {k: speeds[k] for k in ("timings", "discarded", "others_max", "kernel_ms")},
            "paths": rows,
            "chosen": {
                "bulk": calibration.choose(rows, SMALL_BATCH + 1, SMALL_BATCH),
                "bulk_shared": calibration.choose(rows, SMALL_BATCH + 1, SMALL_BATCH, loaded=True),
                "queries": calibration.choose(rows, 1, SMALL_BATCH),
            },
            "why": calibration.explain(rows, SMALL_BATCH, self.min_fidelity),
        }

    def cache_namespaces(self, variant: str) -> list[str]:
        """Where vectors of ``variant`` are cached (first) and found (all, in order)."""
        if variant in ("", "auto", *EXACT) or self.fidelity(variant) >= SAME_VECTORS:
            return [self.fingerprint]
        return [f"{self.fingerprint}:{variant}", self.fingerprint]

    def fidelity(self, variant: str) -> float:
        """Min cosine of ``variant`` to fp32 on the calibration sample (measured once)."""
        if variant in EXACT:
            return 1.0
        if variant.startswith("onnx") and not installed("onnx"):
            return 0.0  # semkit[onnx] is missing: "auto" passes these paths over, unrecorded
        if variant not in self._fidelity:
            with self._load_lock:  # measured once, whichever thread asks first
                if variant not in self._fidelity:
                    self._fidelity[variant] = float(
                        self.artifacts.measurement(
                            f"min_cosine:{variant}",
                            lambda: self._fidelity_of(
                                lambda t: self._run(variant, t, prompt="", batch_size=16)
                            ),
                        )
                    )
        return self._fidelity[variant]

    def _sample(self) -> list[str]:
        if self._calibration_texts is None:
            from semkit import config

            path = Path(str(config.get("calibration_sample")) or _CALIBRATION).expanduser()
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read the calibration sample {path}: {exc}") from exc
            self._calibration_texts = [t for t in text.splitlines() if t.strip()]
            if not self._calibration_texts:
                raise ConfigError(f"the calibration sample {path} holds no text")
        return self._calibration_texts

    def _fidelity_of(self, embed: Callable[[list[str]], np.ndarray]) -> float:
        texts = self._sample()
        if self._reference is None:
            self._reference = _unit(self._run("torch", texts, prompt="", batch_size=16))
        try:
            candidate = _unit(embed(texts))
        except ModelError:
            return 0.0  # the path does not work for this model: never chosen
        return float((candidate * self._reference).sum(1).min())

    def _speeds(self, paths: list[str], previous: dict[str, Any] | None) -> dict[str, Any]:
        """Throughput on document-length passages (where bulk time goes: long texts favour
        other paths than short ones) at the batch size used, and single-text latency on
        short, query-like texts; see ``calibration.measure_speeds``."""
        texts = self._sample()
        short = sorted(texts, key=len)[:12]
        passages = [" ".join(texts[(7 * i + j) % len(texts)] for j in range(12)) for i in range(16)]
        turn = iter(range(1 << 62))

        def bulk(path: str) -> int:
            self._run(path, passages, prompt="", batch_size=self.default_batch_size)
            return len(passages)

        def single(path: str) -> None:
            self._run(path, [short[next(turn) % len(short)]], prompt="", batch_size=1)

        return calibration.measure_speeds(paths, bulk, single, len(short), previous=previous)

    def _runner(self, variant: str) -> Any:
        with self._load_lock:
            if variant not in self._runners:
                self._runners[variant] = self._make_runner(variant)
        return self._runners[variant]

    def _onnx_file(self, variant: str) -> Path:
        from semkit.embedding import onnx

        fp32 = self.artifacts.file(
            "model-fp32.onnx", lambda target: onnx.export_onnx(self.path, target)
        )
        if variant == "onnx":
            return fp32

        def build(target: Path) -> None:
            def fidelity_of(candidate: Path) -> float:
                runner = onnx.OnnxRunner(candidate, self.path / "tokenizer.json", self.max_tokens)
                return self._fidelity_of(lambda t: runner.embed(t, 16))

            self._quantization = onnx.quantize_selective(fp32, target, fidelity_of, QUANTIZE_TARGET)

        path = self.artifacts.file("model-int8.onnx", build)
        if self._quantization is not None:
            self.artifacts.measurement("int8:selection", lambda: self._quantization)
        return path

    def _make_runner(self, variant: str) -> Any:
        if variant == "torch-bf16":
            with quiet_libraries():
                import torch

                model = self._load()
                model.to(torch.bfloat16)
            return model
        from semkit.embedding import onnx

        log.info("preparing the %s path of %s on this machine (once)", variant, self.model_id)
        return onnx.OnnxRunner(
            self._onnx_file(variant), self.path / "tokenizer.json", self.max_tokens
        )

    def _run(self, variant: str, texts: list[str], prompt: str, batch_size: int) -> np.ndarray:
        if variant in EXACT:
            model = self.model
            if variant == SENTENCE_TRANSFORMERS:
                batch_size = ST_BATCH_SIZE
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
