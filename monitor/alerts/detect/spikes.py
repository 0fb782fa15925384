"""Pure spike detectors: a closed-bucket series and a clock in, spikes out.

The baseline of a bucket is seasonal. With two or more weeks of history it is the median
of the same time of week in the previous four weeks (and the buckets either side of it);
with less, the same time of day on the previous seven days. The median ignores past
spikes, and the spread has a Poisson floor (``sqrt(expected)``) so tiny counts never look
significant. A bucket is judged only once it is closed and the collection lag has passed.
The rules run on the newest bucket and on the newest few buckets summed.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config import DetectionConfig
from monitor.models import Severity, Spike, SpikeKind
from monitor.store.base import bucket_floor

DAY = timedelta(days=1)
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class BucketCounts:
    """Mentions of one brand in one closed bucket."""

    start: datetime
    total: int
    negative: int = 0


@dataclass(frozen=True)
class Baseline:
    expected: float
    spread: float
    negative_share: float
    references: int
    negative_spread: float = 1.0


def _spread(values: list[int], centre: float) -> float:
    """Robust spread (1.4826 × MAD) with a Poisson floor, so small counts never look significant."""
    mad = statistics.median(abs(v - centre) for v in values)
    return max(1.4826 * mad, math.sqrt(max(centre, 1.0)))


def judged_bucket(now: datetime, config: DetectionConfig) -> tuple[datetime, datetime]:
    """The newest bucket that is closed and past the collection lag at ``now``."""
    end = bucket_floor(now - config.lag, config.bucket)
    return end - config.bucket, end


def _references(series: dict[datetime, BucketCounts], start: datetime, size: timedelta) -> list[BucketCounts]:
    first = min(series)
    weeks = [start - k * WEEK for k in range(1, 5) if start - k * WEEK >= first]
    anchors = weeks if len(weeks) >= 2 else [start - k * DAY for k in range(1, 8) if start - k * DAY >= first]
    empty = BucketCounts(start, 0, 0)
    return [series.get(a + shift * size, empty) for a in anchors for shift in (-1, 0, 1)]


def baseline(series: dict[datetime, BucketCounts], start: datetime, size: timedelta) -> Baseline | None:
    """The seasonal expectation for the bucket at ``start``, or None without history."""
    refs = _references(series, start, size)
    if not refs:
        return None
    totals = [r.total for r in refs]
    negatives = [r.negative for r in refs]
    expected = statistics.median(totals)
    volume = sum(totals)
    share = sum(negatives) / volume if volume else 0.0
    negative_spread = _spread(negatives, share * expected)
    return Baseline(expected, _spread(totals, expected), share, len(refs), negative_spread)


def severity_of(ratio: float, negative_share: float, baseline_share: float) -> Severity:
    level = 1 + (ratio >= 3) + (ratio >= 5) + (ratio >= 10)
    if negative_share >= 0.6:
        level += 1
    elif negative_share <= baseline_share:
        level -= 1
    return Severity(min(max(level, 1), 4))


@dataclass(frozen=True)
class Window:
    """The newest ``buckets`` closed buckets summed, against the sum of their baselines."""

    start: datetime
    total: int
    negative: int
    expected: float
    spread: float
    expected_negative: float
    negative_spread: float

    @property
    def share(self) -> float:
        return self.negative / self.total if self.total else 0.0

    @property
    def baseline_share(self) -> float:
        return self.expected_negative / self.expected if self.expected else 0.0

    @property
    def ratio(self) -> float:
        return self.total / max(self.expected, 0.5)

    @property
    def z(self) -> float:
        return (self.total - self.expected) / self.spread

    @property
    def negative_z(self) -> float:
        """How far the negative count is above its seasonal expectation, in spreads."""
        return (self.negative - self.expected_negative) / self.negative_spread


def _window(table: dict[datetime, BucketCounts], end: datetime, buckets: int, size: timedelta) -> Window | None:
    first = end - buckets * size
    history = {t: b for t, b in table.items() if t < first}
    if not history:
        return None
    total = negative = 0
    expected = variance = expected_negative = negative_variance = 0.0
    for k in range(buckets):
        start = first + k * size
        base = baseline(history, start, size)
        if base is None:
            return None
        current = table.get(start, BucketCounts(start, 0, 0))
        total, negative = total + current.total, negative + current.negative
        expected += base.expected
        variance += base.spread**2
        expected_negative += base.negative_share * base.expected
        negative_variance += base.negative_spread**2
    return Window(first, total, negative, expected, math.sqrt(variance), expected_negative,
                  math.sqrt(negative_variance))


def _volume_spike(w: Window, config: DetectionConfig, brand: str, end: datetime) -> Spike | None:
    rule = config.volume
    if (
        w.total >= rule.min_count
        and w.ratio >= rule.min_ratio
        and w.z >= rule.z
        and w.share >= w.baseline_share + rule.min_negative_lift
    ):
        return Spike(
            brand=brand, kind=SpikeKind.VOLUME, window_start=w.start, window_end=end,
            observed=w.total, expected=w.expected, score=round(w.z, 2),
            severity=severity_of(w.ratio, w.share, w.baseline_share),
            negative_share=w.share, baseline_negative_share=w.baseline_share,
        )
    return None


def _negative_spike(w: Window, config: DetectionConfig, brand: str, end: datetime) -> Spike | None:
    rule = config.negative
    if (
        w.negative >= rule.min_count
        and w.negative_z >= rule.z
        and w.share >= rule.min_share
        and w.share - w.baseline_share >= rule.min_shift
    ):
        return Spike(
            brand=brand, kind=SpikeKind.NEGATIVE, window_start=w.start, window_end=end,
            observed=w.negative, expected=w.expected_negative, score=round(w.negative_z, 2),
            severity=severity_of(max(w.ratio, 1.0), w.share, w.baseline_share),
            negative_share=w.share, baseline_negative_share=w.baseline_share,
        )
    return None


def detect(
    series: list[BucketCounts], now: datetime, config: DetectionConfig, brand: str
) -> list[Spike]:
    """Spikes ending with the bucket judged at ``now`` (see :func:`judged_bucket`).

    Each rule is tried on the newest bucket alone and on the newest ``config.window`` buckets
    summed, so a crisis that builds over half an hour is caught before any single bucket looks
    extreme; the strongest window per rule is reported. ``series`` holds closed buckets
    (missing ones count as zero). Nothing is reported during warm-up, that is until the series
    spans ``config.warmup``.
    """
    if not series:
        return []
    start, end = judged_bucket(now, config)
    table = {b.start: b for b in series if b.start < end}
    if not table or start - min(table) < config.warmup:
        return []
    windows = [w for n in range(1, config.window + 1) if (w := _window(table, end, n, config.bucket))]
    spikes: list[Spike] = []
    for rule in (_volume_spike, _negative_spike):
        found = [spike for w in windows if (spike := rule(w, config, brand, end))]
        if found:
            spikes.append(max(found, key=lambda s: s.score))
    return spikes
