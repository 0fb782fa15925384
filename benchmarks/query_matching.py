"""Posts matched per second: the language-aware brand query against the matcher it replaced.

    python benchmarks/query_matching.py [--repeat 20] [--baseline-rev 98e179e]

The posts are the 420 hand-labelled posts in seven languages (benchmarks/data/sentiment_challenge),
with brand names declined in their language mixed in, and a ten-term query. The baseline is the
whole-word matcher as it was at ``--baseline-rev`` (read from git), timed in the same run:

- baseline: the old ``Query.match(text)``;
- shared forms: the new matcher without a language (word, possessive, compound);
- in the post's language: the new matcher given each post's language code;
- identified lazily: the new matcher with a function that identifies the language (fastText),
  called only when a word could be an inflected form, as the pipeline runs it.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from monitor.nlp.evaluation import read_labelled_posts
from monitor.nlp.language import detect_language
from monitor.query import Query

ROOT = Path(__file__).resolve().parents[1]
POSTS = ROOT / "benchmarks" / "data" / "sentiment_challenge"
QUERY = ('ryanair OR "wizz air" OR lufthansa OR netflix OR orlen OR allegro OR toyota OR apple OR "aurora air" '
         "OR #auroraair")
DECLINED = {"pl": "Lecę Ryanairem, a potem Wizz Airem", "hu": "Ryanairrel repültem, a Netflixen láttam",
            "de": "Mein Ryanair-Flug und Lufthansas Antwort", "en": "Ryanair's app and Apple's store",
            "fr": "Le service d'Apple", "es": "El vuelo de Ryanair", "ru": "Полетел с Ryanair-ом"}


def baseline_query(revision: str):
    """The ``Query`` class of ``monitor/query.py`` at ``revision``."""
    try:
        source = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:monitor/query.py"], check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"cannot read monitor/query.py at {revision} from git: {exc}")
    path = Path(tempfile.mkdtemp()) / "baseline_query.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_query", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Query


def posts() -> list[tuple[str, str]]:
    found = []
    for path in sorted(POSTS.glob("*.tsv")):
        texts, _, _ = read_labelled_posts(path)
        found += [(text, path.stem) for text in texts]
        found += [(f"{DECLINED[path.stem]} — {text}", path.stem) for text in texts[::3]]
    return found


def rate(match, items, repeat: int) -> tuple[float, int]:
    """Best of three: posts per second, and how many matched."""
    best, matched = float("inf"), 0
    for _ in range(3):
        began = time.perf_counter()
        for _ in range(repeat):
            matched = sum(1 for text, language in items if match(text, language))
        best = min(best, time.perf_counter() - began)
    return len(items) * repeat / best, matched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--baseline-rev", default="98e179e")
    args = parser.parse_args()
    items = posts()
    old = baseline_query(args.baseline_rev).parse(QUERY)
    new = Query.parse(QUERY)
    new.match("warm up", languages=["pl"])
    detect_language("warm up the language model")
    cases = {
        "baseline (whole words)": lambda text, _: old.match(text),
        "shared forms": lambda text, _: new.match(text),
        "in the post's language": lambda text, language: new.match(text, languages=[language]),
        "identified lazily": lambda text, _: new.match(text, languages=lambda: [detect_language(text) or ""]),
    }
    print(f"{len(items)} posts × {args.repeat}, query of {len(new.positive_terms())} terms")
    base = None
    for name, match in cases.items():
        per_second, matched = rate(match, items, args.repeat)
        base = base or per_second
        print(f"{name:24s} {per_second:10,.0f} posts/s  {per_second / base:5.2f}× baseline  {matched} matched")


if __name__ == "__main__":
    main()
