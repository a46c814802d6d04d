"""Classification on embeddings: logistic regression, k-NN, and zero-shot against label texts.

A trained ``Classifier`` is a few numbers over one embedding space: it records the
model fingerprint, dimension and normalisation it was trained on (``EmbeddingSpace``)
and refuses vectors from any other space. Saved as a directory without pickle:
``classifier.json`` (format version, method, labels, space, the SHA-256 of the weights)
and ``weights.npz`` (plain float/int arrays; ``np.load(..., allow_pickle=False)``).
Prediction is numpy only: scikit-learn is needed to train, not to predict.

Zero-shot classification embeds each label (its name or a description, plain or in a
template such as "This text is about {label}.") and picks the most similar label.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from semkit.atomic import write_bytes
from semkit.errors import InputError, ModelError, StoreError
from semkit.extras import require
from semkit.similarity import as_matrix, normalize_rows

if TYPE_CHECKING:
    from semkit.analysis.corpus import Corpus
    from semkit.embedding.embedder import Embedder, Kind
    from semkit.search.collection import Collection

FORMAT_VERSION = 1
CONFIG_FILE = "classifier.json"
WEIGHTS_FILE = "weights.npz"
METHODS = ("logreg", "knn")
TEMPLATE = "This text is about {label}."
KNN_TEMPERATURE = 0.07
# What cross-validation chooses k-NN's k and vote weighting from (temperature 0: one vote
# each, the plain majority of the k nearest).
KNN_KS = (1, 3, 5, 10, 20, 30, 50)
KNN_TEMPERATURES = (0.02, 0.05, 0.07, 0.1, 0.2, 0.0)
CV_FOLDS = 5
CV_LOGREG_SAMPLE = 5000  # logistic regression is cross-validated on at most this many examples
KNN_BEHIND = 0.02  # cross-validated accuracy below logistic regression's by more: say so


@dataclass(frozen=True, slots=True)
class EmbeddingSpace:
    """Which vectors a classifier understands. ``model`` is the spec that loads the model
    again ("default", a directory, "openai:..."); the fingerprint is what must match."""

    model: str | None
    model_id: str | None
    fingerprint: str | None
    dim: int
    dims: int | None = None
    normalize: bool = True

    @classmethod
    def of_embedder(cls, embedder: Embedder, model: str | None = None) -> EmbeddingSpace:
        info = embedder.describe()
        return cls(
            model if model is not None else info["model_id"],
            info["model_id"],
            info["fingerprint"],
            int(info["dim"]),
            info["dims"],
            bool(info["normalize"]),
        )

    @classmethod
    def of_collection(cls, collection: Collection) -> EmbeddingSpace:
        cfg = collection.config
        return cls(cfg.model, cfg.model_id, cfg.fingerprint, cfg.dim, cfg.dims, cfg.normalize)

    def describe(self) -> str:
        name = self.model_id or "your own vectors"
        return f"{name} ({self.dim} dimensions, fingerprint {str(self.fingerprint)[:12]})"

    def check(self, other: EmbeddingSpace) -> None:
        """Refuse vectors of ``other`` unless they come from the same model and dimension."""
        if self.fingerprint != other.fingerprint or self.dim != other.dim:
            raise ModelError(
                f"the classifier was trained on {self.describe()}, but the input is embedded "
                f"with {other.describe()}; predict with the model it was trained on "
                f"(--model {self.model}) or train a new classifier"
            )


@dataclass(frozen=True, slots=True)
class Prediction:
    """A predicted label and its confidence (probability for logreg, vote share for k-NN,
    cosine for zero-shot)."""

    label: str
    score: float


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Scores on labelled data: accuracy, macro-F1, and per label (precision, recall, F1,
    support)."""

    accuracy: float
    macro_f1: float
    n: int
    per_label: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class Classifier:
    """A trained classifier over one embedding space (see the module doc)."""

    method: str
    labels: list[str]
    space: EmbeddingSpace
    arrays: dict[str, np.ndarray]
    params: dict[str, Any] = field(default_factory=dict)
    trained_on: int = 0

    def scores(self, vectors: Any) -> np.ndarray:
        """Class probabilities (logreg) or weighted vote shares (k-NN): ``(n, classes)``."""
        x = as_matrix(vectors, "vectors")
        if x.shape[1] != self.space.dim:
            raise InputError(
                f"vectors have {x.shape[1]} dimensions; the classifier expects {self.space.dim}"
            )
        if self.space.normalize:
            x = normalize_rows(x)
        if self.method == "logreg":
            return _logreg_proba(x, self.arrays["coef"], self.arrays["intercept"])
        return _knn_votes(
            x,
            self.arrays["vectors"],
            self.arrays["targets"],
            len(self.labels),
            int(self.params["k"]),
            float(self.params["temperature"]),
        )

    def predict(self, vectors: Any) -> list[Prediction]:
        probs = self.scores(vectors)
        best = probs.argmax(axis=1)
        return [Prediction(self.labels[i], float(probs[r, i])) for r, i in enumerate(best)]

    def save(self, path: str | Path) -> Path:
        """Write ``path/classifier.json`` and ``path/weights.npz`` (each atomically)."""
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{folder} is a file; a classifier is saved as a directory")
        folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, **self.arrays)  # type: ignore[arg-type]
        weights = buffer.getvalue()
        write_bytes(folder / WEIGHTS_FILE, weights)
        config = {
            "format": FORMAT_VERSION,
            "kind": "semkit-classifier",
            "method": self.method,
            "labels": self.labels,
            "space": asdict(self.space),
            "params": self.params,
            "trained_on": self.trained_on,
            "weights_sha256": hashlib.sha256(weights).hexdigest(),
        }
        write_bytes(
            folder / CONFIG_FILE, (json.dumps(config, indent=2, ensure_ascii=False) + "\n").encode()
        )
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Classifier:
        folder = Path(path)
        config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
        if not config_path.is_file() or not weights_path.is_file():
            raise InputError(
                f"{folder} is not a saved classifier (expected {CONFIG_FILE} and {WEIGHTS_FILE}); "
                f"train one with `semkit classify train ... --out {folder}`"
            )
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{config_path}: cannot read the classifier config: {exc}") from exc
        if config.get("kind") != "semkit-classifier" or config.get("format") != FORMAT_VERSION:
            raise StoreError(
                f"{config_path}: not a semkit classifier of format {FORMAT_VERSION} "
                f"(found kind={config.get('kind')!r}, format={config.get('format')!r})"
            )
        weights = weights_path.read_bytes()
        if hashlib.sha256(weights).hexdigest() != config.get("weights_sha256"):
            raise StoreError(
                f"{weights_path} does not match {config_path} (checksum differs); "
                f"the classifier is damaged or half-written: train it again"
            )
        with np.load(io.BytesIO(weights), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        return cls(
            config["method"],
            list(config["labels"]),
            EmbeddingSpace(**config["space"]),
            arrays,
            dict(config.get("params") or {}),
            int(config.get("trained_on", 0)),
        )


def _logreg_proba(x: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    logits = x.astype(np.float64) @ coef.T + intercept
    if coef.shape[0] == 1:  # binary: one decision function, as scikit-learn stores it
        p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
        return np.stack([1.0 - p, p], axis=1)
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def _knn_votes(
    x: np.ndarray,
    reference: np.ndarray,
    targets: np.ndarray,
    n_classes: int,
    k: int,
    temperature: float,
) -> np.ndarray:
    from semkit.similarity import top_k

    idx, sims = top_k(x, reference, k=min(k, len(reference)))
    # Votes weighted by exp(cosine / T) (Wu et al. 2018; DINO's k-NN evaluation): the
    # nearest neighbours count most, so far neighbours of another class cannot outvote them.
    return _votes(targets[idx], sims, n_classes, temperature)


def _votes(
    neighbour_targets: np.ndarray, sims: np.ndarray, n_classes: int, temperature: float
) -> np.ndarray:
    """Vote shares ``(n, classes)`` of the given neighbours (best first); temperature 0
    gives each one vote."""
    sims = sims.astype(np.float64)
    weights = np.exp((sims - sims[:, :1]) / temperature) if temperature > 0 else np.ones_like(sims)
    votes = np.zeros((len(sims), n_classes))
    np.add.at(votes, (np.arange(len(sims))[:, None], neighbour_targets), weights)
    return votes / votes.sum(axis=1, keepdims=True)


def _folds(
    target: np.ndarray, seed: int, folds: int = CV_FOLDS
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds; as many as the rarest class allows (at least 2)."""
    require("sklearn", "analysis", "cross-validating a classifier")
    from sklearn.model_selection import StratifiedKFold

    n = min(folds, int(np.bincount(target).min()))
    if n < 2:
        raise InputError(
            "choosing k by cross-validation needs at least 2 examples of every label; "
            "give --k, or add examples"
        )
    splitter = StratifiedKFold(n_splits=n, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(target)), target))


def knn_cross_validation(
    vectors: Any, target: np.ndarray, n_classes: int, *, seed: int = 0
) -> dict[tuple[int, float], float]:
    """Cross-validated accuracy of every (k, temperature) of ``KNN_KS`` x ``KNN_TEMPERATURES``
    (one neighbour search per fold serves the whole grid)."""
    from semkit.similarity import top_k

    x = normalize_rows(as_matrix(vectors, "vectors"))
    correct: dict[tuple[int, float], int] = {}
    for train_rows, test_rows in _folds(target, seed):
        kmax = min(max(KNN_KS), len(train_rows))
        idx, sims = top_k(x[test_rows], x[train_rows], k=kmax)
        neighbours = target[train_rows][idx]
        for k in KNN_KS:
            for t in KNN_TEMPERATURES:
                kk = min(k, kmax)
                votes = _votes(neighbours[:, :kk], sims[:, :kk], n_classes, t)
                hits = int((votes.argmax(axis=1) == target[test_rows]).sum())
                correct[(k, t)] = correct.get((k, t), 0) + hits
    return {key: c / len(target) for key, c in correct.items()}


def logreg_cross_validation(x: np.ndarray, target: np.ndarray, C: float, *, seed: int = 0) -> float:
    """Cross-validated accuracy of logistic regression (on a stratified sample of at most
    ``CV_LOGREG_SAMPLE`` examples, 3 folds: a yardstick, not a tuning run)."""
    require("sklearn", "analysis", "cross-validating a classifier")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    rows = np.arange(len(target))
    if len(rows) > CV_LOGREG_SAMPLE:
        rows, _ = stratified_split(target.tolist(), 1 - CV_LOGREG_SAMPLE / len(rows), seed)
    folds = _folds(target[rows], seed, folds=3)
    scores = cross_val_score(
        LogisticRegression(C=C, max_iter=2000), x[rows].astype(np.float64), target[rows], cv=folds
    )
    return float(np.mean(scores))


def _label_list(labels: Sequence[Any]) -> list[str]:
    out = []
    for i, label in enumerate(labels):
        if label is None or (isinstance(label, str) and not label.strip()):
            raise InputError(f"example #{i} has no label")
        out.append(str(label))
    return out


def labelled(corpus: Corpus, label_field: str) -> tuple[Corpus, list[str], int]:
    """The documents of ``corpus`` that have a ``label_field`` value, their labels (as
    strings), and how many documents were left out for having none."""
    values = corpus.field(label_field)
    rows = [i for i, v in enumerate(values) if v is not None and str(v).strip()]
    if not rows:
        raise InputError(f"no document has a value in the label field {label_field!r}")
    return corpus.subset(rows), [str(values[i]) for i in rows], len(values) - len(rows)


def train_classifier(
    vectors: Any,
    labels: Sequence[Any],
    space: EmbeddingSpace,
    *,
    method: str = "logreg",
    k: int | None = None,
    C: float = 1.0,
    max_iter: int = 2000,
    temperature: float | None = None,
    seed: int = 0,
) -> Classifier:
    """A classifier of ``labels`` (one per row of ``vectors``, from ``space``).

    ``logreg``: multinomial logistic regression (scikit-learn, lbfgs, L2 with strength
    ``1/C``).
    ``knn``: the training vectors themselves; the ``k`` nearest (cosine) vote with weight
    exp((cosine - best cosine) / temperature) (temperature 0: one vote each). Without
    ``k``, k and the temperature are chosen by stratified cross-validation on the
    training data; logistic regression is cross-validated as a yardstick, and when k-NN
    is behind it by more than 0.02 accuracy, ``params["advice"]`` says so (k-NN suits
    labels that follow topical similarity; labels that depend on a few features of the
    text, such as a question's type, need a trained model). ``k`` given: the
    temperature is ``temperature`` or 0.07 and nothing is cross-validated.
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    x = as_matrix(vectors, "vectors")
    y = _label_list(labels)
    if len(y) != len(x):
        raise InputError(f"{len(y)} labels for {len(x)} vectors")
    if x.shape[1] != space.dim:
        raise InputError(f"vectors have {x.shape[1]} dimensions; the space has {space.dim}")
    classes = sorted(set(y))
    if len(classes) < 2:
        raise InputError(
            f"need at least two different labels to train a classifier, got {classes or 'none'}"
        )
    target = np.asarray([classes.index(v) for v in y], dtype=np.int64)
    if method == "knn":
        arrays: dict[str, np.ndarray] = {
            "vectors": normalize_rows(x).astype(np.float32),
            "targets": target,
        }
        return Classifier(
            "knn", classes, space, arrays, _knn_params(x, target, k, temperature, C, seed), len(y)
        )
    if C <= 0:
        raise InputError(f"C must be positive, got {C}")
    require("sklearn", "analysis", "logistic regression")
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=max_iter)
    model.fit(x.astype(np.float64), target)
    arrays = {
        "coef": np.asarray(model.coef_, dtype=np.float64),
        "intercept": np.asarray(model.intercept_, dtype=np.float64),
    }
    return Classifier("logreg", classes, space, arrays, {"C": C, "max_iter": max_iter}, len(y))


def _knn_params(
    x: np.ndarray, target: np.ndarray, k: int | None, temperature: float | None, C: float, seed: int
) -> dict[str, Any]:
    if temperature is not None and temperature < 0:
        raise InputError(f"temperature must be 0 (one vote each) or positive, got {temperature}")
    if k is not None:
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        return {"k": int(k), "temperature": KNN_TEMPERATURE if temperature is None else temperature}
    grid = knn_cross_validation(x, target, int(target.max()) + 1, seed=seed)
    if temperature is not None:
        grid = {key: acc for key, acc in grid.items() if key[1] == temperature} or grid
    (best_k, best_t), best = max(grid.items(), key=lambda item: (item[1], -item[0][0]))
    logreg = logreg_cross_validation(x, target, C, seed=seed)
    params: dict[str, Any] = {
        "k": best_k,
        "temperature": best_t,
        "cv_accuracy": round(best, 4),
        "cv_logreg_accuracy": round(logreg, 4),
    }
    if logreg - best > KNN_BEHIND:
        params["advice"] = (
            f"k-NN reaches {best:.3f} cross-validated accuracy against {logreg:.3f} for "
            f"logistic regression on this data: the labels follow more than topical "
            f"similarity; use logistic regression (--method logreg)"
        )
    return params


def evaluate_predictions(predicted: Sequence[str], expected: Sequence[Any]) -> Evaluation:
    """Accuracy and macro-F1 (scikit-learn's definitions) of predictions against labels.

    A label that is never predicted scores F1 0 (no warning)."""
    require("sklearn", "analysis", "scoring a classifier")
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    y_true = _label_list(expected)
    y_pred = [str(p) for p in predicted]
    if len(y_true) != len(y_pred) or not y_true:
        raise InputError(f"{len(y_pred)} predictions for {len(y_true)} labels")
    names = sorted(set(y_true) | set(y_pred))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=names, zero_division=0.0)
    per_label = {
        n: {
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "support": int(s[i]),
        }
        for i, n in enumerate(names)
    }
    macro = f1_score(y_true, y_pred, labels=sorted(set(y_true)), average="macro", zero_division=0.0)
    return Evaluation(float(accuracy_score(y_true, y_pred)), float(macro), len(y_true), per_label)


def stratified_split(
    labels: Sequence[Any], test_size: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, test)``: every label keeps its share on both sides."""
    require("sklearn", "analysis", "a stratified split")
    from sklearn.model_selection import train_test_split

    y = _label_list(labels)
    if not 0.0 < test_size < 1.0:
        raise InputError(f"test size must be between 0 and 1, got {test_size}")
    rare = [(label, c) for label, c in Counter(y).items() if c < 2]
    if rare:
        raise InputError(
            f"label {rare[0][0]!r} has only {rare[0][1]} example; a stratified split needs at "
            f"least 2 per label (add examples, drop the label, or give a separate --test file)"
        )
    rows = np.arange(len(y))
    try:
        train_rows, test_rows = train_test_split(
            rows, test_size=test_size, random_state=seed, stratify=y
        )
    except ValueError as exc:  # e.g. fewer test rows than labels
        raise InputError(
            f"cannot split {len(y)} examples with test size {test_size}: {exc}"
        ) from exc
    return np.sort(train_rows), np.sort(test_rows)


# --- zero-shot ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZeroShot:
    """Labels as vectors: a text is given the label whose vector is most similar (cosine)."""

    labels: list[str]
    prompts: list[str]  # what was embedded for each label
    vectors: np.ndarray
    template: str | None = None
    kind: str = "document"

    def predict(self, vectors: Any) -> list[Prediction]:
        x = as_matrix(vectors, "vectors")
        if x.shape[1] != self.vectors.shape[1]:
            raise InputError(
                f"vectors have {x.shape[1]} dimensions; the label vectors {self.vectors.shape[1]}"
            )
        sims = normalize_rows(x) @ self.vectors.T
        best = sims.argmax(axis=1)
        return [Prediction(self.labels[i], float(sims[r, i])) for r, i in enumerate(best)]


def zero_shot(
    labels: Sequence[str],
    embedder: Embedder,
    *,
    descriptions: dict[str, str] | None = None,
    template: str | None = TEMPLATE,
    kind: Kind = "document",
) -> ZeroShot:
    """Embed each label (its description if given, else its name), plain (``template=None``)
    or in ``template`` ("{label}" is replaced), as ``kind`` ("document" or "query")."""
    names = [str(x).strip() for x in labels]
    if len(names) < 2 or any(not n for n in names):
        raise InputError("zero-shot needs at least two non-empty labels")
    if len(set(names)) != len(names):
        raise InputError("zero-shot labels must be different from each other")
    if template is not None and "{label}" not in template:
        raise InputError("the template must contain {label}, e.g. 'This text is about {label}.'")
    texts = [(descriptions or {}).get(n) or n for n in names]
    prompts = [template.replace("{label}", t) if template else t for t in texts]
    vectors = normalize_rows(embedder.encode(prompts, kind=kind))
    return ZeroShot(names, prompts, vectors, template, kind)


@dataclass(frozen=True, slots=True)
class ZeroShotResult:
    """How one way of embedding the labels scored on labelled data."""

    template: str | None
    kind: str
    evaluation: Evaluation


def compare_zero_shot(
    vectors: Any,
    expected: Sequence[Any],
    labels: Sequence[str],
    embedder: Embedder,
    *,
    descriptions: dict[str, str] | None = None,
    templates: Sequence[str | None] = (None, TEMPLATE),
) -> list[ZeroShotResult]:
    """Score every way of embedding the labels (each template, plain = None; as queries and
    as documents when the model's prompts differ), best first."""
    prompts = embedder.prompts
    kinds: list[Kind] = ["document"]
    if prompts.get("query", "") != prompts.get("document", ""):
        kinds.append("query")
    results = []
    for template in templates:
        for kind in kinds:
            zs = zero_shot(
                labels, embedder, descriptions=descriptions, template=template, kind=kind
            )
            predicted = [p.label for p in zs.predict(vectors)]
            results.append(
                ZeroShotResult(template, kind, evaluate_predictions(predicted, expected))
            )
    return sorted(results, key=lambda r: -r.evaluation.accuracy)


def read_label_file(path: str | Path) -> tuple[list[str], dict[str, str]]:
    """Labels and descriptions from a .json object ``{label: description}`` or a .txt file of
    one label per line, optionally ``label: description``."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from exc
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise InputError(f"{p}: not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise InputError(f'{p}: expected a JSON object {{"label": "description", ...}}')
        return [str(k) for k in data], {str(k): v for k, v in data.items() if v.strip()}
    labels, descriptions = [], {}
    for line in raw.splitlines():
        if not line.strip():
            continue
        name, sep, description = line.partition(": ")
        labels.append(name.strip())
        if sep and description.strip():
            descriptions[name.strip()] = description.strip()
    return labels, descriptions


__all__ = [
    "METHODS",
    "TEMPLATE",
    "Classifier",
    "EmbeddingSpace",
    "Evaluation",
    "Prediction",
    "ZeroShot",
    "ZeroShotResult",
    "compare_zero_shot",
    "evaluate_predictions",
    "labelled",
    "read_label_file",
    "stratified_split",
    "train_classifier",
    "zero_shot",
]
