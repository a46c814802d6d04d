"""The model card (README.md) of a fine-tuned model: what it was trained on, how, and the gain.

Hugging Face's model card layout: YAML front matter (library, base model, tags), then
prose and tables. The card does not count towards semkit's model fingerprint (README
files never do), so writing the scores after the evaluation leaves the model's identity
unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from semkit.atomic import write_text

METRIC_NAMES = {
    "ndcg_at_10": "nDCG@10",
    "map_at_100": "MAP@100",
    "recall_at_100": "Recall@100",
    "mrr_at_10": "MRR@10",
}


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e-3 and v else f"{v:g}" if abs(v) >= 1 else f"{v:.4f}"
    if isinstance(v, list | tuple):
        return ", ".join(map(str, v))
    return "–" if v is None else str(v)


def _scores_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| documents | dims | metric | before | after | change |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        after = "" if r["after"] is None else f"{r['after']:.4f}"
        delta = "" if r["delta"] is None else f"{r['delta']:+.4f}"
        lines.append(
            f"| {r['chunking']} | {r['dims']} | {METRIC_NAMES.get(r['metric'], r['metric'])} "
            f"| {r['before']:.4f} | {after} | {delta} |"
        )
    return lines


def render_model_card(info: dict[str, Any]) -> str:
    """The card's text; ``info`` is ``FinetuneResult.as_dict()`` (or the same keys)."""
    name = Path(info["model_dir"]).name
    hp = info["hyperparameters"]
    data = info["data"]
    lines = [
        "---",
        "library_name: sentence-transformers",
        "pipeline_tag: sentence-similarity",
        f"base_model: {info['base_model_id']}",
        "tags:",
        "- sentence-transformers",
        "- semkit",
        "- fine-tuned",
        f"- loss:{info['loss_class']}",
        "---",
        "",
        f"# {name}",
        "",
        f"`{info['base_model_id']}` fine-tuned with semkit (`semkit finetune`) and "
        f"sentence-transformers' trainer, loss **{info['loss_class']}**.",
        "",
        f"- Base model: `{info['base_model_id']}` (semkit fingerprint `{info['base_fingerprint']}`)",
        f"- This model: semkit fingerprint `{info['fingerprint']}`; weights in safetensors, "
        "configuration in JSON; loads with `trust_remote_code=False`",
        f"- Output: {info['dim']}-dimensional, normalised; max {info['max_tokens']} tokens",
        "",
        "## Training data",
        "",
        f"- Source: `{data['source']}`" + (f", split `{data['split']}`" if data["split"] else ""),
        f"- {data['examples']} examples over {data['anchors']} anchors; "
        f"{data['with_negatives']} with {data['negatives_per_example']} negative(s)",
        "- Columns: " + ", ".join(f"{k} = {_value(v)}" for k, v in data["columns"].items()),
    ]
    if info.get("dropped_overlap"):
        lines.append(
            f"- Left out because they also stand in the held-out split: "
            f"{info['dropped_overlap']} example(s)"
        )
    mining = info.get("mining")
    if mining:
        margin = "off" if mining["margin"] is None else f"{mining['margin']:g}"
        lines += [
            f"- Hard negatives mined with `{mining['model']}` from a semkit collection of "
            f"{mining['documents']} documents: top {mining['depth']} searched, first "
            f"{mining['skip_top']} ranks skipped, margin {margin} below the lowest positive "
            f"score; {mining['skipped_positives']} positives and {mining['skipped_margin']} "
            f"too-close candidates passed over; {mining['without_negatives']} of "
            f"{mining['anchors']} anchors had too few candidates and "
            + (
                "were left out"
                if info["loss"] == "triplet"
                else "train with in-batch negatives only"
            ),
        ]
    lines += [
        "",
        "## Training",
        "",
        "| hyper-parameter | value |",
        "|---|---|",
        *(f"| {k} | {_value(v)} |" for k, v in hp.items()),
        f"| steps | {info['steps']} |",
        f"| epochs run | {info['epochs']:.2f} |",
        f"| training time | {info['train_seconds']:.0f} s |",
        "",
    ]
    evaluation = info.get("evaluation")
    if evaluation:
        lines += [
            "## Evaluation",
            "",
            f"Held-out: `{evaluation['dataset']}` split `{evaluation['split']}` "
            f"({evaluation['queries']} queries), dense exact search through a semkit "
            f"collection (`semkit eval retrieval`), before and after fine-tuning:",
            "",
            *_scores_table(info["comparison"]),
            "",
        ]
    lines += [
        "## Usage",
        "",
        "```python",
        "import semkit",
        f'emb = semkit.Embedder("path/to/{name}")',
        'db = semkit.open("my-db"); docs = db.collection("docs", model="path/to/' + name + '")',
        "```",
        "",
        "```sh",
        f"semkit reindex COLLECTION --model path/to/{name}   # re-embed an existing collection",
        "```",
        "",
        "It is a sentence-transformers model directory: "
        f'`SentenceTransformer("path/to/{name}")` loads it too.',
        "",
    ]
    return "\n".join(lines)


def write_model_card(directory: str | Path, info: dict[str, Any]) -> Path:
    """Write ``README.md`` into ``directory`` atomically; returns its path."""
    return write_text(Path(directory) / "README.md", render_model_card(info))


__all__ = ["render_model_card", "write_model_card"]
