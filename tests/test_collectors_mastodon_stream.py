import copy
import json
import socket
import threading
import time
from datetime import datetime, timezone

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from fake_api import FakeApi, Request, json_reply
from monitor import registry
from monitor.collectors.base import FetchContext
from monitor.collectors.mastodon import MastodonCollector, MastodonConfig
from monitor.collectors.mastodon_stream import MastodonStreamCollector, MastodonStreamConfig
from monitor.collectors.stream import is_stream
from monitor.errors import CollectorError
from monitor.query import Query
from tests.recordings import recorded

NOW = datetime(2026, 3, 23, 12, 0, tzinfo=timezone.utc)


def status(number: int, text: str, reblog: dict | None = None) -> dict:
    return {"id": str(number), "uri": f"https://social.example/users/a/statuses/{number}",
            "url": f"https://social.example/@a/{number}", "created_at": "2026-03-23T11:59:00.000Z",
            "content": f"<p>{text}</p>", "spoiler_text": "", "language": "en", "in_reply_to_id": None,
            "account": {"acct": "a", "display_name": "A", "followers_count": 10},
            "favourites_count": 0, "reblogs_count": 0, "replies_count": 0, "reblog": reblog}


class FakeStreaming:
    """``/api/v1/streaming``: records subscriptions, sends each published status to subscribed connections
    as ``{"stream": [...], "event": "update", "payload": "<status JSON>"}``; ``drop()`` cuts them."""

    def __init__(self):
        self.subscriptions: list[list[dict]] = []
        self.authorizations: list[str | None] = []
        self._outbox: list[tuple[str, list[str], str]] = []
        self._lock = threading.Lock()
        self._drop = threading.Event()
        self._server = serve(self._handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/api/v1/streaming"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self):
        self._server.shutdown()

    def publish(self, stream: list[str], payload: dict | str, event: str = "update"):
        with self._lock:
            self._outbox.append((event, stream, payload if isinstance(payload, str) else json.dumps(payload)))

    def drop(self):
        self._drop.set()

    def connected(self) -> int:
        return len(self.subscriptions)

    def _handle(self, ws: ServerConnection):
        mine: list[dict] = []
        self.subscriptions.append(mine)
        self.authorizations.append(ws.request.headers.get("Authorization"))
        position = len(self._outbox)
        try:
            while True:
                try:
                    mine.append(json.loads(ws.recv(timeout=0.02)))
                except TimeoutError:
                    pass
                if self._drop.is_set():
                    self._drop.clear()
                    ws.socket.shutdown(socket.SHUT_RDWR)
                    return
                with self._lock:
                    fresh, position = self._outbox[position:], len(self._outbox)
                names = {s["stream"] + (":" + s["tag"] if "tag" in s else "") for s in mine}
                for event, stream, payload in fresh:
                    if ":".join(stream) in names or stream[0] in names:
                        ws.send(json.dumps({"stream": stream, "event": event, "payload": payload}))
        except ConnectionClosed:
            return


@pytest.fixture
def servers():
    streaming, api = FakeStreaming(), FakeApi()
    yield streaming, api
    streaming.close()
    api.close()


def context(query: str = "acme OR #acmefail") -> FetchContext:
    return FetchContext("Acme", "mastodon_stream", Query.parse(query), ("en",), NOW)


def collector(streaming, api, **options) -> MastodonStreamCollector:
    config = MastodonStreamConfig(instance=api.url, streaming_url=streaming.url, flush_seconds=0.05,
                                  backoff_initial=0.01, backoff_max=0.05, **options)
    return MastodonStreamCollector(config)


def run(collector, ctx, cursor, act, until, limit=10.0):
    """Stream on a thread; ``act()`` once connected; stop once ``until(mentions)`` holds."""
    stop = threading.Event()
    batches = []

    def consume():
        for batch in collector.stream(ctx, cursor, stop):
            batches.append(batch)

    thread = threading.Thread(target=consume)
    thread.start()
    act()
    deadline = time.monotonic() + limit
    while not until([m for b in batches for m in b.mentions]) and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    return batches


def wait_for(condition, limit=5.0):
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def test_registered_as_a_streaming_source():
    plugin = registry.load(registry.COLLECTORS, "mastodon_stream")
    assert plugin is MastodonStreamCollector and is_stream(plugin) and not plugin.searches_natively


def test_subscribes_to_public_and_the_query_hashtags_and_matches_locally(servers, monkeypatch):
    streaming, api = servers
    monkeypatch.setenv("MASTODON_TOKEN", "secret-token")

    def act():
        wait_for(lambda: streaming.connected() and len(streaming.subscriptions[0]) == 2)
        streaming.publish(["public"], status(1, "Acme lost my bag"))
        streaming.publish(["public"], status(2, "nothing to see"))
        streaming.publish(["hashtag", "acmefail"], status(3, "again #acmefail"))
        streaming.publish(["public"], "not json")
        streaming.publish(["public"], "17", event="delete")

    ctx = context()
    batches = run(collector(streaming, api), ctx, None, act, lambda found: len(found) >= 2)
    assert streaming.subscriptions[0] == [{"type": "subscribe", "stream": "public"},
                                          {"type": "subscribe", "stream": "hashtag", "tag": "acmefail"}]
    assert streaming.authorizations == ["Bearer secret-token"]
    found = [m for b in batches for m in b.mentions]
    assert [m.text for m in found] == ["Acme lost my bag", "again #acmefail"]
    assert found[0].id == "mastodon:https://social.example/users/a/statuses/1"
    wait_for(lambda: ctx.unreadable.count == 1)
    assert sum(b.events for b in batches) >= 4 and batches[-1].cursor in (None, "3")
    assert not api.requests


def test_recorded_statuses_are_read_as_the_search_collector_reads_them(servers):
    streaming, api = servers
    statuses = recorded("mastodon", "hashtag/2.body") + [recorded("mastodon", "reblog/1.body")]
    query = " OR ".join(f'"{s["account"]["acct"]}"' for s in statuses[:1]) + " OR hoot OR #hoot"
    ctx = context(query)
    expected, _ = MastodonCollector(MastodonConfig(instances=[api.url])).mentions(copy.deepcopy(statuses), ctx, api.url)

    def act():
        wait_for(lambda: streaming.connected() and streaming.subscriptions[0])
        for item in statuses:
            streaming.publish(["public"], item)

    batches = run(collector(streaming, api), ctx, None, act, lambda found: len(found) >= 1, limit=3)
    found = {m.id: m for b in batches for m in b.mentions}
    assert found and set(found) <= {m.mention.id for m in expected}
    for mapped in expected:
        if mapped.mention.id in found:
            got = found[mapped.mention.id]
            assert (got.text, got.engagement, got.is_repost, got.parent_id) == (
                mapped.mention.text, mapped.mention.engagement, mapped.mention.is_repost, mapped.mention.parent_id)


def test_a_boost_brings_its_original_with_the_instance_totals(servers):
    streaming, api = servers
    original = dict(status(5, "Acme is down everywhere"), favourites_count=120, reblogs_count=40, replies_count=9)
    boost = dict(status(6, ""), content="", reblog=original)

    def act():
        wait_for(lambda: streaming.connected() and streaming.subscriptions[0])
        streaming.publish(["public"], boost)

    batches = run(collector(streaming, api), context(), None, act, lambda found: len(found) >= 2)
    found = {m.id: m for b in batches for m in b.mentions}
    first = found["mastodon:https://social.example/users/a/statuses/5"]
    assert (first.engagement.likes, first.engagement.shares, first.engagement.replies) == (120, 40, 9)
    assert found["mastodon:https://social.example/users/a/statuses/6"].is_repost


def test_a_drop_is_filled_from_the_rest_timelines_without_loss(servers):
    streaming, api = servers
    posted_while_down = [status(11, "Acme posted while we were away"), status(12, "unrelated")]

    def timeline(request: Request):
        after = int(request.query["min_id"])
        return json_reply([s for s in reversed(posted_while_down) if int(s["id"]) > after])

    api.route("/api/v1/timelines/public", timeline)

    def act():
        wait_for(lambda: streaming.connected() and streaming.subscriptions[0])
        streaming.publish(["public"], status(10, "Acme before the drop"))
        time.sleep(0.3)
        streaming.drop()
        wait_for(lambda: streaming.connected() == 2 and streaming.subscriptions[1])
        streaming.publish(["public"], status(13, "Acme after the drop"))

    batches = run(collector(streaming, api, public=True), context("acme"), None, act, lambda found: len(found) >= 3)
    texts = [m.text for b in batches for m in b.mentions]
    assert texts == ["Acme before the drop", "Acme posted while we were away", "Acme after the drop"]
    assert [r.query["min_id"] for r in api.hits("/api/v1/timelines/public")] == ["10"]
    assert any(b.error for b in batches) and max(int(b.cursor) for b in batches if b.cursor) == 13


def test_a_stored_cursor_is_caught_up_over_rest_at_start(servers):
    streaming, api = servers
    api.route("/api/v1/timelines/tag/acmefail", lambda request: json_reply(
        [status(21, "#acmefail missed")] if request.query["min_id"] == "20" else []))
    batches = run(collector(streaming, api, public=False), context("#acmefail"), "20", lambda: None,
                  lambda found: len(found) >= 1)
    assert [m.text for b in batches for m in b.mentions] == ["#acmefail missed"]
    assert streaming.subscriptions[0] == [{"type": "subscribe", "stream": "hashtag", "tag": "acmefail"}]


def test_nothing_to_stream_is_a_collector_error(servers):
    streaming, api = servers
    with pytest.raises(CollectorError, match="nothing to stream"):
        list(collector(streaming, api, public=False).stream(context("acme"), None, threading.Event()))
