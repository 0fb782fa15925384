"""Detection on arrival: streamed posts judged the moment they are stored, not on the next detect tick.

Per brand, in memory: the posts of the viral rule's lookback (read from the store the first
time a brand is judged, then kept up to date with every post or engagement change the stream
stores) go through :func:`~monitor.alerts.detect.viral.detect_viral` after every stored batch;
a spike is returned only when a post is newly viral. The posts already viral when the state is
read from the store (after a restart; before the first batch is judged) are taken as judged,
so a restart raises no alert the detect tick did not raise already. The surge detector
(shared with the detect tick, so each bucket is fed once) judges each bucket as soon as it
closes.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Callable, Sequence

from monitor.alerts.detect.spikes import BucketCounts, judged_bucket
from monitor.alerts.detect.surge import SurgeTracker
from monitor.alerts.detect.viral import ViralWatch, detect_viral
from monitor.config import DetectionConfig
from monitor.models import Mention, Spike
from monitor.store.base import MentionFilter, Store


class ArrivalWatch:
    """The viral rule and the surge detector, judged as a stream stores posts."""

    def __init__(self, store: Store, detection: DetectionConfig, surge: SurgeTracker, viral: ViralWatch,
                 counts: Callable[[str, datetime], list[BucketCounts]]):
        self.store, self.detection, self.surge, self.viral, self.counts = store, detection, surge, viral, counts
        self._recent: dict[str, dict[str, Mention]] = {}
        self._judged: dict[str, set[str]] = {}
        self._bucket: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def spikes(self, brand: str, changed: Sequence[Mention], now: datetime) -> list[Spike]:
        """Spikes of ``brand`` at ``now`` after ``changed`` (new posts, or posts with new engagement) were stored."""
        with self._lock:
            return self._viral(brand, changed, now) + self._surge(brand, now)

    def _viral(self, brand: str, changed: Sequence[Mention], now: datetime) -> list[Spike]:
        rule = self.detection.viral
        if not rule.enabled:
            return []
        recent = self._recent.get(brand)
        if recent is None:
            recent = self._restore(brand, now, {m.id for m in changed})
        recent.update((m.id, m) for m in changed if m.brand == brand)
        for old in [i for i, m in recent.items() if now - m.created_at > rule.lookback]:
            del recent[old]
        found = detect_viral(list(recent.values()), self.viral.reference(brand, now), now, rule, brand,
                             self.detection.bucket)
        judged = self._judged[brand]
        fresh = [s for s in found if not set(s.sample_mention_ids) <= judged]
        for spike in found:
            judged.update(spike.sample_mention_ids)
        return fresh

    def _restore(self, brand: str, now: datetime, changed: set[str]) -> dict[str, Mention]:
        """The brand's recent posts from the store; those already viral count as judged, except ``changed``
        (stored just before this first judgement: what they became is news)."""
        rule = self.detection.viral
        stored = self.store.search(MentionFilter(brands=[brand], since=now - rule.lookback, until=now,
                                                 limit=rule.sample * 5))
        recent = self._recent[brand] = {m.id: m for m in stored}
        found = detect_viral(stored, self.viral.reference(brand, now), now, rule, brand, self.detection.bucket)
        self._judged[brand] = {i for spike in found for i in spike.sample_mention_ids} - changed
        return recent

    def _surge(self, brand: str, now: datetime) -> list[Spike]:
        start, _ = judged_bucket(now, self.detection)
        if self._bucket.get(brand) == start:
            return []
        self._bucket[brand] = start
        return self.surge.spikes(self.counts(brand, now), now, brand)
