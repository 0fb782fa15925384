"""Accuracy of the offline sentiment backend: macro-F1 per language on the validation sets.

    python benchmarks/nlp_accuracy.py [--data ../shared/data/sentiment] [--target 0.60]
                                      [--posts benchmarks/data/sentiment_challenge]
                                      [--crisis benchmarks/data/crisis_posts]
                                      [--backend offline|transformers|auto] [--model ID_OR_PATH]
                                      [--against OTHER_HEAD.npz]

Scores UMSAB validation (eight languages) and TweetEval validation with the offline model the
``offline`` backend runs: the fine-tuned encoder and head (``monitor/nlp/offline_model.npz``) where
the package ships it, else today's head (``monitor/nlp/offline_head.npz``) on the stock encoder,
exactly as the scorer does, and compares it with today's head (``nlp.backend: offline-head``).
Embeddings are cached under ``.cache/offline_head/`` (shared with
``scripts/train_offline_head.py``): the first run embeds about 4,600 texts per encoder (a few
minutes on two cores), later runs take seconds. Prints a Markdown table; languages under ``--target`` are
marked. 1,430 of TweetEval's 2,000 validation tweets are also in UMSAB's English train split, on
which the head is trained: TweetEval is scored on the other 570 (all 2,000 are shown too, marked).

Baseline, in the same run: a model trained on the language's own UMSAB train split alone (TF-IDF of
character 2–5-grams, class-balanced logistic regression; none for TweetEval, whose tweets UMSAB's
English train split shares). It says how
much sentiment a small model can learn from each set: where it too stays near chance (0.33), the
set's labels, not the offline head, set the ceiling. The gap in macro-F1 to today's head (or to
``--against``, another head on the stock encoder) is shown for every set with its 95%
paired-bootstrap interval, and for the UMSAB mean with each language resampled on its own. The
calibration error (ECE) over UMSAB and unseen TweetEval is shown twice: with each head's own
temperature (fitted on UMSAB validation), and with the temperature fitted on a random half of those
texts and measured on the other (20 halvings, both ways), which owes nothing to fitting on the
texts it measures.

Then the hand-labelled posts of ``--posts`` (60 a language: English, Polish, Hungarian, Russian,
German, Spanish, French, a third of each label, with sarcasm and slang), which cover the languages
UMSAB lacks. They go through ``build_scorer`` with ``--backend`` (and ``--model``), the whole
scoring path of the service, so a transformer can be measured on the same posts where it is
installed. Reported per language (macro-F1, accuracy) and per kind of post (accuracy).

Last, the crisis posts of ``--crisis`` (16 a language in the demo's seven languages: complaints,
stranded travellers, outages, refunds and sarcasm, mostly negative, with some neutral and
positive posts; same format), through the same scorer: macro-F1 per language and in all with its
95% bootstrap interval, ECE, and with ``--against`` the gap to that head with its paired interval.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from monitor.config import NlpConfig
from monitor.models import SENTIMENT_LABELS
from monitor.nlp.annotate import build_scorer
from monitor.nlp.evaluation import (
    POST_KINDS,
    UMSAB_LANGUAGES,
    cached_embeddings,
    bootstrap_interval,
    cross_fitted_calibration_error,
    expected_calibration_error,
    macro_f1,
    mean_gain,
    paired_bootstrap,
    read_labelled_posts,
    read_split,
)
from monitor.nlp.offline import HEAD_PATH, Head, OfflineScorer
from monitor.nlp.tuned import MODEL_PATH, bundled_engine_path, tuned_image

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


def hand_labelled_table(folder: Path, config: NlpConfig, target: float) -> None:
    """Print macro-F1 per language and accuracy per kind of the hand-labelled posts in ``folder``."""
    files = sorted(folder.glob("*.tsv"))
    if not files:
        raise SystemExit(f"no hand-labelled posts (*.tsv) in {folder}")
    scorer = build_scorer(config)
    started = time.monotonic()
    rows, labels, predicted, results, kinds = [], [], [], [], []
    for path in files:
        texts, y, post_kinds = read_labelled_posts(path)
        scored = scorer.score(texts)
        pred = np.array([result.label_id for result in scored])
        rows.append((path.stem, len(y), macro_f1(y, pred), float(np.mean(pred == y))))
        labels.append(y)
        predicted.append(pred)
        results.extend(scored)
        kinds.extend(post_kinds)
    y, pred, kind = np.concatenate(labels), np.concatenate(predicted), np.array(kinds)
    probs = np.array([[result.probabilities[label] for label in SENTIMENT_LABELS] for result in results])
    print(f"\nHand-labelled posts ({folder}), scored by {scorer.name}:\n")
    print(f"| language | posts | macro-F1 | accuracy | ≥ {target:.2f} |")
    print("| --- | ---: | ---: | ---: | --- |")
    for language, count, f1, accuracy in rows:
        print(f"| {language} | {count} | {f1:.3f} | {accuracy:.3f} | {'yes' if f1 >= target else 'no'} |")
    print(f"| all | {len(y)} | {macro_f1(y, pred):.3f} | {np.mean(pred == y):.3f} | |")
    print("\n| kind of post | posts | accuracy |\n| --- | ---: | ---: |")
    for name in POST_KINDS:
        inside = kind == name
        print(f"| {name} | {inside.sum()} | {np.mean(pred[inside] == y[inside]):.3f} |")
    print(f"\nECE over the hand-labelled posts {expected_calibration_error(probs, y):.3f}; "
          f"{time.monotonic() - started:.0f}s")


def crisis_table(folder: Path, config: NlpConfig, against: Path | None = None) -> None:
    """Print macro-F1 with its bootstrap interval per language on the crisis posts in ``folder``, and with
    ``against`` (another offline head) the gap to it with its paired-bootstrap interval."""
    files = sorted(folder.glob("*.tsv"))
    if not files:
        raise SystemExit(f"no crisis posts (*.tsv) in {folder}")
    scorer = build_scorer(config)
    other = OfflineScorer(head_path=against, threads=config.threads) if against else None
    sets = {path.stem: read_labelled_posts(path) for path in files}
    everything = [post for texts, labels, kinds in sets.values() for post in zip(texts, labels, kinds)]
    sets["all"] = ([t for t, _, _ in everything], np.array([y for _, y, _ in everything]),
                   [k for _, _, k in everything])
    extra = " vs --against [95%] |" if other else ""
    print(f"\nCrisis posts ({folder}), scored by {scorer.name}:\n")
    print(f"| language | posts | macro-F1 [95%] | accuracy | sarcastic right | ECE |{extra}")
    print("| --- | ---: | --- | ---: | ---: | ---: |" + " --- |" * bool(extra))
    for name, (texts, y, kinds) in sets.items():
        scored = scorer.score(texts)
        pred = np.array([result.label_id for result in scored])
        probs = np.array([[result.probabilities[label] for label in SENTIMENT_LABELS] for result in scored])
        low, high = bootstrap_interval(y, pred)
        sarcastic = np.array(kinds) == "sarcasm"
        gap = ""
        if other is not None:
            diff, gap_low, gap_high = paired_bootstrap(y, pred, np.array([r.label_id for r in other.score(texts)]))
            gap = f" {diff:+.3f} [{gap_low:+.3f}, {gap_high:+.3f}] |"
        print(f"| {name} | {len(y)} | {macro_f1(y, pred):.3f} [{low:.3f}, {high:.3f}] | {np.mean(pred == y):.3f} "
              f"| {int(np.sum(pred[sarcastic] == y[sarcastic]))} of {int(sarcastic.sum())} "
              f"| {expected_calibration_error(probs, y):.3f} |{gap}")


def shipped_model() -> tuple[Head, Path | None]:
    """The head and engine file the ``offline`` backend runs: the fine-tuned ones where shipped."""
    if MODEL_PATH.exists():
        return Head.load(MODEL_PATH), tuned_image(bundled_engine_path(), MODEL_PATH)
    return Head.load(), None


def validation_table(data: Path, cache: Path, target: float, against: Head | None = None) -> None:
    """Print macro-F1, accuracy and ECE of the shipped offline model on UMSAB and TweetEval validation.

    With ``against`` (another head on the stock encoder), also the gap in macro-F1 to it with its 95%
    paired-bootstrap interval, per set and for the UMSAB mean.
    """
    head, engine = shipped_model()
    print(f"\nValidation sets, scored by {'the fine-tuned model' if engine else 'the committed head'}:")
    sets = {f"UMSAB {language.capitalize()}": data / "umsab" / language for language in UMSAB_LANGUAGES}
    sets["TweetEval (English), unseen in training"] = data / "tweeteval"
    sets["TweetEval (English), all (71% seen in training)"] = data / "tweeteval"
    trained_on = {text for language in UMSAB_LANGUAGES for text in read_split(data / "umsab" / language, "train")[0]}
    started = time.monotonic()
    rows, all_probs, all_labels, pairs, logits = [], [], [], [], {"shipped": [], "--against": []}
    for name, folder in sets.items():
        all_texts, labels = read_split(folder, "val")
        keep = np.array([text not in trained_on for text in all_texts]) if "unseen" in name else np.ones(len(labels), bool)
        texts, labels = [text for text, kept in zip(all_texts, keep) if kept], labels[keep]

        def features(prefix: str, engine: Path | None = None) -> np.ndarray:
            return cached_embeddings(all_texts, prefix, cache, f"{folder.name}-val", engine)[keep]

        shipped_features = features(head.prefix, engine)
        probs = head.probabilities(shipped_features)
        pred = probs.argmax(axis=1)
        f1 = macro_f1(labels, pred)
        baseline = None if folder.name == "tweeteval" else own_language_baseline(folder, texts, labels)
        gap = ""
        if against is not None:
            other_features = features(against.prefix)
            other = against.probabilities(other_features)
            diff, low, high = paired_bootstrap(labels, pred, other.argmax(axis=1))
            gap = f" {diff:+.3f} [{low:+.3f}, {high:+.3f}] |"
            if name.startswith("UMSAB"):
                pairs.append((labels, pred, other.argmax(axis=1)))
        rows.append((name, len(labels), f1, float(np.mean(pred == labels)),
                     expected_calibration_error(probs, labels), baseline, gap))
        all_probs.append(probs)
        all_labels.append(labels)
        logits["shipped"].append(head.logits(shipped_features))
        if against is not None:
            logits["--against"].append(against.logits(other_features))
    extra = " vs --against [95%] |" if against is not None else ""
    print(f"\n| set | texts | macro-F1 | accuracy | ECE | ≥ {target:.2f} | baseline: own-language n-grams |{extra}")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: |" + " ---: |" * bool(extra))
    for name, count, f1, accuracy, ece, baseline, gap in rows:
        print(f"| {name} | {count} | {f1:.3f} | {accuracy:.3f} | {ece:.3f} | {'yes' if f1 >= target else 'no'} "
              f"| {'–' if baseline is None else f'{baseline:.3f}'} |{gap}")
    umsab = [row[2] for row in rows if row[0].startswith("UMSAB")]
    print(f"\nUMSAB mean macro-F1 {np.mean(umsab):.3f}; below target: "
          f"{', '.join(row[0] for row in rows if row[2] < target) or 'none'}")
    if pairs:
        gain, low, high = mean_gain(pairs)
        print(f"UMSAB mean against --against: {gain:+.3f} [{low:+.3f}, {high:+.3f}]")
    print(f"ECE over the sets above (TweetEval unseen only) "
          f"{expected_calibration_error(np.concatenate(all_probs[:-1]), np.concatenate(all_labels[:-1])):.3f}; "
          f"{time.monotonic() - started:.0f}s")
    y = np.concatenate(all_labels[:-1])
    print("The same ECE with each head's temperature fitted on a random half of those texts and measured on "
          "the other (20 halvings, both ways): " + "; ".join(
              f"{name} {cross_fitted_calibration_error(np.concatenate(parts[:-1]), y):.3f}"
              for name, parts in logits.items() if parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "offline_head")
    parser.add_argument("--target", type=float, default=0.60)
    parser.add_argument("--posts", type=Path, default=ROOT / "benchmarks" / "data" / "sentiment_challenge")
    parser.add_argument("--crisis", type=Path, default=ROOT / "benchmarks" / "data" / "crisis_posts")
    parser.add_argument("--backend", choices=("offline", "transformers", "auto"), default="offline",
                        help="the backend that scores the hand-labelled posts")
    parser.add_argument("--model", default=NlpConfig().model, help="the transformer, with --backend transformers/auto")
    parser.add_argument("--against", type=Path, metavar="HEAD.npz",
                        help="another offline head on the stock encoder (default: today's head where the fine-tuned "
                             "model is shipped): the gap to it on each set, with a paired bootstrap")
    args = parser.parse_args()
    if args.against is None and MODEL_PATH.exists():
        args.against = HEAD_PATH
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if (args.data / "umsab").is_dir():
        validation_table(args.data, args.cache, args.target, Head.load(args.against) if args.against else None)
    else:
        print(f"UMSAB and TweetEval skipped: no {args.data / 'umsab'} (pass --data)")
    config = NlpConfig(backend=args.backend, model=args.model)
    hand_labelled_table(args.posts, config, args.target)
    crisis_table(args.crisis, config, args.against)


if __name__ == "__main__":
    main()
