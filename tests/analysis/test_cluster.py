"""Clustering on real embeddings: topics found, noise marked, keywords, write-back, seeds."""

from __future__ import annotations

import numpy as np
import pytest

import semkit
from semkit.analysis.cluster import cluster, ctfidf_keywords, write_clusters
from semkit.analysis.corpus import Corpus, from_collection
from semkit.errors import InputError

TOPIC_WORDS = {
    "astronomy": {"planet", "galaxy", "star", "stars", "telescope"},
    "football": {"match", "team", "goal", "football", "league"},
    "baking": {"bread", "cake", "flour", "oven", "butter"},
}


def groups(ids, labels) -> set[frozenset[str]]:
    """The documents of each label as a set of id sets (label numbers do not matter)."""
    out: dict[int, set[str]] = {}
    for doc_id, label in zip(ids, labels, strict=True):
        out.setdefault(int(label), set()).add(doc_id)
    return {frozenset(v) for v in out.values()}


def topic_groups(corpus: Corpus) -> set[frozenset[str]]:
    return groups(corpus.ids, [hash(t) for t in corpus.field("topic")])


def test_kmeans_finds_the_three_topics_and_names_them(topics):
    result = cluster(topics, k=3)
    assert result.k == 3 and result.noise == 0
    assert groups(result.ids, result.labels) == topic_groups(topics)
    topic_of = dict(zip(topics.ids, topics.field("topic"), strict=True))
    for c in result.clusters:
        topic = topic_of[c.representatives[0]]
        assert {topic_of[i] for i in c.representatives} == {topic}
        assert len(set(c.keywords[:4]) & TOPIC_WORDS[topic]) >= 2, (topic, c.keywords)
        assert c.size == 8 and len(c.representatives) == 3
    assert result.silhouette is not None and result.silhouette > 0.2


def test_auto_k_picks_three_by_silhouette(topics):
    result = cluster(topics, k_range=(2, 8))
    assert result.k == 3 and sorted(result.silhouette_by_k) == list(range(2, 9))
    assert result.silhouette == max(result.silhouette_by_k.values())
    assert groups(result.ids, result.labels) == topic_groups(topics)


def test_hdbscan_marks_a_lone_off_topic_text_as_noise(topics_all):
    corpus = topics_all.subset([i for i, d in enumerate(topics_all.ids) if d != "knit"])
    result = cluster(corpus, "hdbscan", min_cluster_size=4)
    labels = result.assignments()
    assert labels["tax"] == -1 and result.noise == 1
    assert result.clusters[-1].label == -1 and result.clusters[-1].name == "noise"
    on_topic = [i for i in corpus.ids if i != "tax"]
    assert groups(on_topic, [labels[i] for i in on_topic]) == topic_groups(
        corpus.subset([corpus.ids.index(i) for i in on_topic])
    )


def test_same_seed_same_clusters(topics_all):
    a = cluster(topics_all, k=4, seed=7)
    b = cluster(topics_all, k=4, seed=7)
    assert np.array_equal(a.labels, b.labels) and a.clusters == b.clusters


def test_clusters_are_numbered_by_size_and_representatives_are_central(topics_all):
    result = cluster(topics_all, k=3)
    sizes = [c.size for c in result.clusters]
    assert sizes == sorted(sizes, reverse=True) and sum(sizes) == len(topics_all)
    unit = topics_all.vectors
    for c in result.clusters:
        rows = np.flatnonzero(result.labels == c.label)
        centre = unit[rows].mean(0)
        closest = topics_all.ids[rows[np.argmax(unit[rows] @ centre)]]
        assert c.representatives[0] == closest


def test_ctfidf_follows_bertopics_definition():
    # counts: class 0 apple 2, banana 1; class 1 banana 1, cherry 1; 2.5 words per class
    # idf apple = banana = log(1 + 2.5/2), cherry = log(1 + 2.5/1): cherry outranks banana
    # in class 1, though both occur once there (plain tf would tie them).
    keywords = ctfidf_keywords(
        ["apple apple banana", "banana cherry"], np.array([0, 1]), n_keywords=2
    )
    assert keywords == {0: ["apple", "banana"], 1: ["cherry", "banana"]}
    # stop words and numbers are not keywords
    assert ctfidf_keywords(["the 39 of and"], np.array([0]), 3) == {0: []}


def test_vectors_without_texts_cluster_without_keywords():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((2, 16)).astype(np.float32) * 5
    x = np.concatenate(
        [centres[0] + rng.standard_normal((10, 16)), centres[1] + rng.standard_normal((10, 16))]
    )
    result = cluster(x, k=2)
    assert groups(result.ids, result.labels) == {
        frozenset(str(i) for i in range(10)),
        frozenset(str(i) for i in range(10, 20)),
    }
    assert all(c.keywords == [] for c in result.clusters)


def test_clusters_written_back_to_the_collection(tmp_path, topics, monkeypatch):
    with semkit.open(tmp_path / "db") as db:
        coll = db.collection("docs")
        coll.add(
            list(topics.texts),
            ids=topics.ids,
            metadatas=[{"topic": t} for t in topics.field("topic")],
        )
        before = coll.document_vectors(topics.ids)
        result = cluster(from_collection(coll), k=3)
        assert write_clusters(coll, result, "cluster") == len(topics)
        zero = {d.id for d in coll.get(where={"cluster": 0})}
        assert zero == {i for i, c in result.assignments().items() if c == 0} and len(zero) == 8
        doc = coll.get([topics.ids[0]])[0]
        assert doc.metadata["topic"] == "astronomy"  # merged, not replaced
        assert np.array_equal(coll.document_vectors(topics.ids), before)  # nothing re-embedded
        hits = coll.search("stars and planets", k=3, where={"cluster": doc.metadata["cluster"]})
        assert len(hits) == 3
        assert write_clusters(coll, result, "cluster") == 0  # unchanged: nothing written
        with pytest.raises(InputError, match="no document with id 'nope'"):
            coll.update_metadata(["nope"], [{"cluster": 1}])
        assert coll.update_metadata([topics.ids[0]], [{"x": 1}], merge=False) == 1
        assert coll.get([topics.ids[0]])[0].metadata == {"x": 1}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 1}, "k must be an integer from 2"),
        ({"k": 99}, "k must be an integer from 2"),
        ({"k_range": (1, 5)}, "k_range must be two integers"),
        ({"k_range": (30, 40)}, "too few to try k from 30"),
        ({"method": "spectral"}, "unknown clustering method"),
        ({"method": "hdbscan", "k": 3}, "leave k out"),
        ({"method": "hdbscan", "min_cluster_size": 1}, "min_cluster_size"),
    ],
)
def test_mistakes_are_input_errors(topics, kwargs, message):
    with pytest.raises(InputError, match=message):
        cluster(topics, **kwargs)


def test_too_few_documents(topics):
    with pytest.raises(InputError, match="at least 3 documents"):
        cluster(topics.subset([0, 1]))
