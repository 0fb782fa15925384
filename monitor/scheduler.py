"""APScheduler wiring: one job per (brand, source), a detect job, a delivery job and the care digest.

Jobs never overlap (``max_instances=1``), missed runs are coalesced into one, start times
are jittered so sources are not hit in lockstep, and a failing job is logged and counted
without stopping the others.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.errors import MonitorError

if TYPE_CHECKING:
    from monitor.alerts.interactive import InteractiveServer
    from monitor.pipeline import Pipeline

log = logging.getLogger(__name__)

DELIVERY_EVERY = timedelta(seconds=30)


class Service:
    """The long-running service behind ``monitor run``."""

    def __init__(self, pipeline: Pipeline, workers: int = 4, interactive: InteractiveServer | None = None):
        self.pipeline = pipeline
        self.failures: Counter[str] = Counter()
        self.successes: Counter[str] = Counter()
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
            timezone="UTC",
        )
        self._stopped = False
        self.interactive = interactive
        self._shutdown = threading.Event()
        self._add_jobs()

    def _guarded(self, name: str, work: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
                self.successes[name] += 1
            except MonitorError as exc:
                self.failures[name] += 1
                log.error("job %s failed (%d so far): %s", name, self.failures[name], exc)
            except Exception:
                self.failures[name] += 1
                log.exception("job %s crashed (%d so far)", name, self.failures[name])

        return run

    def _add_jobs(self) -> None:
        config = self.pipeline.config
        for brand in config.brands:
            for source in brand.sources:
                if not source.enabled:
                    continue
                name = f"collect:{brand.name}:{source.key}"
                every = source.every.total_seconds()
                self.scheduler.add_job(
                    self._guarded(name, lambda b=brand.name, s=source.key: self.pipeline.collect(b, s)),
                    IntervalTrigger(seconds=every, jitter=min(every * 0.1, 30)),
                    id=name, name=name, next_run_time=self._first_run(),
                )
        detect_every = config.detection.every.total_seconds()
        self.scheduler.add_job(
            self._guarded("detect", self.pipeline.detect),
            IntervalTrigger(seconds=detect_every), id="detect", name="detect",
        )
        self.scheduler.add_job(
            self._guarded("deliver", self.pipeline.deliver),
            IntervalTrigger(seconds=DELIVERY_EVERY.total_seconds()), id="deliver", name="deliver",
            next_run_time=self._first_run(),
        )
        self.scheduler.add_job(
            self._guarded("care-digest", self.pipeline.care_digest),
            IntervalTrigger(seconds=config.care.digest_every.total_seconds()), id="care-digest", name="care-digest",
        )

    def _first_run(self) -> Any:
        return self.pipeline.clock()

    def job_names(self) -> list[str]:
        return [job.id for job in self.scheduler.get_jobs()]

    def start(self) -> None:
        self.scheduler.start()
        if self.interactive:
            self.interactive.start()
        log.info("monitor running %d jobs; Ctrl-C to stop", len(self.scheduler.get_jobs()))

    def request_stop(self) -> None:
        """Ask :meth:`run_forever` to return (what SIGINT and SIGTERM do)."""
        self._shutdown.set()

    def stop(self) -> None:
        """Stop taking new runs, let running jobs finish, close the store."""
        if self._stopped:
            return
        self._stopped = True
        log.info("stopping: waiting for running jobs to finish")
        if self.interactive:
            self.interactive.stop()
        self.scheduler.shutdown(wait=True)
        self.pipeline.store.close()

    def run_forever(self) -> None:
        """Start, then block until SIGINT or SIGTERM."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._shutdown.set())
        self.start()
        try:
            while not self._shutdown.wait(1.0):
                pass
        finally:
            self.stop()
