"""Workers: claims around a job, the heartbeat, and ``monitor workers`` listing them."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import yaml
from test_cli import file_config, monitor

from monitor import config as config_lib
from monitor.store.base import JobRun, WorkerBeat
from monitor.store.sqlite import SqliteStore
from monitor.workers import Claims, Heartbeat, config_hash, worker_statuses

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def test_a_claimed_job_runs_once_per_interval_across_workers(tmp_path):
    clock = [T0]
    with SqliteStore(tmp_path / "m.db") as store:
        first = Claims(store, "w1", timedelta(minutes=5), clock=lambda: clock[0])
        second = Claims(store, "w2", timedelta(minutes=5), clock=lambda: clock[0])
        ran: list[str] = []
        assert first.run("detect:Acme", timedelta(minutes=1), lambda: ran.append("w1"))
        assert not second.run("detect:Acme", timedelta(minutes=1), lambda: ran.append("w2"))  # not due again yet
        clock[0] = T0 + timedelta(minutes=1)
        assert second.run("detect:Acme", timedelta(minutes=1), lambda: ran.append("w2"))
        assert ran == ["w1", "w2"]
        assert [(lease.owner, lease.due_at) for lease in store.leases()] == [(None, T0 + timedelta(minutes=2))]


def test_a_job_holds_its_claim_while_it_runs_and_a_dead_workers_claim_lapses(tmp_path):
    clock = [T0]
    with SqliteStore(tmp_path / "m.db") as store:
        running = Claims(store, "w1", timedelta(seconds=30), clock=lambda: clock[0])
        other = Claims(store, "w2", timedelta(seconds=30), clock=lambda: clock[0])
        inside: list[bool] = []

        def work() -> None:
            inside.append(other.run("collect:Acme:rss", timedelta(seconds=10), lambda: None))
            assert running.held() == ["collect:Acme:rss"]

        assert running.run("collect:Acme:rss", timedelta(seconds=10), work)
        assert inside == [False] and running.held() == []
        # a worker killed while holding a job (its release never happens)
        assert store.claim("detect:Acme", "killed", T0, timedelta(seconds=30))
        clock[0] = T0 + timedelta(seconds=29)
        assert not other.run("detect:Acme", timedelta(seconds=10), lambda: None)
        clock[0] = T0 + timedelta(seconds=30)
        assert other.run("detect:Acme", timedelta(seconds=10), lambda: None)


def test_monitor_workers_lists_heartbeats_config_differences_and_jobs(tmp_path):
    path = file_config(tmp_path)
    config = config_lib.load(path)
    now = datetime.now(timezone.utc)
    with SqliteStore(tmp_path / "m.db") as store:
        claims = Claims(store, "alive", config.lease)
        beat = Heartbeat(store, claims, config, capacity=4)
        assert claims.run("collect:Acme:export", timedelta(minutes=5), beat)  # it beats while holding the job
        store.heartbeat(WorkerBeat(id="odd", host="h", pid=2, started_at=now, beat_at=now, config_hash="0123456789ab",
                                   capacity=4))
        store.heartbeat(WorkerBeat(id="gone", host="h", pid=3, started_at=now - timedelta(hours=2),
                                   beat_at=now - timedelta(hours=1), config_hash=config_hash(config), capacity=4))
        for _ in range(3):
            store.record_run(JobRun(job="deliver", started_at=now, finished_at=now, ok=True, worker="alive"))
        statuses = {w.id: w for w in worker_statuses(store, config, now)}
    assert statuses["alive"].holds == ("collect:Acme:export",) and statuses["alive"].jobs_last_hour == 3
    assert (statuses["odd"].same_config, statuses["gone"].state) == (False, "silent")
    listed = monitor("workers", "--config", str(path))
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "running" in lines["alive"] and "holds collect:Acme:export" in lines["alive"]
    assert "jobs in the last hour 3" in lines["alive"]
    assert "DIFFERS" in lines["odd"] and "silent" in lines["gone"]


def test_a_lease_shorter_than_a_job_interval_is_refused_at_start(tmp_path):
    path = file_config(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["brands"][0]["sources"][0]["every"] = "10m"
    data["workers"] = {"lease": "1m"}
    path.write_text(yaml.safe_dump(data))
    started = time.monotonic()
    refused = monitor("run", "--config", str(path))
    assert refused.returncode == 2
    assert "workers.lease" in refused.stderr and "brands[0].sources[0].every" in refused.stderr
    assert time.monotonic() - started < 60
