"""The care digest: posts waiting past ``care.alert_share`` of their target, one message per channel.

Each run (every ``care.digest_every``) gathers, for every brand that is nobody's competitor, the
queue's posts that have waited longer than the alert share of their target, and posts one digest
per care channel (``care.channel``, else the brand's ``slack_channel``, else ``slack.channel``)
through the notifier: Slack, or the outbox without a token. An empty queue sends nothing. The
digest's key names its channel and run slot, so a rerun in the same slot is not posted twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from monitor.care.queue import QueueItem, queue
from monitor.care.service import brand_cases
from monitor.care.templates import BUILT_IN_TEMPLATES, load_templates
from monitor.config import Config
from monitor.store.base import Store

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=2)
"""How far back unanswered posts are still brought up."""


@runtime_checkable
class DigestPoster(Protocol):
    """What the digest needs of a notifier: post a digest in its channel's format, once per key."""

    def post_digest(self, digest: Digest) -> str | None: ...

    def posted(self, channel: str, key: str) -> str | None: ...


@dataclass(frozen=True)
class Digest:
    """The waiting posts of one care channel at one run."""

    channel: str
    at: datetime
    items: tuple[tuple[str, QueueItem], ...]
    """(brand, post), oldest first."""

    @property
    def key(self) -> str:
        return f"care-digest:{self.channel}:{self.at:%Y-%m-%dT%H:%M}"

    def text(self) -> str:
        late = sum(item.overdue for _, item in self.items)
        return f"Customer care: {len(self.items)} post(s) waiting for an answer, {late} past the target"


def _channel(config: Config, brand_channel: str | None) -> str:
    return config.care.channel or brand_channel or config.slack.channel


def digests(store: Store, config: Config, slot: datetime, now: datetime) -> list[Digest]:
    """The digests due at ``now``: per channel, the posts past the alert share of their target."""
    rivals = {name.casefold() for brand in config.brands for name in brand.competitors}
    templates = load_templates(config.care.templates_dir or BUILT_IN_TEMPLATES)
    waiting: dict[str, list[tuple[str, QueueItem]]] = {}
    for brand in config.brands:
        if brand.name.casefold() in rivals:
            continue
        cases = brand_cases(store, config, brand, now - LOOKBACK, now)
        late = [item for item in queue(cases, brand.name, templates, now) if item.past_share(config.care.alert_share)]
        if late:
            waiting.setdefault(_channel(config, brand.slack_channel), []).extend((brand.name, i) for i in late)
    return [Digest(channel, slot, tuple(sorted(items, key=lambda pair: pair[1].created_at)))
            for channel, items in waiting.items()]


def slot_of(now: datetime, every: timedelta) -> datetime:
    """The start of the digest run slot holding ``now`` (slots aligned to the Unix epoch)."""
    seconds = int(every.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=now.tzinfo)


def send_digests(store: Store, config: Config, notifier: object, now: datetime) -> list[Digest]:
    """Post the digests due at ``now`` that were not posted in this slot yet; returns those posted."""
    if not isinstance(notifier, DigestPoster):
        log.warning("care digest: the notifier %r cannot post digests", notifier)
        return []
    sent = []
    for digest in digests(store, config, slot_of(now, config.care.digest_every), now):
        if notifier.posted(digest.channel, digest.key) is None:
            notifier.post_digest(digest)
            sent.append(digest)
    return sent
