"""Viral posts: one mention whose engagement outgrows the brand's usual posts, fast.

A pure function: the brand's recent mentions (the candidates), older ones (the reference for
what engagement is usual) and a clock in, spikes out. A candidate's engagement is its likes,
shares and replies, its shares at least the reposts and quotes of it among the candidates (see
:func:`interactions`); it fires when that is at
least ``min_engagement``, at least ``min_ratio`` times the usual engagement (the 90th
percentile of the reference), and has grown at ``min_rate`` per hour or faster since the post
appeared. Positive posts are skipped unless ``skip_positive`` is off: good news going viral is
not a crisis; so are posts their authors deleted. Nothing fires before the reference holds
``min_history`` mentions. Severity comes from reach (followers plus engagement), one level up
for a negative post.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta
from typing import Sequence

from monitor.config import DetectionConfig, ViralRule
from monitor.models import Mention, Severity, Spike, SpikeKind
from monitor.store.base import MentionFilter, Store, bucket_floor

MIN_AGE = timedelta(minutes=10)
REACH_LEVELS = (10_000, 100_000, 1_000_000)
SAMPLES = 5
REFERENCE_REFRESH = timedelta(hours=6)


def usual_engagement(reference: Sequence[Mention]) -> float:
    """The 90th percentile of the reference posts' engagement (at least 1)."""
    totals = sorted(m.engagement.total for m in reference if not m.is_repost)
    if len(totals) < 2:
        return 1.0
    return max(statistics.quantiles(totals, n=10)[-1], 1.0)


def interactions(mention: Mention, collected: int) -> int:
    """The post's likes, shares and replies, its shares at least the ``collected`` reposts and quotes of it:
    a source that reports shares counts those reposts already (no double counting, and the Mentions
    page's figure), one that does not is made up for by what was collected."""
    counts = mention.engagement
    return counts.likes + max(counts.shares, collected) + counts.replies


def reach_severity(reach: int, negative: bool) -> Severity:
    level = 1 + sum(reach >= level for level in REACH_LEVELS) + negative
    return Severity(min(level, Severity.CRITICAL.value))


def detect_viral(
    candidates: Sequence[Mention],
    reference: Sequence[Mention],
    now: datetime,
    rule: ViralRule,
    brand: str,
    bucket: timedelta,
) -> list[Spike]:
    """At most one spike: the strongest viral post among ``candidates`` (posts of the last ``rule.lookback``).

    ``reference`` holds the brand's older posts. The spike covers the bucket the post appeared
    in, so judging the same post again yields the same window and the incident engine records
    it once; ``sample_mention_ids`` lists the viral posts, strongest first.
    """
    if len(reference) < rule.min_history:
        return []
    usual = usual_engagement(reference)
    reposts = Counter(m.parent_id for m in candidates if (m.is_repost or m.is_quote) and m.parent_id)
    found: list[tuple[float, float, Mention]] = []
    for mention in candidates:
        if mention.is_repost or mention.deleted_at is not None or mention.created_at > now \
                or now - mention.created_at > rule.lookback:
            continue
        if rule.skip_positive and mention.sentiment is not None and mention.sentiment.label == "positive":
            continue
        engagement = interactions(mention, reposts[mention.id])
        rate = engagement / (max(now - mention.created_at, MIN_AGE) / timedelta(hours=1))
        if engagement >= rule.min_engagement and engagement >= rule.min_ratio * usual and rate >= rule.min_rate:
            found.append((engagement, rate, mention))
    if not found:
        return []
    found.sort(key=lambda item: -item[0])
    engagement, rate, top = found[0]
    negative = top.sentiment is not None and top.sentiment.label == "negative"
    start = bucket_floor(top.created_at, bucket)
    return [
        Spike(
            brand=brand, kind=SpikeKind.VIRAL_POST, window_start=start, window_end=start + bucket,
            observed=engagement, expected=usual, score=round(engagement / usual, 2),
            severity=reach_severity((top.author.followers or 0) + int(engagement), negative),
            negative_share=1.0 if negative else 0.0,
            sample_mention_ids=[m.id for _, _, m in found[:SAMPLES]], growth_rate=round(rate, 1),
        )
    ]


class ViralWatch:
    """:func:`detect_viral` for the pipeline, reading the posts from ``store``.

    The reference (what engagement is usual for a brand) changes slowly, so it is read at
    most once per ``REFERENCE_REFRESH``; the candidates are read on every tick.
    """

    def __init__(self, store: Store, detection: DetectionConfig):
        self.store = store
        self.detection = detection
        self._reference: dict[str, tuple[datetime, list[Mention]]] = {}

    def spikes(self, brand: str, now: datetime) -> list[Spike]:
        """Viral-post spikes of ``brand`` at ``now``; none unless ``detection.viral.enabled``."""
        rule = self.detection.viral
        if not rule.enabled:
            return []
        since = now - rule.lookback
        candidates = self.store.search(MentionFilter(brands=[brand], since=since, until=now, limit=rule.sample * 5))
        return detect_viral(candidates, self.reference(brand, now), now, rule, brand, self.detection.bucket)

    def reference(self, brand: str, now: datetime) -> list[Mention]:
        """The brand's posts older than the lookback: what engagement is usual (re-read every few hours)."""
        rule = self.detection.viral
        read_at, reference = self._reference.get(brand, (None, []))
        if read_at is None or not timedelta(0) <= now - read_at < REFERENCE_REFRESH:
            reference = self.store.search(
                MentionFilter(brands=[brand], since=now - rule.history, until=now - rule.lookback, limit=rule.sample)
            )
            self._reference[brand] = (now, reference)
        return reference
