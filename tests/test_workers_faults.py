"""Several ``monitor run`` workers on one store, killed with SIGKILL at random moments and restarted.

A file source of over 20,000 mentions for three brands, each with one scripted spike, is
collected by real worker processes on one store (SQLite: two processes; Elasticsearch: three)
while a loopback fake Slack records every request and answers slowly, so some kills land
mid-delivery. As soon as an alert is posted, people press its buttons at the same moment:
signed requests to the workers' own Slack endpoints, retried at another worker when one dies
under them (as Slack retries) and replayed once more, while the workers' detect and delivery
jobs write the same incident. The incidents left unacknowledged run past their playbook's first
deadline, so a reminder is due while the workers keep being killed. Once all is delivered, the
workers stop gracefully and one starts alone to finish what the chaos left: a worker killed while
the spike was still being collected judged it on part of the posts, and judged on all of them it
may be graver. Afterwards every mention is stored once, each spike opened exactly one incident,
every alert, update and reminder was posted exactly once, and every press took effect exactly
once.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from fake_slack import FakeSlack
from monitor.models import Incident, IncidentState, Severity
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
SECRET = "fault-test-signing-secret"
DRILL = {  # the only playbook: its first step is due a minute after an incident opens
    "id": "drill", "title": "Drill", "crisis_type": "generic", "fallback": True,
    "holding_statement": {"en": "We are looking into it."},
    "steps": [{"title": "Confirm scope", "owner": "Duty manager", "due_minutes": 1},
              {"title": "Publish the holding statement", "owner": "Head of Comms", "due_minutes": 30},
              {"title": "Reply to top posts", "owner": "Care lead", "due_minutes": 60}],
}
CLICKED = "Borealis Bank"  # its alert's buttons are pressed; the other two brands wait for a reminder


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
    (folder / "playbooks").mkdir()
    (folder / "playbooks" / "drill.yaml").write_text(yaml.safe_dump(DRILL))
    path.write_text(yaml.safe_dump({
        "storage": storage,
        "nlp": {"backend": "offline"},
        "detection": {"bucket": f"{int(bucket.total_seconds())}s", "lag": "0s", "every": "1s",
                      "history": f"{BASELINE_DAYS + 1}d", "warmup": f"{BASELINE_DAYS - 1}d"},
        "alerts": {"playbooks_dir": str(folder / "playbooks"), "notifier": "slack"},
        "slack": {"base_url": slack.base_url, "channel": "#brand-alerts", "interactivity": "http",
                  "interactive_port": 0},
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
        self.env = {**os.environ, "SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": SECRET,
                    "PYTHONPATH": str(REPO)}
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
        return subprocess.Popen([sys.executable, "-m", "monitor", "-v", "run", "--config", str(self.config)], stdout=log,
                                stderr=subprocess.STDOUT, env=self.env, cwd=self.folder)

    def kill_and_restart(self, slot: int, pause: float) -> None:
        self.procs[slot].send_signal(signal.SIGKILL)
        self.procs[slot].wait(timeout=30)
        self.kills += 1
        time.sleep(pause)
        self.procs[slot] = self._start(slot)

    def alone(self) -> datetime:
        """Start one worker after the others stopped; when it started."""
        started = datetime.now(timezone.utc)
        self.current, self.procs = [], [self._start()]
        return started

    def stop(self) -> list[int]:
        """SIGTERM each worker once it is up (a graceful stop); their exit codes."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all("jobs from" in p.read_text(errors="replace")
                                                         for p in self.current):
            time.sleep(0.2)
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        return [proc.wait(timeout=60) for proc in self.procs]

    def endpoints(self) -> list[str]:
        """The Slack button URLs of the workers running now (each logs its own at start)."""
        found = (re.search(r"Slack interactivity endpoint on (\S+)", p.read_text(errors="replace"))
                 for p in self.current)
        return [m.group(1) for m in found if m]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.folder.glob("worker-*.log")))


class Presses:
    """People pressing an alert's buttons together, each press sent as Slack sends it.

    A press goes to a random live worker; when that worker dies under it (no answer, or not
    200) it is sent again, same body and signature, to another one, like Slack's retries.
    Once answered, it is replayed at a random worker: nothing may change a second time.
    """

    PRESSES = [("incident_ack", "ana", None), ("incident_escalate", "eli", None),
               ("incident_step", "sam", 0), ("incident_step", "kim", 1)]

    def __init__(self, workers: Workers, slack: FakeSlack, alert: dict[str, Any], rng: random.Random):
        self.workers, self.slack, self.alert = workers, slack, alert
        self.seed = rng.randrange(1 << 30)
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._press, args=(n, *press), daemon=True)
                        for n, press in enumerate(self.PRESSES)]
        for thread in self.threads:
            thread.start()

    def _send(self, rng: random.Random, action: str, user: str, option: int | None, stamp: float,
              retry: int) -> bool:
        urls = self.workers.endpoints()
        if not urls:
            return False
        try:
            return self.slack.press(self.alert, action, rng.choice(urls), SECRET, user=user, timestamp=stamp,
                                    option=option, retry=retry or None) == 200
        except (urllib.error.URLError, OSError):
            return False

    def _press(self, n: int, action: str, user: str, option: int | None) -> None:
        rng = random.Random(self.seed + n)
        stamp = time.time()
        for _ in range(2):  # the press, then its replay
            for retry in range(240):
                if self._send(rng, action, user, option, stamp, retry):
                    break
                time.sleep(0.25)
            else:
                self.failures.append(f"{action} by {user} never answered")
                return

    def done(self) -> bool:
        return not any(thread.is_alive() for thread in self.threads)


def reminded(store: Store, incident: Incident) -> bool:
    return any(n.key == f"{incident.id}:reminder:0" for n in store.notifications(incident.id))


def settled(store: Store, total: int, presses: Presses | None, reminders: bool) -> bool:
    """Every mention stored, an incident per brand, every press answered, reminders due queued, all delivered."""
    incidents = store.incidents()
    if store.count(MentionFilter()) < total or len(incidents) < len(BRANDS) or presses is None or not presses.done():
        return False
    if reminders and not all(reminded(store, i) for i in incidents if i.state is IncidentState.OPEN):
        return False
    notes = store.notifications()
    return bool(notes) and all(n.status is NotificationStatus.SENT for n in notes)


def drain(workers: Workers, store: Store, total: int, presses: Presses | None, reminders: bool) -> None:
    """One worker alone until it has judged every brand on every stored post and all it queued is delivered."""
    started = workers.alone()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            time.sleep(0.5)
            judged = {run.brand for run in store.runs(limit=500)
                      if run.ok and run.job == f"detect:{run.brand}" and run.started_at > started}
            if judged >= set(BRANDS) and settled(store, total, presses, reminders):
                break
        else:
            pytest.fail("the last worker did not finish:\n" + workers.logs())
    finally:
        codes = workers.stop()
    assert codes == [0], workers.logs()


def alert_of(slack: FakeSlack, incident_id: str) -> dict[str, Any] | None:
    return next((m for m in slack.messages if m["metadata"]["event_payload"]["key"] == f"{incident_id}:alert"), None)


def check_presses(store: Store, slack: FakeSlack, presses: Presses, severity: Severity) -> None:
    """Each press took effect once, survived the other writers, and was answered in the thread once."""
    assert not presses.failures, presses.failures
    clicked = next(i for i in store.incidents() if i.brand == CLICKED)
    assert clicked.state is IncidentState.ACKNOWLEDGED
    by = [t.by for t in clicked.transitions]
    assert by.count("ana") == 1 and by.count("eli") == (1 if severity < Severity.CRITICAL else 0), by
    assert clicked.severity >= (Severity(severity + 1) if severity < Severity.CRITICAL else severity)
    assert sorted((d.number, d.by) for d in clicked.steps_done) == [(1, "sam"), (2, "kim")]
    assert clicked.slack_ts == alert_of(slack, clicked.id)["ts"]  # the delivery's write is kept too
    users = {user for _, user, _ in Presses.PRESSES}
    kinds = sorted(n.key.split(":")[1] for n in store.notifications(clicked.id) if n.payload.get("by") in users)
    assert kinds == sorted(["acknowledge", "step", "step"] + (["escalate"] if severity < Severity.CRITICAL else []))
    assert not reminded(store, clicked)  # acknowledged before its deadline


def chaos(store: Store, folder: Path, slack: FakeSlack, storage: dict[str, Any], processes: int, seed: int,
          reminders: bool) -> None:
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    bucket = bucket_for(now)
    counts = write_sources(folder, now, bucket, rng)
    total = sum(counts.values())
    assert total >= 20_000
    slack.delay_next(0.6, times=1000, method="chat.postMessage")  # slow posts: kills land mid-delivery
    workers = Workers(write_config(folder, storage, slack, bucket), folder, slack, processes)
    kills_during_delivery = 0
    presses: Presses | None = None
    severity = Severity.LOW
    try:
        deadline = time.monotonic() + 300
        chaos_until = time.monotonic() + 25
        while time.monotonic() < deadline and not (time.monotonic() > chaos_until
                                                   and settled(store, total, presses, reminders)):
            time.sleep(rng.uniform(0.5, 2.5))
            if presses is None:
                clicked = next((i for i in store.incidents() if i.brand == CLICKED), None)
                alert = alert_of(slack, clicked.id) if clicked else None
                if alert is not None:
                    severity = store.get_incident(clicked.id).severity
                    presses = Presses(workers, slack, alert, rng)
            busy = time.monotonic() < chaos_until or presses is None or not presses.done()
            if busy or (not settled(store, total, presses, reminders) and (workers.kills < 6 or rng.random() < 0.15)):
                delivering = bool(slack.calls("chat.postMessage")) and not settled(store, total, presses, reminders)
                workers.kill_and_restart(rng.randrange(processes), rng.uniform(0.1, 1.5))
                kills_during_delivery += delivering
        assert settled(store, total, presses, reminders), "the workers did not finish:\n" + workers.logs()
    finally:
        codes = workers.stop()
    assert codes == [0] * processes, workers.logs()
    assert workers.kills >= 6 and kills_during_delivery >= 1, (workers.kills, kills_during_delivery)
    drain(workers, store, total, presses, reminders)

    # every input mention stored once
    for brand, expected in counts.items():
        assert store.count(MentionFilter(brands=[brand])) == expected
    # exactly one incident per spike
    incidents = store.incidents()
    assert sorted(i.brand for i in incidents) == sorted(BRANDS)
    # every alert, update and reminder posted exactly once
    posted = [m["metadata"]["event_payload"]["key"] for m in slack.messages]
    assert len(posted) == len(set(posted)), sorted(posted)
    # a care digest (posted straight to Slack, deduplicated by its key there) may fall due during the run
    notes = store.notifications()
    assert sorted(k for k in posted if not k.startswith("care-digest:")) == sorted(n.key for n in notes)
    assert all(n.status is NotificationStatus.SENT for n in notes)
    assert {n.key.split(":")[0] for n in notes if n.kind == "alert"} == {i.id for i in incidents}
    for incident in incidents:  # every reply threads under its alert
        alert = alert_of(slack, incident.id)
        assert incident.slack_ts == alert["ts"]
        replies = [m for m in slack.messages if m["metadata"]["event_payload"]["key"].startswith(incident.id)
                   and m is not alert]
        assert all(m.get("thread_ts") == alert["ts"] for m in replies)
    # every press took effect once; the unacknowledged incidents were reminded once
    check_presses(store, slack, presses, severity)
    if reminders:
        left_open = [i for i in incidents if i.state is IncidentState.OPEN]
        assert sorted(i.brand for i in left_open) == sorted(b for b in BRANDS if b != CLICKED)
        assert sorted(n.key for n in notes if n.kind == "reminder") == sorted(f"{i.id}:reminder:0" for i in left_open)
    # the workers stopped gracefully handed back every claim (a killed one's lapse with their lease)
    stopped = {w.id for w in store.workers() if w.stopped}
    assert len(stopped) == processes + 1
    assert not [lease.name for lease in store.leases() if lease.owner in stopped]


@pytest.mark.parametrize(("seed", "reminders"), [(1, True), (2, False)])
def test_two_workers_on_one_sqlite_file_survive_kill_9(tmp_path, seed, reminders):
    db = tmp_path / "m.db"
    with FakeSlack() as slack, SqliteStore(db) as store:
        chaos(store, tmp_path, slack, {"path": str(db)}, processes=2, seed=seed, reminders=reminders)


@pytest.mark.parametrize(("seed", "reminders"), [(1, True), (2, False)])
def test_three_workers_on_elasticsearch_survive_kill_9(tmp_path, es_store_factory, es_server, seed, reminders):
    store = es_store_factory()
    with FakeSlack() as slack:
        chaos(store, tmp_path, slack, {"backend": "elasticsearch", "url": es_server, "index_prefix": store.prefix},
              processes=3, seed=seed, reminders=reminders)
