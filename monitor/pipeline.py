"""One tick of the job: collect → annotate → store, and detect → incidents → deliver."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from monitor import registry
from monitor.alerts import playbooks as playbook_lib
from monitor.alerts.delivery import deliver_due
from monitor.alerts.incidents import IncidentEngine
from monitor.alerts.notifiers.base import Notifier
from monitor.alerts.reminders import queue_reminders
from monitor.alerts.spikes import BucketCounts, detect, judged_bucket
from monitor.alerts.summary import summarise
from monitor.alerts.surge import SurgeTracker
from monitor.alerts.viral import ViralWatch
from monitor.care.digest import Digest, send_digests
from monitor.collectors.base import Batch, Collector, FetchContext
from monitor.config import BrandConfig, Config, SourceConfig
from monitor.errors import ConfigError, MonitorError
from monitor.health import SourceHealth, collect_job, source_health
from monitor.models import Incident, Mention, Playbook, Spike
from monitor.nlp.annotate import Annotator, mention_language
from monitor.query import Query
from monitor.store.base import CursorUpdate, JobRun, Store, totals_by_bucket

log = logging.getLogger(__name__)

CHART_SPAN = timedelta(hours=24)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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
        self._collectors: dict[tuple[str, str], Collector] = {}
        self._health: dict[tuple[str, str], SourceHealth] = {}
        self._queries = {b.name: Query.parse(b.query_text()) for b in config.brands}
        self.surge = SurgeTracker(config.detection)
        self.viral = ViralWatch(store, config.detection)
        self.engine = IncidentEngine(
            store,
            config.alerts,
            channel_for=lambda brand: config.brand(brand).slack_channel or config.slack.channel,
            summarise=self._summarise,
            match_playbook=lambda incident, texts: playbook_lib.match(incident, self.playbooks, texts=texts),
        )

    def source_config(self, brand: BrandConfig, key: str) -> SourceConfig:
        for source in brand.sources:
            if source.key == key:
                return source
        known = ", ".join(s.key for s in brand.sources) or "none"
        raise ConfigError(f"brand {brand.name!r} has no source {key!r} (configured: {known})")

    def _collector(self, brand: BrandConfig, source: SourceConfig) -> Collector:
        key = (brand.name, source.key)
        if key not in self._collectors:
            plugin = registry.load(registry.COLLECTORS, source.type)
            self._collectors[key] = plugin(plugin.Config.model_validate(source.options))
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
            for batch in self._collector(brand, source).fetch(context, cursor):
                self.store_batch(brand, source, batch, result, save_cursor=True)
        except MonitorError as exc:
            error = str(exc)
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            result.unreadable = context.unreadable.count
            self.store.record_run(
                JobRun(
                    job=collect_job(brand.name, source.key), brand=brand.name, source=source.key,
                    started_at=started, finished_at=utcnow(), ok=error is None,
                    fetched=result.fetched, stored=result.stored, unreadable=result.unreadable, error=error,
                )
            )
            if error is None:
                self._health[(brand.name, source.key)] = SourceHealth(brand.name, source.key, 0)
            elif not (health := self._read_health(brand.name, source)).healthy:
                log.error("source %s/%s is unhealthy after %d failures in a row; next try at %s",
                          brand.name, source.key, health.failures, health.retry_at)
        return result

    def _read_health(self, brand: str, source: SourceConfig) -> SourceHealth:
        """A source's health from the recorded runs (read at its first run and after failures)."""
        health = source_health(self.store.runs(), brand, source.key, source.every)
        self._health[(brand, source.key)] = health
        return health

    def store_batch(self, brand: BrandConfig, source: SourceConfig, batch: Batch, result: CollectResult,
                    save_cursor: bool) -> None:
        """Match one batch against the brand query, annotate it and store it (with its cursor)."""
        query = self._queries[brand.name]
        result.fetched += len(batch.mentions)
        matched = []
        candidates = brand.languages or getattr(self.annotator, "languages", None)
        for mention in batch.mentions:
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
        result.matched += len(annotated)
        update = None
        if save_cursor and batch.cursor:
            update = CursorUpdate(brand=brand.name, source=source.key, value=batch.cursor)
        result.stored += self.store.add_mentions(annotated, update)

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
        """Judge the newest closed bucket of every brand; open, update or resolve incidents."""
        now = now or self.clock()
        touched: list[Incident] = []
        for brand in self.config.brands:
            series = self.counts(brand.name, now)
            spikes = detect(series, now, self.config.detection, brand.name)
            spikes += self.surge.spikes(series, now, brand.name)
            spikes += self.viral.spikes(brand.name, now)
            touched += self.engine.handle(spikes, now)
            touched += self.engine.resolve_quiet(brand.name, now)
            queue_reminders(self.store, self.playbooks, brand.name, now)
        return touched

    def care_digest(self, now: datetime | None = None) -> list[Digest]:
        """Post the Slack digest of customers' posts waiting past the care alert share (monitor.care.digest)."""
        return send_digests(self.store, self.config, self.notifier, now or self.clock())

    def deliver(self, now: datetime | None = None) -> Any:
        """Send queued notifications that are due."""
        return deliver_due(
            self.store, self.notifier, self.playbooks, now or self.clock(), self.config.slack.dashboard_url
        )
