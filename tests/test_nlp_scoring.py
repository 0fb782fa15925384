"""The scorer protocol helpers, text clean-up and the normalised-text cache."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.models import Sentiment
from monitor.nlp.scoring import CachedScorer, SentimentScorer, to_sentiments
from monitor.nlp.text import MAX_CHARS, cache_key, prepare, sanitize


class CountingScorer:
    """Scores by keyword and records every batch it is asked for."""

    name = "counting"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        self.calls.append(list(texts))
        rows = [[0.8, 0.1, 0.1] if "bad" in t.lower() else [0.1, 0.2, 0.7] for t in texts]
        return to_sentiments(np.array(rows), self.name, 0.5)


def test_sanitize_handles_hostile_strings() -> None:
    assert sanitize("a\x00b\x07c") == "abc"
    assert sanitize("lone \ud800 surrogate") == "lone \ufffd surrogate"
    assert sanitize("\ud83d\ude00") == "😀"  # a surrogate pair becomes the real character
    assert sanitize("tab\tand\nnewline") == "tab\tand\nnewline"
    sanitize("\udfff\ud800").encode("utf-8")


def test_prepare_uses_corpus_placeholders_and_caps_length() -> None:
    assert prepare("@acme   your app https://t.co/x is bad") == "@user your app http is bad"
    assert prepare("mail me: me@example.com") == "mail me: me@example.com"
    assert len(prepare("y" * 50_000)) == MAX_CHARS


@pytest.mark.parametrize(
    "variant",
    [
        "The new update is BAD",
        "  the new   update is bad ",
        "RT @someone: The new update is bad",
        "RT @a: RT @b: rt The new update is bad",
        "@acme the new update is bad https://t.co/abc123",
        "ｔｈｅ new update is bad",  # full-width letters, folded by NFKC
    ],
)
def test_cache_key_folds_reposts_and_copies(variant: str) -> None:
    assert cache_key(variant) == "the new update is bad"


def test_cache_key_keeps_different_texts_apart() -> None:
    assert cache_key("the update is bad") != cache_key("the update is not bad")


ROW = st.lists(st.floats(0, 1e6, allow_nan=False), min_size=3, max_size=3)


@given(st.lists(ROW, min_size=1, max_size=20), st.floats(0, 1))
def test_to_sentiments_is_a_distribution(rows: list[list[float]], threshold: float) -> None:
    results = to_sentiments(np.array(rows), "m", threshold)
    assert len(results) == len(rows)
    for result in results:
        assert sum(result.probabilities.values()) == pytest.approx(1.0)
        assert 0.0 <= result.score <= 1.0
        assert result.probabilities[result.label] == max(result.probabilities.values())
        assert result.uncertain == (result.score < threshold)
        assert result.model == "m"


def test_to_sentiments_degenerate_rows() -> None:
    zero, nan, tie, plain = to_sentiments(
        np.array([[0, 0, 0], [np.nan, np.nan, np.nan], [0.4, 0.4, 0.2], [2.0, 1.0, 1.0]]), "m", 0.5
    )
    assert zero.label == nan.label == "neutral" and zero.score == pytest.approx(1 / 3) and zero.uncertain
    assert tie.label == "neutral"
    assert plain.label == "negative" and plain.score == pytest.approx(0.5) and not plain.uncertain


def test_cache_scores_each_normalised_text_once() -> None:
    inner = CountingScorer()
    cache = CachedScorer(inner)
    first = cache.score(["Bad app", "bad   APP", "RT @x: bad app http://t.co/1", "love it"])
    assert inner.calls == [["Bad app", "love it"]]
    assert [s.label for s in first] == ["negative", "negative", "negative", "positive"]
    second = cache.score(["love it", "BAD APP"])
    assert inner.calls == [["Bad app", "love it"]]
    assert second == [first[3], first[0]]
    assert (cache.hits, cache.misses) == (4, 2)
    assert cache.name == "counting"
    assert isinstance(cache, SentimentScorer)


def test_cache_is_a_bounded_lru() -> None:
    inner = CountingScorer()
    cache = CachedScorer(inner, max_entries=2)
    cache.score(["one", "two"])
    cache.score(["one"])  # "one" is now the most recently used
    cache.score(["three"])  # evicts "two"
    assert len(cache) == 2
    cache.score(["one", "two"])
    assert inner.calls[-1] == ["two"]
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError):
        CachedScorer(inner, max_entries=0)
