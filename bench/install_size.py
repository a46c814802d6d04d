"""How much disk semkit takes: the core install against `semkit[all]`, and each extra.

Builds the wheel, installs it into a fresh venv (torch==2.13.0 first, as the README says),
measures the venv's site-packages, then adds one extra at a time and measures what it
brought. Writes bench/results/install_size.md and .json.

    python bench/install_size.py            # a few minutes; pip reuses its cached wheels
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TORCH = "torch==2.13.0"
EXTRAS = ("onnx", "parquet", "analysis", "train", "documents", "postgres", "server", "ray")
TOOLS = {"pip", "setuptools", "wheel"}  # the venv's own, not semkit's


def _run(*args: object) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([str(a) for a in args], check=True, env=env)


def _sizes(python: Path) -> dict[str, int]:
    """Bytes of every installed distribution's files, by name (the venv's tools left out)."""
    script = """
import importlib.metadata as md, json, os
out = {}
for d in md.distributions():
    total = 0
    for f in d.files or []:
        try:
            total += os.path.getsize(d.locate_file(f))
        except OSError:
            pass
    out[d.metadata["Name"].lower()] = total
print(json.dumps(out))
"""
    done = subprocess.run([str(python), "-c", script], check=True, capture_output=True, text=True)
    return {k: v for k, v in json.loads(done.stdout).items() if k not in TOOLS}


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def measure(work: Path) -> dict[str, Any]:
    source = work / "source"  # a copy: an in-tree build leaves build/ and an egg-info in src/
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", work / "wheel", source)
    (wheel,) = (work / "wheel").glob("semkit-*.whl")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "-q", TORCH)
    torch_only = _sizes(python)
    _run(python, "-m", "pip", "install", "-q", wheel)
    core = _sizes(python)
    steps = []
    before = core
    for extra in EXTRAS:
        _run(python, "-m", "pip", "install", "-q", f"{wheel}[{extra}]")
        after = _sizes(python)
        added = sorted(set(after) - set(before), key=lambda d: -after[d])
        steps.append(
            {
                "extra": extra,
                "bytes": sum(after.values()) - sum(before.values()),
                "new_distributions": {d: after[d] for d in added},
            }
        )
        before = after
    return {
        "torch_bytes": sum(torch_only.values()),
        "core_bytes": sum(core.values()),
        "core_without_torch_bytes": sum(core.values()) - sum(torch_only.values()),
        "all_bytes": sum(before.values()),
        "core_largest": dict(sorted(core.items(), key=lambda kv: -kv[1])[:8]),
        "extras": steps,
        "python": platform.python_version(),
    }


def table(r: dict[str, Any]) -> str:
    steps: list[dict[str, Any]] = r["extras"]
    lines = [
        "| install | size | of which torch |",
        "|---|---|---|",
        f"| `semkit` (core) | {_mb(r['core_bytes'])} | {_mb(r['torch_bytes'])} |",
        f"| `semkit[all]` | {_mb(r['all_bytes'])} | {_mb(r['torch_bytes'])} |",
        "",
        "| extra, added in this order | adds | largest new packages |",
        "|---|---|---|",
    ]
    for step in steps:
        new: dict[str, int] = step["new_distributions"]
        biggest = ", ".join(f"{d} {_mb(n)}" for d, n in list(new.items())[:4])
        lines.append(f"| `[{step['extra']}]` | {_mb(step['bytes'])} | {biggest} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="scratch directory (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="semkit-size-") as tmp:
        result = measure(args.work or Path(tmp))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "install_size.json").write_text(json.dumps(result, indent=2) + "\n")
    text = (
        "# Install size: core vs extras\n\n"
        f"`bench/install_size.py`: files of every installed distribution in a fresh venv "
        f"(Python {result['python']}; pip, setuptools and wheel left out), torch==2.13.0 "
        f"(CPU) first.\n\n" + table(result)
    )
    (RESULTS / "install_size.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
