"""Mastodon's streaming API: new statuses of an instance's public timeline and of hashtags, live.

One WebSocket to the instance's ``/api/v1/streaming``, subscribed to the ``public`` stream
(``public:local`` with ``local: true``; off with ``public: false``) and to a ``hashtag``
stream per hashtag of the brand query. Every status is matched against the brand query here;
a boost carries its original, whose counts (favourites, boosts, quotes, replies) are the
instance's own totals, so storing it raises a stored post's engagement without ever
counting twice. Mastodon streams cannot be replayed: after a drop (and at start, from the
stored cursor, the newest status id seen) the gap is read from the REST timelines with
``min_id``, up to ``gap_pages`` pages each, while the new connection already buffers what
arrives; statuses read twice are stored once (ids are the statuses' ``uri``, as the
``mastodon`` search collector's).
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Iterator
from urllib.parse import quote, urlencode

from pydantic import Field
from websockets.sync.client import ClientConnection

from monitor.collectors.api import language, read_json
from monitor.collectors.base import ITEM_ERRORS, Batch, FetchContext
from monitor.collectors.http import PoliteClient
from monitor.collectors.mastodon import MastodonCollector, MastodonConfig, status_text
from monitor.collectors.stream import StreamBatch, StreamConfig, hold, refuse_polling
from monitor.errors import CollectorError

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


def hashtags(context: FetchContext) -> list[str]:
    """The hashtags of the brand query (each gets a ``hashtag`` stream)."""
    return sorted({t.value for t in context.query.positive_terms() if t.kind == "hashtag"})


class StatusReader:
    """Reads the stream's messages (and the REST pages that fill a gap) into a pending batch."""

    def __init__(self, context: FetchContext, config: MastodonStreamConfig, since: int,
                 client: PoliteClient | None = None):
        self.context, self.config, self.since = context, config, since
        self.instance = config.instance.rstrip("/")
        self.rest = MastodonCollector(MastodonConfig(instances=[self.instance], timeout=config.timeout), client)
        self.pending = StreamBatch()
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
        """One message: a status (new or edited) is matched; deletes and notifications only counted."""
        try:
            message = json.loads(raw)
            event = message["event"]
            status = json.loads(message["payload"]) if event in STATUS_EVENTS else None
        except (*ITEM_ERRORS, UnicodeDecodeError) as exc:
            self.context.skip("mastodon stream message", f"{type(exc).__name__}: {str(exc)[:120]}")
            return
        self.pending.events += 1
        if status is not None:
            self.statuses([status])

    def statuses(self, statuses: list[Any]) -> None:
        """Statuses that match the brand query become mentions (a boost, and its original)."""
        for status in statuses:
            try:
                if str(status["id"]).isdigit():
                    self.since = max(self.since, int(status["id"]))
                shown = status["reblog"] if isinstance(status.get("reblog"), dict) else status
                author = (status.get("account") or {}).get("acct")
                hint = language(shown.get("language"))
                languages = [hint] if hint else list(self.context.languages)
                if not self.context.query.match(status_text(shown), author, languages):
                    continue
            except ITEM_ERRORS as exc:
                self.context.skip(f"mastodon status {str(status)[:40]}", f"{type(exc).__name__}: {exc}")
                continue
            mapped, _ = self.rest.mentions([status], self.context, self.instance)
            self.pending.mentions += [m.mention for m in mapped]

    def take(self, error: str | None = None) -> StreamBatch:
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
