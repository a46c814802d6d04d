"""The CLI as users call it: `semkit embed|similarity|analogy|models|cache|config`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semkit.cli.main import main


@pytest.fixture(autouse=True)
def _model_loaded_once(default_provider):
    """CLI commands go through semkit.shortcuts/Embedder; the session provider is already warm."""


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_similarity_json(capsys):
    code, out, _ = run(
        capsys,
        "similarity",
        "I love machine learning",
        "Deep learning is fascinating",
        "I enjoy cooking Italian food",
        "--json",
    )
    assert code == 0
    m = np.array(json.loads(out)["matrix"])
    assert m.shape == (3, 3) and m[0, 1] > m[0, 2]
    np.testing.assert_allclose(np.diag(m), 1.0, atol=1e-5)


def test_similarity_table(capsys):
    code, out, _ = run(capsys, "similarity", "cats", "dogs")
    assert code == 0 and "cosine similarity" in out and "1.0000" in out


@pytest.mark.parametrize("suffix", [".npy", ".jsonl", ".parquet"])
def test_embed_file_formats(tmp_path, capsys, suffix):
    src = tmp_path / "texts.txt"
    src.write_text("first text\n\nsecond text\nthird text\n")
    dest = tmp_path / f"vectors{suffix}"
    code, _, err = run(capsys, "embed", "--input", str(src), "--out", str(dest), "--dims", "32")
    assert code == 0, err
    if suffix == ".npy":
        vectors = np.load(dest, allow_pickle=False)
    elif suffix == ".jsonl":
        rows = [json.loads(line) for line in dest.read_text().splitlines()]
        assert [r["text"] for r in rows] == ["first text", "second text", "third text"]
        vectors = np.array([r["embedding"] for r in rows])
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(dest)
        vectors = np.array(table.column("embedding").to_pylist())
    assert vectors.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert "3 vectors" in err


def test_embed_jsonl_field_and_stdout(tmp_path, capsys):
    src = tmp_path / "docs.jsonl"
    src.write_text('{"body": "alpha"}\n{"body": "beta"}\n')
    code, out, _ = run(capsys, "embed", "--input", str(src), "--field", "body")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["text"] for r in rows] == ["alpha", "beta"] and len(rows[0]["embedding"]) == 384


def test_analogy_with_vocab(tmp_path, capsys):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text(
        "\n".join(
            [
                "queen",
                "king",
                "man",
                "woman",
                "prince",
                "castle",
                "apple",
                "car",
                "girl",
                "boy",
                "crown",
            ]
        )
    )
    code, out, _ = run(capsys, "analogy", "king", "man", "woman", "--vocab", str(vocab), "--json")
    assert code == 0
    results = json.loads(out)["results"]
    assert results[0]["candidate"] == "queen"
    assert "king" not in [r["candidate"] for r in results]


def test_models_lists_the_bundled_default(capsys):
    code, out, _ = run(capsys, "models", "--json")
    rows = json.loads(out)
    assert code == 0 and rows[0]["spec"] == "default" and rows[0]["dim"] == 384


def test_models_calibrate_measures_and_reports_the_choice(capsys, monkeypatch, tmp_path):
    sample = tmp_path / "sample.txt"
    lines = (Path(__file__).parents[1] / "data" / "sentences.txt").read_text().splitlines()
    sample.write_text("\n".join([line for line in lines if line][:16]) + "\n")
    monkeypatch.setenv("SEMKIT_CALIBRATION_SAMPLE", str(sample))  # small: a quick calibration
    code, out, _ = run(capsys, "models", "calibrate", "--json")
    assert code == 0
    report = json.loads(out)
    paths = {r["path"]: r for r in report["paths"]}
    assert report["calibrated"] and paths["sentence-transformers"]["texts_per_s"] > 0
    assert report["chosen"]["bulk"] in paths and report["why"]["bulk"]
    assert report["environment"]["sample"] and report["environment"]["cpu"]
    code, out, _ = run(capsys, "models", "--json")
    assert json.loads(out)[0]["inference"]["chosen"] == report["chosen"]
    code, out, _ = run(capsys, "models")
    assert code == 0 and f"default: auto uses {report['chosen']['bulk']}:" in out
    monkeypatch.setenv("SEMKIT_CALIBRATION_SAMPLE", str(tmp_path / "missing.txt"))
    code, _, err = run(capsys, "models", "calibrate")
    assert code == 2 and err.startswith("semkit: error: cannot read the calibration sample")
    code, _, err = run(capsys, "models", "calibrate", "--model", "openai:text-embedding-3-small")
    assert code == 2 and "not a local model" in err


def test_cache_stats_and_clear(capsys):
    run(capsys, "embed", "cache me", "and me")
    code, out, _ = run(capsys, "cache", "stats", "--json")
    assert code == 0 and json.loads(out)["entries"] == 2
    code, out, _ = run(capsys, "cache", "clear", "--json")
    assert code == 0 and json.loads(out)["removed"] == 2
    _, out, _ = run(capsys, "cache", "stats", "--json")
    assert json.loads(out)["entries"] == 0


def test_config_hides_the_api_key(capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    code, out, _ = run(capsys, "config", "--json")
    assert code == 0 and "sk-secret" not in out and "SEMKIT_CACHE_DIR" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["similarity", "only one"], "at least two texts"),
        (["embed", "ok", ""], "text #1 is empty"),
        (["embed", "x", "--model", "nobody/nothing"], "'nobody/nothing' is not available locally"),
        (["embed", "--input", "missing.txt"], "no such file"),
        (["embed", "x", "--out", "v.csv"], "unsupported output format"),
        (["embed", "x", "--dims", "999"], "larger than the 384"),
        (["similarity", "a", "b", "--metric", "manhattan"], "unknown metric"),
    ],
)
def test_user_mistakes_print_one_line_and_exit_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("semkit: error:")


def test_console_script_has_no_traceback_for_user_mistakes(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "semkit.cli.main", "embed", "--input", str(tmp_path / "nope.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "no such file" in proc.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "semkit.cli.main", "similarity", "--bogus"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_analogy_vocab_from_process_substitution(tmp_path):
    """`--vocab <(printf ...)`: a pipe without an extension, read as text lines."""
    script = (
        f"{sys.executable} -m semkit.cli.main analogy king man woman --json "
        "--vocab <(printf 'queen\\napple\\ncar\\nking\\n')"
    )
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=120, env=_env(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["candidate"] == "queen"


def _env(tmp_path):
    import os

    return {**os.environ, "SEMKIT_CACHE_DIR": str(tmp_path / "cache")}
