"""Source health from the recorded collect runs: failures in a row, unhealthy, next retry.

A source whose last ``UNHEALTHY_AFTER`` runs failed is unhealthy: the pipeline skips it
until ``retry_at``, which doubles with every further failure (from its ``every`` up to
``MAX_BACKOFF``). One successful run makes it healthy again. The runs are the ones
``Store.record_run`` keeps, so the dashboard shows the same state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from monitor.store.base import JobRun

UNHEALTHY_AFTER = 3
MAX_BACKOFF = timedelta(hours=6)


def collect_job(brand: str, source: str) -> str:
    """The job name the pipeline records collect runs under."""
    return f"collect:{brand}:{source}"


@dataclass(frozen=True)
class SourceHealth:
    brand: str
    source: str
    failures: int
    last_error: str | None = None
    retry_at: datetime | None = None

    @property
    def healthy(self) -> bool:
        return self.failures < UNHEALTHY_AFTER

    def due(self, now: datetime) -> bool:
        """Whether a run should happen at ``now``: always when healthy, else from ``retry_at``."""
        return self.healthy or self.retry_at is None or now >= self.retry_at


def backoff(failures: int, every: timedelta) -> timedelta:
    """The wait after ``failures`` failures in a row (none before the source is unhealthy)."""
    if failures < UNHEALTHY_AFTER:
        return timedelta(0)
    doublings = min(failures - UNHEALTHY_AFTER + 1, 64)
    return timedelta(seconds=min(every.total_seconds() * 2.0 ** doublings, MAX_BACKOFF.total_seconds()))


def source_health(runs: Sequence[JobRun], brand: str, source: str, every: timedelta) -> SourceHealth:
    """Health of one source from recorded runs (any order)."""
    job = collect_job(brand, source)
    mine = sorted((r for r in runs if r.job == job), key=lambda r: r.started_at, reverse=True)
    failures = 0
    for run in mine:
        if run.ok:
            break
        failures += 1
    if failures == 0:
        return SourceHealth(brand, source, 0)
    last = mine[0]
    retry_at = last.finished_at + backoff(failures, every) if failures >= UNHEALTHY_AFTER else None
    return SourceHealth(brand, source, failures, last.error, retry_at)
