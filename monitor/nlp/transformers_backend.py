"""Sentiment from a Hugging Face sequence-classification model (model id or local directory)."""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from monitor.errors import NlpError
from monitor.models import SENTIMENT_LABELS, Sentiment
from monitor.nlp.scoring import to_sentiments
from monitor.nlp.text import prepare

log = logging.getLogger(__name__)

DTYPES = ("float32", "float16", "bfloat16")
PROGRESS_ABOVE = 512
"""Batches larger than this show a progress bar (on a terminal)."""
_UNSET_LIMIT = 100_000
"""Tokenizers without a known length limit report a huge ``model_max_length``."""

_NEG, _NEU, _POS = range(3)
_BY_POSITION = {2: (_NEG, _POS), 3: (_NEG, _NEU, _POS), 5: (_NEG, _NEG, _NEU, _POS, _POS)}
_STARS = {1: _NEG, 2: _NEG, 3: _NEU, 4: _POS, 5: _POS}
_WORDS = ((re.compile(r"neg"), _NEG), (re.compile(r"neu|mixed"), _NEU), (re.compile(r"pos"), _POS))


@dataclass(frozen=True)
class LoadedModel:
    """A tokenizer and model on ``device`` in ``dtype``, with the matrix mapping its classes to ours.

    ``dtype`` is ``int8`` for a dynamically quantized model.
    """

    tokenizer: Any
    model: Any
    mapping: np.ndarray
    device: str
    dtype: str


_LOADED: dict[tuple[str, str, str], LoadedModel] = {}
_LOAD_LOCK = threading.Lock()


def label_mapping(id2label: dict[int, str]) -> np.ndarray:
    """A ``(num_labels, 3)`` matrix folding the model's classes onto negative/neutral/positive.

    Understands names (``negative``, ``NEG``, ``very positive``), star ratings (``1 star`` …
    ``5 stars``) and positional names (``LABEL_0``, ``0``) for 2, 3 or 5 classes.
    """
    count = len(id2label)
    mapping = np.zeros((count, len(SENTIMENT_LABELS)), dtype=np.float32)
    names = [str(id2label.get(index, "")).strip().lower() for index in range(count)]
    for index, name in enumerate(names):
        target = _target(name, count)
        if target is None:
            raise NlpError(
                f"cannot map the model's label {name!r} onto negative/neutral/positive "
                f"(labels: {names}); use a sentiment model whose labels say negative/neutral/positive"
            )
        mapping[index, target] = 1.0
    if not (mapping[:, _NEG].any() and mapping[:, _POS].any()):
        raise NlpError(f"the model's labels {dict(id2label)} have no negative and positive class")
    return mapping


def _target(name: str, count: int) -> int | None:
    stars = re.fullmatch(r"([1-5])\s*stars?", name)
    if stars:
        return _STARS[int(stars.group(1))]
    for pattern, target in _WORDS:
        if pattern.search(name):
            return target
    position = re.fullmatch(r"(?:label_?)?(\d+)", name)
    if position and count in _BY_POSITION and int(position.group(1)) < count:
        return _BY_POSITION[count][int(position.group(1))]
    return None


def resolve_device(device: str = "auto") -> str:
    """``auto`` picks cuda, then mps, then cpu; anything else is passed through."""
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_dtype(dtype: str, device: str) -> str:
    """``auto`` is float16 on CUDA and float32 elsewhere; float16 is refused on CPU."""
    if dtype == "auto":
        return "float16" if device.startswith("cuda") else "float32"
    if dtype not in DTYPES:
        raise NlpError(f"unknown dtype {dtype!r}; expected auto or one of {', '.join(DTYPES)}")
    if dtype == "float16" and device == "cpu":
        raise NlpError("dtype float16 needs a GPU; on CPU use float32, bfloat16 or quantize: true")
    return dtype


def set_threads(threads: int | None) -> None:
    """Set torch's CPU thread count for the whole process; None keeps torch's default."""
    import torch

    if threads is not None:
        if threads < 1:
            raise NlpError(f"threads must be at least 1, not {threads}")
        torch.set_num_threads(threads)


def quantize_int8(network: Any) -> Any:
    """The model with its ``Linear`` layers dynamically quantized to int8 (CPU inference only)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize.*deprecated", category=UserWarning)
        try:
            return torch.ao.quantization.quantize_dynamic(network, {torch.nn.Linear}, dtype=torch.qint8)
        except (AttributeError, RuntimeError) as exc:
            raise NlpError(f"dynamic int8 quantization is not available in this torch build: {exc}; "
                           "set nlp.quantize: false") from exc


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the model hub's host answers at all (checked before slow download retries).

    Behind a proxy a direct connection says nothing, so the download is simply attempted.
    """
    from huggingface_hub import constants

    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    endpoint = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((endpoint.hostname, endpoint.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def _offline() -> bool:
    from huggingface_hub import constants

    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return constants.is_offline_mode() or any(flag.upper() in {"1", "ON", "YES", "TRUE"} for flag in flags)


class ModelLoadError(NlpError):
    """The model could not be loaded; ``reason`` is the short cause, the message says what to do."""

    def __init__(self, model: str, reason: str):
        self.model = model
        self.reason = reason
        super().__init__(
            f"sentiment model {model!r} could not be loaded ({reason}). Either download it once on a "
            "connected machine and set HF_HUB_OFFLINE=1 so the cached copy is used, point nlp.model "
            "at a local directory holding the model, or set nlp.backend: offline"
        )


def _load(model: str, device: str, dtype: str, quantize: bool) -> LoadedModel:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    local_dir = Path(model).expanduser()
    source = str(local_dir) if local_dir.is_dir() else model
    if not local_dir.is_dir() and (model.startswith((".", "~")) or local_dir.is_absolute()):
        raise ModelLoadError(model, f"there is no directory {local_dir}")
    attempts = [True] if local_dir.is_dir() or _offline() else [True, False]
    last: Exception | None = None
    for local_only in attempts:
        if not local_only and not _hub_reachable():
            raise ModelLoadError(model, "it is not cached here and the model hub cannot be reached")
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
            network = AutoModelForSequenceClassification.from_pretrained(source, local_files_only=local_only)
            break
        except Exception as exc:  # noqa: BLE001 - any loader failure becomes one NlpError
            last = exc
    else:
        reason = str(last).splitlines()[0] if last and str(last) else type(last).__name__
        raise ModelLoadError(model, reason) from last
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        network.config.pad_token_id = tokenizer.pad_token_id
    try:
        network = network.to(device=torch.device(device), dtype=getattr(torch, dtype)).eval()
    except (RuntimeError, AssertionError, TypeError) as exc:
        raise NlpError(f"cannot move sentiment model {model!r} to device {device!r} as {dtype}: {exc}") from exc
    mapping = label_mapping(dict(network.config.id2label))
    if quantize:
        network, dtype = quantize_int8(network), "int8"
    log.info("loaded sentiment model %s on %s (%s)", model, device, dtype)
    return LoadedModel(tokenizer, network, mapping, device, dtype)


def load_model(model: str, device: str = "auto", dtype: str = "auto", quantize: bool = False) -> LoadedModel:
    """Load (once per process) the tokenizer, model and label mapping.

    ``device`` and ``dtype`` are resolved first (:func:`resolve_device`, :func:`resolve_dtype`);
    ``quantize`` applies dynamic int8 quantization on CPU and is ignored, with a warning, elsewhere.
    """
    resolved = resolve_device(device)
    precision = resolve_dtype(dtype, resolved)
    if quantize and resolved != "cpu":
        log.warning("nlp.quantize applies to CPU only; running %s unquantized on %s", model, resolved)
        quantize = False
    if quantize and precision != "float32":
        raise NlpError(f"int8 quantization starts from float32 weights, not {precision}; use dtype auto or float32")
    with _LOAD_LOCK:
        key = (model, resolved, "int8" if quantize else precision)
        if key not in _LOADED:
            _LOADED[key] = _load(model, resolved, precision, quantize)
        return _LOADED[key]


class TransformersScorer:
    """Batched sentiment scoring with a sequence-classification transformer."""

    def __init__(
        self,
        model: str,
        batch_size: int = 32,
        max_length: int = 128,
        device: str = "auto",
        uncertain_below: float = 0.5,
        dtype: str = "auto",
        threads: int | None = None,
        quantize: bool = False,
    ):
        self.name = model
        self.batch_size = batch_size
        self.uncertain_below = uncertain_below
        set_threads(threads)
        self._loaded = load_model(model, device, dtype, quantize)
        limit = self._loaded.tokenizer.model_max_length
        self.max_length = min(max_length, limit) if limit < _UNSET_LIMIT else max_length

    @property
    def device(self) -> str:
        return self._loaded.device

    @property
    def dtype(self) -> str:
        """``float32``, ``float16``, ``bfloat16`` or ``int8`` (quantized)."""
        return self._loaded.dtype

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, 3)`` negative/neutral/positive probabilities, in input order."""
        import torch
        from tqdm.auto import tqdm

        loaded = self._loaded
        out = np.zeros((len(texts), len(SENTIMENT_LABELS)), dtype=np.float32)
        if not texts:
            return out
        encoded = loaded.tokenizer(
            [prepare(text) for text in texts], truncation=True, max_length=self.max_length
        )["input_ids"]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        mapping = torch.from_numpy(loaded.mapping).to(loaded.device)
        quiet = len(texts) <= PROGRESS_ABOVE or not sys.stderr.isatty()
        bar = tqdm(total=len(texts), desc="sentiment", unit="text", disable=quiet)
        with torch.inference_mode(), bar:
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = loaded.tokenizer.pad({"input_ids": [encoded[i] for i in rows]}, return_tensors="pt")
                batch = {name: tensor.to(loaded.device) for name, tensor in batch.items()}
                try:
                    logits = loaded.model(**batch).logits
                except (RuntimeError, IndexError, ValueError) as exc:
                    raise NlpError(f"sentiment model {self.name!r} failed on a batch: {exc}") from exc
                probs = logits.float().softmax(dim=-1) @ mapping
                out[rows] = probs.cpu().numpy()
                bar.update(len(rows))
        return out

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        return to_sentiments(self.probabilities(texts), self.name, self.uncertain_below)
