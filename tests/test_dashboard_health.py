"""Sources health: last run, errors and mentions stored per hour, from the recorded collector runs."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.dashboard.health_data import health_frame, jobs_frame  # noqa: E402
from dashboard_seed import (  # noqa: E402, F401 (pytest fixtures)
    BRAND, FAILURE, MENTIONS, T0, config_fixture, fresh_caches_fixture, metric, run_app, runs, write_config,
)
from monitor.store.base import JobRun  # noqa: E402
from monitor.store.sqlite import SqliteStore  # noqa: E402

PAGE = "views/health.py"


def test_health_frame_puts_failing_sources_first():
    frame = health_frame(runs(), BRAND, {})
    assert frame["source"].tolist() == ["news", "x"]
    news, x = frame.iloc[0], frame.iloc[1]
    assert (news["status"], news["runs"], news["errors"], news["last_error"]) == (
        "failing (1 in a row)", 2, 1, FAILURE)
    assert news["last_ok"] == T0 + timedelta(hours=1, seconds=3)
    assert (x["status"], x["runs"], x["errors"], x["stored"], x["last_error"]) == ("ok", 3, 0, 30, "")
    assert x["per_hour"] == pytest.approx(30 / ((2 * 3600 + 5) / 3600))


def test_health_frame_counts_at_least_one_hour():
    run = JobRun(job=f"collect:{BRAND}:rss", brand=BRAND, source="rss", started_at=T0,
                 finished_at=T0 + timedelta(seconds=2), ok=True, fetched=7, stored=6)
    frame = health_frame([run], BRAND, {"rss": timedelta(minutes=5)})
    assert frame["per_hour"].item() == 6 and frame["last_ok"].item() == T0 + timedelta(seconds=2)


def test_skipped_unreadable_items_are_summed_per_source():
    runs_ = [JobRun(job=f"collect:{BRAND}:import", brand=BRAND, source="import", started_at=T0 + timedelta(hours=n),
                    finished_at=T0 + timedelta(hours=n), ok=True, fetched=10, stored=8, unreadable=n) for n in (1, 4)]
    frame = health_frame(runs_, BRAND, {"import": timedelta(minutes=5)})
    assert frame["unreadable"].item() == 5 and frame["status"].item() == "ok"


def test_unhealthy_source_shows_when_it_is_retried_and_silent_sources_show_up():
    failures = [JobRun(job=f"collect:{BRAND}:rss", brand=BRAND, source="rss", started_at=T0 + timedelta(minutes=n),
                       finished_at=T0 + timedelta(minutes=n), ok=False, error="timeout") for n in range(3)]
    other = JobRun(job="collect:SkyLark:rss", brand="SkyLark", source="rss", started_at=T0, finished_at=T0, ok=True)
    frame = health_frame([*failures, other], BRAND, {"rss": timedelta(minutes=10), "reddit": timedelta(minutes=5)})
    rows = frame.set_index("source")
    assert rows.loc["rss", "failures_in_row"] == 3 and rows.loc["rss", "runs"] == 3
    assert rows.loc["rss", "status"] == "unhealthy: 3 failures in a row, paused until 03 Nov 00:22 UTC"
    assert rows.loc["reddit", "status"] == "no runs yet" and rows.loc["reddit", "runs"] == 0


def test_page_shows_failures_and_rates(config):
    at = run_app(PAGE)
    assert (metric(at, "Sources"), metric(at, "Failing now"), metric(at, "Errors")) == ("2", "1", "1")
    assert "news" in at.error[0].value and FAILURE in at.error[0].value
    assert at.dataframe[0].value["source"].tolist() == ["news", "x"]
    assert len(at.get("vega_lite_chart")) == 1


def test_other_brands_runs_are_left_out(tmp_path, monkeypatch):
    db = tmp_path / "other.db"
    with SqliteStore(db) as store:
        store.add_mentions(MENTIONS[:10])
        store.record_run(JobRun(job="collect:SkyLark:x", brand="SkyLark", source="x", started_at=T0,
                                finished_at=T0, ok=False, error="boom"))
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, db)))
    at = run_app(PAGE)
    assert "No collector runs recorded for Aurora Air yet" in at.info[0].value
    assert "monitor run" in at.info[0].value and "no sources configured" in at.info[0].value


def test_jobs_frame_shows_failing_detection_first_and_leaves_other_brands_out():
    def job(name, brand, ok, minutes, error=None):
        return JobRun(job=name, brand=brand, started_at=T0 + timedelta(minutes=minutes),
                      finished_at=T0 + timedelta(minutes=minutes), ok=ok, error=error)

    frame = jobs_frame([job(f"detect:{BRAND}", BRAND, True, 0), job(f"detect:{BRAND}", BRAND, False, 5, "store down"),
                        job("deliver", None, True, 1), job("detect:SkyLark", "SkyLark", False, 2, "x")], BRAND)
    assert frame["job"].tolist() == [f"detect:{BRAND}", "deliver"]
    assert (frame.iloc[0]["errors"], frame.iloc[0]["last_error"], frame.iloc[0]["failing"]) == (1, "store down", True)


def test_page_shows_the_workers_and_a_failing_job(config):
    from datetime import datetime, timezone

    from monitor.store.base import WorkerBeat

    now = datetime.now(timezone.utc)
    db = Path(yaml.safe_load(config.read_text())["storage"]["path"])
    with SqliteStore(db) as store:
        store.heartbeat(WorkerBeat(id="worker-a", host="h", pid=1, started_at=now, beat_at=now,
                                   config_hash="not-this-one", capacity=4, holds=[f"detect:{BRAND}"]))
        store.record_run(JobRun(job=f"detect:{BRAND}", brand=BRAND, started_at=now, finished_at=now, ok=False,
                                error="Elasticsearch unavailable", worker="worker-a"))
    at = run_app(PAGE)
    errors = " ".join(e.value for e in at.error)
    assert f"detect:{BRAND}" in errors and "Elasticsearch unavailable" in errors
    assert "worker-a" in at.warning[0].value
    workers = at.dataframe[-1].value
    assert workers["worker"].tolist() == ["worker-a"] and workers["holds"].tolist() == [f"detect:{BRAND}"]
