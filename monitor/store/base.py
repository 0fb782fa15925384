"""The ``Store`` protocol every storage backend implements, and the records it exchanges."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime, timedelta
from typing import (
    Any, Iterable, Iterator, Literal, NamedTuple, Protocol, Sequence, Union, runtime_checkable,
)

from pydantic import BaseModel, ConfigDict, Field

from monitor.models import Incident, Mention, SentimentCorrection, SentimentLabel, Silence

GROUP_FIELDS = ("sentiment", "source", "language")


class CursorUpdate(BaseModel):
    """A collector's position, saved in the same transaction as the batch it follows.

    With ``checked``, the save is compare-and-set: it succeeds only while the stored cursor is
    still ``expected`` (``None``: no cursor yet), else :class:`~monitor.errors.ConflictError`.
    """

    brand: str
    source: str
    value: str
    expected: str | None = None
    checked: bool = False


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


class Totals(BaseModel):
    """What a selection of mentions adds up to (:meth:`Store.totals`)."""

    mentions: int = 0
    interactions: int = 0
    """Likes, shares and replies of all of them."""
    reach: int = 0
    """The sum of their :attr:`~monitor.models.Mention.estimated_reach` (views, else followers)."""


class AuthorTotals(BaseModel):
    """One author's mentions in a selection (:meth:`Store.authors`)."""

    author: str
    mentions: int
    interactions: int
    followers: int
    """The most followers any of the author's mentions reported."""


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
    owner: str | None = None
    lease_until: datetime | None = None

    @property
    def due_at(self) -> datetime:
        """When it may be taken: after its claim's lease, else after ``not_before``."""
        return self.lease_until or self.not_before or self.created_at

    def released(self) -> Notification:
        """This notification with its claim dropped (for the write that finishes a delivery step)."""
        return self.model_copy(update={"owner": None, "lease_until": None})


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
    worker: str | None = None


class Lease(BaseModel):
    """A named piece of recurring work (``collect:BRAND:SOURCE``, ``detect:BRAND``, ...) and who holds it.

    It can be claimed once ``due_at`` has passed and nobody holds an unexpired lease on it.
    """

    name: str
    owner: str | None = None
    lease_until: datetime | None = None
    due_at: datetime

    def claimable(self, now: datetime) -> bool:
        return self.due_at <= now and (self.owner is None or self.lease_until is None or self.lease_until <= now)


class ExportKind(str, enum.Enum):
    """What :meth:`Store.export` reads, each in the order it was stored."""

    MENTIONS = "mentions"
    CURSORS = "cursors"
    INCIDENTS = "incidents"
    NOTIFICATIONS = "notifications"
    SILENCES = "silences"
    RUNS = "runs"
    CORRECTIONS = "corrections"


Record = Union[Mention, CursorUpdate, Incident, Notification, Silence, JobRun, SentimentCorrection]


class Exported(NamedTuple):
    """One stored record and its position: ``export(kind, after=position)`` goes on after it."""

    position: str
    record: Record


class WorkerBeat(BaseModel):
    """A worker's heartbeat: who it is, when it last beat, which config it runs and what it holds."""

    id: str
    host: str
    pid: int
    started_at: datetime
    beat_at: datetime
    config_hash: str
    capacity: int
    holds: list[str] = Field(default_factory=list)
    stopped: bool = False


class Pruned(BaseModel):
    """What :meth:`Store.prune_mentions` deleted."""

    mentions: int
    indices: list[str] = Field(default_factory=list)
    """Elasticsearch: the monthly indices deleted."""


class StreamRecord(BaseModel):
    """What a stream's record (a like, a repost, a post) pointed at, so taking it back can be undone.

    ``key`` is the stream's own name for the record, hashed (see :func:`record_key`); ``kind`` says
    what deleting it takes away from the mention ``mention_id``.
    """

    model_config = ConfigDict(frozen=True)

    key: str
    mention_id: str
    kind: Literal["like", "share", "reply", "post"]
    at: datetime


def record_key(*parts: str) -> str:
    """A compact, fixed-length key for a stream record named by ``parts`` (its author, collection, key)."""
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


@runtime_checkable
class Store(Protocol):
    """Persistence for mentions, cursors, incidents, notifications and job runs."""

    @classmethod
    def from_config(cls, settings: Any) -> Store:
        """Open the store its options describe (``storage.settings``: the store's own ``Config``,
        validated when the file was loaded)."""

    def add_mentions(self, mentions: Sequence[Mention], cursor: CursorUpdate | None = None) -> int:
        """Insert mentions not stored yet (by brand and id) and save ``cursor`` atomically.

        Returns how many were new. Engagement of already stored mentions is refreshed. A checked
        cursor that lost its compare-and-set raises ConflictError (the mentions, idempotent, may stay).
        """

    def revise_mentions(self, mentions: Sequence[Mention]) -> None:
        """Replace stored mentions by these (matched by brand and id; others ignored): engagement may go
        down (a like taken back), the deletion mark is kept."""

    def stream_records(self, brand: str, keys: Sequence[str]) -> dict[str, StreamRecord]:
        """The remembered stream records of ``brand`` among ``keys``."""

    def keep_stream_records(self, brand: str, kept: Sequence[StreamRecord], forgotten: Sequence[str],
                            before: datetime | None = None) -> None:
        """Remember ``kept``, forget the keys ``forgotten`` and, when ``before`` is given, every record
        of ``brand`` older than it (the memory stays bounded)."""

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

    def totals(self, query: MentionFilter) -> Totals:
        """How many mentions match ``query`` (its limit and order ignored), with their interactions and reach."""

    def authors(self, query: MentionFilter) -> list[AuthorTotals]:
        """The authors of the mentions matching ``query``, most mentions first (then most interactions,
        then by name), at most ``query.limit``; mentions without an author are left out."""

    def correct_sentiment(self, brand: str, mention_id: str, label: SentimentLabel, by: str,
                          at: datetime) -> SentimentCorrection | None:
        """Give the mention the label ``label`` set by ``by`` (in searches, counts and series from now on)
        and keep the correction; None (and no change) when there is no such mention."""

    def corrections(self, brand: str | None = None) -> list[SentimentCorrection]:
        """Every correction kept (of one brand, or all), newest first."""

    def keep_correction(self, correction: SentimentCorrection, key: str) -> None:
        """Keep a correction made in another store (``monitor store copy``), once per ``key``.

        The mention's label is not touched: it travels with the mention.
        """

    def save_incident(self, incident: Incident, notifications: Sequence[Notification] = ()) -> None:
        """Save ``incident`` compare-and-set and queue ``notifications`` with it.

        The write succeeds only when the stored version is still ``incident.version`` (0: it must
        not exist yet); then ``incident.version`` is the new version. Otherwise it raises
        :class:`~monitor.errors.ConflictError` and neither the incident nor the notifications change.
        """

    def get_incident(self, incident_id: str) -> Incident | None: ...

    def active_incident(self, fingerprint: str) -> Incident | None:
        """The open, acknowledged or mitigated incident with this fingerprint, if any."""

    def latest_incident(self, fingerprint: str) -> Incident | None: ...

    def incidents(self, brand: str | None = None, since: datetime | None = None) -> list[Incident]: ...

    def enqueue(self, notification: Notification) -> bool:
        """Queue a notification; returns False when its key was queued before."""

    def due_notifications(self, now: datetime, limit: int = 100) -> list[Notification]:
        """Pending or sending notifications whose :attr:`~Notification.due_at` has come, in queue order."""

    def claim_notifications(self, owner: str, now: datetime, lease: timedelta, limit: int = 100) -> list[Notification]:
        """Take up to ``limit`` due notifications for ``owner`` until ``now + lease``, in queue order.

        A notification is held by one owner at a time; one whose lease ran out is due again (one
        left ``sending`` is then looked up by its key before it is sent: see the delivery worker).
        """

    def update_notification(self, notification: Notification, owner: str | None = None) -> None:
        """Save ``notification``; with ``owner``, only while ``owner`` still holds it (else ConflictError).

        Updating an unknown key is a no-op.
        """

    def notifications(self, incident_id: str | None = None) -> list[Notification]: ...

    def save_silence(self, silence: Silence) -> None:
        """Save ``silence`` compare-and-set, as :meth:`save_incident` saves an incident (``silence.version``)."""

    def get_silence(self, silence_id: str) -> Silence | None: ...

    def silences(self, active_at: datetime | None = None) -> list[Silence]:
        """All silences, newest first, or only those in force at ``active_at``."""

    def claim(self, name: str, owner: str, now: datetime, lease: timedelta) -> bool:
        """Take the work ``name`` until ``now + lease`` when it is due and free (or its lease ran out)."""

    def renew(self, name: str, owner: str, now: datetime, lease: timedelta) -> bool:
        """Extend ``owner``'s lease on ``name``; False when someone else holds it now."""

    def release(self, name: str, owner: str, next_due: datetime) -> bool:
        """Let go of ``name``, due again at ``next_due``; False (and no change) when ``owner`` lost it."""

    def leases(self) -> list[Lease]: ...

    def heartbeat(self, beat: WorkerBeat) -> None:
        """Insert or replace a worker's heartbeat (by id)."""

    def workers(self) -> list[WorkerBeat]:
        """Every worker's latest heartbeat, newest beat first."""

    def record_run(self, run: JobRun, run_id: str | None = None) -> None:
        """Append ``run``; with ``run_id`` the write is idempotent (a run already recorded under it stays)."""

    def prune_mentions(self, before: datetime) -> Pruned:
        """Delete mentions created before ``before`` (retention); those created since stay.

        SQLite deletes exactly those; Elasticsearch deletes each monthly index whose whole month
        lies before ``before``, so mentions of the cutoff's own month stay until it has passed.
        """

    def runs(self, limit: int = 200) -> list[JobRun]: ...

    def brands(self) -> list[str]: ...

    def export(self, kind: ExportKind, after: str | None = None) -> Iterator[Exported]:
        """Every record of ``kind`` in the order it was stored, from just after position ``after``.

        Read page by page, so a store of any size streams out; what ``monitor store copy`` reads.
        Mentions come with their current engagement, incidents and silences at their version.
        """

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
