"""A collection's browsable map: a seeded sample when large, clusters and metadata colour
groups, and documents outside the sample placed among their nearest sampled neighbours."""

from __future__ import annotations

import numpy as np
import pytest

import semkit
from semkit.analysis.collection_map import build_map
from semkit.errors import InputError


@pytest.fixture
def topic_collection(topics, tmp_path):
    with semkit.open(tmp_path / "db") as db:
        coll = db.collection("topics", model=None, dims=topics.vectors.shape[1])
        coll.add(
            topics.texts,
            ids=topics.ids,
            metadatas=topics.metadatas,
            embeddings=topics.vectors,
        )
        yield coll


def test_a_sampled_map_places_the_rest_among_their_own_topic(topic_collection, topics):
    m = build_map(topic_collection, "pca", max_points=15, clusters=3)
    assert m.total == 24 and len(m.ids) == 15 and m.version == topic_collection.version()
    assert m.coords.shape == (15, 2) and m.coords.min() >= 0 and m.coords.max() <= 1
    assert build_map(topic_collection, "pca", max_points=15, clusters=3).ids == m.ids  # seeded
    topic_of = dict(zip(topics.ids, topics.field("topic"), strict=True))
    drawn_topics = [topic_of[i] for i in m.ids]

    # three well separated topics: the three clusters are the topics, named by keywords
    for c in range(3):
        members = {t for t, code in zip(drawn_topics, m.clusters.codes, strict=True) if code == c}
        assert len(members) == 1
    assert all(m.clusters.names)
    field = m.fields["topic"]
    assert [field.names[c] for c in field.codes] == drawn_topics

    rest = [i for i in topics.ids if i not in m.ids]
    placed = m.locate(topic_collection, [*rest, "missing"])
    assert set(placed) == set(rest)
    for doc_id, xy in placed.items():
        nearest = int(np.argmin(((m.coords - np.asarray(xy)) ** 2).sum(axis=1)))
        assert drawn_topics[nearest] == topic_of[doc_id]


def test_a_map_needs_a_few_documents(tmp_path):
    with semkit.open(tmp_path / "db") as db:
        coll = db.collection("few", model="hashing:16")
        coll.add(["one", "two", "three"])
        with pytest.raises(InputError, match="at least 4 documents"):
            build_map(coll, "pca")
