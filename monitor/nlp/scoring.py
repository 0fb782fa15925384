"""The sentiment-scorer protocol, the shared result builder and the normalised-text cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from monitor.models import SENTIMENT_LABELS, Sentiment
from monitor.nlp.text import cache_key


@runtime_checkable
class SentimentScorer(Protocol):
    """Scores many texts at once; one :class:`Sentiment` per text, in order."""

    name: str

    def score(self, texts: Sequence[str]) -> list[Sentiment]: ...


def to_sentiments(probabilities: np.ndarray, model: str, uncertain_below: float) -> list[Sentiment]:
    """Turn an ``(n, 3)`` array of negative/neutral/positive probabilities into results.

    Rows are renormalised; an all-zero or NaN row becomes uniform. Ties go to neutral.
    """
    probs = np.asarray(probabilities, dtype=np.float64).reshape(-1, len(SENTIMENT_LABELS))
    probs = np.clip(np.nan_to_num(probs, nan=0.0, posinf=1.0), 0.0, None)
    probs[probs.sum(axis=1) <= 0] = 1.0
    probs /= probs.sum(axis=1, keepdims=True)
    neutral = SENTIMENT_LABELS.index("neutral")
    results = []
    for row in probs:
        best = neutral if row[neutral] >= row.max() else int(row.argmax())
        top = min(float(row[best]), 1.0)
        results.append(
            Sentiment(
                label=SENTIMENT_LABELS[best],
                score=top,
                probabilities={label: float(p) for label, p in zip(SENTIMENT_LABELS, row)},
                uncertain=top < uncertain_below,
                model=model,
            )
        )
    return results


class CachedScorer:
    """Wraps a scorer with a bounded LRU cache keyed by :func:`~monitor.nlp.text.cache_key`.

    Reposts, copy-paste storms and texts differing only in case, URLs or handles are scored once;
    a batch is deduplicated before the inner scorer sees it. Cached results are shared objects:
    treat them as read-only.
    """

    def __init__(self, inner: SentimentScorer, max_entries: int = 100_000):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.inner = inner
        self.name = inner.name
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, Sentiment] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        keys = [cache_key(text) for text in texts]
        found: dict[str, Sentiment] = {}
        todo: dict[str, str] = {}
        with self._lock:
            for key, text in zip(keys, texts):
                if key in found or key in todo:
                    continue
                cached = self._entries.get(key)
                if cached is None:
                    todo[key] = text
                else:
                    self._entries.move_to_end(key)
                    found[key] = cached
        if todo:
            found.update(zip(todo, self.inner.score(list(todo.values()))))
        with self._lock:
            self.misses += len(todo)
            self.hits += len(keys) - len(todo)
            for key in todo:
                self._entries[key] = found[key]
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return [found[key] for key in keys]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
