"""ONNX Runtime inference for sentence-transformers models: no torch at run time.

Export: the whole sentence-transformers pipeline (transformer, pooling, dense layers)
goes through ``torch.onnx`` with the model's plain ("eager") attention, so that ONNX
Runtime's transformer optimizer can fuse each layer's attention, GELU and layer norms
into single kernels (measured on all-MiniLM-L6-v2: 52 vs 39 documents/s, exact).
Architectures the optimizer does not know are kept unfused.

Quantisation: dynamic int8 with per-channel weights, but only where it is harmless.
Each weight MatMul/Attention node is quantised alone and its fidelity loss measured
on the calibration sample; nodes are then added from least to most sensitive while
the whole model keeps a min cosine to fp32 of ``target`` (all-MiniLM-L6-v2: 19 of 24
nodes, 73 documents/s, single query 1.6 ms, min cosine 0.996). The selection is
recorded next to the file.

At run time texts are tokenized exactly as sentence-transformers does (same
tokenizer.json, same truncation), sorted by length and padded per batch. ONNX
Runtime's telemetry is switched off before it is imported: semkit calls no one.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from semkit.atomic import replace_into
from semkit.embedding.quiet import quiet_libraries
from semkit.errors import ModelError
from semkit.extras import require_extra

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
QUANTIZABLE = ("MatMul", "Attention")
FUSABLE = {"bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "distilbert": "bert"}
PURPOSE = "the ONNX inference paths (backend 'onnx', 'onnx-int8')"


def export_onnx(model_dir: Path, target: Path) -> None:
    """Export the sentence-transformers pipeline of ``model_dir`` to ``target``, fused."""
    require_extra("onnx", PURPOSE)
    with quiet_libraries():
        try:
            replace_into(target, lambda tmp: _export(model_dir, tmp))
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(
                f"cannot export {model_dir} to ONNX: {type(exc).__name__}: {exc}; "
                f"use backend='torch'"
            ) from exc


def _export(model_dir: Path, target: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(
        str(model_dir),
        device="cpu",
        local_files_only=True,
        model_kwargs={"attn_implementation": "eager"},
    )
    model.eval()
    names = [n for n in INPUTS if n in model.tokenizer.model_input_names]

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            return self.model(dict(zip(names, tensors, strict=True)))["sentence_embedding"]

    sample = model.tokenizer(
        ["an example input", "a second, longer example input"], padding=True, return_tensors="pt"
    )
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["sentence_embedding"] = {0: "batch"}
    plain = target.with_name(target.name + ".plain")
    try:
        with torch.no_grad():
            torch.onnx.export(
                Pipeline(),
                tuple(sample[n] for n in names),
                str(plain),
                input_names=names,
                output_names=["sentence_embedding"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
        if not _fuse(plain, target, model_dir):
            os.replace(plain, target)
    finally:
        plain.unlink(missing_ok=True)


def _fuse(source: Path, target: Path, model_dir: Path) -> bool:
    """ONNX Runtime's transformer fusions, for architectures it knows; False if not applied."""
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    model_type = FUSABLE.get(str(config.get("model_type")))
    heads, hidden = config.get("num_attention_heads"), config.get("hidden_size")
    if model_type is None or not heads or not hidden:
        return False
    require_extra("onnx", PURPOSE)
    from onnxruntime.transformers import optimizer

    try:
        fused = optimizer.optimize_model(
            str(source), model_type=model_type, num_heads=int(heads), hidden_size=int(hidden)
        )
    except Exception:  # an unusual graph: the unfused export is correct, only slower
        return False
    fused.save_model_to_file(str(target))
    return True


def quantize_selective(
    source: Path, target: Path, fidelity_of: Callable[[Path], float], target_fidelity: float
) -> dict[str, Any]:
    """Int8 for the nodes that tolerate it (see module doc); returns what was chosen.

    ``fidelity_of(path)`` embeds the calibration sample with the model at ``path`` and
    returns its min cosine to fp32.
    """
    require_extra("onnx", PURPOSE)
    import onnx

    nodes = [
        n.name
        for n in onnx.load(str(source), load_external_data=False).graph.node
        if n.op_type in QUANTIZABLE
    ]
    probe = target.with_name(target.name + ".probe")
    try:

        def fidelity(chosen: list[str]) -> float:
            _quantize(source, probe, chosen, nodes)
            return fidelity_of(probe)

        loss = {n: 1.0 - fidelity([n]) for n in nodes}
        chosen: list[str] = []
        for node in sorted(nodes, key=lambda n: loss[n]):
            if sum(loss[n] for n in [*chosen, node]) > 1.0 - target_fidelity:
                break
            chosen.append(node)
        reached = fidelity(chosen) if chosen else 1.0
        while chosen and reached < target_fidelity:  # losses do not add up exactly
            chosen.pop()
            reached = fidelity(chosen) if chosen else 1.0
    finally:
        probe.unlink(missing_ok=True)
    replace_into(target, lambda tmp: _quantize(source, tmp, chosen, nodes))
    return {
        "quantized": chosen,
        "kept_float": [n for n in nodes if n not in chosen],
        "min_cosine": reached,
    }


def _quantize(source: Path, target: Path, chosen: list[str], nodes: list[str]) -> None:
    require_extra("onnx", PURPOSE)
    with quiet_libraries():
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(
            source,
            target,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=list(QUANTIZABLE),
            nodes_to_exclude=[n for n in nodes if n not in chosen],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


class OnnxRunner:
    """Runs an exported model: tokenize, sort by length, pad per batch, infer."""

    def __init__(
        self, onnx_path: Path, tokenizer_path: Path, max_seq_length: int, threads: int | None = None
    ) -> None:
        from tokenizers import Tokenizer

        require_extra("onnx", PURPOSE)
        with quiet_libraries():
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # OMP_NUM_THREADS, as torch reads it: a process given fewer cores (a Ray worker)
            # does not start a thread per core of the machine.
            omp = os.environ.get("OMP_NUM_THREADS", "")
            options.intra_op_num_threads = (
                threads or (int(omp) if omp.isdigit() else 0) or os.cpu_count() or 1
            )
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            # No spinning: while other processes hold a core, spinning threads take turns
            # from the one doing the work (AMD EPYC, one core busy: 6.5 vs 5.6 texts/s;
            # idle: level; bench/results/embedding_*.md).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            try:
                self.session = ort.InferenceSession(
                    str(onnx_path), options, providers=["CPUExecutionProvider"]
                )
            except Exception as exc:
                raise ModelError(f"ONNX Runtime cannot load {onnx_path}: {exc}") from exc
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_seq_length)
        self._lock = threading.Lock()

    def embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))
        order = np.argsort(lengths, kind="stable")
        out: np.ndarray | None = None
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            width = int(lengths[rows].max())
            feeds = {n: np.zeros((len(rows), width), dtype=np.int64) for n in INPUTS}
            for r, i in enumerate(rows):
                e = encodings[i]
                n = len(e.ids)
                feeds["input_ids"][r, :n] = e.ids
                feeds["attention_mask"][r, :n] = 1
                feeds["token_type_ids"][r, :n] = e.type_ids
            with self._lock:
                (vectors,) = self.session.run(None, {n: feeds[n] for n in self.input_names})
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        assert out is not None
        return out
