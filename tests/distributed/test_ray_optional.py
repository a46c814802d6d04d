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


def test_a_semkit_error_is_read_back_from_a_worker_traceback():
    # Ray Data sends the driver a wrapper and the worker's traceback as text, not the error
    from semkit.distributed.cluster import semkit_error_in
    from semkit.errors import InputError

    wrapper = RuntimeError(
        "ray::MapWorker(MapBatches(EmbedTexts)).submit() (pid=1)\n"
        '  File "semkit/embedding/embedder.py", line 62, in check_texts\n'
        "    raise InputError(\n"
        "semkit.errors.InputError: text #1 is empty or whitespace only\n\n"
        "The above exception was the direct cause of the following exception:\n"
        "ray.exceptions.UserCodeException: UDF failed to process a data block."
    )
    found = semkit_error_in(wrapper)
    assert type(found) is InputError and str(found) == "text #1 is empty or whitespace only"
    assert semkit_error_in(RuntimeError("builtins.ValueError: not semkit's")) is None
    assert semkit_error_in(RuntimeError("semkit.errors.NoSuchError: made up")) is None
