"""The ``Store`` protocol every storage backend implements, and the records it exchanges."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any, Iterable, Protocol, Sequence, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from monitor.models import Incident, Mention, SentimentLabel, Silence

GROUP_FIELDS = ("sentiment", "source", "language")


class CursorUpdate(BaseModel):
    """A collector's position, saved in the same transaction as the batch it follows."""

    brand: str
    source: str
    value: str


class MentionFilter(BaseModel):
    """What to select in :meth:`Store.search` (all fields optional, combined with AND)."""

    model_config = ConfigDict(extra="forbid")

    brands: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    sentiments: list[SentimentLabel] = Field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    ids: list[str] = Field(default_factory=list)
    conversations: list[str] = Field(default_factory=list)
    """Mentions of these threads (:attr:`Mention.conversation`)."""
    limit: int = 100
    offset: int = 0
    newest_first: bool = True
    most_engaged: bool = False
    """Order by interactions (likes + shares + replies), most first, then newest first; ignores ``newest_first``."""


class SeriesRow(BaseModel):
    """Mentions of one brand in one time bucket, for one combination of group values."""

    bucket: datetime
    group: dict[str, str] = Field(default_factory=dict)
    count: int


class NotificationStatus(str, enum.Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Notification(BaseModel):
    """One message to deliver; ``key`` makes enqueueing idempotent across restarts."""

    key: str
    incident_id: str
    kind: str
    channel: str
    payload: dict[str, Any]
    status: NotificationStatus = NotificationStatus.PENDING
    attempts: int = 0
    created_at: datetime
    not_before: datetime | None = None
    sent_at: datetime | None = None
    external_id: str | None = None
    error: str | None = None


class JobRun(BaseModel):
    """The outcome of one scheduled job, for source health."""

    job: str
    brand: str | None = None
    source: str | None = None
    started_at: datetime
    finished_at: datetime
    ok: bool
    fetched: int = 0
    stored: int = 0
    unreadable: int = 0
    """Items the collector could not read and skipped."""
    error: str | None = None


@runtime_checkable
class Store(Protocol):
    """Persistence for mentions, cursors, incidents, notifications and job runs."""

    def add_mentions(self, mentions: Sequence[Mention], cursor: CursorUpdate | None = None) -> int:
        """Insert mentions not stored yet (by brand and id) and save ``cursor`` atomically.

        Returns how many were new. Engagement of already stored mentions is refreshed.
        """

    def get_cursor(self, brand: str, source: str) -> str | None: ...

    def search(self, query: MentionFilter) -> list[Mention]: ...

    def count(self, query: MentionFilter) -> int: ...

    def series(
        self,
        brand: str,
        start: datetime,
        end: datetime,
        bucket: timedelta,
        group_by: Sequence[str] = (),
    ) -> list[SeriesRow]:
        """Counts per bucket in ``[start, end)``, grouped by any of :data:`GROUP_FIELDS`.

        Buckets are aligned to the Unix epoch; empty buckets are omitted.
        """

    def save_incident(self, incident: Incident, notifications: Sequence[Notification] = ()) -> None:
        """Insert or replace ``incident`` and queue ``notifications`` in the same transaction."""

    def get_incident(self, incident_id: str) -> Incident | None: ...

    def active_incident(self, fingerprint: str) -> Incident | None:
        """The open, acknowledged or mitigated incident with this fingerprint, if any."""

    def latest_incident(self, fingerprint: str) -> Incident | None: ...

    def incidents(self, brand: str | None = None, since: datetime | None = None) -> list[Incident]: ...

    def enqueue(self, notification: Notification) -> bool:
        """Queue a notification; returns False when its key was queued before."""

    def due_notifications(self, now: datetime, limit: int = 100) -> list[Notification]: ...

    def update_notification(self, notification: Notification) -> None: ...

    def notifications(self, incident_id: str | None = None) -> list[Notification]: ...

    def add_silence(self, silence: Silence) -> None:
        """Insert or replace a silence (by id)."""

    def silences(self, active_at: datetime | None = None) -> list[Silence]:
        """All silences, newest first, or only those in force at ``active_at``."""

    def record_run(self, run: JobRun) -> None: ...

    def runs(self, limit: int = 200) -> list[JobRun]: ...

    def brands(self) -> list[str]: ...

    def close(self) -> None: ...


def totals_by_bucket(rows: Iterable[SeriesRow], field: str | None = None) -> dict[datetime, dict[str, int]]:
    """Pivot series rows into ``{bucket: {group value: count}}`` (``"total"`` when ungrouped)."""
    table: dict[datetime, dict[str, int]] = {}
    for row in rows:
        key = row.group.get(field, "unknown") if field else "total"
        cell = table.setdefault(row.bucket, {})
        cell[key] = cell.get(key, 0) + row.count
    return table


def bucket_floor(moment: datetime, bucket: timedelta) -> datetime:
    """The start of the epoch-aligned bucket holding ``moment``."""
    seconds = int(bucket.total_seconds())
    stamp = int(moment.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, tz=moment.tzinfo)
