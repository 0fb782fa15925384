"""One tick of the job: collect → annotate → store, and detect → incidents → deliver."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, TypeVar

from monitor import registry
from monitor.alerts.detect.arrival import ArrivalWatch
from monitor.alerts.detect.spikes import BucketCounts, detect, judged_bucket
from monitor.alerts.detect.surge import SurgeTracker
from monitor.alerts.detect.viral import ViralWatch
from monitor.alerts.incidents import playbooks as playbook_lib
from monitor.alerts.incidents.engine import IncidentEngine
from monitor.alerts.incidents.reminders import queue_reminders
from monitor.alerts.notify.base import Notifier
from monitor.alerts.notify.delivery import deliver_due
from monitor.alerts.notify.summary import summarise
from monitor.care.digest import Digest, send_digests
from monitor.daily.digest import DailyDigest, send_daily_digests
from monitor.collectors.base import Batch, Collector, FetchContext
from monitor.config import BrandConfig, Config, SourceConfig
from monitor.errors import ConfigError, MonitorError
from monitor.health import SourceHealth, collect_job, source_health
from monitor.models import Incident, Mention, Playbook, Spike
from monitor.nlp.annotate import Annotator, mention_language
from monitor.query import Query
from monitor.store.base import CursorUpdate, JobRun, Store, totals_by_bucket
from monitor.workers import PROCESS_WORKER

log = logging.getLogger(__name__)

T = TypeVar("T")

CHART_SPAN = timedelta(hours=24)
HEALTH_RUNS = 5000  # recent runs read for a source's health (the other jobs' runs are among them)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def describe(exc: BaseException) -> str:
    """An error as recorded in a run: our own errors by message, anything else with its type."""
    return str(exc) if isinstance(exc, MonitorError) else f"{type(exc).__name__}: {exc}"


@dataclass
class CollectResult:
    brand: str
    source: str
    fetched: int = 0
    matched: int = 0
    stored: int = 0
    unreadable: int = 0
    """Items the collector could not read and skipped (each logged where it came from)."""
    skipped: bool = False


class Pipeline:
    """The whole job for every configured brand, on one store."""

    def __init__(
        self,
        config: Config,
        store: Store,
        annotator: Annotator,
        notifier: Notifier,
        playbooks: list[Playbook],
        clock: Callable[[], datetime] = utcnow,
    ):
        self.config = config
        self.store = store
        self.annotator = annotator
        self.notifier = notifier
        self.playbooks = playbooks
        self.clock = clock
        self.worker = PROCESS_WORKER
        self._unrecorded: list[JobRun] = []
        self._recording = threading.Lock()
        self._collectors: dict[tuple[str, str], Collector] = {}
        self._health: dict[tuple[str, str], SourceHealth] = {}
        self._queries = {b.name: Query.parse(b.query_text()) for b in config.brands}
        self.surge = SurgeTracker(config.detection)
        self.viral = ViralWatch(store, config.detection)
        self.arrival = ArrivalWatch(store, config.detection, self.surge, self.viral, self.counts)
        self.engine = IncidentEngine(
            store,
            config.alerts,
            channel_for=lambda brand: config.brand(brand).slack_channel or config.slack.channel,
            summarise=self._summarise,
            match_playbook=lambda incident, texts: playbook_lib.match(incident, self.playbooks, texts=texts),
        )

    def query(self, brand: str) -> Query:
        """The brand's parsed query."""
        return self._queries[brand]

    def source_config(self, brand: BrandConfig, key: str) -> SourceConfig:
        for source in brand.sources:
            if source.key == key:
                return source
        known = ", ".join(s.key for s in brand.sources) or "none"
        raise ConfigError(f"brand {brand.name!r} has no source {key!r} (configured: {known})")

    def collector(self, brand: BrandConfig, source: SourceConfig) -> Collector:
        """The source's collector plugin (built once)."""
        key = (brand.name, source.key)
        if key not in self._collectors:
            plugin = registry.load(registry.COLLECTORS, source.type)
            self._collectors[key] = plugin(source.settings)
        return self._collectors[key]

    def collect(self, brand_name: str, source_key: str, now: datetime | None = None,
                force: bool = False) -> CollectResult:
        """Fetch new mentions of one brand from one source, score them and store them.

        Each batch is stored together with its cursor, so an interrupted run loses nothing
        and the next run neither skips nor repeats mentions. An unhealthy source (see
        monitor.health) is skipped until its retry time unless ``force`` is set.
        """
        now = now or self.clock()
        brand = self.config.brand(brand_name)
        source = self.source_config(brand, source_key)
        query = self._queries[brand.name]
        result = CollectResult(brand.name, source.key)
        health = self._health.get((brand.name, source.key)) or self._read_health(brand.name, source)
        if not force and not health.due(utcnow()):
            log.warning("source %s/%s is unhealthy (%d failures in a row, last: %s); next try at %s",
                        brand.name, source.key, health.failures, health.last_error, health.retry_at)
            result.skipped = True
            return result
        context = FetchContext(brand.name, source.key, query, tuple(brand.languages), now)
        started = utcnow()
        error: str | None = None
        try:
            cursor = self.store.get_cursor(brand.name, source.key)
            for batch in self.collector(brand, source).fetch(context, cursor):
                self.store_batch(brand, source, batch, result, save_cursor=True, expected=cursor)
                cursor = batch.cursor or cursor
        except Exception as exc:
            error = describe(exc)
            raise
        finally:
            result.unreadable = context.unreadable.count
            self.record(JobRun(job=collect_job(brand.name, source.key), brand=brand.name, source=source.key,
                               started_at=started, finished_at=utcnow(), ok=error is None,
                               fetched=result.fetched, stored=result.stored, unreadable=result.unreadable,
                               error=error))
            if error is None:
                self._health[(brand.name, source.key)] = SourceHealth(brand.name, source.key, 0)
            elif not (health := self._read_health(brand.name, source)).healthy:
                log.error("source %s/%s is unhealthy after %d failures in a row; next try at %s",
                          brand.name, source.key, health.failures, health.retry_at)
        return result

    def record(self, run: JobRun) -> None:
        """Record ``run`` (by this worker); never raises, so the job's own error is the one that counts.

        A run that cannot be recorded now (the store is down) is kept and recorded with the next one.
        """
        with self._recording:
            self._unrecorded.append(run.model_copy(update={"worker": self.worker}))
            try:
                while self._unrecorded:
                    self.store.record_run(self._unrecorded[0])
                    self._unrecorded.pop(0)
            except Exception as exc:
                log.error("could not record the outcome of %d job run(s) yet: %s", len(self._unrecorded),
                          describe(exc))

    def recorded(self, job: str, brand: str | None, work: Callable[[], T],
                 idle: Callable[[T], bool] = lambda _: False) -> T:
        """Run ``work`` and record its outcome as ``job`` (the first error raised is the one kept).

        A successful run whose result is ``idle`` (nothing was due) is not recorded.
        """
        started = utcnow()
        try:
            result = work()
        except Exception as exc:
            self.record(JobRun(job=job, brand=brand, started_at=started, finished_at=utcnow(), ok=False,
                               error=describe(exc)))
            raise
        if not idle(result):
            self.record(JobRun(job=job, brand=brand, started_at=started, finished_at=utcnow(), ok=True))
        return result

    def _read_health(self, brand: str, source: SourceConfig) -> SourceHealth:
        """A source's health from the recorded runs (read at its first run and after failures)."""
        health = source_health(self.store.runs(limit=HEALTH_RUNS), brand, source.key, source.every)
        self._health[(brand, source.key)] = health
        return health

    def store_batch(self, brand: BrandConfig, source: SourceConfig, batch: Batch, result: CollectResult,
                    save_cursor: bool, expected: str | None = None) -> None:
        """Match one batch against the brand query, annotate it and store it (with its cursor).

        The cursor is saved compare-and-set: only while the stored one is still ``expected``
        (a worker whose claim lapsed cannot move a source's cursor under the one now holding it).
        """
        result.fetched += len(batch.mentions)
        annotated = self.matched(brand, batch.mentions)
        result.matched += len(annotated)
        update = None
        if save_cursor and batch.cursor:
            update = CursorUpdate(brand=brand.name, source=source.key, value=batch.cursor, expected=expected,
                                  checked=True)
        result.stored += self.store.add_mentions(annotated, update)

    def matched(self, brand: BrandConfig, mentions: list[Mention]) -> list[Mention]:
        """The mentions the brand query matches (in each post's language), annotated, in the brand's languages."""
        query = self._queries[brand.name]
        matched = []
        candidates = brand.languages or getattr(self.annotator, "languages", None)
        for mention in mentions:
            identified: dict[str, str | None] = {}

            def languages(mention: Mention = mention) -> list[str]:
                identified["language"] = mention_language(mention, candidates)
                return [identified["language"]] if identified["language"] else list(brand.languages)

            terms = query.match(f"{mention.title or ''} {mention.text}", mention.author.handle, languages)
            if terms:
                matched.append(mention.model_copy(update={"matched_terms": terms, **identified}))
        annotated = self.annotator.annotate(matched) if matched else []
        if brand.languages:
            annotated = [m for m in annotated if m.language is None or m.language in brand.languages]
        return annotated

    def counts(self, brand: str, now: datetime) -> list[BucketCounts]:
        """Closed buckets of the detection history for ``brand`` at ``now``."""
        detection = self.config.detection
        _, end = judged_bucket(now, detection)
        rows = self.store.series(brand, end - detection.history, end, detection.bucket, group_by=("sentiment",))
        table = totals_by_bucket(rows, "sentiment")
        return [
            BucketCounts(start, sum(cell.values()), cell.get("negative", 0))
            for start, cell in sorted(table.items())
        ]

    def _summarise(self, spike: Spike) -> dict[str, Any]:
        brand = self.config.brand(spike.brand)
        ignore = {t.value for t in self._queries[brand.name].positive_terms()}
        ignore |= {w for t in list(ignore) for w in t.split()}
        summary = summarise(self.store, spike, ignore, spike.window_start - self.config.detection.history / 4)
        return {**summary, **self._chart_data(spike)}

    def _chart_data(self, spike: Spike) -> dict[str, Any]:
        """Mentions by sentiment per bucket over the day before the spike's end, for the alert chart."""
        bucket = self.config.detection.bucket
        rows = self.store.series(spike.brand, spike.window_end - CHART_SPAN, spike.window_end, bucket,
                                 group_by=("sentiment",))
        table = totals_by_bucket(rows, "sentiment")
        start = spike.window_end - CHART_SPAN
        points = [{"t": (start + k * bucket).isoformat(), **table.get(start + k * bucket, {})}
                  for k in range(int(CHART_SPAN / bucket))]
        return {"series": points, "window": [spike.window_start.isoformat(), spike.window_end.isoformat()]}

    def detect(self, now: datetime | None = None) -> list[Incident]:
        """Judge the newest closed bucket of every brand, open, update or resolve incidents, queue reminders."""
        now = now or self.clock()
        touched: list[Incident] = []
        for brand in self.config.brands:
            touched += self.detect_brand(brand.name, now)
            self.remind(brand.name, now)
        return touched

    def detect_brand(self, brand: str, now: datetime | None = None) -> list[Incident]:
        """One brand's detection job (recorded as ``detect:BRAND``)."""
        return self.recorded(f"detect:{brand}", brand, lambda: self._detect(brand, now or self.clock()))

    def _detect(self, brand: str, now: datetime) -> list[Incident]:
        series = self.counts(brand, now)
        spikes = detect(series, now, self.config.detection, brand)
        spikes += self.surge.spikes(series, now, brand)
        spikes += self.viral.spikes(brand, now)
        return self.engine.handle(spikes, now) + self.engine.resolve_quiet(brand, now)

    def on_arrival(self, brand: str, changed: list[Mention], now: datetime | None = None) -> list[Incident]:
        """Judge what a stream just stored (see :mod:`monitor.alerts.detect.arrival`); deliver any alert at once."""
        now = now or self.clock()
        spikes = self.arrival.spikes(brand, changed, now)
        touched = self.engine.handle(spikes, now) if spikes else []
        if touched:
            self.deliver(now)
        return touched

    def remind(self, brand: str, now: datetime | None = None) -> Any:
        """Queue the brand's overdue playbook reminders (recorded as ``reminders:BRAND`` when some were due)."""
        return self.recorded(f"reminders:{brand}", brand,
                             lambda: queue_reminders(self.store, self.playbooks, brand, now or self.clock(),
                                                     self.config.zone(brand)),
                             idle=lambda queued: not queued)

    def care_digest(self, now: datetime | None = None) -> list[Digest]:
        """Post the Slack digest of customers' posts waiting past the care alert share (monitor.care.digest;
        recorded as ``care-digest`` when one was sent)."""
        return self.recorded("care-digest", None,
                             lambda: send_digests(self.store, self.config, self.notifier, now or self.clock()),
                             idle=lambda sent: not sent)

    def daily_digest(self, now: datetime | None = None) -> list[DailyDigest]:
        """Post each brand's daily digest once its local hour has come (monitor.daily.digest; recorded as
        ``daily-digest`` when one was sent)."""
        return self.recorded("daily-digest", None,
                             lambda: send_daily_digests(self.store, self.config, self.notifier, now or self.clock()),
                             idle=lambda sent: not sent)

    def deliver(self, now: datetime | None = None) -> Any:
        """Send the queued notifications that are due, claimed for this worker (recorded as ``deliver``
        when something was due)."""
        lease = self.config.lease
        return self.recorded("deliver", None, lambda: deliver_due(
            self.store, self.notifier, self.playbooks, now or self.clock(), self.config.slack.dashboard_url,
            owner=self.worker, lease=lease, zones=self.config.zone), idle=lambda report: not report)
