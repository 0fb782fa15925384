"""APScheduler wiring: one job per (brand, source), detect and reminders per brand, the digests,
retention (daily, with ``storage.retention``), delivery.

A streaming source's job holds its stream (:class:`~monitor.live.LiveSource`) for as long as
this worker holds its claim, on a thread of its own; a stop ends the streams first.

The service is one worker of any number on one store (see :mod:`monitor.workers`): every
``workers.poll`` it tries to claim each job that is due, runs the ones it got (at most
``workers.capacity`` at once) and releases them; delivery runs on every worker, each claiming
its own notifications. Jobs never overlap, missed runs are coalesced into one, start times are
jittered so sources are not hit in lockstep, and a failing job is logged and counted without
stopping the others. A graceful stop lets running jobs finish and hands back every claim.
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

from monitor import registry
from monitor.collectors.stream import is_stream
from monitor.errors import MonitorError
from monitor.health import collect_job
from monitor.live import LiveSource
from monitor.store import retention
from monitor.workers import Claims, Heartbeat, new_worker_id

if TYPE_CHECKING:
    from monitor.alerts.notify.slack.interactive import Interactivity
    from monitor.config import BrandConfig, SourceConfig
    from monitor.pipeline import Pipeline

log = logging.getLogger(__name__)

BEAT = "heartbeat"  # its own thread: busy jobs must not delay the renewal of their leases
STREAMS = "streams"  # threads of their own for streaming sources, so a held stream never takes a job's place


class Service:
    """The long-running service behind ``monitor run``: one worker."""

    def __init__(self, pipeline: Pipeline, interactive: Interactivity | None = None, worker: str | None = None):
        self.pipeline = pipeline
        self.worker = worker or new_worker_id()
        pipeline.worker = self.worker
        config = pipeline.config
        self.claims = Claims(pipeline.store, self.worker, config.lease)
        self.heartbeat = Heartbeat(pipeline.store, self.claims, config, config.workers.capacity)
        self.failures: Counter[str] = Counter()
        self.successes: Counter[str] = Counter()
        self.streams_stop = threading.Event()
        self._streaming: set[str] = set()
        self._streams_lock = threading.Lock()
        streams = [(b.name, s.key) for b in config.brands for s in b.sources
                   if s.enabled and is_stream(registry.load(registry.COLLECTORS, s.type))]
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(config.workers.capacity), BEAT: ThreadPoolExecutor(1),
                       STREAMS: ThreadPoolExecutor(max(2 * len(streams), 1))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
            timezone="UTC",
        )
        self._stopped = False
        self.interactive = interactive
        self._shutdown = threading.Event()
        self._add_jobs(streams)

    def _guarded(self, name: str, work: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            try:
                if work() is not False:  # False: not due, or another worker holds it
                    self.successes[name] += 1
            except MonitorError as exc:
                self.failures[name] += 1
                log.error("job %s failed (%d so far): %s", name, self.failures[name], exc)
            except Exception:
                self.failures[name] += 1
                log.exception("job %s crashed (%d so far)", name, self.failures[name])

        return run

    def _add_jobs(self, streams: list[tuple[str, str]]) -> None:
        config = self.pipeline.config
        poll = config.workers.poll
        for brand in config.brands:
            for source in brand.sources:
                if (brand.name, source.key) in streams:
                    self._add_stream(brand, source)
                elif source.enabled:
                    self._add(collect_job(brand.name, source.key), source.every,
                              lambda b=brand.name, s=source.key: self.pipeline.collect(b, s))
            self._add(f"detect:{brand.name}", config.detection.every,
                      lambda b=brand.name: self.pipeline.detect_brand(b))
            self._add(f"reminders:{brand.name}", config.detection.every, lambda b=brand.name: self.pipeline.remind(b))
        self._add("care-digest", config.care.digest_every, self.pipeline.care_digest)
        if config.storage.retention is not None:
            self._add(retention.JOB, retention.EVERY, self._prune)
        if config.daily_digest.enabled:
            self._add("daily-digest", config.detection.every, self.pipeline.daily_digest)
        self.scheduler.add_job(self._guarded("deliver", self.pipeline.deliver), IntervalTrigger(
            seconds=poll.total_seconds()), id="deliver", name="deliver", next_run_time=self._first_run())
        beat = max(config.lease.total_seconds() / 3, 1.0)
        self.scheduler.add_job(self._guarded("heartbeat", self.heartbeat), IntervalTrigger(seconds=beat),
                               id="heartbeat", name="heartbeat", next_run_time=self._first_run(), executor=BEAT)

    def _add(self, name: str, every: timedelta, work: Callable[[], Any]) -> None:
        """Try to claim job ``name`` every poll (or every ``every``, when shorter)."""
        seconds = min(every, self.pipeline.config.workers.poll).total_seconds()
        self.scheduler.add_job(self._guarded(name, lambda: self.claims.run(name, every, work)),
                               IntervalTrigger(seconds=seconds, jitter=min(seconds * 0.1, 30)),
                               id=name, name=name, next_run_time=self._first_run())

    def _add_stream(self, brand: BrandConfig, source: SourceConfig) -> None:
        """A streaming source's job: held for as long as it runs; the polls meanwhile return at once."""
        name = collect_job(brand.name, source.key)

        def hold() -> bool:
            with self._streams_lock:
                if name in self._streaming:
                    return False
                self._streaming.add(name)
            try:
                return self.claims.run(name, source.every, lambda: LiveSource(self.pipeline, brand, source).run(
                    self.streams_stop))
            finally:
                with self._streams_lock:
                    self._streaming.discard(name)

        seconds = min(source.every, self.pipeline.config.workers.poll).total_seconds()
        self.scheduler.add_job(self._guarded(name, hold), IntervalTrigger(seconds=seconds), id=name, name=name,
                               next_run_time=self._first_run(), executor=STREAMS, max_instances=2)

    def _prune(self) -> None:
        """Delete mentions older than ``storage.retention`` (recorded as job ``retention``)."""
        before = self.pipeline.clock() - self.pipeline.config.storage.retention
        self.pipeline.recorded(retention.JOB, None, lambda: retention.prune(self.pipeline.store, before))

    def _first_run(self) -> Any:
        return self.pipeline.clock()

    def job_names(self) -> list[str]:
        return [job.id for job in self.scheduler.get_jobs()]

    def start(self) -> None:
        """Start the Slack interactivity (first: it can fail, e.g. a port in use), then the jobs."""
        if self.interactive:
            self.interactive.start()
        self.scheduler.start()
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
        self.streams_stop.set()
        if self.interactive:
            self.interactive.stop()
        self.scheduler.shutdown(wait=True)
        try:
            self.claims.release_all()
            self.heartbeat(stopped=True)
        except MonitorError as exc:
            log.error("could not hand back this worker's claims (they lapse with their lease): %s", exc)
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
