"""The alert budget: replay past mentions through the detectors and count what would have alerted.

The replay judges every closed bucket in order, exactly as the ``detect`` job would at
``bucket end + lag``, with the production detectors: the volume and negative rules of
``monitor.alerts.detect.spikes``, the surges of ``monitor.alerts.detect.surge`` and the viral posts of
``monitor.alerts.detect.viral``. Spikes are grouped into incidents with the incident engine's rules
(``KIND_GROUPS`` of the engine): one fingerprint per brand, kind group and topic; an
incident resolves after ``alerts.resolve_after`` without spikes and a spike within
``alerts.cooldown`` of that reopens it. Each new incident is one alert.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from monitor import config as config_lib
from monitor.alerts.detect.spikes import BucketCounts, detect
from monitor.alerts.detect.surge import SurgeTracker
from monitor.alerts.detect.viral import detect_viral
from monitor.alerts.incidents.engine import KIND_GROUPS
from monitor.config import AlertsConfig, DetectionConfig
from monitor.models import Author, Engagement, Mention, Sentiment, Severity, Spike, SpikeKind, utc
from monitor.store.base import MentionFilter, bucket_floor, totals_by_bucket

WEEK = timedelta(days=7)
NEGATIVE_KINDS = frozenset({"crisis", "quote", "repost", "viral"})


@dataclass
class ReplayedIncident:
    brand: str
    kind: SpikeKind
    opened_at: datetime
    first_window: datetime
    last_spike_at: datetime
    severity: Severity
    spikes: int = 1
    reopened: int = 0


@dataclass
class BrandHistory:
    """What the replay needs about one brand: closed buckets and its posts, oldest first."""

    name: str
    buckets: list[BucketCounts]
    mentions: list[Mention] = field(default_factory=list)
    truth: datetime | None = None


@dataclass
class BudgetReport:
    source: str
    start: datetime
    end: datetime
    incidents: list[ReplayedIncident]
    brands: list[BrandHistory]

    @property
    def weeks(self) -> float:
        return max((self.end - self.start) / WEEK, 1 / 7)


class _Grouper:
    """The incident engine's grouping, resolve and cooldown rules, in memory."""

    def __init__(self, alerts: AlertsConfig):
        self.alerts = alerts
        self.incidents: list[ReplayedIncident] = []
        self._latest: dict[tuple[str, SpikeKind, str], ReplayedIncident] = {}

    def add(self, spike: Spike, now: datetime) -> None:
        key = (spike.brand, KIND_GROUPS.get(spike.kind, spike.kind), spike.topic)
        incident = self._latest.get(key)
        if incident and now - incident.last_spike_at <= self.alerts.resolve_after + self.alerts.cooldown:
            if now - incident.last_spike_at > self.alerts.resolve_after:
                incident.reopened += 1
            incident.spikes += 1
            incident.last_spike_at = max(incident.last_spike_at, spike.window_end)
            incident.severity = max(incident.severity, spike.severity)
            return
        incident = ReplayedIncident(spike.brand, key[1], now, spike.window_start, spike.window_end, spike.severity)
        self._latest[key] = incident
        self.incidents.append(incident)


def _window(mentions: list[Mention], times: list[datetime], since: datetime, until: datetime) -> list[Mention]:
    """The mentions posted in ``[since, until)``: what a live run at ``until`` has read (as ``MentionFilter``)."""
    return mentions[bisect.bisect_left(times, since): bisect.bisect_left(times, until)]


def replay(brands: list[BrandHistory], detection: DetectionConfig, alerts: AlertsConfig, source: str) -> BudgetReport:
    """Judge every closed bucket of every brand in time order."""
    grouper = _Grouper(alerts)
    starts = [b.buckets[0].start for b in brands if b.buckets]
    ends = [b.buckets[-1].start + detection.bucket for b in brands if b.buckets]
    surge = SurgeTracker(detection)
    for brand in brands:
        times = [m.created_at for m in brand.mentions]
        for k, bucket in enumerate(brand.buckets):
            now = bucket.start + detection.bucket + detection.lag
            history = [b for b in brand.buckets[: k + 1] if b.start >= now - detection.history]
            spikes = detect(history, now, detection, brand.name) + surge.spikes(history, now, brand.name)
            rule = detection.viral
            if rule.enabled:
                candidates = _window(brand.mentions, times, now - rule.lookback, now)
                reference = _window(brand.mentions, times, now - rule.history, now - rule.lookback)[-rule.sample:]
                spikes += detect_viral(candidates, reference, now, rule, brand.name, detection.bucket)
            for spike in spikes:
                grouper.add(spike, now)
    return BudgetReport(source, min(starts, default=datetime.min), max(ends, default=datetime.min),
                        grouper.incidents, brands)


def _buckets(counts: dict[datetime, tuple[int, int]], start: datetime, end: datetime,
             size: timedelta) -> list[BucketCounts]:
    out, moment = [], bucket_floor(start, size)
    while moment < end:
        total, negative = counts.get(moment, (0, 0))
        out.append(BucketCounts(moment, total, negative))
        moment += size
    return out


def budget_from_demo(quiet_days: int = 21, detection: DetectionConfig | None = None,
                     alerts: AlertsConfig | None = None) -> BudgetReport:
    """The demo scenario, labelled from its own ground truth (crisis posts are negative), no NLP.

    Unless ``detection`` is given, the demo's settings with the viral-post detector on.
    """
    from monitor.demo.scenario import created_at, generate

    scenario = generate(quiet_days=quiet_days)
    detection = detection or DetectionConfig(bucket="15m", lag="5m", warmup="3d", viral={"enabled": True})
    negative = Sentiment(label="negative", score=1.0, probabilities={"negative": 1.0})
    counts: dict[datetime, tuple[int, int]] = {}
    mentions = []
    for row in scenario.rows:
        kind = scenario.kinds[row["id"]]
        if kind == "decoy":
            continue
        moment = created_at(row)
        is_negative = kind in NEGATIVE_KINDS
        key = bucket_floor(moment, detection.bucket)
        total, neg = counts.get(key, (0, 0))
        counts[key] = (total + 1, neg + is_negative)
        mentions.append(Mention(
            id=row["id"], brand=scenario.brand, source=row["source"], text=row["text"], created_at=moment,
            collected_at=moment, author=Author(handle=row["author"], followers=row["followers"]),
            engagement=Engagement(likes=row["likes"], shares=row["shares"], replies=row["replies"]),
            is_repost=row["is_repost"], is_quote=row.get("is_quote", False), parent_id=row.get("parent_id"),
            sentiment=negative if is_negative else None,
        ))
    buckets = _buckets(counts, scenario.start, scenario.end, detection.bucket)
    history = BrandHistory(scenario.brand, buckets, mentions, truth=scenario.crisis_start)
    return replay([history], detection, alerts or AlertsConfig(), "the demo scenario")


def budget_from_config(path: Path, weeks: int = 4, now: datetime | None = None) -> BudgetReport:
    """The ``weeks`` of stored history of every configured brand up to ``now``, by default up to the
    newest stored mention (a replayed or imported history ends long before the wall clock)."""
    from monitor.store import open_store

    config = config_lib.load(path)
    detection = config.detection
    store = open_store(config.storage)
    try:
        if now is None:
            newest = [found[0].created_at for brand in config.brands
                      if (found := store.search(MentionFilter(brands=[brand.name], limit=1)))]
            now = max(newest) + detection.bucket + detection.lag if newest else datetime.now().astimezone()
        end = bucket_floor(utc(now) - detection.lag, detection.bucket)
        start = end - weeks * WEEK
        brands = []
        for brand in config.brands:
            rows = store.series(brand.name, start, end, detection.bucket, group_by=("sentiment",))
            table = totals_by_bucket(rows, "sentiment")
            counts = {t: (sum(c.values()), c.get("negative", 0)) for t, c in table.items()}
            found = store.search(MentionFilter(brands=[brand.name], since=start, until=end, limit=1_000_000))
            mentions = sorted(found, key=lambda m: m.created_at)
            brands.append(BrandHistory(brand.name, _buckets(counts, start, end, detection.bucket), mentions))
    finally:
        store.close()
    return replay(brands, detection, config.alerts, str(path))


def _duration(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def format_budget(report: BudgetReport) -> list[str]:
    """The report as lines: alerts per brand per week, then each incident with its detection delay."""
    lines = [f"alert budget for {report.source}: {report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} "
             f"UTC ({report.weeks:.1f} weeks)"]
    for brand in report.brands:
        mine = [i for i in report.incidents if i.brand == brand.name]
        false = [i for i in mine if brand.truth is not None and i.opened_at < brand.truth]
        line = f"  {brand.name}: {len(mine)} alert(s), {len(mine) / report.weeks:.2f} per week"
        if brand.truth is not None:
            quiet_weeks = max((brand.truth - report.start) / WEEK, 1 / 7)
            line += f"; {len(false)} before the crisis ({len(false) / quiet_weeks:.2f} per quiet week)"
        lines.append(line)
    for incident in report.incidents:
        truth = next((b.truth for b in report.brands if b.name == incident.brand), None)
        if truth is not None and incident.opened_at >= truth:
            delay = f"detected {_duration(incident.opened_at - truth)} after the crisis began"
        else:
            delay = f"alerted {_duration(incident.opened_at - incident.first_window)} after its first abnormal bucket"
        lines.append(f"  - {incident.brand} {incident.kind.value} incident detected at "
                     f"{incident.opened_at:%Y-%m-%d %H:%M} UTC: "
                     f"{incident.severity.word}, {incident.spikes} spike(s), {delay}")
    if not report.incidents:
        lines.append("  no alerts")
    return lines
