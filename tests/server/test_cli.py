"""`semkit serve` refuses what it cannot serve in one line, before it listens."""

from __future__ import annotations

import sys

from semkit.cli.main import main


def test_serve_errors_are_one_line(tmp_path, capsys):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert main(["serve", "--db", str(not_a_dir)]) == 2
    assert "is a file" in capsys.readouterr().err
    assert (
        main(["serve", "--db", str(tmp_path / "db"), "--model", "openai:text-embedding-3-small"])
        == 2
    )
    assert "outbound" in capsys.readouterr().err
    assert main(["serve", "--db", str(tmp_path / "db"), "--api-key", "short"]) == 2
    assert "8 characters" in capsys.readouterr().err


def test_importing_semkit_does_not_import_the_server(tmp_path):
    import subprocess

    code = (
        "import sys, semkit, semkit.cli.main; "
        "assert 'fastapi' not in sys.modules and 'semkit.server' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
