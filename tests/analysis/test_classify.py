"""Classification on real embeddings: trained (logreg, k-NN), saved without pickle, refused
across models; zero-shot against label texts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from semkit import Embedder
from semkit.analysis.classify import (
    TEMPLATE,
    Classifier,
    EmbeddingSpace,
    compare_zero_shot,
    evaluate_predictions,
    read_label_file,
    stratified_split,
    train_classifier,
    zero_shot,
)
from semkit.errors import InputError, ModelError, StoreError

LABELLED = [
    json.loads(line)
    for line in (Path(__file__).parents[1] / "data" / "labelled.jsonl").read_text().splitlines()
]
# 10 sentences per class for training, 3 per class held out
TRAIN = [(r["text"], r["label"]) for r in LABELLED if r["split"] == "train"]
HELD_OUT = [(r["text"], r["label"]) for r in LABELLED if r["split"] == "test"]
CLASSES = sorted({label for _, label in TRAIN})


def _training() -> tuple[list[str], list[str]]:
    return [t for t, _ in TRAIN], [label for _, label in TRAIN]


@pytest.fixture
def space(embedder) -> EmbeddingSpace:
    return EmbeddingSpace.of_embedder(embedder, "default")


@pytest.fixture
def data(embedder) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    texts, labels = _training()
    held_texts, held_labels = zip(*HELD_OUT, strict=True)
    return embedder.encode(texts), labels, embedder.encode(list(held_texts)), list(held_labels)


@pytest.mark.parametrize("method", ["logreg", "knn"])
def test_a_classifier_predicts_held_out_sentences(method, space, data):
    x, y, held_x, held_y = data
    clf = train_classifier(x, y, space, method=method, k=5)
    predicted = clf.predict(held_x)
    assert [p.label for p in predicted] == held_y
    assert clf.labels == ["computing", "cooking", "sports"] and clf.trained_on == 30
    probs = clf.scores(held_x)
    assert probs.shape == (9, 3) and np.allclose(probs.sum(1), 1.0)
    assert all(0.34 < p.score <= 1.0 for p in predicted)


@pytest.mark.parametrize("method", ["logreg", "knn"])
def test_a_saved_classifier_reloads_identically_and_holds_no_pickle(method, space, data, tmp_path):
    x, y, held_x, _ = data
    clf = train_classifier(x, y, space, method=method, k=5)
    folder = clf.save(tmp_path / "clf")
    assert sorted(p.name for p in folder.iterdir()) == ["classifier.json", "weights.npz"]
    config = json.loads((folder / "classifier.json").read_text())
    assert config["space"]["fingerprint"] == space.fingerprint and config["space"]["dim"] == 384
    with np.load(folder / "weights.npz", allow_pickle=False) as npz:
        assert all(npz[name].dtype != object for name in npz.files)
    loaded = Classifier.load(folder)
    assert loaded.labels == clf.labels and loaded.space == clf.space
    assert np.array_equal(loaded.scores(held_x), clf.scores(held_x))
    assert loaded.predict(held_x) == clf.predict(held_x)


def test_a_damaged_or_missing_classifier_is_refused(space, data, tmp_path):
    x, y, _, _ = data
    folder = train_classifier(x, y, space).save(tmp_path / "clf")
    with pytest.raises(InputError, match="not a saved classifier"):
        Classifier.load(tmp_path / "nothing")
    weights = folder / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(StoreError, match="checksum"):
        Classifier.load(folder)


def test_vectors_of_another_model_or_size_are_refused(default_provider, embedder, space, data):
    x, y, held_x, _ = data
    clf = train_classifier(x, y, space)
    clf.space.check(EmbeddingSpace.of_embedder(Embedder(default_provider, cache=False)))
    hashing = EmbeddingSpace.of_embedder(Embedder("hashing:384", cache=False), "hashing:384")
    with pytest.raises(ModelError, match=r"trained on .*all-MiniLM-L6-v2.*hashing"):
        clf.space.check(hashing)
    truncated = EmbeddingSpace.of_embedder(Embedder(default_provider, dims=128, cache=False))
    with pytest.raises(ModelError, match=r"384 dimensions.*128 dimensions"):
        clf.space.check(truncated)
    with pytest.raises(InputError, match="128 dimensions; the classifier expects 384"):
        clf.predict(held_x[:, :128])


def test_training_needs_two_labels_and_one_label_per_vector(space, data):
    x, y, _, _ = data
    with pytest.raises(InputError, match="two different labels"):
        train_classifier(x[:10], y[:10], space)
    with pytest.raises(InputError, match="29 labels for 30 vectors"):
        train_classifier(x, y[:-1], space)
    with pytest.raises(InputError, match="unknown method"):
        train_classifier(x, y, space, method="svm")
    with pytest.raises(InputError, match="example #3 has no label"):
        train_classifier(x, [*y[:3], None, *y[4:]], space)


def test_evaluate_reports_accuracy_and_macro_f1():
    result = evaluate_predictions(["a", "b", "a", "c"], ["a", "b", "b", "c"])
    assert result.accuracy == pytest.approx(0.75)
    # F1: a = 2/3, b = 2/3, c = 1
    assert result.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert result.per_label["b"] == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}


def test_stratified_split_keeps_every_label_on_both_sides():
    _, labels = _training()
    train_rows, test_rows = stratified_split(labels, 0.5, seed=0)
    assert len(train_rows) == len(test_rows) == 15
    assert not set(train_rows) & set(test_rows)
    assert {labels[i] for i in test_rows} == {labels[i] for i in train_rows} == set(CLASSES)
    again = stratified_split(labels, 0.5, seed=0)
    assert np.array_equal(again[1], test_rows)
    assert not np.array_equal(stratified_split(labels, 0.5, seed=1)[1], test_rows)
    with pytest.raises(InputError, match="label 'x' has only 1 example"):
        stratified_split([*labels, "x"], 0.5)


def test_zero_shot_picks_the_right_label_on_clear_cases(embedder):
    texts = [t for t, _ in HELD_OUT]
    expected = [label for _, label in HELD_OUT]
    vectors = embedder.encode(texts)
    zs = zero_shot(["cooking", "sports", "computing"], embedder)
    assert zs.prompts[0] == "This text is about cooking."
    assert [p.label for p in zs.predict(vectors)] == expected
    results = compare_zero_shot(vectors, expected, ["cooking", "sports", "computing"], embedder)
    assert {r.template for r in results} == {None, TEMPLATE}
    assert results[0].evaluation.accuracy >= results[-1].evaluation.accuracy
    assert results[0].evaluation.accuracy == 1.0


def test_zero_shot_uses_label_descriptions(embedder, tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("A: recipes, ingredients and preparing food\nB: athletes and matches\n\n")
    names, descriptions = read_label_file(path)
    assert names == ["A", "B"] and descriptions["B"] == "athletes and matches"
    zs = zero_shot(names, embedder, descriptions=descriptions, template=None)
    assert zs.prompts == ["recipes, ingredients and preparing food", "athletes and matches"]
    predicted = zs.predict(embedder.encode(["Stir the risotto", "The team won the final"]))
    assert [p.label for p in predicted] == ["A", "B"]
    with pytest.raises(InputError, match="must contain \\{label\\}"):
        zero_shot(names, embedder, template="no placeholder")
    with pytest.raises(InputError, match="at least two"):
        zero_shot(["only"], embedder)


def test_knn_chooses_k_and_weighting_by_cross_validation(space, data):
    from semkit.analysis.classify import KNN_KS, KNN_TEMPERATURES

    x, y, held_x, held_y = data
    clf = train_classifier(x, y, space, method="knn")
    assert clf.params["k"] in KNN_KS and clf.params["temperature"] in KNN_TEMPERATURES
    assert clf.params["cv_accuracy"] >= 0.9 and "advice" not in clf.params
    assert [p.label for p in clf.predict(held_x)] == held_y


def _topics_and_a_feature(label_by_topic: bool) -> tuple[np.ndarray, list[str]]:
    """300 vectors in 10 tight topics; the label is the topic's parity, or one small feature
    that cosine similarity barely sees (as a question's type next to its subject)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 32))
    topic = rng.integers(0, 10, size=300)
    feature = rng.integers(0, 2, size=300)
    x = centres[topic] + 0.3 * rng.normal(size=(300, 32))
    x[:, 0] += np.where(feature == 1, 0.25, -0.25)
    labels = topic % 2 if label_by_topic else feature
    return x.astype(np.float32), [f"class-{v}" for v in labels]


def test_knn_says_when_logistic_regression_is_the_better_choice():
    space = EmbeddingSpace(None, None, None, 32)
    x, y = _topics_and_a_feature(label_by_topic=False)
    clf = train_classifier(x, y, space, method="knn")
    assert clf.params["cv_logreg_accuracy"] > clf.params["cv_accuracy"] + 0.1
    assert "use logistic regression" in clf.params["advice"]
    x, y = _topics_and_a_feature(label_by_topic=True)
    assert "advice" not in train_classifier(x, y, space, method="knn").params


def test_knn_with_k_given_is_not_cross_validated(space, data):
    x, y, _, _ = data
    params = train_classifier(x, y, space, method="knn", k=7, temperature=0.0).params
    assert params == {"k": 7, "temperature": 0.0}
    with pytest.raises(InputError, match="at least 2 examples of every label"):
        train_classifier(x[:11], [*y[:10], "lonely"], space, method="knn")
