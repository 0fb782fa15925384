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
from monitor.collectors.stream import StreamBatch, StreamCollector, is_stream
from monitor.config import BrandConfig, SourceConfig
from monitor.errors import ConfigError
from monitor.health import collect_job
from monitor.models import MAX_COUNT, Engagement, Mention
from monitor.pipeline import Pipeline, describe, utcnow
from monitor.store.base import CursorUpdate, JobRun, MentionFilter

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
    """``mention`` with ``bump`` ([likes, shares, replies]) added to its engagement."""
    if not bump:
        return mention
    counts = mention.engagement
    engagement = Engagement(likes=min(counts.likes + bump[0], MAX_COUNT),
                            shares=min(counts.shares + bump[1], MAX_COUNT),
                            replies=min(counts.replies + bump[2], MAX_COUNT))
    return mention.model_copy(update={"engagement": engagement})


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
        context = FetchContext(brand.name, source.key, self.pipeline.query(brand.name), tuple(brand.languages),
                               self.pipeline.clock())
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
        """Store one batch: matched new posts, engagement of stored posts, the cursor (one store call)."""
        brand = self.brand.name
        new = self.pipeline.matched(self.brand, batch.mentions)
        bumps = batch.bumps.counts
        stored: dict[str, Mention] = {}
        for group in chunks(list(bumps), LOOKUP):
            stored.update((m.id, m) for m in self.store.search(MentionFilter(brands=[brand], ids=group,
                                                                                limit=len(group))))
        fresh = [with_bumps(m, bumps.get(m.id)) for m in new if m.id not in stored]
        raised = [with_bumps(m, bumps[m.id]) for m in stored.values()]
        update = None
        if batch.cursor:
            update = CursorUpdate(brand=brand, source=self.source.key, value=batch.cursor, expected=cursor,
                                  checked=True)
        if fresh or raised or update:
            tally.stored += self.store.add_mentions(fresh + raised, update)
        tally.events += batch.events
        tally.updated += len(raised)
        tally.written += fresh + raised

    def _record(self, tally: Tally, context: FetchContext, error: str | None) -> Tally:
        unreadable = context.unreadable.count
        self.pipeline.record(JobRun(
            job=collect_job(self.brand.name, self.source.key), brand=self.brand.name, source=self.source.key,
            started_at=tally.started, finished_at=utcnow(), ok=error is None, fetched=tally.events,
            stored=tally.stored, unreadable=unreadable - tally.unreadable_before, error=error))
        log.info("%s/%s: %d events, %d stored, %d posts' engagement raised since %s", self.brand.name,
                 self.source.key, tally.events, tally.stored, tally.updated, tally.started)
        return Tally(started=utcnow(), unreadable_before=unreadable)
