"""Backend selection (with the offline fallback) and mention annotation."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from nlp_fixtures import build_tiny_model

from monitor.config import NlpConfig
from monitor.errors import NlpError
from monitor.models import Mention, Sentiment
from monitor.nlp.annotate import Annotator, build_scorer, mention_text
from monitor.nlp.offline import OfflineScorer
from monitor.nlp.scoring import CachedScorer, to_sentiments
from monitor.nlp.transformers_backend import TransformersScorer

NOW = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


class RecordingScorer:
    name = "recording"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        self.calls.append(list(texts))
        rows = [[0.9, 0.05, 0.05] if "broken" in t else [0.1, 0.1, 0.8] for t in texts]
        return to_sentiments(np.array(rows), self.name, 0.5)


def mention(n: int, text: str, **fields: object) -> Mention:
    return Mention(id=f"test:{n}", brand="Acme", source="test", text=text,
                   created_at=NOW, collected_at=NOW, **fields)


def test_annotate_scores_everything_in_one_call() -> None:
    scorer = RecordingScorer()
    mentions = [
        mention(1, "My Acme kettle arrived broken and support ignores me."),
        mention(2, "Ich liebe meinen neuen Wasserkocher von Acme, er ist wunderbar!", language_hint="de-DE"),
        mention(3, "Great value and the delivery was quick.", title="Acme review"),
        mention(4, "ok"),
    ]
    annotator = Annotator(scorer)
    annotated = annotator.annotate(mentions)
    assert annotator.scorer_name == "recording"
    assert len(scorer.calls) == 1
    assert scorer.calls[0][2] == "Acme review\nGreat value and the delivery was quick."
    assert [m.sentiment.label for m in annotated] == ["negative", "positive", "positive", "positive"]
    assert [m.language for m in annotated] == ["en", "de", "en", None]
    assert all(m.sentiment is None and m.language is None for m in mentions), "inputs are not modified"
    assert [m.id for m in annotated] == [m.id for m in mentions]


def test_existing_sentiment_and_language_are_kept() -> None:
    scorer = RecordingScorer()
    done = Sentiment(label="neutral", score=0.9,
                     probabilities={"negative": 0.05, "neutral": 0.9, "positive": 0.05})
    mentions = [mention(1, "it is broken", sentiment=done, language="en"),
                mention(2, "to jest zepsute, broken")]
    annotated = Annotator(scorer, languages=["en", "pl"]).annotate(mentions)
    assert scorer.calls == [["to jest zepsute, broken"]]
    assert annotated[0].sentiment == done and annotated[0].language == "en"
    assert annotated[1].language == "pl"
    assert Annotator(scorer).annotate([]) == []
    short = [mention(3, "Lot super"), mention(4, "Muy bien")]
    assert [m.language for m in Annotator(scorer).annotate(short)] == [None, "fr"]
    assert Annotator(scorer).annotate(short, languages=["es", "en"])[1].language == "es"


def test_hints_are_normalised() -> None:
    annotated = Annotator(RecordingScorer()).annotate([
        mention(1, "Der Kundendienst war sehr freundlich und schnell.", language_hint="und"),
        mention(2, "whatever", language_hint="PT_br"),
    ])
    assert [m.language for m in annotated] == ["de", "pt"]


def test_title_already_in_text_is_not_repeated() -> None:
    text = "Acme recall: kettles overheat"
    assert mention_text(mention(1, text, title="Acme recall")) == text


def test_build_transformers_backend(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "model")
    scorer = build_scorer(NlpConfig(backend="transformers", model=str(model), batch_size=4, device="cpu"))
    assert isinstance(scorer, CachedScorer) and isinstance(scorer.inner, TransformersScorer)
    assert scorer.inner.batch_size == 4
    assert len(scorer.score(["good app", "good   APP"])) == 2 and scorer.misses == 1


def test_speed_settings_reach_the_transformers_backend(tmp_path: Path) -> None:
    import torch

    model = build_tiny_model(tmp_path / "model")
    default = torch.get_num_threads()
    try:
        config = NlpConfig(backend="transformers", model=str(model), device="cpu", quantize=True, threads=1)
        scorer = build_scorer(config)
        assert scorer.inner.dtype == "int8" and torch.get_num_threads() == 1
        bfloat16 = config.model_copy(update={"quantize": False, "dtype": "bfloat16"})
        assert build_scorer(bfloat16).inner.dtype == "bfloat16"
    finally:
        torch.set_num_threads(default)


@pytest.mark.parametrize("settings", [
    {"quantize": True, "dtype": "bfloat16"},
    {"dtype": "int4"},
    {"threads": 0},
])
def test_invalid_speed_settings_are_refused_by_the_config(settings: dict) -> None:
    with pytest.raises(ValueError):
        NlpConfig(**settings)


def test_transformers_backend_does_not_fall_back(tmp_path: Path) -> None:
    with pytest.raises(NlpError, match="nlp.backend: offline"):
        build_scorer(NlpConfig(backend="transformers", model=str(tmp_path / "missing")))


def test_auto_falls_back_to_offline_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with caplog.at_level(logging.WARNING, logger="monitor.nlp.annotate"):
        config = NlpConfig(backend="auto", model="no-such-org/no-such-model", uncertain_below=0.4)
        scorer = build_scorer(config)
    assert isinstance(scorer, CachedScorer) and isinstance(scorer.inner, OfflineScorer)
    assert scorer.inner.uncertain_below == 0.4
    warning = caplog.records[-1]
    assert warning.levelno == logging.WARNING
    text = warning.getMessage()
    assert "no-such-org/no-such-model could not be loaded" in text
    assert "offline" in text and "docs/nlp.md" in text
    assert "HF_HUB_OFFLINE=1 so the cached copy" not in text, "the reason alone, not the whole advice"


def test_auto_uses_a_loadable_model(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "model")
    assert isinstance(build_scorer(NlpConfig(model=str(model))).inner, TransformersScorer)


def test_offline_backend() -> None:
    scorer = build_scorer(NlpConfig(backend="offline"))
    assert isinstance(scorer.inner, OfflineScorer)
    assert scorer.name.startswith("offline")


def test_offline_head_backend_is_the_stock_encoder_with_todays_head() -> None:
    from monitor.nlp.offline import HEAD_PATH, NAME, Head, default_embedder

    scorer = build_scorer(NlpConfig(backend="offline-head")).inner
    assert isinstance(scorer, OfflineScorer) and scorer.name == NAME
    assert np.array_equal(scorer.head.weights, Head.load(HEAD_PATH).weights)
    assert scorer.embedder is default_embedder()


def test_offline_backend_runs_the_tuned_model_where_there_is_one(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.nlp import tuned
    from monitor.nlp.e5_image import quantise, read_image
    from monitor.nlp.e5_torch import TorchE5
    from monitor.nlp.offline import NAME, TUNED_NAME, default_embedder

    monkeypatch.setattr(tuned, "MODEL_PATH", tmp_path / "absent.npz")
    assert build_scorer(NlpConfig(backend="offline")).inner.name == NAME

    flipped = -read_image(tuned.bundled_engine_path()).tensors["l11.fo.w"]
    weights = np.random.default_rng(0).normal(size=(384, 3)).astype(np.float32)
    model = tmp_path / "offline_model.npz"
    np.savez(model, weights=weights, bias=np.zeros(3, np.float32), temperature=np.float32(1),
             prefix=np.asarray("query"), **{tuned.TENSOR_PREFIX + "l11.fo.w": np.frombuffer(quantise(flipped), np.uint8)})
    monkeypatch.setattr(tuned, "MODEL_PATH", model)
    monkeypatch.setenv("MONITOR_CACHE", str(tmp_path / "cache"))
    scorer = build_scorer(NlpConfig(backend="offline", uncertain_below=0.4)).inner
    assert scorer.name == TUNED_NAME and scorer.uncertain_below == 0.4
    assert isinstance(scorer.embedder, TorchE5), "the tuned model runs on PyTorch, batched"
    assert np.array_equal(scorer.head.weights, weights)
    assert len(list((tmp_path / "cache").glob("e5-small-tuned-*.bin"))) == 1
    text = ["the flight was late again"]
    assert float((scorer.embedder.encode(text, True) * default_embedder().encode(text, True)).sum()) < 0.99
