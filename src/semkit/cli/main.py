"""Entry point of the `semkit` command: the command table and error handling.

Every ``SemkitError`` (a user mistake or an environment problem) is printed on one
line and exits with code 2; usage errors exit 2 as well (click's convention).
"""

from __future__ import annotations

import logging
import sys
import warnings

import typer

from semkit.cli import (
    analysis_cmds,
    collections,
    embed_cmds,
    eval_cmds,
    models_cmds,
    serve_cmd,
    train_cmds,
    use_cmds,
)
from semkit.errors import SemkitError

app = typer.Typer(
    name="semkit",
    help="Local-first text embeddings and semantic search.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command()(embed_cmds.embed)
app.command()(embed_cmds.similarity)
app.command()(embed_cmds.analogy)
app.add_typer(models_cmds.models_app, name="models")
app.command("config")(models_cmds.config_show)
app.command()(collections.add)
app.command()(collections.search)
app.command()(collections.get)
app.command()(collections.delete)
app.command("list")(collections.list_collections)
app.command()(collections.info)
app.command()(collections.verify)
app.command()(collections.compact)
app.command()(collections.reindex)
app.command()(collections.copy)
app.command()(analysis_cmds.cluster)
app.command()(analysis_cmds.duplicates)
app.command()(analysis_cmds.outliers)
app.add_typer(collections.index_app, name="index")
app.add_typer(eval_cmds.eval_app, name="eval")
app.add_typer(models_cmds.cache_app, name="cache")
app.command()(train_cmds.finetune)
app.add_typer(use_cmds.classify_app, name="classify")
app.command()(use_cmds.similar)
app.command()(use_cmds.context)
app.command("map")(use_cmds.map_cmd)
app.command()(serve_cmd.serve)


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    sys.stderr.write(f"semkit: warning: {message}\n")


def _notices_on_terminal() -> None:
    """One-time notices (e.g. preparing fast inference) as one line each, on a terminal."""
    if sys.stderr.isatty():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("semkit: %(message)s"))
        logger = logging.getLogger("semkit")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    warnings.showwarning = _one_line_warning
    _notices_on_terminal()
    try:
        app(args=argv, prog_name="semkit")  # standalone: usage errors print and exit 2
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except SemkitError as exc:
        sys.stderr.write(f"semkit: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("semkit: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
