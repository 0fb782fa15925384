"""Cached reads for the Sources health page: each source's recorded runs, the other jobs, and the workers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import streamlit as st

from monitor.dashboard.data import TTL, store
from monitor.health import source_health
from monitor.localtime import shown, zone
from monitor.store.base import JobRun
from monitor.workers import worker_statuses

RUNS = 5000
HEALTH_COLUMNS = ["source", "status", "last_run", "last_ok", "runs", "errors", "failures_in_row", "fetched",
                  "stored", "unreadable", "per_hour", "last_error", "healthy"]


def _status(runs: list[JobRun], failures: int, healthy: bool, retry_at: str) -> str:
    if not runs:
        return "no runs yet"
    if not failures:
        return "ok"
    if healthy:
        return f"failing ({failures} in a row)"
    return f"unhealthy: {failures} failures in a row, paused until {retry_at}"


def health_frame(runs: list[JobRun], brand: str, sources: dict[str, timedelta],
                 zone_name: str = "UTC") -> pd.DataFrame:
    """One row per configured (or recorded) source of ``brand``, failing ones first.

    ``sources`` maps each configured source to how often it runs (for the retry time);
    ``per_hour`` divides what was stored by the time the runs span (at least one hour).
    """
    by_source: dict[str, list[JobRun]] = {name: [] for name in sources}
    for run in runs:
        if run.brand == brand and run.source:
            by_source.setdefault(run.source, []).append(run)
    rows = []
    for source, found in by_source.items():
        found.sort(key=lambda r: r.started_at)
        health = source_health(found, brand, source, sources.get(source, timedelta(minutes=5)))
        failed = [r for r in found if not r.ok]
        span = max(found[-1].finished_at - found[0].started_at, timedelta(hours=1)) if found else timedelta(hours=1)
        stored = sum(r.stored for r in found)
        retry = shown(health.retry_at, zone(zone_name)) if health.retry_at else "the next run"
        rows.append({
            "source": source, "status": _status(found, health.failures, health.healthy, retry),
            "last_run": found[-1].finished_at if found else None,
            "last_ok": max((r.finished_at for r in found if r.ok), default=None),
            "runs": len(found), "errors": len(failed), "failures_in_row": health.failures,
            "fetched": sum(r.fetched for r in found), "stored": stored,
            "unreadable": sum(r.unreadable for r in found),
            "per_hour": stored / (span / timedelta(hours=1)) if found else None,
            "last_error": failed[-1].error if failed else "", "healthy": bool(found) and health.failures == 0,
        })
    frame = pd.DataFrame(rows, columns=HEALTH_COLUMNS)
    for column in ("last_run", "last_ok"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["per_hour"] = pd.to_numeric(frame["per_hour"])
    return frame.sort_values(["healthy", "source"]).reset_index(drop=True)


@st.cache_data(ttl=TTL, show_spinner=False)
def source_health_frame(store_key: str, brand: str, sources: tuple[tuple[str, float], ...],
                        zone_name: str = "UTC") -> pd.DataFrame:
    """:func:`health_frame` over the most recent collector runs; ``sources`` as (name, seconds between runs)."""
    runs = [r for r in store(store_key).runs(limit=RUNS) if r.job.startswith("collect:")]
    return health_frame(runs, brand, {name: timedelta(seconds=every) for name, every in sources}, zone_name)


WORKER_COLUMNS = ["worker", "state", "last_beat", "config", "jobs_last_hour", "holds"]
JOB_COLUMNS = ["job", "runs", "errors", "last_run", "last_error", "failing"]


@st.cache_data(ttl=TTL, show_spinner=False)
def workers_frame(store_key: str, config_path: str) -> pd.DataFrame:
    """The workers on the store (see ``monitor workers``), the config each runs compared with this one."""
    from monitor import config as config_lib

    config = config_lib.load(config_path)
    rows = [{"worker": w.id, "state": w.state, "last_beat": w.beat_at,
             "config": "same" if w.same_config else "differs", "jobs_last_hour": w.jobs_last_hour,
             "holds": ", ".join(w.holds)}
            for w in worker_statuses(store(store_key), config, datetime.now(timezone.utc))]
    frame = pd.DataFrame(rows, columns=WORKER_COLUMNS)
    frame["last_beat"] = pd.to_datetime(frame["last_beat"], utc=True)
    return frame


def jobs_frame(runs: list[JobRun], brand: str) -> pd.DataFrame:
    """The brand's other jobs (detect, reminders) and delivery: runs, errors, the latest error; failing first."""
    by_job: dict[str, list[JobRun]] = {}
    for run in sorted(runs, key=lambda r: r.started_at):
        if not run.job.startswith("collect:") and run.brand in (brand, None):
            by_job.setdefault(run.job, []).append(run)
    rows = [{"job": job, "runs": len(found), "errors": sum(not r.ok for r in found), "last_run": found[-1].finished_at,
             "last_error": next((r.error for r in reversed(found) if not r.ok), "") or "",
             "failing": not found[-1].ok} for job, found in by_job.items()]
    frame = pd.DataFrame(rows, columns=JOB_COLUMNS)
    frame["last_run"] = pd.to_datetime(frame["last_run"], utc=True)
    return frame.sort_values(["failing", "job"], ascending=[False, True]).reset_index(drop=True)


@st.cache_data(ttl=TTL, show_spinner=False)
def job_health_frame(store_key: str, brand: str) -> pd.DataFrame:
    """:func:`jobs_frame` over the most recent runs."""
    return jobs_frame(store(store_key).runs(limit=RUNS), brand)
