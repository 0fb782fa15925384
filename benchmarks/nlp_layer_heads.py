"""Heads over several layers of the offline encoder, against the committed head (docs/nlp.md).

    python benchmarks/nlp_layer_heads.py [--data ../shared/data/sentiment] [--layers 10,12 8,10,12 ...]
                                         [--threads 1] [--seed 13]

Runs the PyTorch copy of the encoder (``monitor/nlp/e5_torch.py``, texts cut at 96 tokens as in
``scripts/train_offline_model.py``) over UMSAB train and the brand posts, the validation sets, the
hand-labelled and the crisis posts, keeping each text's mean-pooled, L2-normalised output of every
layer (cached under ``.cache/layer_heads/``: about 4 minutes on two cores the first time). For each
``--layers`` choice it fits a head on those layers' outputs side by side the way
``scripts/train_offline_head.py`` does (class-balanced, brand posts weight 2, penalty by 3-fold
cross-validation on train, temperature on UMSAB validation) and prints its macro-F1 and ECE on
every set next to the committed head's on the final layer, each gap with its 95% paired-bootstrap
interval (the UMSAB mean's from resampling every language together). Last, for the committed head,
how many posts each ``uncertain`` threshold flags and how often the flagged posts and the rest are
right. Seeded; nothing is written to the package.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from monitor.nlp.e5_image import read_image
from monitor.nlp.e5_torch import PREFIX, Encoder, pad
from monitor.nlp.evaluation import (
    UMSAB_LANGUAGES,
    expected_calibration_error,
    fit_temperature,
    macro_f1,
    paired_bootstrap,
    read_labelled_posts,
    read_split,
)
from monitor.nlp.offline import Head, softmax
from monitor.nlp.text import prepare
from monitor.nlp.tuned import bundled_engine_path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import train_offline_head  # noqa: E402  (the head's own fitting recipe)

PENALTIES = (0.03, 0.1, 0.3, 1.0)
THRESHOLDS = (0.4, 0.45, 0.5, 0.55, 0.6)
MAX_TOKENS = 96
log = logging.getLogger("nlp_layer_heads")

Labelled = tuple[list[str], np.ndarray, np.ndarray]
"""Texts, labels (0/1/2) and kinds (``plain`` for the validation sets)."""


def layer_outputs(texts: list[str], cache: Path, tag: str) -> np.ndarray:
    """``(n, layers, 384)``: each text's mean-pooled, L2-normalised output of every layer (cached)."""
    digest = hashlib.sha256("\n".join([str(MAX_TOKENS), *texts]).encode("utf-8", "replace")).hexdigest()[:16]
    path = cache / f"{tag}-{digest}.npy"
    if path.exists():
        return np.load(path)
    image = read_image(bundled_engine_path())
    encoder = Encoder.from_image(image).eval()
    ids = [image.tokenizer.encode(PREFIX[True] + prepare(text), MAX_TOKENS) for text in texts]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.zeros((len(ids), image.shape.layers, image.shape.hidden), np.float32)
    started = time.monotonic()
    with torch.inference_mode():
        for start in range(0, len(order), 64):
            chunk = order[start: start + 64]
            batch, keep = pad([ids[i] for i in chunk])
            weights = keep.float()[:, :, None]
            x = encoder.ln(encoder.word(batch) + encoder.position(torch.arange(batch.shape[1]))[None]
                           + encoder.token_type)
            for number, layer in enumerate(encoder.layers):
                x = layer(x, keep)
                out[chunk, number] = F.normalize((x * weights).sum(1) / weights.sum(1), dim=-1).numpy()
    log.info("%s: %d texts through every layer in %.0fs", tag, len(texts), time.monotonic() - started)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def evaluation_sets(data: Path) -> tuple[Labelled, np.ndarray, dict[str, Labelled]]:
    """The training set, its sample weights, and every evaluation set by name."""
    train_texts, train_y, weight, trained_on = [], [], [], set()
    sets: dict[str, Labelled] = {}
    for language in UMSAB_LANGUAGES:
        texts, labels = read_split(data / "umsab" / language, "train")
        train_texts += texts
        train_y.append(labels)
        weight += [1.0] * len(texts)
        trained_on.update(texts)
        texts, labels = read_split(data / "umsab" / language, "val")
        sets[f"UMSAB {language.capitalize()}"] = (texts, labels, np.full(len(texts), "plain"))
    for path in sorted((ROOT / "scripts" / "data" / "brand_posts").glob("*.tsv")):
        texts, labels, _ = read_labelled_posts(path)
        train_texts += texts
        train_y.append(labels)
        weight += [train_offline_head.POSTS_WEIGHT] * len(texts)
    texts, labels = read_split(data / "tweeteval", "val")
    unseen = [i for i, text in enumerate(texts) if text not in trained_on]
    sets["TweetEval unseen"] = ([texts[i] for i in unseen], labels[unseen], np.full(len(unseen), "plain"))
    for group, folder in (("hand-labelled", "sentiment_challenge"), ("crisis", "crisis_posts")):
        files = sorted((ROOT / "benchmarks" / "data" / folder).glob("*.tsv"))
        posts = [read_labelled_posts(path) for path in files]
        sets[f"{group}, all"] = ([t for texts, _, _ in posts for t in texts],
                                 np.concatenate([labels for _, labels, _ in posts]),
                                 np.array([k for _, _, kinds in posts for k in kinds]))
        sets.update({f"{group} {path.stem}": (texts, labels, np.array(kinds))
                     for path, (texts, labels, kinds) in zip(files, posts)})
    train = (train_texts, np.concatenate(train_y), np.full(len(train_texts), "plain"))
    return train, np.array(weight), sets


def mean_gap_interval(pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]], rounds: int = 1000) -> tuple[float, float]:
    """95% interval of the mean macro-F1 gap over sets, every set resampled together (labels, new, old)."""
    rng = np.random.default_rng(0)
    gaps = []
    for _ in range(rounds):
        draws = [rng.integers(0, len(y), len(y)) for y, _, _ in pairs]
        gaps.append(np.mean([macro_f1(y[d], new[d]) - macro_f1(y[d], old[d]) for (y, new, old), d in zip(pairs, draws)]))
    low, high = np.percentile(gaps, [2.5, 97.5])
    return float(low), float(high)


def compare(layers: tuple[int, ...], train: Labelled, weight: np.ndarray, sets: dict[str, Labelled],
            outputs: dict[str, np.ndarray], seed: int) -> None:
    """Fit a head on ``layers`` (numbered from 1) and print it against the committed head, set by set."""
    def features(name: str) -> np.ndarray:
        return outputs[name][:, [n - 1 for n in layers]].reshape(len(outputs[name]), -1)

    train_offline_head.PENALTIES = PENALTIES
    x, y = features("train"), train[1]
    penalty = train_offline_head.choose_penalty(x, y, weight, np.random.default_rng(seed), folds=3)
    w, b = train_offline_head.fit(x, y, penalty, weight)
    umsab = [name for name in sets if name.startswith("UMSAB")]
    temperature = fit_temperature(np.vstack([features(n) @ w + b for n in umsab]),
                                  np.concatenate([sets[n][1] for n in umsab]))
    today = Head.load()
    print(f"\n## layers {', '.join(map(str, layers))}: penalty {penalty:g}, temperature {temperature:.3f}\n")
    print("| set | texts | committed | new | gap [95%] | sarcastic right, committed → new | ECE committed → new |")
    print("| --- | ---: | ---: | ---: | --- | --- | --- |")
    pairs = []
    for name, (_, labels, kinds) in sets.items():
        old = today.probabilities(outputs[name][:, -1])
        new = softmax((features(name) @ w + b) / temperature)
        gap, low, high = paired_bootstrap(labels, new.argmax(1), old.argmax(1))
        sarcastic = kinds == "sarcasm"
        right = (f"{int((old.argmax(1) == labels)[sarcastic].sum())} → {int((new.argmax(1) == labels)[sarcastic].sum())}"
                 f" of {int(sarcastic.sum())}" if sarcastic.any() else "")
        print(f"| {name} | {len(labels)} | {macro_f1(labels, old.argmax(1)):.3f} | {macro_f1(labels, new.argmax(1)):.3f} "
              f"| {gap:+.3f} [{low:+.3f}, {high:+.3f}] | {right} "
              f"| {expected_calibration_error(old, labels):.3f} → {expected_calibration_error(new, labels):.3f} |")
        if name in umsab:
            pairs.append((labels, new.argmax(1), old.argmax(1)))
    old_mean = np.mean([macro_f1(labels, old) for labels, _, old in pairs])
    new_mean = np.mean([macro_f1(labels, new) for labels, new, _ in pairs])
    low, high = mean_gap_interval(pairs)
    print(f"\nUMSAB mean macro-F1 {old_mean:.3f} → {new_mean:.3f}: {new_mean - old_mean:+.3f} [{low:+.3f}, {high:+.3f}]")


def uncertain_table(sets: dict[str, Labelled], outputs: dict[str, np.ndarray]) -> None:
    """Share of posts the committed head flags uncertain by threshold, and the accuracy of those and of the rest."""
    head = Head.load()
    groups = {"UMSAB validation": [n for n in sets if n.startswith("UMSAB")],
              "hand-labelled": ["hand-labelled, all"], "crisis": ["crisis, all"]}
    print("\n| threshold | " + " | ".join(f"{g}: flagged, right flagged / rest" for g in groups) + " |")
    print("| ---: |" + " --- |" * len(groups))
    for threshold in THRESHOLDS:
        cells = []
        for names in groups.values():
            probs = np.vstack([head.probabilities(outputs[n][:, -1]) for n in names])
            right = probs.argmax(1) == np.concatenate([sets[n][1] for n in names])
            flagged = probs.max(1) < threshold
            cells.append(f"{flagged.mean():.0%}, {right[flagged].mean():.2f} / {right[~flagged].mean():.2f}")
        print(f"| {threshold:.2f} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "layer_heads")
    parser.add_argument("--layers", nargs="+", default=["10,12", "8,10,12", "4,6,8,10,11,12"],
                        help="the layers (1–12) of each head to try, comma-separated")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    started = time.monotonic()
    train, weight, sets = evaluation_sets(args.data)
    outputs = {name: layer_outputs(texts, args.cache, name.replace(" ", "-").replace(",", ""))
               for name, (texts, _, _) in {"train": train, **sets}.items()}
    for choice in args.layers:
        compare(tuple(int(n) for n in choice.split(",")), train, weight, sets, outputs, args.seed)
    uncertain_table(sets, outputs)
    print(f"\n{time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
