"""Several workers on one store: throughput with one and with two, claim overhead, takeover after kill -9.

    python benchmarks/workers.py [--mentions 1500] [--sources 6] [--store sqlite|elasticsearch] [--es-url URL]

Writes ``--sources`` JSONL files holding ``--mentions`` mentions in all (distinct texts, so the
offline scorer works for each), then in the same run, each on a fresh store:

- throughput: ``monitor run`` with one worker using every core, then two workers each using
  every core (``nlp.threads`` unset: each scorer's OpenMP threads contend for the same cores),
  then two workers with ``nlp.threads`` = cores / 2, until every mention is stored (collect +
  match + score + store), in mentions per second: from the start (start-up included) and in
  the steady state (from the first stored mention to the last), with the median collect job's
  seconds and how many collect jobs ran at once (from the recorded job runs): a second worker
  that doubles the jobs at once but also doubles each job's time found no idle core;
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
from typing import Any, NamedTuple

import yaml

from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.config import StorageConfig
from monitor.store import open_store
from monitor.store.base import JobRun, MentionFilter, Store

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


def write_config(folder: Path, storage: dict[str, Any], sources: int, lease: int, max_batch: int = 100,
                 threads: int | None = None) -> Path:
    path = folder / "monitor.yaml"
    nlp: dict[str, Any] = {"backend": "offline", **({"threads": threads} if threads else {})}
    path.write_text(yaml.safe_dump({
        "storage": storage, "nlp": nlp, "alerts": {"notifier": "outbox", "playbooks_dir": str(BUILT_IN_PLAYBOOKS)},
        "detection": {"every": f"{lease}s"}, "workers": {"lease": f"{lease}s", "poll": "1s"},
        "brands": [{"name": "Aurora", "query": "aurora", "sources": [
            {"type": "file", "name": f"s{k}", "path": str(folder / f"s{k}.jsonl"), "every": "1s", "max_batch": max_batch}
            for k in range(sources)]}],
    }))
    return path


def start(config: Path, folder: Path) -> subprocess.Popen[bytes]:
    log = open(folder / f"worker-{uuid.uuid4().hex[:6]}.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config)], stdout=log,
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


class Rates(NamedTuple):
    total: float
    """mentions per second from the start"""
    steady: float
    """mentions per second from the first stored mention to the last"""
    job: float
    """median seconds of one collect job (fetch, match, score and store one batch)"""
    parallel: float
    """collect jobs running at once, on average, while any ran"""


def job_figures(runs: list[JobRun]) -> tuple[float, float]:
    """The median collect job's seconds, and how many ran at once on average (busy time / span)."""
    jobs = [r for r in runs if r.job.startswith("collect:") and r.stored]
    if not jobs:
        return float("nan"), float("nan")
    busy = sum((r.finished_at - r.started_at).total_seconds() for r in jobs)
    span = (max(r.finished_at for r in jobs) - min(r.started_at for r in jobs)).total_seconds()
    return statistics.median((r.finished_at - r.started_at).total_seconds() for r in jobs), busy / span


def throughput(kind: str, folder: Path, es_url: str | None, args: argparse.Namespace, workers: int,
               threads: int | None) -> Rates:
    """Mentions per second (from the start and steady), and what the collect jobs did."""
    storage = fresh_storage(kind, folder, es_url)
    config = write_config(folder, storage, args.sources, 3600, threads=threads)
    store = open_store(StorageConfig.model_validate(storage))
    began = time.monotonic()
    procs = [start(config, folder) for _ in range(workers)]
    first: tuple[float, int] | None = None
    try:
        while (stored := store.count(MentionFilter())) < args.mentions:
            if any(proc.poll() is not None for proc in procs):
                raise SystemExit(f"a worker exited; see its log in {folder}")
            if first is None and stored:
                first = (time.monotonic(), stored)
            time.sleep(0.25)
        done = time.monotonic()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=120)
        job, parallel = job_figures(store.runs(limit=10_000))
        drop(store)
    steady = (args.mentions - first[1]) / (done - first[0]) if first else float("nan")
    return Rates(args.mentions / (done - began), steady, job, parallel)


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
        survivor.kill()  # it holds the whole source in one batch: no need to wait for a graceful stop
        survivor.wait(timeout=30)
    finally:
        victim.wait(timeout=30)
        drop(store)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, default=1500)
    parser.add_argument("--sources", type=int, default=6)
    parser.add_argument("--lease", type=int, default=5)
    parser.add_argument("--store", choices=["sqlite", "elasticsearch"], default="sqlite")
    parser.add_argument("--es-url", default=os.environ.get("MONITOR_ES_URL"))
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    runs = {"one worker, every core": (1, None), "two workers, every core each": (2, None),
            f"two workers, nlp.threads {max(1, cores // 2)} each": (2, max(1, cores // 2))}
    rates: dict[str, Rates] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_sources(folder, args.mentions, args.sources)
        for name, (workers, threads) in runs.items():
            rates[name] = throughput(args.store, folder, args.es_url, args, workers, threads)
            print(f"{name}: {rates[name]}", file=sys.stderr, flush=True)
        store = open_store(StorageConfig.model_validate(fresh_storage(args.store, folder, args.es_url)))
        overhead = claim_overhead(store)
        drop(store)
        seconds = takeover(args.store, folder, args.es_url, args)
        print(f"takeover: {seconds:.1f} s", file=sys.stderr, flush=True)
    base = rates["one worker, every core"]
    print(f"| {args.store}, {args.mentions:,} mentions, {args.sources} sources, {cores} cores | mentions/s from the "
          "start | mentions/s steady | one collect job, median | collect jobs at once |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, rate in rates.items():
        print(f"| {name} | {rate.total:,.0f} ({rate.total / base.total:.2f}×) | {rate.steady:,.0f} "
              f"({rate.steady / base.steady:.2f}×) | {rate.job:.1f} s | {rate.parallel:.1f} |")
    print(f"| claim + release of one job, median | {overhead:.1f} ms | | | |")
    print(f"| kill -9 → another worker holds its job (lease {args.lease} s) | {seconds:.1f} s | | | |")


if __name__ == "__main__":
    main()
