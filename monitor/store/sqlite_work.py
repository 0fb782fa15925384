"""Shared work on SQLite: leases on recurring jobs, claims on notifications, worker heartbeats.

Every claim reads and writes inside one ``BEGIN IMMEDIATE`` transaction, which holds the file's
write lock: of two processes (or threads) racing for the same work exactly one sees it free.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from monitor.store.base import Lease, Notification, WorkerBeat


def _moment(stamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(stamp, tz=timezone.utc) if stamp is not None else None


def _lease_of(row: Sequence[Any]) -> Lease:
    return Lease(name=row[0], owner=row[1], lease_until=_moment(row[2]), due_at=_moment(row[3]))


class SqliteWork:
    """Leases, notification claims and heartbeats for :class:`~monitor.store.sqlite.SqliteStore`."""

    _tx: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _query: Callable[..., list[tuple[Any, ...]]]
    _due: Callable[[sqlite3.Connection, datetime, int], list[Notification]]
    _write_notification: Callable[[sqlite3.Connection, Notification], None]

    def claim_notifications(self, owner: str, now: datetime, lease: timedelta, limit: int = 100) -> list[Notification]:
        with self._tx() as db:
            claimed = [n.model_copy(update={"owner": owner, "lease_until": now + lease})
                       for n in self._due(db, now, limit)]
            for notification in claimed:
                self._write_notification(db, notification)
        return claimed

    def claim(self, name: str, owner: str, now: datetime, lease: timedelta) -> bool:
        with self._tx() as db:
            found = self._lease(db, name)
            if found is not None and not found.claimable(now):
                return False
            self._put_lease(db, Lease(name=name, owner=owner, lease_until=now + lease, due_at=now))
        return True

    def renew(self, name: str, owner: str, now: datetime, lease: timedelta) -> bool:
        with self._tx() as db:
            found = self._lease(db, name)
            if found is None or found.owner != owner:
                return False
            self._put_lease(db, found.model_copy(update={"lease_until": now + lease}))
        return True

    def release(self, name: str, owner: str, next_due: datetime) -> bool:
        with self._tx() as db:
            found = self._lease(db, name)
            if found is None or found.owner != owner:
                return False
            self._put_lease(db, Lease(name=name, due_at=next_due))
        return True

    @staticmethod
    def _lease(db: sqlite3.Connection, name: str) -> Lease | None:
        row = db.execute("SELECT name, owner, lease_until, due_at FROM leases WHERE name=?", (name,)).fetchone()
        return _lease_of(row) if row else None

    @staticmethod
    def _put_lease(db: sqlite3.Connection, lease: Lease) -> None:
        db.execute(
            "INSERT OR REPLACE INTO leases (name, owner, lease_until, due_at) VALUES (?,?,?,?)",
            (lease.name, lease.owner, lease.lease_until.timestamp() if lease.lease_until else None,
             lease.due_at.timestamp()),
        )

    def leases(self) -> list[Lease]:
        return [_lease_of(row) for row in self._query("SELECT name, owner, lease_until, due_at FROM leases ORDER BY name")]

    def heartbeat(self, beat: WorkerBeat) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO workers (id, beat_at, data) VALUES (?,?,?)",
                       (beat.id, beat.beat_at.timestamp(), beat.model_dump_json()))

    def workers(self) -> list[WorkerBeat]:
        return [WorkerBeat.model_validate_json(r[0]) for r in self._query("SELECT data FROM workers ORDER BY beat_at DESC")]
