"""Mastodon's streaming API: new statuses of an instance's public timeline and of hashtags, live.

One WebSocket to the instance's ``/api/v1/streaming``, subscribed to the ``public`` stream
(``public:local`` with ``local: true``; off with ``public: false``) and to a ``hashtag``
stream per hashtag of the brand query. Every status is matched against the brand query here,
and stored posts follow the instance's own counts (:attr:`StreamBatch.totals`, which replace
the stored ones): a new or edited status, and a boost carrying its original, bring the
instance's totals of favourites, boosts, quotes and replies. A new reply to or quote of a
post this stream matched adds a reply or a share to it at once. Favourites are not
broadcast on public or hashtag streams, so every ``refresh_every`` seconds up to
``refresh_calls`` posts matched in the last ``refresh_hours`` are read again from
``/api/v1/statuses/:id``, least recently read first. A ``delete`` event (a status id) marks
the post deleted, or takes back the reply or quote it was (the records behind it are kept
in the store). Mastodon streams cannot be replayed: after a drop (and at start, from the
stored cursor, the newest status id seen) the gap is read from the REST timelines with
``min_id``, up to ``gap_pages`` pages each, while the new connection already buffers what
arrives; statuses read twice are stored once (ids are the statuses' ``uri``, as the
``mastodon`` search collector's).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterator, TypeVar
from urllib.parse import quote, urlencode

from pydantic import Field
from websockets.sync.client import ClientConnection

from monitor.collectors.api import json_object, language, read_json
from monitor.collectors.base import ITEM_ERRORS, Batch, FetchContext
from monitor.collectors.http import PoliteClient
from monitor.collectors.mastodon import MastodonCollector, MastodonConfig, status_engagement, status_text
from monitor.collectors.stream import KIND_FIELDS, StreamBatch, StreamConfig, hold, refuse_polling
from monitor.errors import CollectorError
from monitor.store.base import record_key

log = logging.getLogger(__name__)

SOURCE = "mastodon"
STATUS_EVENTS = ("update", "status.update")


class MastodonStreamConfig(StreamConfig):
    """Options of a ``mastodon_stream`` source."""

    instance: str = Field(description="the instance's base URL, e.g. https://mastodon.social")
    streaming_url: str | None = Field(default=None, description="the streaming endpoint when not on the instance")
    public: bool = Field(default=True, description="subscribe to the public timeline, matched locally")
    local: bool = Field(default=False, description="only the instance's own public posts (public:local)")
    token_env: str = Field(default="MASTODON_TOKEN", description="access token, sent when set")
    gap_pages: int = Field(default=10, ge=0, description="REST pages per timeline read after a drop")
    page_size: int = Field(default=40, ge=1, le=40)
    timeout: float = Field(default=15.0, gt=0, description="seconds per REST request")
    refresh_every: float = Field(default=300.0, ge=0, description="seconds between rounds of REST count refreshes "
                                 "(favourites are not streamed); 0: never")
    refresh_calls: int = Field(default=20, ge=0, description="REST calls per refresh round at most")
    refresh_hours: float = Field(default=24.0, gt=0, description="posts matched this recently are refreshed")


KNOWN = 10_000
"""Statuses remembered by instance id (for replies, quotes and refreshes), most recent kept."""


def status_key(instance: str, local_id: str, role: str = "post") -> str:
    """The record key of a status (``post``), or of what it added as a ``reply`` or ``quote`` of another."""
    return record_key(instance, local_id, role)


@dataclass
class Known:
    """A status this stream matched: its mention, when it was seen and when its counts were last read."""

    mention_id: str
    seen: float
    refreshed: float = 0.0


def hashtags(context: FetchContext) -> list[str]:
    """The hashtags of the brand query (each gets a ``hashtag`` stream)."""
    return sorted({t.value for t in context.query.positive_terms() if t.kind == "hashtag"})


V = TypeVar("V")


def remember(items: OrderedDict[str, V], key: str, value: V) -> None:
    """Put ``key`` last in ``items``, dropping the oldest beyond :data:`KNOWN`."""
    items[key] = value
    items.move_to_end(key)
    while len(items) > KNOWN:
        items.popitem(last=False)


class StatusReader:
    """Reads the stream's messages (and the REST pages that fill a gap) into a pending batch."""

    def __init__(self, context: FetchContext, config: MastodonStreamConfig, since: int,
                 client: PoliteClient | None = None):
        self.context, self.config, self.since = context, config, since
        self.instance = config.instance.rstrip("/")
        self.rest = MastodonCollector(MastodonConfig(instances=[self.instance], timeout=config.timeout), client)
        self.pending = StreamBatch()
        self.known: OrderedDict[str, Known] = OrderedDict()
        self.counted: OrderedDict[str, None] = OrderedDict()
        self.next_refresh = time.monotonic() + config.refresh_every
        token = os.environ.get(config.token_env, "").strip()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def subscriptions(self) -> list[dict[str, str]]:
        wanted = [{"type": "subscribe", "stream": "public:local" if self.config.local else "public"}]
        wanted = wanted if self.config.public else []
        return wanted + [{"type": "subscribe", "stream": "hashtag", "tag": tag} for tag in hashtags(self.context)]

    def timelines(self) -> list[str]:
        """The REST timelines behind the subscriptions (for filling a gap)."""
        paths = [f"/api/v1/timelines/tag/{quote(tag)}" for tag in hashtags(self.context)]
        return (["/api/v1/timelines/public"] if self.config.public else []) + paths

    def url(self) -> str:
        if self.config.streaming_url:
            return self.config.streaming_url
        base = self.instance.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return f"{base}/api/v1/streaming"

    def opened(self, socket: ClientConnection) -> None:
        """Subscribe, then read what was posted since the newest status seen (the socket buffers meanwhile)."""
        for subscription in self.subscriptions():
            socket.send(json.dumps(subscription))
        if self.since:
            for path in self.timelines():
                self._fill(path)

    def _fill(self, path: str) -> None:
        since = self.since
        for _ in range(self.config.gap_pages):
            params = [("limit", str(self.config.page_size)), ("min_id", str(since))]
            params += [("local", "true")] if self.config.local and path.endswith("/public") else []
            response = self.rest.client.get(f"{self.instance}{path}?{urlencode(params)}", self.headers)
            statuses = read_json(response, SOURCE)
            if not isinstance(statuses, list):
                raise CollectorError(f"{SOURCE}: {self.instance}{path} answered without a list of statuses")
            self.statuses(statuses)
            ids = [int(s["id"]) for s in statuses if isinstance(s, dict) and str(s.get("id", "")).isdigit()]
            if len(statuses) < self.config.page_size or not ids:
                return
            since = max(ids)

    def read(self, raw: str | bytes) -> None:
        """One message: a status (new or edited) is matched, a deletion taken back, notifications counted."""
        try:
            message = json.loads(raw)
            event = message["event"]
            status = json.loads(message["payload"]) if event in STATUS_EVENTS else None
            deleted = str(message["payload"]) if event == "delete" else None
        except (*ITEM_ERRORS, UnicodeDecodeError) as exc:
            self.context.skip("mastodon stream message", f"{type(exc).__name__}: {str(exc)[:120]}")
            return
        self.pending.events += 1
        if status is not None:
            self.statuses([status], fresh=event == "update")
        elif deleted is not None:
            for role in ("post", "reply", "quote"):
                self.pending.records.take_back(status_key(self.instance, deleted, role), self.pending.bumps)

    def statuses(self, statuses: list[Any], fresh: bool = True) -> None:
        """Statuses that match the brand query become mentions (a boost, and its original) with the
        instance's totals; a ``fresh`` one that replies to or quotes a known post adds to it."""
        for status in statuses:
            try:
                if str(status["id"]).isdigit():
                    self.since = max(self.since, int(status["id"]))
                shown = status["reblog"] if isinstance(status.get("reblog"), dict) else status
                if fresh and shown is status:
                    self._engage(str(status["id"]), status)
                author = (status.get("account") or {}).get("acct")
                hint = language(shown.get("language"))
                languages = [hint] if hint else list(self.context.languages)
                if not self.context.query.match(status_text(shown), author, languages):
                    continue
            except ITEM_ERRORS as exc:
                self.context.skip(f"mastodon status {str(status)[:40]}", f"{type(exc).__name__}: {exc}")
                continue
            mapped, _ = self.rest.mentions([status], self.context, self.instance)
            for local_id, mention in mapped:
                self.pending.mentions.append(mention)
                self.pending.records.make(status_key(self.instance, local_id), mention.id, "post")
                if not mention.is_repost:
                    self.pending.totals[mention.id] = mention.engagement
                    self._know(local_id, mention.id)

    def _engage(self, local_id: str, status: dict[str, Any]) -> None:
        """A new status replying to or quoting a known post adds a reply or a share to it (once)."""
        if local_id in self.counted:
            return
        remember(self.counted, local_id, None)
        quote = status.get("quote")
        quoted = quote.get("quoted_status") if isinstance(quote, dict) else None
        for role, parent, kind in (("reply", status.get("in_reply_to_id"), "reply"),
                                   ("quote", quoted.get("id") if isinstance(quoted, dict) else None, "share")):
            target = self.known.get(str(parent)) if parent is not None else None
            if target is not None:
                self.pending.bumps.add(target.mention_id, **{KIND_FIELDS[kind]: 1})
                self.pending.records.make(status_key(self.instance, local_id, role), target.mention_id, kind)

    def _know(self, local_id: str, mention_id: str) -> None:
        known = self.known.get(local_id)
        remember(self.known, local_id, known or Known(mention_id, time.monotonic()))

    def refresh(self) -> None:
        """Read the instance's counts of up to ``refresh_calls`` recently matched posts, least recently read first."""
        now = time.monotonic()
        self.next_refresh = now + self.config.refresh_every
        horizon = now - self.config.refresh_hours * 3600
        due = sorted((item for item in self.known.items() if item[1].seen >= horizon), key=lambda i: i[1].refreshed)
        for local_id, known in due[: self.config.refresh_calls]:
            known.refreshed = now
            try:
                status = json_object(self.rest.client.get(f"{self.instance}/api/v1/statuses/{local_id}",
                                                          self.headers), SOURCE)
                self.pending.totals[known.mention_id] = status_engagement(status)
            except CollectorError as exc:
                log.warning("%s: counts of status %s not refreshed: %s", SOURCE, local_id, exc)

    def take(self, error: str | None = None) -> StreamBatch:
        """The pending batch (with a round of count refreshes when one is due), and a fresh one started."""
        if self.config.refresh_every and self.config.refresh_calls and time.monotonic() >= self.next_refresh:
            self.refresh()
        batch, self.pending = self.pending, StreamBatch()
        batch.error = error
        if self.since and (batch.events or batch.mentions):
            batch.cursor = str(self.since)
        return batch


class MastodonStreamCollector:
    """One streaming connection per brand to one instance, the gap after a drop read over REST."""

    Config = MastodonStreamConfig
    streams = True
    searches_natively = False

    def __init__(self, config: MastodonStreamConfig, client: PoliteClient | None = None):
        self.config = config
        self.client = client

    def fetch(self, context: FetchContext, cursor: str | None) -> Iterator[Batch]:
        refuse_polling(context.source)

    def stream(self, context: FetchContext, cursor: str | None, stop: threading.Event) -> Iterator[StreamBatch]:
        reader = StatusReader(context, self.config, int(cursor) if cursor and cursor.isdigit() else 0, self.client)
        if not reader.subscriptions():
            raise CollectorError(f"{context.source}: nothing to stream (public: false and no hashtag in the query)")
        yield from hold(self.config, reader, stop, context.source, reader.headers)
