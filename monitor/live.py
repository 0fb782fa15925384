"""A streaming source run by the pipeline: each batch stored with its cursor, judged on arrival, beating.

Every batch the stream yields is written in one store call: the new posts that matched the
brand query (annotated), the posts already stored that the stream's likes, reposts, quotes
and replies refer to (their engagement raised), and the cursor, compare-and-set against the
one read before, so a worker whose claim lapsed stops with ``ConflictError`` instead of
moving the cursor under the worker now holding the stream. What was written is then judged
at once (:mod:`monitor.alerts.detect.arrival`) and any alert delivered.

The Sources health page shows a stream like a polled source: a run is recorded every
``heartbeat`` (what was read and stored since the last one), one failed run each time the
connection ends, and a last one when the stream stops.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.collectors.api import chunks
from monitor.collectors.base import FetchContext
from monitor.collectors.stream import KIND_FIELDS, StreamBatch, StreamCollector, is_stream
from monitor.config import BrandConfig, SourceConfig
from monitor.errors import ConfigError
from monitor.health import collect_job
from monitor.models import MAX_COUNT, Engagement, Mention
from monitor.pipeline import Pipeline, describe, utcnow
from monitor.store.base import CursorUpdate, JobRun, MentionFilter, StreamRecord

log = logging.getLogger(__name__)

HEARTBEAT = timedelta(seconds=60)
LOOKUP = 500
"""Post ids looked up in the store per query when applying a batch's engagement."""


@dataclass
class Tally:
    """What a stream did since its last recorded run."""

    started: datetime
    events: int = 0
    stored: int = 0
    updated: int = 0
    unreadable_before: int = 0
    """Items the stream had skipped when this tally started (the count is the stream's, from its start)."""
    written: list[Mention] = field(default_factory=list)


def with_bumps(mention: Mention, bump: list[int] | None) -> Mention:
    """``mention`` with ``bump`` ([likes, shares, replies], negative when taken back) added to its
    engagement, never below zero."""
    if not bump:
        return mention
    counts = mention.engagement
    engagement = Engagement(likes=min(max(counts.likes + bump[0], 0), MAX_COUNT),
                            shares=min(max(counts.shares + bump[1], 0), MAX_COUNT),
                            replies=min(max(counts.replies + bump[2], 0), MAX_COUNT))
    return mention.model_copy(update={"engagement": engagement})


def lowered(before: Mention, after: Mention) -> bool:
    """Whether any of ``after``'s counts is below ``before``'s (a store only raises them on insert)."""
    old, new = before.engagement, after.engagement
    return new.likes < old.likes or new.shares < old.shares or new.replies < old.replies


class LiveSource:
    """One streaming source of one brand, run until ``stop`` is set."""

    def __init__(self, pipeline: Pipeline, brand: BrandConfig, source: SourceConfig, heartbeat: timedelta = HEARTBEAT):
        collector = pipeline.collector(brand, source)
        if not is_stream(collector):
            raise ConfigError(f"source {brand.name}/{source.key} ({source.type}) is not a streaming source")
        self.collector: StreamCollector = collector  # type: ignore[assignment]
        self.pipeline, self.brand, self.source, self.heartbeat = pipeline, brand, source, heartbeat
        self.store = pipeline.store

    def run(self, stop: threading.Event) -> None:
        """Stream until ``stop`` is set; a store error (or a lost cursor compare-and-set) ends it, recorded."""
        brand, source = self.brand, self.source
        peers = tuple(b.name for b in self.pipeline.config.brands if any(
            s.type == source.type and s.enabled for s in b.sources))
        context = FetchContext(brand.name, source.key, self.pipeline.query(brand.name), tuple(brand.languages),
                               self.pipeline.clock(), peers=peers)
        cursor = self.store.get_cursor(brand.name, source.key)
        tally = Tally(started=utcnow())
        try:
            for batch in self.collector.stream(context, cursor, stop):
                self.write(batch, cursor, tally)
                cursor = batch.cursor or cursor
                if tally.written:
                    self.pipeline.on_arrival(brand.name, tally.written)
                    tally.written = []
                if batch.error is not None or utcnow() - tally.started >= self.heartbeat:
                    tally = self._record(tally, context, batch.error)
        except Exception as exc:
            self._record(tally, context, describe(exc))
            raise
        self._record(tally, context, None)

    def write(self, batch: StreamBatch, cursor: str | None, tally: Tally) -> None:
        """Store one batch: matched new posts and engagement raised on stored posts (by the stream's
        bumps, or the service's own totals) with the cursor (one store call), then what was taken back
        (likes, reposts, replies undone; posts deleted), then the records to remember.

        In that order a crash can lose a subtraction but never make one twice: the events of a
        stored batch are not read again, and a record is forgotten once taken back.
        """
        brand, records = self.brand.name, batch.records
        new = self.pipeline.matched(self.brand, batch.mentions)
        bumps = batch.bumps
        taken = self.store.stream_records(brand, records.taken_back) if records.taken_back else {}
        deleted = set(records.deleted)
        for record in taken.values():
            if record.kind in KIND_FIELDS:
                bumps.add(record.mention_id, **{KIND_FIELDS[record.kind]: -1})
            else:
                deleted.add(record.mention_id)
        wanted = list(set(bumps.counts) | deleted | set(batch.totals))
        stored: dict[str, Mention] = {}
        for group in chunks(wanted, LOOKUP):
            stored.update((m.id, m) for m in self.store.search(MentionFilter(brands=[brand], ids=group,
                                                                                limit=len(group))))
        fresh = [with_bumps(m, bumps.counts.get(m.id)) for m in new if m.id not in stored and m.id not in deleted]
        raised, revised = [], []
        for mention in stored.values():
            total = batch.totals.get(mention.id)
            counted = mention.model_copy(update={"engagement": total}) if total is not None else mention
            changed = with_bumps(counted, bumps.counts.get(mention.id))
            if mention.id in deleted and mention.deleted_at is None:
                revised.append(changed.model_copy(update={"deleted_at": utcnow()}))
            elif lowered(mention, changed):
                revised.append(changed)
            elif changed.engagement != mention.engagement:
                raised.append(changed)
        update = None
        if batch.cursor:
            update = CursorUpdate(brand=brand, source=self.source.key, value=batch.cursor, expected=cursor,
                                  checked=True)
        if fresh or raised or update:
            tally.stored += self.store.add_mentions(fresh + raised, update)
        if revised:
            self.store.revise_mentions(revised)
        known = stored.keys() | {m.id for m in fresh}
        kept = [StreamRecord(key=key, mention_id=mention_id, kind=kind, at=utcnow())
                for key, (mention_id, kind) in records.made.items() if mention_id in known]
        if kept or taken:
            self.store.keep_stream_records(brand, kept, list(taken))
        tally.events += batch.events
        tally.updated += len(raised) + len(revised)
        tally.written += fresh + raised + revised

    def _record(self, tally: Tally, context: FetchContext, error: str | None) -> Tally:
        """Record a run for the Sources health page; forget the records older than ``remember_days``."""
        remember = getattr(self.source.settings, "remember_days", None)
        if remember is not None:
            self.store.keep_stream_records(self.brand.name, [], [], before=utcnow() - timedelta(days=remember))
        unreadable = context.unreadable.count
        self.pipeline.record(JobRun(
            job=collect_job(self.brand.name, self.source.key), brand=self.brand.name, source=self.source.key,
            started_at=tally.started, finished_at=utcnow(), ok=error is None, fetched=tally.events,
            stored=tally.stored, unreadable=unreadable - tally.unreadable_before, error=error))
        log.info("%s/%s: %d events, %d stored, %d posts' engagement raised since %s", self.brand.name,
                 self.source.key, tally.events, tally.stored, tally.updated, tally.started)
        return Tally(started=utcnow(), unreadable_before=unreadable)
