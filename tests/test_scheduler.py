import os
import signal
import threading
import time
import urllib.request
from datetime import datetime, timezone

import pytest
import yaml

from fake_slack import FakeSlack
from fake_socket_mode import FakeSocketMode
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.alerts.notify.slack.outbox import OutboxNotifier
from monitor.config import parse
from monitor.errors import CollectorError, ConfigError
from monitor.runtime import build_interactive, build_pipeline
from monitor.scheduler import Service
from monitor.store.base import MentionFilter
from monitor.store.sqlite import SqliteStore
from monitor.demo.jetstream_fake import FakeJetstream, post

CONFIG = parse("""
detection: {every: 1s}
workers: {poll: 1s, lease: 5s}
brands:
  - name: Aurora Air
    sources:
      - {type: rss, name: news, every: 1s, url: "http://127.0.0.1:9/feed"}
      - {type: rss, name: blog, every: 1s, url: "http://127.0.0.1:9/blog"}
      - {type: rss, name: paused, every: 1s, enabled: false, url: "http://127.0.0.1:9/off"}
""")


class RecordingPipeline:
    """Stands in for the pipeline on a real store: counts calls; the 'news' source always fails."""

    def __init__(self, path, config=CONFIG):
        self.config = config
        self.calls: dict[str, int] = {}
        self.running = 0
        self.overlap = False
        self.closed = False
        self.store = ClosingStore(path, self)

    def clock(self):
        return datetime.now(timezone.utc)

    def _count(self, name):
        self.running += 1
        self.overlap |= self.running > 1 and name == "slow"
        self.calls[name] = self.calls.get(name, 0) + 1
        self.running -= 1

    def collect(self, brand, source):
        self._count(source)
        if source == "news":
            raise CollectorError("feed is down")
        if source == "blog":
            raise ValueError("a bug")

    def detect_brand(self, brand):
        self._count("detect")

    def remind(self, brand):
        self._count("remind")

    def deliver(self):
        self._count("deliver")

    def care_digest(self):
        self._count("care-digest")

    def daily_digest(self):
        self._count("daily-digest")

class ClosingStore(SqliteStore):
    def __init__(self, path, pipeline):
        super().__init__(path)
        self.pipeline = pipeline

    def close(self):
        self.pipeline.closed = True
        super().close()


def test_one_job_per_enabled_source_plus_detect_deliver_and_the_care_digest(tmp_path):
    service = Service(RecordingPipeline(tmp_path / "m.db"))
    assert sorted(service.job_names()) == [
        "care-digest", "collect:Aurora Air:blog", "collect:Aurora Air:news", "deliver", "detect:Aurora Air", "heartbeat",
        "reminders:Aurora Air",
    ]
    service.scheduler.start(paused=True)
    for job in service.scheduler.get_jobs():
        assert job.max_instances == 1 and job.coalesce
    assert service.scheduler.get_job("collect:Aurora Air:news").trigger.jitter == 0.1
    service.stop()


def test_the_daily_digest_is_a_claimed_job_once_enabled(tmp_path):
    config = CONFIG.model_copy(update={"daily_digest": CONFIG.daily_digest.model_copy(update={"enabled": True})})
    service = Service(RecordingPipeline(tmp_path / "m.db", config))
    assert "daily-digest" in service.job_names()
    assert service.claims.run("daily-digest", config.detection.every, service.pipeline.daily_digest)
    assert service.pipeline.calls["daily-digest"] == 1
    service.scheduler.start(paused=True)
    service.stop()


def test_failing_jobs_are_counted_and_never_stop_the_others(tmp_path):
    pipeline = RecordingPipeline(tmp_path / "m.db")
    service = Service(pipeline)
    service.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pipeline.calls.get("detect", 0) < 2:
        time.sleep(0.1)
    service.stop()
    assert pipeline.calls["detect"] >= 2
    assert service.failures["collect:Aurora Air:news"] >= 1
    assert service.failures["collect:Aurora Air:blog"] >= 1
    assert service.successes["detect:Aurora Air"] >= 2
    assert "paused" not in pipeline.calls
    assert pipeline.closed


def test_sigterm_stops_cleanly(tmp_path):
    pipeline = RecordingPipeline(tmp_path / "m.db")
    service = Service(pipeline)
    threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    previous = signal.getsignal(signal.SIGTERM)
    try:
        service.run_forever()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert pipeline.closed
    assert not service.scheduler.running


def test_the_slack_endpoint_runs_with_the_service_and_stops_with_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    config = parse("brands: [{name: Acme, query: acme}]\nslack: {interactive_port: 0}\n")
    pipeline = RecordingPipeline(tmp_path / "m.db")
    server = build_interactive(config, pipeline.store)
    service = Service(pipeline, interactive=server)
    service.start()
    with urllib.request.urlopen(server.url.replace("/slack/actions", "/healthz"), timeout=5) as response:
        assert response.read() == b"ok"
    service.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url.replace("/slack/actions", "/healthz"), timeout=2)
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        build_interactive(config, pipeline.store)


def test_socket_mode_runs_with_the_service_and_stops_with_it(tmp_path, monkeypatch):
    pipeline = RecordingPipeline(tmp_path / "m.db")
    with FakeSlack() as slack, FakeSocketMode(slack) as socket:
        monkeypatch.setenv("SLACK_APP_TOKEN", slack.app_token)
        config = parse(f"brands: [{{name: Acme, query: acme}}]\nslack: {{base_url: '{slack.base_url}'}}\n")
        service = Service(pipeline, interactive=build_interactive(config, pipeline.store))
        service.start()
        assert socket.opened == 1 and socket.acknowledgement(socket.send({"type": "block_actions", "actions": []}))
        service.stop()
        socket.wait(lambda: not socket.connected(), timeout=5)
    assert pipeline.closed


@pytest.mark.parametrize("settings, environment, expected", [
    ({}, {}, None),
    ({}, {"SLACK_APP_TOKEN": "xapp-1"}, "SocketModeListener"),
    ({"interactive_port": 0}, {"SLACK_APP_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s"}, "SocketModeListener"),
    ({"interactive_port": 0}, {"SLACK_SIGNING_SECRET": "s"}, "HttpEndpoint"),
    ({"interactivity": "http"}, {"SLACK_APP_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s"}, "HttpEndpoint"),
    ({"interactivity": "off"}, {"SLACK_APP_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s"}, None),
])
def test_the_configured_interactivity_is_built(tmp_path, monkeypatch, settings, environment, expected):
    for name in ("SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = parse(yaml.safe_dump({"brands": [{"name": "Acme", "query": "acme"}], "slack": settings}))
    with SqliteStore(tmp_path / "m.db") as store:
        built = build_interactive(config, store)
    assert (type(built).__name__ if built else None) == expected
    if expected == "HttpEndpoint" and "interactive_port" not in settings:
        assert built.port == 3000


TWO_SOURCES = parse("""
detection: {every: 1h}
workers: {poll: 1s, lease: 1h}
brands:
  - name: Aurora Air
    sources:
      - {type: rss, name: one, every: 1h, url: "http://127.0.0.1:9/one"}
      - {type: rss, name: two, every: 1h, url: "http://127.0.0.1:9/two"}
""")


class SlowPipeline(RecordingPipeline):
    """Each job takes a while, so two workers started together must split them."""

    def collect(self, brand, source):
        time.sleep(1.5)
        self._count(source)


def test_two_workers_on_one_store_share_the_jobs_and_hand_them_back_on_stop(tmp_path):
    pipelines = [SlowPipeline(tmp_path / "m.db", TWO_SOURCES) for _ in range(2)]
    services = [Service(p) for p in pipelines]
    for service in services:
        service.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and sum(sum(p.calls.get(s, 0) for s in ("one", "two")) for p in pipelines) < 2:
        time.sleep(0.1)
    with SqliteStore(tmp_path / "m.db") as store:
        beats = {w.id: w for w in store.workers()}
        assert set(beats) == {s.worker for s in services}
        assert len({w.config_hash for w in beats.values()}) == 1
    for service in services:
        service.stop()
    collected = [{s for s in ("one", "two") if p.calls.get(s)} for p in pipelines]
    assert sorted(sum((sorted(c) for c in collected), [])) == ["one", "two"]  # each source once, by either
    assert sum(p.calls.get("detect", 0) for p in pipelines) == 1  # due once an hour: one worker ran it
    with SqliteStore(tmp_path / "m.db") as store:
        assert all(lease.owner is None for lease in store.leases())  # every claim handed back
        assert all(w.stopped and w.holds == [] for w in store.workers())


def test_a_streaming_source_is_held_by_one_worker_and_stops_with_it(tmp_path, offline_annotator):
    with FakeJetstream([post(1_774_267_000_000_000, "Aurora Air cancelled my flight")]) as server:
        config = parse(f"""
storage: {{path: "{tmp_path / 'm.db'}"}}
nlp: {{backend: offline}}
alerts: {{outbox: "{tmp_path / 'out.jsonl'}", playbooks_dir: "{BUILT_IN_PLAYBOOKS}"}}
detection: {{every: 1s}}
workers: {{poll: 1s, lease: 5s, capacity: 1}}
brands:
  - name: Aurora Air
    query: '"aurora air"'
    sources:
      - {{type: jetstream, every: 1s, url: "{server.url}", flush_seconds: 0.05}}
""")
        pipelines = [build_pipeline(config, annotator=offline_annotator, notifier=OutboxNotifier(tmp_path / "o.jsonl"))
                     for _ in range(2)]
        services = [Service(p) for p in pipelines]
        for service in services:
            service.start()
        deadline = time.monotonic() + 20
        while pipelines[0].store.count(MentionFilter()) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        holders = [s.claims.held() for s in services]
        started = time.monotonic()
        for service in services:
            service.stop()
        stopped_in = time.monotonic() - started
    assert sorted(holders, key=len) == [[], ["collect:Aurora Air:jetstream"]]
    assert len(server.connections) == 1 and stopped_in < 5
    store = SqliteStore(tmp_path / "m.db")
    assert [m.text for m in store.search(MentionFilter())] == ["Aurora Air cancelled my flight"]
    assert all(lease.owner is None for lease in store.leases() if lease.name.startswith("collect:"))
    runs = [r for r in store.runs() if r.job == "collect:Aurora Air:jetstream"]
    assert runs and all(r.ok for r in runs)
