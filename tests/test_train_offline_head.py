"""The training script of the offline head: weighted, class-balanced fits and the temperature."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_offline_head.py"
_spec = importlib.util.spec_from_file_location("train_offline_head", _SCRIPT)
train = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train)


def separable(n: int = 90, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])
    return centres[y] + rng.normal(scale=0.8, size=(n, 4)), y


def test_a_weight_of_two_counts_like_a_repeated_example() -> None:
    x, y = separable()
    weight = np.ones(len(y))
    weight[:10] = 2.0
    weighted = train.fit(x, y, 0.01, weight)
    repeated = train.fit(np.concatenate([x, x[:10]]), np.concatenate([y, y[:10]]), 0.01)
    np.testing.assert_allclose(weighted[0], repeated[0], atol=1e-4)
    np.testing.assert_allclose(weighted[1], repeated[1], atol=1e-4)


def test_unit_weights_are_the_default_and_the_fit_learns_the_classes() -> None:
    x, y = separable()
    default = train.fit(x, y, 0.01)
    unit = train.fit(x, y, 0.01, np.ones(len(y)))
    np.testing.assert_allclose(default[0], unit[0], atol=1e-8)
    w, b = default
    assert np.mean((x @ w + b).argmax(axis=1) == y) > 0.9


def test_classes_are_balanced_by_their_total_weight() -> None:
    rng = np.random.default_rng(1)
    y = np.arange(300) % 3
    x = np.eye(3, 4)[y] + rng.normal(scale=1.5, size=(300, 4))  # overlapping classes: priors matter
    shares = []
    for negative_weight in (1.0, 5.0):
        w, b = train.fit(x, y, 0.01, np.where(y == 0, negative_weight, 1.0))
        shares.append(np.bincount((x @ w + b).argmax(axis=1), minlength=3) / len(y))
    # Five times the weight on one class does not make it five times likelier a priori.
    np.testing.assert_allclose(shares[1], shares[0], atol=0.03)


def test_penalty_comes_from_the_grid() -> None:
    x, y = separable(60)
    penalty = train.choose_penalty(x, y, np.ones(len(y)), np.random.default_rng(13), folds=3)
    assert penalty in train.PENALTIES


@pytest.mark.parametrize("true_temperature", [0.5, 2.0])
def test_temperature_recovers_the_one_that_made_the_labels(true_temperature: float) -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(scale=3.0, size=(4000, 3))
    scaled = np.exp(logits / true_temperature)
    probs = scaled / scaled.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in probs])
    assert train.fit_temperature(logits, y) == pytest.approx(true_temperature, rel=0.1)
