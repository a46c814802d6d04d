"""semkit as a user installs it: the wheel, not the source tree, in a fresh venv with the
core dependencies only (torch==2.13.0 first, as the README says).

It embeds, stores and searches, from a directory outside the source tree, with the
`auto` backend falling back to torch (no ONNX Runtime); the package data is in the wheel;
and every command that needs an extra stops with one line naming it. Building the venv
takes a few minutes (pip reuses the wheels in its cache): `-m "not install"` skips it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"
DOCS = ["Gradient descent trains neural networks", "Pasta is boiled in salted water"]


def _environment() -> dict[str, str]:
    """This environment without what points at this checkout or venv."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _run(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("env", _environment())
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, **kwargs
    )


def _checked(*args: object) -> None:
    done = _run(*args)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (the checkout stays clean)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    _checked(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", work, source)
    (built,) = work.glob("semkit-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding torch and the wheel with its core dependencies, nothing else."""
    path = tmp_path_factory.mktemp("core") / "venv"
    _checked(sys.executable, "-m", "venv", path)
    python = path / "bin" / "python"
    _checked(python, "-m", "pip", "install", "-q", TORCH)
    _checked(python, "-m", "pip", "install", "-q", wheel)
    return path


@pytest.fixture
def user(venv: Path, tmp_path: Path):
    """Run a command of the venv as a user would: elsewhere, without this checkout."""
    env = _environment()
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["HF_HUB_OFFLINE"] = "1"
    env["SEMKIT_ARTIFACTS_DIR"] = str(tmp_path / "artifacts")  # no shared measurements
    env.pop("SEMKIT_BACKEND", None)

    def run(*args: object, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return _run(*args, cwd=tmp_path, env=env, input=stdin)

    return run


def test_the_wheel_holds_the_package_data_and_the_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "src" / "semkit"
    data = {
        "semkit/" + p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }
    assert "semkit/data/calibration.txt" in data and "semkit/py.typed" in data
    assert data <= names, sorted(data - names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: Apache-2.0" in text
    extras = {
        line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Provides-Extra")
    }
    assert {
        "analysis",
        "train",
        "onnx",
        "parquet",
        "documents",
        "postgres",
        "server",
        "all",
    } <= extras


def test_the_core_install_embeds_stores_and_searches(user, venv):
    script = f"""
import json, semkit
import semkit.extras as extras
print(json.dumps({{"file": semkit.__file__, "onnx": extras.installed("onnx"),
                  "analysis": extras.installed("analysis"), "server": extras.installed("server")}}))
emb = semkit.Embedder()
vectors = emb.encode({DOCS!r})
assert vectors.shape == (2, 384), vectors.shape
provider = emb.provider
assert provider.backend == "auto" and provider.variant_for(1).startswith("torch")
assert provider.variant_for(100).startswith("torch")
with semkit.open("db") as db:
    docs = db.collection("notes")
    docs.add({DOCS!r}, ids=["ml", "food"])
    print(json.dumps([h.id for h in docs.search("how do AI models learn?", k=2)]))
"""
    done = user(venv / "bin" / "python", "-c", script)
    assert done.returncode == 0, done.stderr[-4000:]
    facts, ranking = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    assert Path(facts["file"]).is_relative_to(venv)  # the installed copy, not src/
    assert not (facts["onnx"] or facts["analysis"] or facts["server"])  # core only
    assert ranking == ["ml", "food"]


def test_the_core_command_line_works(user):
    assert user("semkit", "--help").returncode == 0
    done = user("semkit", "add", "notes", "-", "--db", "db", stdin="\n".join(DOCS) + "\n")
    assert done.returncode == 0, done.stderr
    done = user("semkit", "search", "notes", "boiling pasta", "-k", "1", "--db", "db", "--json")
    assert done.returncode == 0, done.stderr
    assert "Pasta is boiled" in done.stdout


@pytest.mark.parametrize(
    "command,extra",
    [
        (["map", "-i", "texts.txt", "--method", "pca", "--out", "map.png"], "analysis"),
        (["serve", "--db", "db"], "server"),
        (["finetune", "--train", "pairs.jsonl", "--out", "tuned"], "train"),
        (["embed", "-i", "texts.txt", "--backend", "onnx"], "onnx"),
        (["embed", "-i", "texts.txt", "--out", "vectors.parquet"], "parquet"),
        (["add", "notes", "folder", "--db", "db"], "documents"),
        (
            ["search", "notes", "query", "--db", "postgresql://semkit@127.0.0.1:1/semkit"],
            "postgres",
        ),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(user, tmp_path, command, extra):
    (tmp_path / "texts.txt").write_text("\n".join(DOCS) + "\n", encoding="utf-8")
    pair = {"anchor": "how are networks trained", "positive": DOCS[0]}
    (tmp_path / "pairs.jsonl").write_text(json.dumps(pair) + "\n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "page.html").write_text("<p>hello</p>", encoding="utf-8")
    done = user("semkit", *command)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("semkit: error: "), done.stderr
    assert f"pip install 'semkit[{extra}]'" in lines[0]
    assert not (tmp_path / "map.png").exists() and not (tmp_path / "tuned").exists()
