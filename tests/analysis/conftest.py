"""Texts on three clearly separate topics (astronomy, football, baking; eight each) and two
off-topic texts ("tax", "knit"), embedded once by the real model.

The analyses do not depend on the inference path, so these fixtures use the reference
one (torch fp32) and skip measuring the others (a one-time cost of a minute or two).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from semkit.analysis.corpus import Corpus, from_file

TOPICS = Path(__file__).parents[1] / "data" / "topics.jsonl"


@pytest.fixture(scope="session")
def reference_embedder():
    from semkit import Embedder

    return Embedder("default", backend="torch", cache=False)


@pytest.fixture(scope="session")
def topics_all(reference_embedder) -> Corpus:
    return from_file(TOPICS, reference_embedder)


@pytest.fixture(scope="session")
def topics(topics_all: Corpus) -> Corpus:
    """The 24 on-topic texts only."""
    return topics_all.subset([i for i, t in enumerate(topics_all.field("topic")) if t != "other"])
