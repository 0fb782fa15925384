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
from monitor.collectors.base import Collector, FetchContext
from monitor.config import BrandConfig, Config, SourceConfig
from monitor.errors import ConfigError, MonitorError
from monitor.models import Incident, Playbook, Spike
from monitor.nlp.annotate import Annotator
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
        self._queries = {b.name: Query.parse(b.query_text()) for b in config.brands}
        self.engine = IncidentEngine(
            store,
            config.alerts,
            channel_for=lambda brand: config.brand(brand).slack_channel or config.slack.channel,
            summarise=self._summarise,
            match_playbook=lambda incident, texts: playbook_lib.match(incident, self.playbooks, texts=texts),
        )

    def _source(self, brand: BrandConfig, key: str) -> SourceConfig:
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

    def collect(self, brand_name: str, source_key: str, now: datetime | None = None) -> CollectResult:
        """Fetch new mentions of one brand from one source, score them and store them.

        Each batch is stored together with its cursor, so an interrupted run loses nothing
        and the next run neither skips nor repeats mentions.
        """
        now = now or self.clock()
        brand = self.config.brand(brand_name)
        source = self._source(brand, source_key)
        query = self._queries[brand.name]
        result = CollectResult(brand.name, source.key)
        context = FetchContext(brand.name, source.key, query, tuple(brand.languages), now)
        started = utcnow()
        error: str | None = None
        try:
            cursor = self.store.get_cursor(brand.name, source.key)
            for batch in self._collector(brand, source).fetch(context, cursor):
                result.fetched += len(batch.mentions)
                matched = []
                for mention in batch.mentions:
                    terms = query.match(f"{mention.title or ''} {mention.text}", mention.author.handle)
                    if terms:
                        matched.append(mention.model_copy(update={"matched_terms": terms}))
                annotated = self.annotator.annotate(matched) if matched else []
                if brand.languages:
                    annotated = [m for m in annotated if m.language is None or m.language in brand.languages]
                result.matched += len(annotated)
                update = CursorUpdate(brand=brand.name, source=source.key, value=batch.cursor) if batch.cursor else None
                result.stored += self.store.add_mentions(annotated, update)
        except MonitorError as exc:
            error = str(exc)
            raise
        finally:
            self.store.record_run(
                JobRun(
                    job=f"collect:{brand.name}:{source.key}", brand=brand.name, source=source.key,
                    started_at=started, finished_at=utcnow(), ok=error is None,
                    fetched=result.fetched, stored=result.stored, error=error,
                )
            )
        return result

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
            spikes = detect(self.counts(brand.name, now), now, self.config.detection, brand.name)
            touched += self.engine.handle(spikes, now)
            touched += self.engine.resolve_quiet(brand.name, now)
            queue_reminders(self.store, self.playbooks, brand.name, now)
        return touched

    def deliver(self, now: datetime | None = None) -> Any:
        """Send queued notifications that are due."""
        return deliver_due(
            self.store, self.notifier, self.playbooks, now or self.clock(), self.config.slack.dashboard_url
        )
