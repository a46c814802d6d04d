"""`semkit models`, `semkit cache stats|clear`, `semkit config`."""

from __future__ import annotations

from typing import Annotated

import typer

from semkit.cli.common import JsonOpt, out, print_json, table

cache_app = typer.Typer(
    help="Inspect or clear the persistent embedding cache.", no_args_is_help=True
)


def models(as_json: JsonOpt = False) -> None:
    """Models usable here without a download, with dimension, token limit and source."""
    from semkit.embedding import available_models

    rows = available_models()
    if as_json:
        print_json(rows)
        return
    table(
        ["model", "dim", "max tokens", "source"],
        [[r["spec"], r["dim"], r["max_tokens"], r["source"]] for r in rows],
    )


@cache_app.command("stats")
def cache_stats(as_json: JsonOpt = False) -> None:
    """Entries and size of the cache, per model fingerprint."""
    from semkit.embedding import EmbeddingCache

    stats = EmbeddingCache().stats()
    if as_json:
        print_json(stats)
        return
    out.print(f"{stats['path']}: {stats['entries']} vectors, {stats['bytes'] / 1e6:.1f} MB")
    if stats["models"]:
        table(
            ["fingerprint", "dim", "vectors"],
            [[m["fingerprint"], m["dim"], m["entries"]] for m in stats["models"]],
        )


@cache_app.command("clear")
def cache_clear(
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", help=("Clear only this model's vectors (same specs as elsewhere).")
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete cached vectors (all, or one model's) and give the disk space back."""
    from semkit.embedding import EmbeddingCache, resolve

    cache = EmbeddingCache()
    fingerprint = resolve(model, fingerprint_memo=cache).fingerprint if model else None
    removed = cache.clear(fingerprint)
    if as_json:
        print_json({"removed": removed, "fingerprint": fingerprint})
    else:
        out.print(f"removed {removed} cached vectors")


def config_show(as_json: JsonOpt = False) -> None:
    """Every setting: effective value, environment variable, and what it does."""
    from semkit import config

    rows = [(s.name, str(v), s.env, s.help) for s, v in config.effective()]
    for i, (name, value, env, help_) in enumerate(rows):
        if name == "openai_api_key" and value:
            rows[i] = (name, "***", env, help_)
    if as_json:
        print_json([dict(zip(("name", "value", "env", "help"), r, strict=True)) for r in rows])
        return
    out.print(f"config file: {config.config_file()}")
    table(["setting", "value", "environment", "meaning"], rows)
