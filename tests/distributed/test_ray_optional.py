"""Ray is optional: the local path never imports it, and a missing extra is a clear error."""

from __future__ import annotations

import subprocess
import sys


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )


def test_commands_without_ray_do_not_import_it(corpus_files, tmp_path):
    code = f"""
import sys
from semkit.cli.main import main
args = ["--model", "hashing:16"]
assert main(["embed", "--input", {str(corpus_files["jsonl"])!r}, "--out", {str(tmp_path / "v.parquet")!r}, *args]) == 0
assert main(["add", "c", {str(corpus_files["parquet"])!r}, "--db", {str(tmp_path / "db")!r}, *args]) == 0
import semkit.distributed
print(sorted(m for m in sys.modules if m == "ray" or m.startswith("ray.")))
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_missing_extra_names_it(corpus_files, tmp_path):
    code = f"""
import sys
sys.modules["ray"] = None  # as if 'semkit[ray]' were not installed
from semkit.cli.main import main
sys.exit(main(["embed", "--input", {str(corpus_files["jsonl"])!r}, "--out",
               {str(tmp_path / "v.parquet")!r}, "--model", "hashing:16", "--ray", "local"]))
"""
    result = run_python(code)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "semkit: error: running on a Ray cluster (--ray) needs the Python package that "
        "provides 'ray', which is not installed: pip install 'semkit[ray]'"
    ]
