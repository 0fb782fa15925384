"""Bluesky's Jetstream: every new post, like and repost as JSON over one WebSocket, resumable by cursor.

The subscription asks for ``wantedCollections`` (posts, likes, reposts) and resumes with
``cursor``, the ``time_us`` (Unix microseconds) of the last event stored. Each post is matched
against the brand query here; likes and reposts of a stored post, and replies and quotes of
one, add to its engagement. A deletion carries only the record's key: the records that
pointed at stored posts are remembered (see :class:`~monitor.collectors.stream.Records`), so
an unlike, an undone repost or a deleted reply or quote is taken off again, and a deleted
post is marked deleted. Posts get the same ids as the ``bluesky`` search collector's
(``bluesky:at://…``), so a post found by both is stored once.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import urlencode

from pydantic import Field
from websockets.sync.client import ClientConnection

from monitor.collectors.api import language, parse_time
from monitor.collectors.base import ITEM_ERRORS, Batch, FetchContext
from monitor.collectors.bluesky import QUOTE_EMBEDS
from monitor.collectors.stream import StreamBatch, StreamConfig, hold, refuse_polling
from monitor.models import Author, Mention
from monitor.store.base import record_key

SOURCE = "bluesky"
POST, LIKE, REPOST = "app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.feed.repost"


class JetstreamConfig(StreamConfig):
    """Options of a ``jetstream`` source."""

    url: str = Field(default="wss://jetstream2.us-east.bsky.network/subscribe", description="the subscribe endpoint")
    collections: list[str] = Field(default_factory=lambda: [POST, LIKE, REPOST], min_length=1,
                                   description="wantedCollections asked for")


def subscribe_url(base: str, collections: list[str], cursor: int | None) -> str:
    params = [("wantedCollections", c) for c in collections] + ([("cursor", str(cursor))] if cursor else [])
    return f"{base}{'&' if '?' in base else '?'}{urlencode(params)}"


def _uri(value: Any) -> str | None:
    uri = value.get("uri") if isinstance(value, dict) else None
    return uri if isinstance(uri, str) else None


class EventReader:
    """Reads Jetstream events into a pending :class:`StreamBatch`; skips events at or before ``last``."""

    def __init__(self, context: FetchContext, last: int = 0, config: JetstreamConfig | None = None):
        self.context, self.last = context, last
        self.config = config or JetstreamConfig()
        self.pending = StreamBatch()

    def url(self) -> str:
        """The subscription, resuming after the last event read (live when there is none yet)."""
        return subscribe_url(self.config.url, self.config.collections, self.last or None)

    def opened(self, socket: ClientConnection) -> None:
        """Nothing to send: the subscription is in the URL."""

    def take(self, error: str | None = None) -> StreamBatch:
        """The pending batch (its cursor the last event read), and a fresh one started."""
        batch, self.pending = self.pending, StreamBatch()
        batch.error = error
        if batch.events:
            batch.cursor = str(self.last)
        return batch

    def read(self, raw: str | bytes) -> None:
        """One message: a malformed one is skipped and counted, a replayed one ignored."""
        try:
            event = json.loads(raw)
            moment = event["time_us"]
            if not isinstance(moment, int) or isinstance(moment, bool) or moment <= 0:
                raise ValueError("time_us is not a positive whole number")
        except (*ITEM_ERRORS, UnicodeDecodeError) as exc:
            self.context.skip("jetstream message", f"{type(exc).__name__}: {str(exc)[:120]}")
            return
        if moment <= self.last:
            return
        self.last = moment
        self.pending.events += 1
        if event.get("kind") != "commit":
            return
        try:
            self._commit(event)
        except ITEM_ERRORS as exc:
            self.context.skip(f"jetstream event {moment}", f"{type(exc).__name__}: {str(exc)[:120]}")

    def _commit(self, event: dict[str, Any]) -> None:
        commit = event["commit"]
        did, collection, rkey = event["did"], commit["collection"], commit["rkey"]
        if commit.get("operation") == "delete":
            self._delete(did, collection, rkey)
            return
        if commit.get("operation") != "create":
            return
        record = commit["record"]
        bumps, records = self.pending.bumps, self.pending.records
        if collection == LIKE or collection == REPOST:
            target = _uri(record.get("subject"))
            if target is not None:
                bumps.add(f"{SOURCE}:{target}", likes=collection == LIKE, shares=collection == REPOST)
                records.make(record_key(did, collection, rkey), f"{SOURCE}:{target}",
                             "like" if collection == LIKE else "share")
            return
        if collection != POST:
            return
        uri = f"at://{did}/{POST}/{rkey}"
        reply = record.get("reply")
        parent = _uri(reply.get("parent")) if isinstance(reply, dict) else None
        if parent is not None:
            bumps.add(f"{SOURCE}:{parent}", replies=1)
            records.make(record_key(did, POST, rkey, "reply"), f"{SOURCE}:{parent}", "reply")
        embed = record.get("embed")
        quoted = None
        if isinstance(embed, dict) and embed.get("$type") in QUOTE_EMBEDS:
            inner = embed.get("record")
            quoted = _uri(inner.get("record") if isinstance(inner, dict) and "record" in inner else inner)
        if quoted is not None:
            bumps.add(f"{SOURCE}:{quoted}", shares=1)
            records.make(record_key(did, POST, rkey, "quote"), f"{SOURCE}:{quoted}", "share")
        text = record["text"]
        if not isinstance(text, str):
            raise ValueError("the post has no text")
        langs = record.get("langs")
        hint = language(langs[0]) if isinstance(langs, list) and langs else None
        terms = self.context.query.match(text, None, [hint] if hint else list(self.context.languages))
        if terms:
            self.pending.mentions.append(self._mention(event, uri, record, text, hint, parent, quoted, terms))

    def _delete(self, did: str, collection: str, rkey: str) -> None:
        """A record taken back (by key only): an unlike, an undone repost, a deleted post (and what it added)."""
        records, bumps = self.pending.records, self.pending.bumps
        if collection == LIKE or collection == REPOST:
            records.take_back(record_key(did, collection, rkey), bumps)
        elif collection == POST:
            records.take_back(record_key(did, POST, rkey, "reply"), bumps)
            records.take_back(record_key(did, POST, rkey, "quote"), bumps)
            records.deleted.append(Mention.make_id(SOURCE, f"at://{did}/{POST}/{rkey}"))

    def _mention(self, event: dict[str, Any], uri: str, record: dict[str, Any], text: str, hint: str | None,
                 parent: str | None, quoted: str | None, terms: list[str]) -> Mention:
        reply = record.get("reply") or {}
        root = _uri(reply.get("root")) or parent
        posted = datetime.fromtimestamp(event["time_us"] / 1e6, tz=timezone.utc)
        return Mention(
            id=Mention.make_id(SOURCE, uri), brand=self.context.brand, source=SOURCE, text=text,
            created_at=parse_time(record.get("createdAt")) or posted, collected_at=posted,
            url=f"https://bsky.app/profile/{event['did']}/post/{uri.rsplit('/', 1)[-1]}",
            author=Author(handle=None), is_quote=quoted is not None,
            parent_id=Mention.make_id(SOURCE, quoted) if quoted else None,
            reply_to=Mention.make_id(SOURCE, parent) if parent else None,
            conversation=Mention.make_id(SOURCE, root or uri), language_hint=hint, matched_terms=terms,
        )


class JetstreamCollector:
    """Holds one Jetstream subscription per brand, reconnecting with backoff and resuming by cursor."""

    Config = JetstreamConfig
    streams = True
    searches_natively = False

    def __init__(self, config: JetstreamConfig):
        self.config = config

    def fetch(self, context: FetchContext, cursor: str | None) -> Iterator[Batch]:
        refuse_polling(context.source)

    def stream(self, context: FetchContext, cursor: str | None, stop: threading.Event) -> Iterator[StreamBatch]:
        reader = EventReader(context, int(cursor) if cursor and cursor.isdigit() else 0, self.config)
        yield from hold(self.config, reader, stop, context.source)
