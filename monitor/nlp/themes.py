"""Grouping short posts by what they say: offline multilingual embeddings and spherical k-means."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from monitor.errors import NlpError
from monitor.nlp.offline import Embedder, default_embedder, embed
from monitor.nlp.text import cache_key

CACHE_ENTRIES = 20_000
"""Embeddings kept per process (1.5 KB each): overlapping spike windows are embedded once."""

_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def embed_texts(texts: Sequence[str], embedder: Embedder | None = None) -> np.ndarray:
    """``(n, 384)`` L2-normalised offline-encoder embeddings (``query:`` prefix, the E5 advice
    for symmetric similarity), cached by normalised text. Encoder failures raise :class:`NlpError`.
    """
    keys = [cache_key(text) for text in texts]
    missing: dict[str, str] = {}
    with _CACHE_LOCK:
        for key, text in zip(keys, texts):
            if key not in _CACHE:
                missing.setdefault(key, text)
    if missing:
        try:
            vectors = embed(list(missing.values()), embedder or default_embedder(), "query")
        except (RuntimeError, ValueError, OSError) as exc:
            raise NlpError(f"the offline encoder failed: {exc}") from exc
        with _CACHE_LOCK:
            _CACHE.update(zip(missing, vectors))
    with _CACHE_LOCK:
        found = [_CACHE[key] for key in keys]
        for key in keys:
            _CACHE.move_to_end(key)
        while len(_CACHE) > CACHE_ENTRIES:
            _CACHE.popitem(last=False)
    return np.stack(found) if found else np.zeros((0, 384), np.float32)


def centred(embeddings: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The embeddings minus their weighted mean, L2-normalised again.

    Posts about one brand all sit close together in E5 space; removing their mean spreads them
    by what they say.
    """
    points = embeddings - np.average(embeddings, axis=0, weights=np.asarray(weights, dtype=np.float64))
    return points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-9)


def cluster(embeddings: np.ndarray, weights: np.ndarray, clusters: int, iterations: int = 25) -> np.ndarray:
    """A cluster index per row: weighted spherical k-means on the :func:`centred` embeddings.

    Seeded deterministically (farthest-point from the heaviest row), so the same posts always
    give the same clusters.
    """
    count = len(embeddings)
    clusters = max(1, min(clusters, count))
    if count == 0:
        return np.zeros(0, dtype=int)
    weights = np.asarray(weights, dtype=np.float64)
    points = centred(embeddings, weights)
    chosen = [int(np.argmax(weights))]
    for _ in range(1, clusters):
        nearest = (points @ points[chosen].T).max(axis=1)
        nearest[chosen] = np.inf
        chosen.append(int(np.argmin(nearest)))
    centres = points[chosen]
    labels = np.full(count, -1)
    for _ in range(iterations):
        updated = (points @ centres.T).argmax(axis=1)
        if np.array_equal(updated, labels):
            break
        labels = updated
        for index in range(clusters):
            members = labels == index
            if members.any():
                centre = (points[members] * weights[members, None]).sum(axis=0)
                centres[index] = centre / max(float(np.linalg.norm(centre)), 1e-9)
    return labels
