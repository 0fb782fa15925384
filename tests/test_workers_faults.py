"""Several ``monitor run`` workers on one store, killed with SIGKILL at random moments and restarted.

A file source of over 20,000 mentions for three brands, each with one scripted spike, is
collected by real worker processes on one store (SQLite: two processes; Elasticsearch: three)
while a loopback fake Slack records every request and answers slowly, so some kills land
mid-delivery. Afterwards every mention is stored once, each spike opened exactly one incident,
and every alert and update was posted exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from fake_slack import FakeSlack
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.store.base import MentionFilter, NotificationStatus, Store, bucket_floor
from monitor.store.sqlite import SqliteStore

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BRANDS = {"Aurora Air": "aurora", "Borealis Bank": "borealis", "Cirrus Cloud": "cirrus"}
CALM = ["{b} flight was fine today", "lovely crew on the {b} trip", "{b} app works well", "booked {b} again, all good",
        "{b} lounge was nice", "thanks {b} for the upgrade", "{b} customer service helped me quickly",
        "on time with {b} as usual", "{b} has a new route to lisbon", "the {b} newsletter arrived"]
ANGRY = ["{b} app is down again, terrible", "{b} lost my bag, awful service", "never flying {b} again, disgusting",
         "{b} cancelled my flight, furious", "{b} outage is a disaster", "worst experience ever with {b}",
         "{b} charged me twice, scam", "{b} website broken, useless", "{b} support ignores me, horrible",
         "{b} delays everywhere, ridiculous"]
BASELINE_DAYS = 3
CALM_PER_MINUTE = 1.25
SPIKE = 1500
BUCKETS = (40, 45, 48, 60)  # minutes, each dividing a day; the one with the most time left is used
LEASE_SECONDS = 3


def bucket_for(now: datetime) -> timedelta:
    """The bucket size whose current bucket has the most time left (the spike stays the judged one)."""
    return max((timedelta(minutes=m) for m in BUCKETS),
               key=lambda size: size - (now - bucket_floor(now, size)))


def write_sources(folder: Path, now: datetime, bucket: timedelta, rng: random.Random) -> dict[str, int]:
    """Two JSONL files per brand: calm days, then a spike of angry posts in the bucket judged now."""
    spike_start = bucket_floor(now, bucket) - bucket
    start = spike_start - timedelta(days=BASELINE_DAYS)
    counts = {}
    for brand, word in BRANDS.items():
        rows = []
        minutes = int((spike_start - start).total_seconds() // 60)
        for n in range(int(minutes * CALM_PER_MINUTE)):
            at = start + timedelta(seconds=rng.uniform(0, minutes * 60))
            rows.append((at, rng.choice(CALM).format(b=word)))
        for n in range(SPIKE):
            at = spike_start + timedelta(seconds=rng.uniform(0, bucket.total_seconds() - 1))
            rows.append((at, rng.choice(ANGRY).format(b=word)))
        rows.sort()
        files = [open(folder / f"{word}-{half}.jsonl", "w") for half in ("a", "b")]
        for n, (at, text) in enumerate(rows):
            files[n % 2].write(json.dumps({"id": f"{word}-{n}", "text": text, "created_at": at.isoformat(),
                                           "author": f"user{n % 97}"}) + "\n")
        for file in files:
            file.close()
        counts[brand] = len(rows)
    return counts


def write_config(folder: Path, storage: dict[str, Any], slack: FakeSlack, bucket: timedelta) -> Path:
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump({
        "storage": storage,
        "nlp": {"backend": "offline"},
        "detection": {"bucket": f"{int(bucket.total_seconds())}s", "lag": "0s", "every": "1s",
                      "history": f"{BASELINE_DAYS + 1}d", "warmup": f"{BASELINE_DAYS - 1}d"},
        "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS), "notifier": "slack"},
        "slack": {"base_url": slack.base_url, "channel": "#brand-alerts"},
        "workers": {"lease": f"{LEASE_SECONDS}s", "poll": "1s", "capacity": 4},
        "brands": [{"name": brand, "query": word, "sources": [
            {"type": "file", "name": half, "path": str(folder / f"{word}-{half}.jsonl"), "every": "1s",
             "max_batch": 400} for half in ("a", "b")]} for brand, word in BRANDS.items()],
    }))
    return path


class Workers:
    """``monitor run`` processes, each logging to its own file; killed and restarted by slot."""

    def __init__(self, config: Path, folder: Path, slack: FakeSlack, count: int):
        self.config, self.folder = config, folder
        self.env = {**os.environ, "SLACK_BOT_TOKEN": slack.token, "PYTHONPATH": str(REPO)}
        self.started = 0
        self.kills = 0
        self.current: list[Path] = []
        self.procs: list[subprocess.Popen[bytes]] = [self._start() for _ in range(count)]

    def _start(self, slot: int | None = None) -> subprocess.Popen[bytes]:
        self.started += 1
        path = self.folder / f"worker-{self.started}.log"
        if slot is None:
            self.current.append(path)
        else:
            self.current[slot] = path
        log = open(path, "wb")
        return subprocess.Popen([sys.executable, "-m", "monitor", "run", str(self.config)], stdout=log,
                                stderr=subprocess.STDOUT, env=self.env, cwd=self.folder)

    def kill_and_restart(self, slot: int, pause: float) -> None:
        self.procs[slot].send_signal(signal.SIGKILL)
        self.procs[slot].wait(timeout=30)
        self.kills += 1
        time.sleep(pause)
        self.procs[slot] = self._start(slot)

    def stop(self) -> list[int]:
        """SIGTERM each worker once it is up (a graceful stop); their exit codes."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all("jobs from" in p.read_text(errors="replace")
                                                         for p in self.current):
            time.sleep(0.2)
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        return [proc.wait(timeout=60) for proc in self.procs]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.folder.glob("worker-*.log")))


def settled(store: Store, total: int) -> bool:
    """Every mention stored, an incident per brand, and nothing left to deliver."""
    if store.count(MentionFilter()) < total or len(store.incidents()) < len(BRANDS):
        return False
    notes = store.notifications()
    return bool(notes) and all(n.status is NotificationStatus.SENT for n in notes)


def chaos(store: Store, folder: Path, slack: FakeSlack, storage: dict[str, Any], processes: int, seed: int) -> None:
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    bucket = bucket_for(now)
    counts = write_sources(folder, now, bucket, rng)
    total = sum(counts.values())
    assert total >= 20_000
    slack.delay_next(0.6, times=1000, method="chat.postMessage")  # slow posts: kills land mid-delivery
    workers = Workers(write_config(folder, storage, slack, bucket), folder, slack, processes)
    kills_during_delivery = 0
    try:
        deadline = time.monotonic() + 240
        chaos_until = time.monotonic() + 25
        while time.monotonic() < deadline and not (time.monotonic() > chaos_until and settled(store, total)):
            time.sleep(rng.uniform(0.5, 2.5))
            if time.monotonic() < chaos_until or (workers.kills < 6 and not settled(store, total)):
                delivering = bool(slack.calls("chat.postMessage")) and not settled(store, total)
                workers.kill_and_restart(rng.randrange(processes), rng.uniform(0.1, 1.5))
                kills_during_delivery += delivering
        assert settled(store, total), "the workers did not finish:\n" + workers.logs()
    finally:
        codes = workers.stop()
    assert codes == [0] * processes, workers.logs()
    assert workers.kills >= 6 and kills_during_delivery >= 1, (workers.kills, kills_during_delivery)

    # every input mention stored once
    for brand, expected in counts.items():
        assert store.count(MentionFilter(brands=[brand])) == expected
    # exactly one incident per spike
    incidents = store.incidents()
    assert sorted(i.brand for i in incidents) == sorted(BRANDS)
    # every alert and update posted exactly once
    posted = [m["metadata"]["event_payload"]["key"] for m in slack.messages]
    assert len(posted) == len(set(posted)), sorted(posted)
    notes = store.notifications()
    assert sorted(posted) == sorted(n.key for n in notes)
    assert all(n.status is NotificationStatus.SENT for n in notes)
    assert {n.key.split(":")[0] for n in notes if n.kind == "alert"} == {i.id for i in incidents}
    for incident in incidents:  # every reply threads under its alert
        alert = next(m for m in slack.messages if m["metadata"]["event_payload"]["key"] == f"{incident.id}:alert")
        assert incident.slack_ts == alert["ts"]
        replies = [m for m in slack.messages if m["metadata"]["event_payload"]["key"].startswith(incident.id)
                   and m is not alert]
        assert all(m.get("thread_ts") == alert["ts"] for m in replies)
    # the workers stopped gracefully handed back every claim (a killed one's lapse with their lease)
    stopped = {w.id for w in store.workers() if w.stopped}
    assert len(stopped) == processes
    assert not [lease.name for lease in store.leases() if lease.owner in stopped]


@pytest.mark.parametrize("seed", [1, 2])
def test_two_workers_on_one_sqlite_file_survive_kill_9(tmp_path, seed):
    db = tmp_path / "m.db"
    with FakeSlack() as slack, SqliteStore(db) as store:
        chaos(store, tmp_path, slack, {"path": str(db)}, processes=2, seed=seed)


@pytest.mark.parametrize("seed", [1, 2])
def test_three_workers_on_elasticsearch_survive_kill_9(tmp_path, es_store_factory, es_server, seed):
    store = es_store_factory()
    with FakeSlack() as slack:
        chaos(store, tmp_path, slack, {"backend": "elasticsearch", "url": es_server, "index_prefix": store.prefix},
              processes=3, seed=seed)
