"""One worker among many on a store: its identity, the jobs it claims, and its heartbeat.

Every ``monitor run`` is a worker. Before running a job (collect one brand × source, detect
one brand, queue one brand's reminders) it claims the job's lease in the store; the job runs
on one worker at a time, and on release it is due again one interval after it started. A
worker that dies keeps its claims until their lease runs out; then another takes them over.
The heartbeat, every third of a lease, renews what the worker holds and records what it holds
and which config it runs (its hash, so a worker started with a different config shows).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable

from monitor.store.base import JobRun, WorkerBeat

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.store.base import Store

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=5)
RECENT = timedelta(hours=1)


def new_worker_id() -> str:
    """A unique id for one process: host, pid and a random suffix (a restarted pid gets a new one)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


PROCESS_WORKER = new_worker_id()  # the owner of claims made outside ``monitor run`` (CLI commands, tests)


def config_hash(config: Config) -> str:
    """A short fingerprint of a validated config: workers sharing a store should show the same one."""
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:12]


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Claims:
    """The jobs one worker holds: claimed before a run, renewed by the heartbeat, released after."""

    def __init__(self, store: Store, worker: str, lease: timedelta, clock: Callable[[], datetime] = _now):
        self.store, self.worker, self.lease, self.clock = store, worker, lease, clock
        self._held: set[str] = set()
        self._lock = threading.Lock()

    def held(self) -> list[str]:
        with self._lock:
            return sorted(self._held)

    def run(self, name: str, every: timedelta, work: Callable[[], object]) -> bool:
        """Run ``work`` as job ``name`` if this worker can claim it now; False when it is not due or held."""
        started = self.clock()
        if not self.store.claim(name, self.worker, started, self.lease):
            return False
        with self._lock:
            self._held.add(name)
        try:
            work()
        finally:
            with self._lock:
                self._held.discard(name)
            if not self.store.release(name, self.worker, started + every):
                log.warning("job %s outlasted its lease and was taken over by another worker", name)
        return True

    def renew(self) -> None:
        """Extend the lease of every job running here (one that was taken over is reported)."""
        for name in self.held():
            if not self.store.renew(name, self.worker, self.clock(), self.lease):
                log.warning("lost the lease on %s to another worker", name)

    def release_all(self) -> None:
        """Hand back whatever is still held (on a graceful stop), due again at once."""
        for name in self.held():
            self.store.release(name, self.worker, self.clock())


class Heartbeat:
    """What a worker tells the store about itself, every beat."""

    def __init__(self, store: Store, claims: Claims, config: Config, capacity: int):
        now = _now()
        self.store, self.claims = store, claims
        self.beat = WorkerBeat(id=claims.worker, host=socket.gethostname(), pid=os.getpid(), started_at=now,
                               beat_at=now, config_hash=config_hash(config), capacity=capacity)

    def __call__(self, stopped: bool = False) -> None:
        self.claims.renew()
        self.beat = self.beat.model_copy(update={"beat_at": _now(), "holds": self.claims.held(), "stopped": stopped})
        self.store.heartbeat(self.beat)


def jobs_done(runs: list[JobRun], worker: str, now: datetime) -> int:
    """How many jobs ``worker`` finished in the hour before ``now``."""
    return sum(1 for run in runs if run.worker == worker and now - run.finished_at <= RECENT)


@dataclass(frozen=True)
class WorkerStatus:
    """One worker as ``monitor workers`` and the Sources health page show it."""

    id: str
    host: str
    pid: int
    state: str
    beat_at: datetime
    same_config: bool
    holds: tuple[str, ...]
    jobs_last_hour: int


def worker_statuses(store: Store, config: Config, now: datetime) -> list[WorkerStatus]:
    """Every worker that beat on ``store``: running, stopped, or silent (no beat for a lease: dead)."""
    runs = store.runs(limit=5000)
    expected = config_hash(config)
    found = []
    for beat in store.workers():
        state = "stopped" if beat.stopped else "running" if now - beat.beat_at <= config.lease else "silent"
        found.append(WorkerStatus(id=beat.id, host=beat.host, pid=beat.pid, state=state, beat_at=beat.beat_at,
                                  same_config=beat.config_hash == expected, holds=tuple(beat.holds),
                                  jobs_last_hour=jobs_done(runs, beat.id, now)))
    return found
