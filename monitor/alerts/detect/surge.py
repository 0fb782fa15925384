"""The streaming surge detector in the pipeline: one detector per brand, fed each closed bucket once.

A detector keeps its state between ticks, so a tick costs one update per brand; after a
restart the first tick replays the stored history. An upward alarm on the judged bucket becomes
a volume spike when the bucket also passes the volume rule's count and negativity gates
(``detection.volume.min_count`` and ``.min_negative_lift``): a surge of good news is not a crisis.
"""

from __future__ import annotations

import threading
from datetime import datetime

from monitor.alerts.detect.spikes import BucketCounts, baseline, judged_bucket, severity_of
from monitor.alerts.detect.streaming import SurgeDetector
from monitor.config import DetectionConfig
from monitor.models import Spike, SpikeKind


class SurgeTracker:
    """Per-brand surge detectors fed the closed buckets in order, each exactly once."""

    def __init__(self, config: DetectionConfig):
        self.config = config
        self._detectors: dict[str, SurgeDetector] = {}
        self._next: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def spikes(self, series: list[BucketCounts], now: datetime, brand: str) -> list[Spike]:
        """A volume spike if the bucket judged at ``now`` is a surge, else nothing (the detect tick and
        detection on arrival may ask from two threads; each bucket is still fed once)."""
        with self._lock:
            return self._spikes(series, now, brand)

    def _spikes(self, series: list[BucketCounts], now: datetime, brand: str) -> list[Spike]:
        start, end = judged_bucket(now, self.config)
        table = {b.start: b for b in series if b.start <= start}
        if not table:
            return []
        detector = self._detectors.setdefault(brand, SurgeDetector(self.config.surge, self.config.bucket))
        moment = self._next.get(brand, min(table))
        judgement = None
        while moment <= start:
            bucket = table.get(moment, BucketCounts(moment, 0, 0))
            judgement = detector.update(moment, bucket.total)
            moment += self.config.bucket
        self._next[brand] = moment
        if judgement is None or not judgement.alarm or judgement.direction <= 0:
            return []
        current = table.get(start, BucketCounts(start, 0, 0))
        base = baseline({t: b for t, b in table.items() if t < start}, start, self.config.bucket)
        share = current.negative / current.total if current.total else 0.0
        base_share = base.negative_share if base else 0.0
        rule = self.config.volume
        if current.total < rule.min_count or share < base_share + rule.min_negative_lift:
            return []
        ratio = current.total / max(judgement.expected, 0.5)
        return [Spike(
            brand=brand, kind=SpikeKind.VOLUME, window_start=start, window_end=end, observed=current.total,
            expected=round(judgement.expected, 2), score=round(judgement.score, 2),
            severity=severity_of(ratio, share, base_share), negative_share=share,
            baseline_negative_share=base_share,
        )]
