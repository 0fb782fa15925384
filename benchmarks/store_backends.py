"""SQLite against Elasticsearch, in the same run: ingest, then the dashboard's queries.

    python benchmarks/store_backends.py [--mentions 1000000] [--es-url URL] [--skip-es]

Generates ``--mentions`` mentions over ``--days`` days for ``--brands`` brands (four sources, six
languages, three sentiment labels, 12-word texts), ingests them through ``Store.add_mentions`` in
batches of ``--batch`` (each with a cursor, as the pipeline does) into a fresh SQLite file and a
fresh Elasticsearch index prefix, then times each query ``--repeat`` times after one warm-up:

- series-28d: ``series(brand, 28 days, 15-minute buckets, by sentiment)`` (detection, overview);
- breakdown: ``series(brand, 90 days, one bucket, by source, language and sentiment)`` (overview);
- latest: ``search(brand, newest 50)`` (mention explorer);
- text: ``search(brand, text="delayed", newest 50)`` and ``count`` of the same (explorer search);
- filters: ``search(brand, negative, en, 7 days, page 3 of 50)``.

Elasticsearch: ``--es-url`` or ``MONITOR_ES_URL``, else ``scripts/elasticsearch.sh start``.
Prints a Markdown table (paste it into docs/performance.md) and, with ``--json``, writes figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from monitor.models import Author, Engagement, Mention, Sentiment
from monitor.store.base import CursorUpdate, MentionFilter, Store
from monitor.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
END = datetime(2026, 6, 1, tzinfo=timezone.utc)
WORDS = ("flight delayed cancelled crew great service seat bag lost refund airport gate late fine "
         "lounge meal staff rude helpful pilot landing boarding queue app booking price cheap").split()
SOURCES = ("x", "reddit", "news", "rss")
LANGUAGES = ("en", "en", "en", "de", "fr", "es", "pl", "it")
LABELS = ("negative", "neutral", "neutral", "positive")


def generate(count: int, brands: int, days: int, batch: int) -> Iterator[list[Mention]]:
    rng = random.Random(7)
    span = days * 86400
    chunk: list[Mention] = []
    for i in range(count):
        label = LABELS[rng.randrange(4)]
        probs = {"negative": 0.1, "neutral": 0.1, "positive": 0.1, label: 0.8}
        created = END - timedelta(seconds=rng.randrange(span))
        chunk.append(Mention(
            id=f"bench:{i}", brand=f"Brand {i % brands}", source=SOURCES[i % 4],
            text=" ".join(rng.choice(WORDS) for _ in range(12)) + f" #{i % 997}",
            created_at=created, collected_at=created, language=LANGUAGES[rng.randrange(len(LANGUAGES))],
            author=Author(handle=f"@u{i % 5000}"), engagement=Engagement(likes=i % 31, shares=i % 7),
            sentiment=Sentiment(label=label, score=0.8, probabilities=probs),
        ))
        if len(chunk) == batch:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def timed(call: Callable[[], Any], repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls after one warm-up."""
    call()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def queries(store: Store, days: int) -> dict[str, Callable[[], Any]]:
    brand = "Brand 0"
    return {
        "series-28d": lambda: store.series(brand, END - timedelta(days=28), END, timedelta(minutes=15), ("sentiment",)),
        "breakdown": lambda: store.series(brand, END - timedelta(days=days), END, timedelta(days=days + 1),
                                          ("source", "language", "sentiment")),
        "latest": lambda: store.search(MentionFilter(brands=[brand], limit=50)),
        "text": lambda: store.search(MentionFilter(brands=[brand], text="delayed", limit=50)),
        "text-count": lambda: store.count(MentionFilter(brands=[brand], text="delayed")),
        "filters": lambda: store.search(MentionFilter(brands=[brand], sentiments=["negative"], languages=["en"],
                                                      since=END - timedelta(days=7), limit=50, offset=100)),
    }


def run(name: str, store: Store, args: argparse.Namespace) -> dict[str, Any]:
    stored = 0
    ingest = 0.0
    generating = 0.0
    began = time.perf_counter()
    batches = generate(args.mentions, args.brands, args.days, args.batch)
    while True:
        t0 = time.perf_counter()
        batch = next(batches, None)
        generating += time.perf_counter() - t0
        if batch is None:
            break
        t0 = time.perf_counter()
        stored += store.add_mentions(batch, CursorUpdate(brand="bench", source="bench", value=batch[-1].id))
        ingest += time.perf_counter() - t0
        if args.progress:
            print(f"\r{name}: {stored:,} stored", end="", file=sys.stderr, flush=True)
    if args.progress:
        print(file=sys.stderr)
    assert stored == args.mentions, (name, stored)
    figures: dict[str, Any] = {"ingest_s": round(ingest, 1), "mentions_per_s": round(stored / ingest),
                               "wall_s": round(time.perf_counter() - began, 1)}
    for label, call in queries(store, args.days).items():
        figures[label + "_ms"] = round(timed(call, args.repeat), 1)
    return figures


def es_url(args: argparse.Namespace) -> str:
    url = args.es_url or os.environ.get("MONITOR_ES_URL")
    if url:
        return url
    started = subprocess.run([str(ROOT / "scripts" / "elasticsearch.sh"), "start"], capture_output=True, text=True)
    if started.returncode != 0:
        sys.exit(f"cannot start Elasticsearch:\n{started.stderr}")
    return started.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--brands", type=int, default=20)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--es-url")
    parser.add_argument("--skip-es", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="Keep the Elasticsearch indices afterwards.")
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args()

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        if not args.skip_sqlite:
            with SqliteStore(Path(folder) / "bench.db") as store:
                results["sqlite"] = run("sqlite", store, args)
                results["sqlite"]["size_mb"] = round((Path(folder) / "bench.db").stat().st_size / 2**20)
    if not args.skip_es:
        from monitor.store.elastic import ElasticsearchStore

        store = ElasticsearchStore(es_url(args), index_prefix=f"bench-{uuid.uuid4().hex[:8]}")
        try:
            results["elasticsearch"] = run("elasticsearch", store, args)
            stats = store.es.indices.stats(index=store.mentions_alias, metric="store")
            results["elasticsearch"]["size_mb"] = round(stats["_all"]["primaries"]["store"]["size_in_bytes"] / 2**20)
        finally:
            if not args.keep:
                store.drop_all()
            store.close()

    names = list(results)
    keys = list(next(iter(results.values())))
    print(f"\n{args.mentions:,} mentions, {args.brands} brands, {args.days} days, batches of {args.batch}\n")
    print("| measure | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for key in keys:
        print(f"| {key} | " + " | ".join(f"{results[n].get(key, '')}" for n in names) + " |")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: v for k, v in vars(args).items() if k != "json"},
                                         "results": results}, indent=2, default=str))


if __name__ == "__main__":
    main()
