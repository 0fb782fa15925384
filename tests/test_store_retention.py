"""Retention: ``--before`` parsed, and the service's daily job claimed, run and recorded like the others."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from monitor.alerts.notify.slack.outbox import OutboxNotifier
from monitor.config import parse
from monitor.errors import ConfigError
from monitor.models import Mention
from monitor.pipeline import Pipeline
from monitor.scheduler import Service
from monitor.store.base import MentionFilter
from monitor.store.retention import JOB, cutoff
from monitor.store.sqlite import SqliteStore

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def mention(n: int, days_ago: float) -> Mention:
    at = NOW - timedelta(days=days_ago)
    return Mention(id=f"feed:{n}", brand="Aurora Air", source="feed", text=f"post {n}", created_at=at, collected_at=at)


@pytest.mark.parametrize("before, expected", [
    ("400d", NOW - timedelta(days=400)),
    ("2w", NOW - timedelta(weeks=2)),
    ("2025-01-31", datetime(2025, 1, 31, tzinfo=timezone.utc)),
    ("2025-01-31T06:00:00+01:00", datetime(2025, 1, 31, 5, tzinfo=timezone.utc)),
])
def test_before_is_an_age_or_a_date(before, expected):
    assert cutoff(before, NOW) == expected


@pytest.mark.parametrize("before", ["soon", "0d", "-3d", "31/01/2025"])
def test_a_bad_before_is_refused(before):
    with pytest.raises(ConfigError, match="--before"):
        cutoff(before, NOW)


def test_the_service_prunes_daily_as_a_claimed_job(tmp_path, offline_annotator):
    config = parse(f"""
storage: {{path: {tmp_path / 'm.db'}, retention: 400d}}
brands:
  - name: Aurora Air
    sources: [{{type: rss, name: news, url: "http://127.0.0.1:9/feed"}}]
""")
    store = SqliteStore(config.storage.path)
    store.add_mentions([mention(1, 500), mention(2, 401), mention(3, 399), mention(4, 1)])
    pipeline = Pipeline(config, store, offline_annotator, OutboxNotifier(tmp_path / "out.jsonl"), [], clock=lambda: NOW)
    service = Service(pipeline)
    job = service.scheduler.get_job(JOB)
    assert job is not None
    job.func()
    assert [m.id for m in store.search(MentionFilter(newest_first=False))] == ["feed:3", "feed:4"]
    assert [(r.job, r.ok) for r in store.runs()] == [(JOB, True)]
    lease = {lease.name: lease for lease in store.leases()}[JOB]
    assert lease.owner is None and lease.due_at - datetime.now(timezone.utc) > timedelta(hours=23)
    job.func()  # not due again for a day: nothing runs, nothing is recorded
    assert len(store.runs()) == 1
    store.close()


def test_without_retention_there_is_no_such_job(tmp_path, offline_annotator):
    config = parse(f"""
storage: {{path: {tmp_path / 'm.db'}}}
brands:
  - name: Aurora Air
    sources: [{{type: rss, name: news, url: "http://127.0.0.1:9/feed"}}]
""")
    with SqliteStore(config.storage.path) as store:
        pipeline = Pipeline(config, store, offline_annotator, OutboxNotifier(tmp_path / "o.jsonl"), [])
        assert JOB not in Service(pipeline).job_names()
