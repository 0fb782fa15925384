"""Jetstream events per second on one core: parse + match + engagement update, against parse only.

    python benchmarks/firehose.py [--events 200000] [--brand-share 0.01] [--seed 7]

A Jetstream-like firehose file is generated (JSON lines, the shapes of the real subscribe
stream): 20 % posts in six languages, of which ``--brand-share`` name one of the brands, some
replying to or quoting stored brand posts; 65 % likes and 15 % reposts, one in twenty of a
stored brand post, the rest of posts never stored. The file is replayed as fast as it is read,
in the same process pinned to one core, timed in CPU seconds of the process (on a shared machine
wall time counts the other jobs too); lines are read as text, as WebSocket text frames arrive:

- baseline: read each line and ``json.loads`` it (parse only);
- ours: :class:`~monitor.collectors.jetstream.EventReader` (parse, the brand query matched on
  every post, likes/reposts/replies/quotes counted per post) with a batch stored every 2,000
  events by :meth:`monitor.live.LiveSource.write` into a SQLite store: the posts that matched,
  the stored posts the batch refers to looked up and their engagement raised, the cursor
  (compare-and-set). Sentiment scoring of the matched posts is left out (a constant scorer
  stands in; ``make benchmark-nlp`` measures the models).

Prints both rates and the ratio; the last line is ``ours N events/s, baseline M events/s, ratio R``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence

from monitor.collectors.base import FetchContext
from monitor.collectors.jetstream import EventReader
from monitor.config import parse
from monitor.live import LiveSource, Tally
from monitor.models import Author, Mention, Sentiment
from monitor.nlp.annotate import Annotator
from monitor.pipeline import Pipeline
from monitor.store.sqlite import SqliteStore

POST, LIKE, REPOST = "app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.feed.repost"
T0 = 1_774_267_000_000_000
BRANDS = ["Aurora Air", "aurora air", "#auroraair", "Aurora Air's", "AURORA AIR"]
WORDS = {
    "en": "the flight was late again and nobody at the desk could tell us why today".split(),
    "de": "der flug war wieder spät und niemand am schalter konnte uns sagen warum".split(),
    "pl": "lot znowu był opóźniony i nikt przy stanowisku nie umiał powiedzieć dlaczego".split(),
    "fr": "le vol était encore en retard et personne au comptoir ne savait pourquoi".split(),
    "es": "el vuelo llegó tarde otra vez y nadie en el mostrador sabía por qué".split(),
    "ja": "今日 も 飛行機 が 遅れて 誰も 理由 を 説明 できなかった".split(),
}
STORED = 500
BATCH = 2000
CONFIG = """
nlp: {backend: offline}
brands:
  - name: Aurora Air
    query: '"aurora air" OR #auroraair'
    languages: []
    sources:
      - {type: jetstream}
"""


class ConstantScorer:
    """Every text neutral: sentiment scoring is not what this benchmark measures."""

    name = "constant"

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        return [Sentiment(label="neutral", score=1.0, probabilities={"neutral": 1.0}) for _ in texts]


def stored_uri(k: int) -> str:
    return f"at://did:plc:brand{k % 50}/{POST}/stored{k}"


def generate(path: Path, events: int, brand_share: float, seed: int) -> None:
    rng = random.Random(seed)
    languages = list(WORDS)
    with path.open("w", encoding="utf-8") as out:
        for k in range(events):
            did = f"did:plc:user{rng.randrange(1_000_000):07d}"
            roll = rng.random()
            if roll < 0.20:
                language = rng.choice(languages)
                words = rng.choices(WORDS[language], k=rng.randint(6, 30))
                if rng.random() < brand_share:
                    words.insert(rng.randrange(len(words)), rng.choice(BRANDS))
                record = {"$type": POST, "text": " ".join(words), "createdAt": "2026-03-23T11:59:00.000Z",
                          "langs": [language]}
                if rng.random() < 0.3:
                    parent = stored_uri(rng.randrange(STORED)) if rng.random() < 0.05 else f"at://{did}/{POST}/x{k}"
                    record["reply"] = {"root": {"uri": parent, "cid": "bafy"}, "parent": {"uri": parent, "cid": "bafy"}}
                elif rng.random() < 0.05:
                    record["embed"] = {"$type": "app.bsky.embed.record",
                                       "record": {"uri": stored_uri(rng.randrange(STORED)), "cid": "bafy"}}
                collection, rkey = POST, f"p{k}"
            else:
                collection = LIKE if roll < 0.85 else REPOST
                target = stored_uri(rng.randrange(STORED)) if rng.random() < 0.05 else \
                    f"at://did:plc:user{rng.randrange(1_000_000):07d}/{POST}/p{rng.randrange(10**9)}"
                record = {"$type": collection, "subject": {"uri": target, "cid": "bafy"},
                          "createdAt": "2026-03-23T11:59:00.000Z"}
                rkey = f"l{k}"
            event = {"did": did, "time_us": T0 + k, "kind": "commit",
                     "commit": {"rev": f"rev{k}", "operation": "create", "collection": collection, "rkey": rkey,
                                "record": record, "cid": f"bafy{k}"}}
            out.write(json.dumps(event, ensure_ascii=False) + "\n")


def parse_only(path: Path) -> tuple[float, float]:
    """CPU and wall seconds to parse every line."""
    started, wall = time.process_time(), time.perf_counter()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            json.loads(line)
    return time.process_time() - started, time.perf_counter() - wall


def ours(path: Path, folder: Path) -> tuple[float, float, Tally]:
    config = parse(CONFIG)
    store = SqliteStore(folder / "bench.db")
    now = datetime(2026, 3, 23, 12, 0, tzinfo=timezone.utc)
    store.add_mentions([Mention(id=f"bluesky:{stored_uri(k)}", brand="Aurora Air", source="bluesky",
                                text=f"Aurora Air post {k}", created_at=now - timedelta(hours=1), collected_at=now,
                                author=Author(handle=f"brand{k % 50}.bsky.social")) for k in range(STORED)])
    pipeline = Pipeline(config, store, Annotator(ConstantScorer()), notifier=None, playbooks=[])  # type: ignore[arg-type]
    brand = config.brand("Aurora Air")
    live = LiveSource(pipeline, brand, brand.sources[0])
    context = FetchContext(brand.name, "jetstream", pipeline.query(brand.name), (), now)
    reader = EventReader(context)
    tally = Tally(started=now)
    cursor = None
    started, wall = time.process_time(), time.perf_counter()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            reader.read(line)
            if reader.pending.events >= BATCH:
                batch = reader.take()
                live.write(batch, cursor, tally)
                cursor = batch.cursor
    batch = reader.take()
    live.write(batch, cursor, tally)
    elapsed, walled = time.process_time() - started, time.perf_counter() - wall
    store.close()
    return elapsed, walled, tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--brand-share", type=float, default=0.01, help="share of posts naming the brand")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "firehose.jsonl"
        generate(path, args.events, args.brand_share, args.seed)
        size = path.stat().st_size / 1e6
        baseline, baseline_wall = parse_only(path)
        elapsed, walled, tally = ours(path, Path(folder))
    print(f"{args.events:,} events ({size:.1f} MB), {tally.stored} brand posts stored, "
          f"{tally.updated} stored posts' engagement raised (summed over batches)")
    print(f"baseline (json.loads only): {args.events / baseline:,.0f} events/s "
          f"({args.events / baseline_wall:,.0f} by the wall clock)")
    print(f"ours (parse + match + engagement update in SQLite): {args.events / elapsed:,.0f} events/s "
          f"({args.events / walled:,.0f} by the wall clock)")
    print(f"ours {args.events / elapsed:,.0f} events/s, baseline {args.events / baseline:,.0f} events/s, "
          f"ratio {baseline / elapsed:.2f}")


if __name__ == "__main__":
    main()
