"""`semkit models [calibrate]`, `semkit cache stats|clear`, `semkit config`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from semkit.cli.common import JsonOpt, ModelOpt, out, print_json, table

cache_app = typer.Typer(
    help="Inspect or clear the persistent embedding cache.", no_args_is_help=True
)


models_app = typer.Typer(
    help="Models usable here, and the inference path semkit measured for each on this machine.",
    invoke_without_command=True,
)


@models_app.callback()
def models(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Models usable here without a download (dimension, token limit, source) and, for
    local ones, the inference path 'auto' chose on this machine and why."""
    if ctx.invoked_subcommand is not None:
        return
    from semkit.embedding import available_models

    rows = available_models()
    if as_json:
        print_json(rows)
        return
    table(
        ["model", "dim", "max tokens", "source"],
        [[r["spec"], r["dim"], r["max_tokens"], r["source"]] for r in rows],
    )
    for row in rows:
        if "inference" in row:
            out.print(f"{row['spec']}: {_summary(row['inference'])}")


def _summary(report: dict[str, Any]) -> str:
    if not report.get("calibrated"):
        return (
            f"inference paths not measured on this machine ({report['environment']['cpu']}) "
            "yet: measured on first use, or run `semkit models calibrate`"
        )
    why = report["why"]
    load = " (taken under load: measured again on next use)" if report["under_load"] else ""
    return (
        f"auto uses {why['bulk']}; for queries {why['queries']} "
        f"[{report['environment']['cpu']}, {report['measured_at']}{load}]"
    )


@models_app.command("calibrate")
def calibrate(model: ModelOpt = None, as_json: JsonOpt = False) -> None:
    """Measure every local inference path on this machine again (fidelity to fp32,
    throughput, latency), record it, and show what 'auto' now chooses and why. Run it
    on a quiet machine: timings taken while other processes use the CPU are discarded."""
    from semkit.embedding import resolve
    from semkit.embedding.local import LocalProvider
    from semkit.errors import ConfigError

    provider = resolve(model)
    if not isinstance(provider, LocalProvider):
        raise ConfigError(
            f"{provider.model_id} is not a local model: only local models have inference "
            "paths to calibrate"
        )
    provider.profile(remeasure=True)
    report = provider.calibration_report()
    if as_json:
        print_json(report)
        return
    base = next(r for r in report["paths"] if r["path"] == "sentence-transformers")
    table(
        [
            "path",
            "min cosine",
            "texts/s",
            "vs sentence-transformers",
            "one core busy",
            "single text ms",
            "auto",
        ],
        [
            [
                r["path"],
                r["min_cosine"],
                f"{r['texts_per_s']:.1f}" if r["texts_per_s"] else "",
                f"{r['texts_per_s'] / base['texts_per_s']:.2f}x" if r["texts_per_s"] else "",
                f"{r['loaded_texts_per_s']:.1f}" if r["texts_per_s"] else "",
                f"{r['latency_ms']:.2f}" if r["texts_per_s"] else "",
                "usable" if r["usable"] else r["reason"],
            ]
            for r in report["paths"]
        ],
        title=f"{report['model_id']} on {report['environment']['cpu']}",
    )
    load = report["load"]
    out.print(
        f"{load['discarded']} of {load['timings']} timings discarded (other processes used "
        f"up to {load['others_max']:.2f} cores)"
        + ("; too few quiet timings: measured again on next use" if report["under_load"] else "")
    )
    out.print(f"bulk: {report['why']['bulk']}")
    out.print(
        f"bulk in semkit serve (cores shared with requests): {report['chosen']['bulk_shared']}"
    )
    out.print(f"queries: {report['why']['queries']}")


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
