"""The daily digest's figures, channel-neutral: yesterday's mentions, their sentiment, top posts, open incidents.

Once the brand's local clock passes ``daily_digest.hour``, the digest of the local day before is
due: its mentions counted from local midnight to local midnight (stored times are UTC; a day
has 23 or 25 hours when the clocks change), split by sentiment, the posts with the most
interactions, and the incidents still open. Brands that are only someone's competitor get
none. The digest's key names its channel, brand and day, so it is posted once whichever worker
runs the job and however often it runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from monitor.config import BrandConfig, Config
from monitor.localtime import at_local_hour, day_span, local_day
from monitor.models import SENTIMENT_LABELS, Incident, Mention
from monitor.store.base import MentionFilter, Store

log = logging.getLogger(__name__)


@runtime_checkable
class DailyDigestPoster(Protocol):
    """What the daily digest needs of a notifier: post it in its channel's format, once per key."""

    def post_daily_digest(self, digest: DailyDigest) -> str | None: ...

    def posted(self, channel: str, key: str) -> str | None: ...


@dataclass(frozen=True)
class DailyDigest:
    """One brand's day: how many mentions, their sentiment, the top posts and the incidents still open."""

    brand: str
    channel: str
    day: date
    zone: ZoneInfo
    start: datetime
    end: datetime
    """``[start, end)`` of the local day, in UTC."""
    mentions: int
    sentiment: dict[str, int]
    """Mentions per sentiment label (``negative``, ``neutral``, ``positive``), unscored ones left out."""
    top_posts: tuple[Mention, ...]
    open_incidents: tuple[Incident, ...]
    dashboard_url: str = ""

    @property
    def key(self) -> str:
        return digest_key(self.channel, self.brand, self.day)

    def text(self) -> str:
        """The one-line summary (Slack's fallback text and notification preview)."""
        scored = sum(self.sentiment.values())
        negative = f", {self.sentiment.get('negative', 0) / scored:.0%} negative" if scored else ""
        incidents = len(self.open_incidents)
        return (f"{self.brand} on {self.day:%a %d %b %Y} ({self.zone.key}): {self.mentions:,} mentions{negative}; "
                f"{incidents} open incident{'s' if incidents != 1 else ''}")


def digest_key(channel: str, brand: str, day: date) -> str:
    """``daily-digest:#brand-alerts:Aurora Air:2026-03-08``: one digest per channel, brand and local day."""
    return f"daily-digest:{channel}:{brand}:{day.isoformat()}"


def _channel(config: Config, brand: BrandConfig) -> str:
    return config.daily_digest.channel or brand.slack_channel or config.slack.channel


def build(store: Store, config: Config, brand: BrandConfig, day: date) -> DailyDigest:
    """The digest of ``brand`` for the local ``day`` (in the brand's time zone)."""
    tz = config.zone(brand.name)
    start, end = day_span(day, tz)
    window = MentionFilter(brands=[brand.name], since=start, until=end)
    sentiment = {label: store.count(window.model_copy(update={"sentiments": [label]})) for label in SENTIMENT_LABELS}
    top = store.search(window.model_copy(update={"most_engaged": True, "limit": config.daily_digest.top_posts}))
    active = sorted((i for i in store.incidents(brand=brand.name) if i.state.is_active), key=lambda i: i.opened_at)
    return DailyDigest(brand=brand.name, channel=_channel(config, brand), day=day, zone=tz, start=start, end=end,
                       mentions=store.count(window), sentiment=sentiment,
                       top_posts=tuple(m for m in top if m.engagement.total > 0), open_incidents=tuple(active),
                       dashboard_url=config.slack.dashboard_url)


def due_day(config: Config, brand: BrandConfig, now: datetime) -> date | None:
    """The local day whose digest is due at ``now``: yesterday, once today's ``daily_digest.hour`` has come."""
    tz = config.zone(brand.name)
    today = local_day(now, tz)
    return today - timedelta(days=1) if now >= at_local_hour(today, config.daily_digest.hour, tz) else None


def send_daily_digests(store: Store, config: Config, notifier: object, now: datetime) -> list[DailyDigest]:
    """Post each brand's digest due at ``now`` that was not posted yet; returns those posted."""
    if not config.daily_digest.enabled:
        return []
    if not isinstance(notifier, DailyDigestPoster):
        log.warning("daily digest: the notifier %r cannot post digests", notifier)
        return []
    rivals = {name.casefold() for brand in config.brands for name in brand.competitors}
    sent = []
    for brand in config.brands:
        if brand.name.casefold() in rivals:
            continue
        day = due_day(config, brand, now)
        channel = _channel(config, brand)
        if day is None or notifier.posted(channel, digest_key(channel, brand.name, day)) is not None:
            continue
        digest = build(store, config, brand, day)
        notifier.post_daily_digest(digest)
        sent.append(digest)
    return sent
