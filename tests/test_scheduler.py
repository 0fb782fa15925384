import os
import signal
import threading
import time
import urllib.request
from datetime import datetime, timezone

import pytest

from monitor.config import parse
from monitor.errors import CollectorError, ConfigError
from monitor.runtime import build_interactive
from monitor.scheduler import Service

CONFIG = parse("""
detection: {every: 1s}
brands:
  - name: Aurora Air
    sources:
      - {type: rss, name: news, every: 1s, url: "http://127.0.0.1:9/feed"}
      - {type: rss, name: blog, every: 1s, url: "http://127.0.0.1:9/blog"}
      - {type: rss, name: paused, every: 1s, enabled: false, url: "http://127.0.0.1:9/off"}
""")


class RecordingPipeline:
    """Stands in for the pipeline: counts calls; the 'news' source always fails."""

    def __init__(self):
        self.config = CONFIG
        self.calls: dict[str, int] = {}
        self.running = 0
        self.overlap = False
        self.closed = False
        self.store = self

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

    def detect(self):
        self._count("detect")

    def deliver(self):
        self._count("deliver")

    def care_digest(self):
        self._count("care-digest")

    def close(self):
        self.closed = True


def test_one_job_per_enabled_source_plus_detect_deliver_and_the_care_digest():
    service = Service(RecordingPipeline())
    assert sorted(service.job_names()) == [
        "care-digest", "collect:Aurora Air:blog", "collect:Aurora Air:news", "deliver", "detect",
    ]
    service.scheduler.start(paused=True)
    for job in service.scheduler.get_jobs():
        assert job.max_instances == 1 and job.coalesce
    assert service.scheduler.get_job("collect:Aurora Air:news").trigger.jitter == 0.1
    service.stop()


def test_failing_jobs_are_counted_and_never_stop_the_others():
    pipeline = RecordingPipeline()
    service = Service(pipeline)
    service.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pipeline.calls.get("detect", 0) < 2:
        time.sleep(0.1)
    service.stop()
    assert pipeline.calls["detect"] >= 2
    assert service.failures["collect:Aurora Air:news"] >= 1
    assert service.failures["collect:Aurora Air:blog"] >= 1
    assert service.successes["detect"] >= 2
    assert "paused" not in pipeline.calls
    assert pipeline.closed


def test_sigterm_stops_cleanly():
    pipeline = RecordingPipeline()
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
    config = parse("brands: [{name: Acme, query: acme}]\nslack: {interactive_port: 0}\n")
    pipeline = RecordingPipeline()
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
