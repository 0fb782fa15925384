"""Source health: failures in a row make a source unhealthy; it is retried later with backoff."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor import config as config_lib
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.alerts.notify.slack.outbox import OutboxNotifier
from monitor.errors import CollectorError
from monitor.health import MAX_BACKOFF, backoff, collect_job, source_health
from monitor.runtime import build_pipeline
from monitor.store.base import JobRun

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
EVERY = timedelta(minutes=5)


def run(minutes: int, ok: bool, error: str | None = None) -> JobRun:
    at = T0 + timedelta(minutes=minutes)
    return JobRun(job=collect_job("acme", "x"), brand="acme", source="x", started_at=at, finished_at=at, ok=ok,
                  error=error)


def test_healthy_until_three_failures_in_a_row() -> None:
    runs = [run(0, False), run(5, True), run(10, False), run(15, False)]
    health = source_health(runs, "acme", "x", EVERY)
    assert health.failures == 2 and health.healthy and health.due(T0)


def test_unhealthy_source_waits_with_growing_backoff() -> None:
    runs = [run(0, False), run(5, False), run(10, False, "HTTP 503")]
    health = source_health(list(reversed(runs)), "acme", "x", EVERY)
    assert not health.healthy and health.last_error == "HTTP 503"
    assert health.retry_at == T0 + timedelta(minutes=20)
    assert not health.due(T0 + timedelta(minutes=19)) and health.due(T0 + timedelta(minutes=20))
    runs.append(run(20, False))
    assert source_health(runs, "acme", "x", EVERY).retry_at == T0 + timedelta(minutes=40)


def test_backoff_is_capped_and_other_sources_do_not_count() -> None:
    assert backoff(2, EVERY) == timedelta(0)
    assert backoff(50, EVERY) == MAX_BACKOFF == backoff(10**6, timedelta(weeks=1))
    other = JobRun(job=collect_job("acme", "rss"), started_at=T0, finished_at=T0, ok=False)
    assert source_health([other] * 5, "acme", "x", EVERY).failures == 0


@pytest.fixture
def pipeline(tmp_path: Path, offline_annotator):
    config = {
        "storage": {"path": "m.db"}, "nlp": {"backend": "offline"},
        "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS), "outbox": "out.jsonl"},
        "brands": [{"name": "Acme", "query": "acme",
                    "sources": [{"type": "file", "name": "export", "every": "1m", "path": "feed.jsonl"}]}],
    }
    (tmp_path / "monitor.yaml").write_text(json.dumps(config))
    return build_pipeline(config_lib.load(tmp_path / "monitor.yaml"), annotator=offline_annotator,
                          notifier=OutboxNotifier(tmp_path / "out.jsonl"))


def test_pipeline_skips_an_unhealthy_source_until_forced(pipeline, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            with pytest.raises(CollectorError):
                pipeline.collect("Acme", "export")
        assert "is unhealthy after 3 failures" in caplog.text
        skipped = pipeline.collect("Acme", "export")
    assert skipped.skipped and "next try at" in caplog.text
    assert len(pipeline.store.runs()) == 3
    (tmp_path / "feed.jsonl").write_text('{"id": 1, "text": "acme ok", "created_at": "2024-05-01T10:00:00Z"}\n')
    forced = pipeline.collect("Acme", "export", force=True)
    assert forced.stored == 1 and not forced.skipped
    assert not pipeline.collect("Acme", "export").skipped
