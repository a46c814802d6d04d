"""What every command shares: output (tables or --json), options, errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from semkit.config import describe

# Piped output is read by people too (logs, CI): don't squeeze tables into 80 columns.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # messages stay one line

# Options that a setting backs have no default of their own: None means "the setting"
# (config file < environment), read by the library through semkit.config.
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help=(
            "Model: 'default' (all-MiniLM-L6-v2, bundled), a local model directory, a Hugging Face "
            f"name in the local cache, or 'openai:<model>'. Default: {describe('model')}."
        ),
        show_default=False,
    ),
]
DimsOpt = Annotated[
    int | None,
    typer.Option(
        "--dims",
        help=(
            "Matryoshka truncation: keep the first N dimensions (re-normalised); sent as "
            "'dimensions' to OpenAI-compatible APIs."
        ),
        min=1,
    ),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help=(
            "Local inference path: auto (the fastest path here whose vectors keep "
            "$SEMKIT_MIN_FIDELITY, default 0.9999, min cosine to fp32), sentence-transformers "
            "(its encode at its defaults), torch (fp32), torch-bf16, onnx (fp32), onnx-int8. "
            f"Default: {describe('backend')}."
        ),
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
RayOpt = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        help=(
            "Run on a Ray cluster (pip install 'semkit[ray]'): 'auto' (the running cluster, "
            "RAY_ADDRESS), 'local' (start one on this machine), or host:port / ray://host:port."
        ),
        show_default=False,
    ),
]
RayWorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--ray-workers", min=1, help="Embedding workers on Ray (default: one per --ray-cpus CPUs)."
    ),
]
RayCpusOpt = Annotated[
    float, typer.Option("--ray-cpus", min=0.1, help="CPUs each Ray worker takes.")
]


def _default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=_default, ensure_ascii=False) + "\n")


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    t = Table(*columns, title=title, show_edge=False, header_style="bold")
    for row in rows:
        t.add_row(
            *("" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v) for v in row)
        )
    out.print(t)


def progress_wanted() -> bool:
    return sys.stderr.isatty()


def embedder(
    model: str | None, dims: int | None = None, backend: str | None = None, **kwargs: Any
) -> Any:
    from semkit.embedding import Embedder

    if backend:
        kwargs["backend"] = backend
    return Embedder(model, dims=dims, **kwargs)
