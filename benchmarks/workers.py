"""Several workers on one store: throughput with one and with two, claim overhead, takeover after kill -9.

    python benchmarks/workers.py [--mentions 3000] [--sources 6] [--store sqlite|elasticsearch] [--es-url URL]

Writes ``--sources`` JSONL files holding ``--mentions`` mentions in all (distinct texts, so the
offline scorer works for each), then in the same run, each on a fresh store:

- throughput: ``monitor run`` with one worker, then with two, until every mention is stored
  (collect + match + score + store, startup included), in mentions per second;
- claim overhead: the median time of one ``claim`` + ``release`` pair (what each job costs
  on top of its work);
- takeover: one worker collects all mentions from one source in one batch; it is killed
  with SIGKILL while it holds that job and a second worker is started; the seconds until
  the second worker holds the job (the lease is ``--lease`` seconds, the poll 1 s).

Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.config import StorageConfig
from monitor.store import open_store
from monitor.store.base import MentionFilter, Store

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("flight delayed cancelled crew great service seat bag lost refund airport gate late fine lounge meal staff "
         "rude helpful pilot landing boarding queue app booking price cheap").split()


def write_sources(folder: Path, mentions: int, sources: int) -> None:
    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    files = [open(folder / f"s{k}.jsonl", "w") for k in range(sources)]
    for n in range(mentions):
        text = "aurora " + " ".join(rng.choice(WORDS) for _ in range(8)) + f" {n}"
        files[n % sources].write(json.dumps({"id": f"m{n}", "text": text,
                                             "created_at": (now - timedelta(minutes=n)).isoformat()}) + "\n")
    for file in files:
        file.close()


def write_config(folder: Path, storage: dict[str, Any], sources: int, lease: int, max_batch: int = 100) -> Path:
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump({
        "storage": storage, "nlp": {"backend": "offline"}, "alerts": {"notifier": "outbox", "playbooks_dir": str(BUILT_IN_PLAYBOOKS)},
        "detection": {"every": f"{lease}s"}, "workers": {"lease": f"{lease}s", "poll": "1s"},
        "brands": [{"name": "Aurora", "query": "aurora", "sources": [
            {"type": "file", "name": f"s{k}", "path": str(folder / f"s{k}.jsonl"), "every": "1s", "max_batch": max_batch}
            for k in range(sources)]}],
    }))
    return path


def start(config: Path, folder: Path) -> subprocess.Popen[bytes]:
    log = open(folder / f"worker-{uuid.uuid4().hex[:6]}.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "monitor", "run", str(config)], stdout=log,
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def fresh_storage(kind: str, folder: Path, es_url: str | None) -> dict[str, Any]:
    if kind == "sqlite":
        return {"path": str(folder / f"{uuid.uuid4().hex[:6]}.db")}
    return {"backend": "elasticsearch", "url": es_url, "index_prefix": f"bench-{uuid.uuid4().hex[:8]}"}


def drop(store: Store) -> None:
    """Delete a benchmark's Elasticsearch indices (a SQLite file goes with the temporary folder)."""
    if hasattr(store, "drop_all"):
        store.drop_all()
    store.close()


def throughput(kind: str, folder: Path, es_url: str | None, args: argparse.Namespace, workers: int) -> float:
    storage = fresh_storage(kind, folder, es_url)
    config = write_config(folder, storage, args.sources, 3600)
    store = open_store(StorageConfig.model_validate(storage))
    began = time.monotonic()
    procs = [start(config, folder) for _ in range(workers)]
    try:
        while store.count(MentionFilter()) < args.mentions:
            if any(proc.poll() is not None for proc in procs):
                raise SystemExit(f"a worker exited; see its log in {folder}")
            time.sleep(0.5)
        took = time.monotonic() - began
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=120)
        drop(store)
    return args.mentions / took


def claim_overhead(store: Store, rounds: int = 200) -> float:
    times = []
    now = datetime.now(timezone.utc)
    for n in range(rounds):
        began = time.perf_counter()
        store.claim(f"bench:{n % 10}", "bench", now + timedelta(hours=n), timedelta(minutes=1))
        store.release(f"bench:{n % 10}", "bench", now + timedelta(hours=n + 1))
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def takeover(kind: str, folder: Path, es_url: str | None, args: argparse.Namespace) -> float:
    """One source read in a single batch, so the first worker holds its collect job for a while."""
    storage = fresh_storage(kind, folder, es_url)
    write_sources(folder, args.mentions, 1)
    config = write_config(folder, storage, 1, args.lease, max_batch=args.mentions)
    store = open_store(StorageConfig.model_validate(storage))
    victim = start(config, folder)
    try:
        held = None
        while held is None:
            if victim.poll() is not None:
                raise SystemExit(f"the worker exited; see its log in {folder}")
            time.sleep(0.05)
            mine = [w.id for w in store.workers() if w.pid == victim.pid]
            held = next((l for l in store.leases() if l.owner in mine and l.name.startswith("collect:")), None)
        survivor = start(config, folder)
        victim.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        while next(l.owner for l in store.leases() if l.name == held.name) in (held.owner, None):
            time.sleep(0.05)
        took = time.monotonic() - killed
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(timeout=120)
    finally:
        victim.wait(timeout=30)
        drop(store)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, default=3000)
    parser.add_argument("--sources", type=int, default=6)
    parser.add_argument("--lease", type=int, default=5)
    parser.add_argument("--store", choices=["sqlite", "elasticsearch"], default="sqlite")
    parser.add_argument("--es-url", default=os.environ.get("MONITOR_ES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_sources(folder, args.mentions, args.sources)
        one = throughput(args.store, folder, args.es_url, args, 1)
        print(f"one worker: {one:,.0f} mentions/s", file=sys.stderr, flush=True)
        two = throughput(args.store, folder, args.es_url, args, 2)
        print(f"two workers: {two:,.0f} mentions/s", file=sys.stderr, flush=True)
        store = open_store(StorageConfig.model_validate(fresh_storage(args.store, folder, args.es_url)))
        overhead = claim_overhead(store)
        drop(store)
        seconds = takeover(args.store, folder, args.es_url, args)
        print(f"takeover: {seconds:.1f} s", file=sys.stderr, flush=True)
    print(f"| measure ({args.store}, {args.mentions:,} mentions, {args.sources} sources) | value |")
    print("| --- | ---: |")
    print(f"| one worker, mentions/s | {one:,.0f} |")
    print(f"| two workers, mentions/s | {two:,.0f} ({two / one:.2f}×) |")
    print(f"| claim + release of one job, median | {overhead:.1f} ms |")
    print(f"| kill -9 → another worker holds its job (lease {args.lease} s) | {seconds:.1f} s |")


if __name__ == "__main__":
    main()
