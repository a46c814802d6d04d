"""Shared by every benchmark: data location, machine description, result tables.

Each benchmark prints a Markdown table and saves it as ``bench/results/<name>.md``
and ``.json`` together with the machine (CPU, cores, BLAS), library versions and
the date, so a reader can tell what the figures were measured on.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
LIBRARIES = (
    "semkit",
    "numpy",
    "torch",
    "sentence-transformers",
    "transformers",
    "faiss-cpu",
    "hnswlib",
    "usearch",
    "onnxruntime",
    "chromadb",
)


def data_dir() -> Path:
    """``$SEMKIT_DATA`` or ../shared/data next to the repository."""
    from semkit import config

    path = Path(os.environ.get("SEMKIT_DATA") or Path(__file__).parents[1] / config.get("data_dir"))
    if not path.is_dir():
        sys.exit(
            f"benchmark data not found at {path}; set SEMKIT_DATA to the folder holding "
            f"scifact/, stsbenchmark/, ..."
        )
    return path.resolve()


def agnews_rows() -> tuple[list[tuple[str, str, str]], list[str]]:
    """AG News test: (class name, title, description) per row, and the class names in
    label order (classes.txt). 7,600 rows, no header, all quoted."""
    root = data_dir() / "agnews"
    names = (root / "classes.txt").read_text(encoding="utf-8").split()
    with (root / "test.csv").open(encoding="utf-8", newline="") as f:
        rows = [(names[int(c) - 1], title, desc) for c, title, desc in csv.reader(f)]
    return rows, names


def scifact_documents(n: int | None = None) -> list[str]:
    """SciFact corpus documents as MTEB embeds them: (title + " " + text).strip()."""
    docs = []
    with (data_dir() / "scifact" / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            docs.append(f"{row.get('title', '')} {row.get('text', '')}".strip())
            if n is not None and len(docs) >= n:
                break
    return docs


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = "unknown"
    try:
        from threadpoolctl import threadpool_info

        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if infos:
            blas = f"{infos[0].get('internal_api')} {infos[0].get('version')} ({infos[0].get('architecture')})"
    except ImportError:
        pass
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            continue
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "blas": blas,
        "libraries": versions,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 10 else f"{v:,.1f}"
    return str(v)


def report(
    name: str,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    notes: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
) -> str:
    """Print the table and save ``results/<name>.md`` and ``.json``; returns the Markdown."""
    info = machine()
    lines = [f"# {title}", ""]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    lines.append("")
    lines += [f"- {n}" for n in notes]
    libs = ", ".join(f"{k} {v}" for k, v in info["libraries"].items())
    lines += [
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, BLAS {info['blas']}, "
        f"Python {info['python']}; {libs}. Measured {info['date']}.",
        f"Command: `{' '.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])}`",
        "",
    ]
    text = "\n".join(lines)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text, encoding="utf-8")
    payload = {
        "title": title,
        "columns": list(columns),
        "rows": [list(r) for r in rows],
        "notes": list(notes),
        "machine": info,
        **(extra or {}),
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(text)
    return text
