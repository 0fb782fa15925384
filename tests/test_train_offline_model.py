"""Low-rank adapters of the offline encoder's training script: merged, they are the adapted layer."""

from __future__ import annotations

import copy
import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from monitor.nlp.e5_image import Shape, quantise  # noqa: E402
from monitor.nlp.e5_torch import Encoder, Layer  # noqa: E402
from monitor.nlp.offline import Head  # noqa: E402
from monitor.nlp.tuned import TENSOR_PREFIX  # noqa: E402

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_offline_model.py"
_spec = importlib.util.spec_from_file_location("train_offline_model", _SCRIPT)
train = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train)

SHAPE = Shape(hidden=64, layers=2, heads=4, feed_forward=128, vocabulary=10, max_positions=16, eps=1e-12)


def adapted_copy(layer: Layer, rank: int = 4) -> Layer:
    """The layer with adapters whose B is random (as after training), not zero."""
    adapted = copy.deepcopy(layer)
    for part in train.PARTS:
        setattr(adapted, part, train.Adapted(getattr(adapted, part), rank, 2.0 * rank))
        with torch.no_grad():
            getattr(adapted, part).b.normal_(std=0.05)
    return adapted


def inputs() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(3, 7, SHAPE.hidden)
    keep = torch.ones(3, 7, dtype=torch.bool)
    keep[1, 5:] = keep[2, 2:] = False
    return x, keep


def test_a_new_adapter_changes_nothing_and_a_merged_layer_is_the_adapted_layer() -> None:
    torch.manual_seed(0)
    layer, (x, keep) = Layer(SHAPE).eval(), inputs()
    fresh = copy.deepcopy(layer)
    for part in train.PARTS:
        setattr(fresh, part, train.Adapted(getattr(fresh, part), 4, 8.0))
    with torch.no_grad():
        assert torch.allclose(fresh(x, keep), layer(x, keep), atol=1e-6)

        adapted, merged = adapted_copy(layer), copy.deepcopy(layer)
        for part in train.PARTS:
            getattr(merged, part).weight.copy_(getattr(adapted, part).merged())
        out = adapted(x, keep)
        assert not torch.allclose(out, layer(x, keep), atol=1e-3)
        assert torch.allclose(merged(x, keep), out, atol=1e-5)


def test_only_the_adapters_and_the_head_train_and_save_writes_the_merged_weights(tmp_path) -> None:
    torch.manual_seed(1)
    encoder = Encoder(SHAPE)
    head = Head(np.zeros((SHAPE.hidden, 3), np.float32), np.zeros(3, np.float32), 1.0, "query")
    top = train.Top(encoder, 1, head, rank=2)
    trainable = {name for name, p in top.named_parameters() if p.requires_grad}
    assert trainable == {f"layers.0.{part}.{ab}" for part in train.PARTS for ab in "ab"} | {"head.weight", "head.bias"}
    with torch.no_grad():
        top.layers[0].fi.b.normal_()
    merged = top.layers[0].fi.merged().detach().numpy()
    assert not np.allclose(merged, encoder.layers[1].fi.weight.detach().numpy())

    train.save(top, 1, 1.0, "query", tmp_path / "m.npz", lora=2)
    with np.load(tmp_path / "m.npz") as data:
        assert data[f"{TENSOR_PREFIX}l1.fi.w"].tobytes() == quantise(merged)
        assert np.array_equal(data[f"{TENSOR_PREFIX}l1.fi.b"], encoder.layers[1].fi.bias.detach().numpy())
        assert not any(key.startswith(f"{TENSOR_PREFIX}l0.") for key in data.files)


def test_dropout_acts_in_training_only() -> None:
    torch.manual_seed(2)
    head = Head(np.ones((SHAPE.hidden, 3), np.float32), np.zeros(3, np.float32), 1.0, "query")
    top = train.Top(Encoder(SHAPE), 1, head, rank=2, dropout=0.5)
    with torch.no_grad():
        top.layers[0].q.b.normal_()
    x, keep = inputs()
    top.train()
    assert not torch.allclose(top(x, keep), top(x, keep))
    top.eval()
    assert torch.equal(top(x, keep), top(x, keep))


def test_the_cosine_schedule_falls_from_one_to_zero() -> None:
    factor = train.cosine(10)
    values = [factor(step) for step in range(12)]
    assert values[0] == pytest.approx(1.0) and values[5] == pytest.approx(0.5)
    assert values[10] == pytest.approx(0.0) and values[11] == pytest.approx(0.0)
    assert all(a >= b for a, b in itertools.pairwise(values))


def test_the_average_follows_the_trained_weights_and_is_applied_only_inside_its_block() -> None:
    torch.manual_seed(3)
    head = Head(np.zeros((SHAPE.hidden, 3), np.float32), np.zeros(3, np.float32), 1.0, "query")
    top = train.Top(Encoder(SHAPE), 1, head, rank=2)
    fixed = top.layers[0].q.base.weight.detach().clone()
    start = top.head.bias.detach().clone()
    average = train.Average(top, 0.5)
    assert "layers.0.q.base.weight" not in average.params
    expected = start.clone()
    for value in (1.0, 3.0):
        with torch.no_grad():
            top.head.bias.fill_(value)
        average.update()
        expected = 0.5 * expected + 0.5 * value
    with average.applied():
        assert torch.allclose(top.head.bias, expected)
    assert torch.equal(top.head.bias, torch.full((3,), 3.0))
    assert torch.equal(top.layers[0].q.base.weight, fixed)
