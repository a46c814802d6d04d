"""`semkit finetune`: adapt a model to your pairs or triplets and show the gain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from semkit.cli.common import JsonOpt, err, out, print_json, progress_wanted, table
from semkit.config import describe
from semkit.errors import InputError

METRIC_LABELS = {
    "ndcg_at_10": "nDCG@10",
    "map_at_100": "MAP@100",
    "recall_at_100": "Recall@100",
    "mrr_at_10": "MRR@10",
}


def _dims(text: str, option: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise InputError(f"{option} takes comma-separated integers, got {text!r}") from exc


def finetune(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory for the fine-tuned model (and checkpoints/).")
    ],
    train: Annotated[
        Path | None,
        typer.Option(
            "--train",
            help=(
                "Pairs or triplets (.jsonl .csv .tsv .parquet) with columns anchor, positive and "
                "optionally negative (or query, document...); a BEIR folder works too."
            ),
        ),
    ] = None,
    beir: Annotated[
        Path | None,
        typer.Option("--beir", help="BEIR folder to train on: its queries and qrels/<split>.tsv."),
    ] = None,
    split: Annotated[str, typer.Option(help="qrels split of --beir to train on.")] = "train",
    columns: Annotated[
        str | None,
        typer.Option(help="Name the columns: anchor=q,positive=doc and optionally negative=n1+n2."),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help=f"Model to start from: 'default' or a model directory. Default: {describe('model')}.",
            show_default=False,
        ),
    ] = None,
    loss: Annotated[
        str,
        typer.Option(
            help=(
                "mnrl (MultipleNegativesRankingLoss), triplet (TripletLoss; needs negatives) or "
                "matryoshka (MatryoshkaLoss around MNRL)."
            )
        ),
    ] = "mnrl",
    epochs: Annotated[float, typer.Option(min=0.01, help="Passes over the data.")] = 1.0,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Examples per step (MNRL: in-batch negatives).")
    ] = 16,
    lr: Annotated[
        float, typer.Option(help="Peak learning rate (linear warm-up and decay).")
    ] = 2e-5,
    scale: Annotated[float, typer.Option(help="MNRL scale (1/temperature).")] = 20.0,
    matryoshka_dims: Annotated[
        str, typer.Option(help="Sizes the matryoshka loss trains (and evaluates).")
    ] = "384,256,128,64",
    triplet_margin: Annotated[float, typer.Option(help="TripletLoss margin.")] = 5.0,
    max_steps: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many steps.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same model.")] = 0,
    mine_negatives: Annotated[
        bool,
        typer.Option(
            "--mine-negatives", help="Add hard negatives mined with the base model (a collection)."
        ),
    ] = False,
    corpus: Annotated[
        Path | None,
        typer.Option(
            help=(
                "Documents to mine from (a file or BEIR folder); default: the BEIR corpus, "
                "or the training positives."
            )
        ),
    ] = None,
    negatives_per_anchor: Annotated[int, typer.Option(min=1)] = 1,
    skip_top: Annotated[
        int, typer.Option(min=0, help="Never take the first N ranks as negatives.")
    ] = 0,
    margin: Annotated[
        float,
        typer.Option(
            help="Drop candidates scoring within this of the positive's score (negative: off)."
        ),
    ] = 0.05,
    eval_beir: Annotated[
        Path | None,
        typer.Option("--eval-beir", help="BEIR folder to score before and after (held out)."),
    ] = None,
    eval_split: Annotated[str, typer.Option(help="Held-out qrels split.")] = "test",
    eval_truncate: Annotated[
        bool,
        typer.Option(
            "--eval-truncate", help="Cut documents at the model's limit (MTEB) instead of chunking."
        ),
    ] = False,
    eval_both: Annotated[
        bool, typer.Option("--eval-both", help="Score truncated and chunked documents.")
    ] = False,
    eval_dims: Annotated[
        str | None,
        typer.Option(
            help="Matryoshka sizes to score, e.g. 384,256,128,64 (default: the model's own; "
            "--loss matryoshka: its --matryoshka-dims)."
        ),
    ] = None,
    drop_overlap: Annotated[
        bool,
        typer.Option(
            "--drop-overlap",
            help="Leave out training examples whose queries are in the held-out split.",
        ),
    ] = False,
    checkpoint_steps: Annotated[
        int, typer.Option(min=0, help="Save a checkpoint every N steps (0: never).")
    ] = 100,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the last checkpoint in OUT/checkpoints.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a model or checkpoints already in --out.")
    ] = False,
    keep_checkpoints: Annotated[
        bool, typer.Option("--keep-checkpoints", help="Keep OUT/checkpoints after success.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fine-tune an embedding model on pairs/triplets; score it before and after."""
    from semkit.train import finetune as run_finetune
    from semkit.train.data import parse_columns

    if (train is None) == (beir is None):
        raise InputError("give the training data with exactly one of --train FILE or --beir DIR")
    if eval_truncate and eval_both:
        raise InputError("--eval-truncate and --eval-both exclude each other")
    try:
        result = run_finetune(
            train or beir,  # type: ignore[arg-type]
            out_dir,
            base=base,
            loss=loss,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            scale=scale,
            matryoshka_dims=_dims(matryoshka_dims, "--matryoshka-dims"),
            triplet_margin=triplet_margin,
            max_steps=max_steps,
            seed=seed,
            split=split,
            columns=parse_columns(columns),
            mine_negatives=mine_negatives,
            corpus=corpus,
            negatives_per_anchor=negatives_per_anchor,
            skip_top=skip_top,
            margin=None if margin < 0 else margin,
            eval_beir=eval_beir,
            eval_split=eval_split,
            eval_truncate=(True, False) if eval_both else (eval_truncate,),
            eval_dims=_dims(eval_dims, "--eval-dims") if eval_dims else None,
            drop_overlapping=drop_overlap,
            checkpoint_steps=checkpoint_steps or None,
            resume=resume,
            overwrite=overwrite,
            keep_checkpoints=keep_checkpoints,
            show_progress_bar=progress_wanted(),
        )
    except KeyboardInterrupt:
        err.print(
            f"interrupted: checkpoints are kept in {out_dir / 'checkpoints'}; "
            f"re-run the same command with --resume to continue"
        )
        raise
    if as_json:
        print_json(result.as_dict())
        return
    rows = result.comparison()
    if rows:
        table(
            ["documents", "dims", "metric", "before", "after", "change"],
            [
                [
                    r["chunking"],
                    r["dims"],
                    METRIC_LABELS.get(r["metric"], r["metric"]),
                    r["before"],
                    r["after"],
                    f"{r['delta']:+.4f}" if r["delta"] is not None else "",
                ]
                for r in rows
            ],
            title=f"{result.evaluation['dataset'] if result.evaluation else ''} "
            f"{result.evaluation['split'] if result.evaluation else ''}: "
            f"{result.base_model_id} before and after",
        )
    mined = (
        f", {result.mining['kept_anchors']} anchors with mined negatives" if result.mining else ""
    )
    out.print(
        f"{result.model_dir}: {result.loss_class}, {result.data['examples']} examples{mined}, "
        f"{result.steps} steps in {result.train_seconds:.0f} s; fingerprint {result.fingerprint}"
    )
