"""Shared work on Elasticsearch: leases on recurring jobs, claims on notifications, worker heartbeats.

Every claim is an optimistic-concurrency write (``if_seq_no`` / ``if_primary_term`` of the version
just read, or a ``create`` for a document that does not exist yet): of two workers racing for the
same document exactly one write succeeds, the other gets 409 and leaves the work to the winner.
Reads go through real-time GETs, so a claim never acts on a stale search hit.

Writes that a frequent search must find next (notification claims) wait for the index's next
refresh (``refresh=wait_for``) rather than force one. Leases, cursors and heartbeats (and job runs)
are written often and read back by GET or rarely listed: they are written without waiting, and
their listings refresh the small index first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from monitor.errors import ConflictError
from monitor.store.base import Lease, Notification, NotificationStatus, WorkerBeat
from monitor.store.changes import CAS_ATTEMPTS
from monitor.store.elastic_client import ApiError, Elasticsearch, NotFoundError
from monitor.store.elastic_mapping import epoch_seconds, notification_update
from monitor.store.elastic_queries import epoch_range, sorted_hits

READ_BY_GET = ("cursors", "leases")
"""Small indices whose compare-and-set writes need not wait for a refresh."""


class ElasticWork:
    """Leases, notification claims and heartbeats for :class:`~monitor.store.elastic.ElasticsearchStore`."""

    es: Elasticsearch
    _index: Callable[[str], str]
    _ensure: Callable[[str], str]
    _retrying: Callable[..., Any]
    _searcher: Callable[..., Any]

    def _refresh(self, kind: str) -> None:
        """Make the small index ``kind``'s writes searchable (before listing one of :data:`READ_BY_GET`)."""
        self._retrying(self.es.indices.refresh, f"refresh {kind}", index=self._index(kind), ignore_unavailable=True)

    # -- compare-and-set on one document ------------------------------------------------------

    def _read(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        """The document with its ``_seq_no`` and ``_primary_term``, or ``None`` (a real-time GET)."""
        try:
            return self.es.get(index=self._index(kind), id=doc_id).body
        except NotFoundError:
            return None

    def _write_if(self, kind: str, doc_id: str, document: dict[str, Any], read: dict[str, Any] | None) -> bool:
        """Write ``document`` only if it is still as ``read`` (absent when ``None``); False when it was not."""
        refresh = None if kind in READ_BY_GET else "wait_for"
        try:
            if read is None:
                self.es.create(index=self._ensure(kind), id=doc_id, document=document, refresh=refresh)
            else:
                self.es.index(index=self._index(kind), id=doc_id, document=document, refresh=refresh,
                              if_seq_no=read["_seq_no"], if_primary_term=read["_primary_term"])
        except ApiError as exc:
            if exc.meta.status == 409:
                return False
            raise
        return True

    # -- leases on recurring work -------------------------------------------------------------

    def _change_lease(self, name: str, change: Callable[[Lease | None], Lease | None]) -> bool:
        """Apply ``change`` to the lease as read; on a write conflict read again and decide again.

        False when ``change`` refuses (returns ``None``) the lease as it now is.
        """
        def attempt() -> bool | None:
            read = self._read("leases", name)
            current = Lease.model_validate(read["_source"]["data"]) if read else None
            wanted = change(current)
            if wanted is None:
                return False
            document = {"name": name, "owner": wanted.owner, "data": wanted.model_dump(mode="json")}
            return True if self._write_if("leases", name, document, read) else None

        for _ in range(CAS_ATTEMPTS):
            done = self._retrying(attempt, f"claim {name}")
            if done is not None:
                return done
        return False

    def claim(self, name: str, owner: str, now: datetime, lease: timedelta) -> bool:
        return self._change_lease(name, lambda current: Lease(name=name, owner=owner, lease_until=now + lease,
                                                              due_at=now)
                                  if current is None or current.claimable(now) else None)

    def renew(self, name: str, owner: str, now: datetime, lease: timedelta) -> bool:
        return self._change_lease(name, lambda current: current.model_copy(update={"lease_until": now + lease})
                                  if current is not None and current.owner == owner else None)

    def release(self, name: str, owner: str, next_due: datetime) -> bool:
        return self._change_lease(name, lambda current: Lease(name=name, due_at=next_due)
                                  if current is not None and current.owner == owner else None)

    def leases(self) -> list[Lease]:
        self._refresh("leases")
        hits = sorted_hits(self._searcher(), self._index("leases"), {"match_all": {}}, [{"name": "asc"}], 0, 10_000)
        return [Lease.model_validate(h["_source"]["data"]) for h in hits]

    # -- notification claims ------------------------------------------------------------------

    def claim_notifications(self, owner: str, now: datetime, lease: timedelta, limit: int = 100) -> list[Notification]:
        query = {"bool": {"filter": [
            {"terms": {"status": [NotificationStatus.PENDING.value, NotificationStatus.SENDING.value]}},
            epoch_range("due_at", lte=now),
        ]}}
        hits = sorted_hits(self._searcher(), self._index("notifications"), query, [{"seq": "asc"}], 0, limit,
                           seq_no_primary_term=True)
        claimed = []
        for hit in hits:
            found = Notification.model_validate(hit["_source"]["data"])
            if found.due_at > now:  # the index keeps whole seconds
                continue
            mine = found.model_copy(update={"owner": owner, "lease_until": now + lease})
            document = {**hit["_source"], **notification_update(mine)}
            if self._retrying(self._write_if, "claim a notification", "notifications", found.key, document, hit):
                claimed.append(mine)
        return claimed

    def _update_held(self, notification: Notification, owner: str) -> None:
        def attempt() -> None:
            read = self._read("notifications", notification.key)
            if read is None:
                return
            holder = read["_source"]["data"].get("owner")
            if holder != owner or not self._write_if("notifications", notification.key,
                                                     {**read["_source"], **notification_update(notification)}, read):
                raise ConflictError(f"notification {notification.key} is held by {holder}, not {owner}")

        self._retrying(attempt, "update a notification")

    # -- worker heartbeats ----------------------------------------------------------------------

    def heartbeat(self, beat: WorkerBeat) -> None:
        self._retrying(self.es.index, "record a heartbeat", index=self._ensure("workers"), id=beat.id,
                       document={"id": beat.id, "beat_at": epoch_seconds(beat.beat_at),
                                 "data": beat.model_dump(mode="json")})

    def workers(self) -> list[WorkerBeat]:
        self._refresh("workers")
        hits = sorted_hits(self._searcher(), self._index("workers"), {"match_all": {}},
                           [{"beat_at": "desc"}, {"id": "asc"}], 0, 10_000)
        return [WorkerBeat.model_validate(h["_source"]["data"]) for h in hits]

