"""Reading labelled sentiment splits and the metrics reported for them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monitor.errors import NlpError
from monitor.nlp import evaluation
from monitor.nlp.evaluation import cached_embeddings, expected_calibration_error, macro_f1, read_split


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


def test_calibration_error() -> None:
    y = np.array([0, 0, 0, 1])
    confident_and_right = np.array([[1.0, 0, 0]] * 3 + [[0, 1.0, 0]])
    assert expected_calibration_error(confident_and_right, y) == 0.0
    overconfident = np.array([[0.9, 0.05, 0.05]] * 4)  # 90% sure, 75% right
    assert expected_calibration_error(overconfident, y) == pytest.approx(0.15)


def test_embeddings_are_cached_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    class Stub:
        def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
            calls.append(texts)
            return np.ones((len(texts), 384), np.float32)

        def token_count(self, text: str, is_query: bool = False) -> int:
            return 3

    monkeypatch.setattr(evaluation, "default_embedder", Stub)
    first = cached_embeddings(["a b", "c"], "query", tmp_path, "set-val")
    again = cached_embeddings(["a b", "c"], "query", tmp_path, "set-val")
    other = cached_embeddings(["a b", "c"], "passage", tmp_path, "set-val")
    assert len(calls) == 2, "the second call is read from disk; another prefix is another entry"
    np.testing.assert_array_equal(first, again)
    assert other.shape == (2, 384)
    assert len(list(tmp_path.glob("set-val-*.npy"))) == 2
