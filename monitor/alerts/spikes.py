"""Pure spike detectors: a closed-bucket series and a clock in, spikes out.

The baseline of a bucket is seasonal. With two or more weeks of history it is the median
of the same time of week in the previous four weeks (and the buckets either side of it);
with less, the same time of day on the previous seven days. The median ignores past
spikes, and the spread has a Poisson floor (``sqrt(expected)``) so tiny counts never look
significant. A bucket is judged only once it is closed and the collection lag has passed.
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
    expected = statistics.median(totals)
    mad = statistics.median(abs(t - expected) for t in totals)
    spread = max(1.4826 * mad, math.sqrt(max(expected, 1.0)))
    volume = sum(totals)
    share = sum(r.negative for r in refs) / volume if volume else 0.0
    return Baseline(expected, spread, share, len(refs))


def _severity(ratio: float, negative_share: float, baseline_share: float) -> Severity:
    level = 1 + (ratio >= 3) + (ratio >= 5) + (ratio >= 10)
    if negative_share >= 0.6:
        level += 1
    elif negative_share <= baseline_share:
        level -= 1
    return Severity(min(max(level, 1), 4))


def detect(
    series: list[BucketCounts], now: datetime, config: DetectionConfig, brand: str
) -> list[Spike]:
    """Spikes in the bucket judged at ``now`` (see :func:`judged_bucket`).

    ``series`` holds closed buckets (missing ones count as zero). Nothing is reported during
    warm-up, that is until the series spans ``config.warmup``.
    """
    if not series:
        return []
    start, end = judged_bucket(now, config)
    table = {b.start: b for b in series if b.start < end}
    if not table or start - min(table) < config.warmup:
        return []
    history = {t: b for t, b in table.items() if t < start}
    if not history:
        return []
    base = baseline(history, start, config.bucket)
    if base is None:
        return []
    current = table.get(start, BucketCounts(start, 0, 0))
    share = current.negative / current.total if current.total else 0.0
    expected = max(base.expected, 0.5)
    z = (current.total - base.expected) / base.spread
    ratio = current.total / expected
    spikes: list[Spike] = []
    volume = config.volume
    if current.total >= volume.min_count and ratio >= volume.min_ratio and z >= volume.z:
        spikes.append(
            Spike(
                brand=brand, kind=SpikeKind.VOLUME, window_start=start, window_end=end,
                observed=current.total, expected=base.expected, score=round(z, 2),
                severity=_severity(ratio, share, base.negative_share),
                negative_share=share, baseline_negative_share=base.negative_share,
            )
        )
    negative = config.negative
    if (
        current.total >= negative.min_count
        and share >= negative.min_share
        and share - base.negative_share >= negative.min_shift
    ):
        spikes.append(
            Spike(
                brand=brand, kind=SpikeKind.NEGATIVE, window_start=start, window_end=end,
                observed=current.negative, expected=base.negative_share * current.total,
                score=round((share - base.negative_share) * 10, 2),
                severity=_severity(max(ratio, 1.0), share, base.negative_share),
                negative_share=share, baseline_negative_share=base.negative_share,
            )
        )
    return spikes
