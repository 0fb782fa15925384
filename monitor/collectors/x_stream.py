"""X's filtered stream: posts matching the app's rules, as newline-delimited JSON over one long HTTP response.

Each brand gets one rule, its query compiled as the ``x`` search collector compiles it (the
same operators; the rule length limit respected, the inflected forms left out named in a
warning) and tagged ``tag_prefix`` + the brand's name; :mod:`monitor.collectors.x_rules`
keeps the rules in sync with the config. Every post that arrives is read as the search
collector reads it (same fields and expansions) and matched against the brand query here
(by the pipeline); retweets, quotes and replies add to the engagement of the post they refer
to. The brands of one process read one shared connection (:mod:`monitor.collectors.x_connection`:
X allows one per app on most tiers), which reconnects by itself as X asks.

The stream cannot be resumed by position (``backfill_minutes`` asks the tiers that offer it
to resend what a short drop missed). Posts read twice are stored once (the store keeps one
post per id); the engagement a post adds is counted once: by post id within a run, and
after a restart for posts no newer than the stored cursor, the newest post id read.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import urlencode

import httpx
from pydantic import Field

from monitor.collectors import x_connection
from monitor.collectors.api import env_secret
from monitor.collectors.base import ITEM_ERRORS, Batch, FetchContext
from monitor.collectors.http import redact
from monitor.collectors.stream import RECV_SLICE, StreamBatch, StreamConfig, refuse_polling
from monitor.collectors.x import EXPANSIONS, TWEET_FIELDS, USER_FIELDS, page_mentions, references
from monitor.collectors.x_connection import STREAM, Waits
from monitor.collectors.x_rules import RuleSync
from monitor.errors import CollectorError
from monitor.models import Engagement, Mention

SOURCE = "x"
REMEMBERED = 100_000
"""Post ids remembered for counting each post's engagement once."""


class XStreamConfig(StreamConfig):
    """Options of an ``x_stream`` source."""

    base_url: str = Field(default="https://api.x.com", description="the API's base URL")
    token_env: str = Field(default="X_BEARER_TOKEN", description="environment variable holding the bearer token")
    max_rule_length: int = Field(default=512, ge=1, description="rule length limit of the tier (1024 on pro)")
    tag_prefix: str = Field(default="monitor:", min_length=1, description="marks the rules this program manages")
    dry_run: bool = Field(default=False, description="only check rule changes with X (dry_run), change nothing")
    backfill_minutes: int = Field(default=0, ge=0, le=5,
                                  description="minutes resent after a drop (on the tiers that offer it)")
    stall_seconds: float = Field(default=90.0, gt=0, description="silence after which the connection is dropped")
    backoff_initial: float = Field(default=5.0, gt=0, description="first wait after an HTTP error (doubling)")
    rate_limit_backoff: float = Field(default=60.0, gt=0, description="first wait after HTTP 429 (doubling)")
    backoff_max: float = Field(default=320.0, gt=0, description="longest wait after an HTTP error or 429")
    network_step: float = Field(default=0.25, gt=0, description="wait added per network error in a row")
    network_max: float = Field(default=16.0, gt=0, description="longest wait after network errors")
    timeout: float = Field(default=15.0, gt=0, description="seconds per rules request")

    def secrets_needed(self) -> list[str]:
        return [self.token_env]


class TweetReader:
    """Reads the stream's lines into a pending :class:`StreamBatch`, each post's engagement counted once."""

    def __init__(self, context: FetchContext, floor: int = 0):
        self.context, self.floor = context, floor
        self.pending = StreamBatch()
        self.newest = floor
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._totals: set[str] = set()

    def read(self, line: bytes) -> None:
        """One line: a blank keep-alive is nothing, a malformed line is skipped and counted."""
        if not line.strip():
            return
        try:
            message = json.loads(line)
            if not isinstance(message, dict):
                raise ValueError("not a JSON object")
            tweet = message.get("data")
            if tweet is not None and not (isinstance(tweet, dict) and str(tweet["id"]).isdigit()):
                raise ValueError("'data' is not a post with a numeric id")
        except (*ITEM_ERRORS, UnicodeDecodeError) as exc:
            self.context.skip("x stream line", f"{type(exc).__name__}: {str(exc)[:120]}")
            return
        if tweet is None:
            self.context.skip("x stream message", f"errors: {json.dumps(message.get('errors'))[:200]}")
            return
        self.pending.events += 1
        tweet_id = str(tweet["id"])
        self.newest = max(self.newest, int(tweet_id))
        if tweet_id not in self._seen and int(tweet_id) > self.floor:
            self._count(tweet)
        self._seen[tweet_id] = None
        self._seen.move_to_end(tweet_id)
        if len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)
        found = page_mentions({"data": [tweet], "includes": message.get("includes")}, self.context, STREAM)
        arrived = datetime.now(timezone.utc)
        for mention in found:
            if mention.id != Mention.make_id(SOURCE, tweet_id):
                self._totals.add(mention.id)
            self.pending.mentions.append(mention.model_copy(update={"collected_at": arrived}))

    def _count(self, tweet: dict[str, Any]) -> None:
        referenced = references(tweet)
        for kind in ("retweeted", "quoted"):
            if kind in referenced:
                self.pending.bumps.add(Mention.make_id(SOURCE, referenced[kind]), shares=1)
        if "replied_to" in referenced:
            self.pending.bumps.add(Mention.make_id(SOURCE, referenced["replied_to"]), replies=1)

    def take(self, error: str | None = None) -> StreamBatch:
        """The pending batch (its cursor the newest post id read), and a fresh one started.

        An original that came with a retweet carries X's totals (likes included), which already
        count the retweets of this batch: those are taken off, as the pipeline adds the batch's
        engagement after them. The newest totals replace a stored original's counts
        (``totals``), or are its counts when it is stored for the first time.
        """
        batch, self.pending = self.pending, StreamBatch()
        batch.error = error
        if batch.events and self.newest:
            batch.cursor = str(self.newest)
        mentions = []
        for mention in batch.mentions:
            if mention.id in self._totals:
                mention = _less(mention, batch.bumps.counts.get(mention.id))
                batch.totals[mention.id] = mention.engagement
            mentions.append(mention)
        batch.mentions, self._totals = mentions, set()
        return batch


def _less(mention: Mention, bump: list[int] | None) -> Mention:
    if not bump:
        return mention
    counts = mention.engagement
    return mention.model_copy(update={"engagement": Engagement(
        likes=max(counts.likes - bump[0], 0), shares=max(counts.shares - bump[1], 0),
        replies=max(counts.replies - bump[2], 0))})


class XStreamCollector:
    """Reads X's filtered stream for one brand, its rule kept in sync with the config."""

    Config = XStreamConfig
    streams = True
    searches_natively = True

    def __init__(self, config: XStreamConfig):
        self.config = config

    def fetch(self, context: FetchContext, cursor: str | None) -> Iterator[Batch]:
        refuse_polling(context.source)

    def url(self) -> str:
        params = {"tweet.fields": TWEET_FIELDS, "expansions": EXPANSIONS, "user.fields": USER_FIELDS}
        if self.config.backfill_minutes:
            params["backfill_minutes"] = str(self.config.backfill_minutes)
        return f"{self.config.base_url.rstrip('/')}{STREAM}?{urlencode(params)}"

    def stream(self, context: FetchContext, cursor: str | None, stop: threading.Event) -> Iterator[StreamBatch]:
        """Sync the brand's rule, then read the app's shared connection until ``stop``: a batch every
        ``flush_events`` posts or ``flush_seconds``, and one with the error each time the connection drops.

        A rule the config cannot give (a query too long for ``max_rule_length``) ends it with
        ``ConfigError``; a failed sync is retried with the waits of a failed connection."""
        token = env_secret(self.config.token_env, context.source)
        reader = TweetReader(context, int(cursor) if cursor and cursor.isdigit() else 0)
        rules, waits = RuleSync(self.config, token), Waits(self.config)
        while not stop.is_set():
            try:
                rules.sync(context)
                break
            except (CollectorError, httpx.HTTPError, OSError) as exc:
                yield reader.take(f"{context.source}: the stream rules could not be synced: {redact(str(exc))}")
                stop.wait(waits.after(exc))
        if stop.is_set():
            return
        url = self.url()
        inbox = x_connection.join(self.config, url, token)
        try:
            yield from self._read(context, inbox, reader, stop)
        finally:
            x_connection.leave(url, token, inbox)
        batch = reader.take()
        if batch.events or batch.mentions:
            yield batch

    def _read(self, context: FetchContext, inbox: queue.Queue[Any], reader: TweetReader,
              stop: threading.Event) -> Iterator[StreamBatch]:
        flushed = time.monotonic()
        while not stop.is_set():
            try:
                item = inbox.get(timeout=RECV_SLICE)
            except queue.Empty:
                item = None
            if isinstance(item, x_connection.Ended):
                yield reader.take(f"{context.source}: {item.error}")
                flushed = time.monotonic()
                continue
            if item is not None:
                reader.read(item)
            if reader.pending.events >= self.config.flush_events or \
                    time.monotonic() - flushed >= self.config.flush_seconds:
                yield reader.take()
                flushed = time.monotonic()
