import json
import threading
import time
from datetime import datetime, timezone

import pytest

from monitor import registry
from monitor.collectors.base import FetchContext
from monitor.collectors.bluesky import BlueskyCollector, BlueskyConfig
from monitor.collectors.jetstream import EventReader, JetstreamCollector, JetstreamConfig, subscribe_url
from monitor.collectors.stream import is_stream
from monitor.errors import CollectorError
from monitor.query import Query
from monitor.demo.jetstream_fake import (
    LIKE, POST, REPOST, FakeJetstream, Plan, delete, identity, like, post, repost, uri_of,
)
from monitor.store.base import record_key
from tests.recordings import recorded

NOW = datetime(2026, 3, 23, 12, 0, tzinfo=timezone.utc)
T0 = 1_774_267_000_000_000


def context(query: str = "acme") -> FetchContext:
    return FetchContext("Acme", "jetstream", Query.parse(query), ("en",), NOW)


def fast(url: str, **options) -> JetstreamCollector:
    return JetstreamCollector(JetstreamConfig(url=url, flush_seconds=0.05, backoff_initial=0.01, backoff_max=0.05,
                                              stall_seconds=1.0, **options))


def drain(collector, ctx, cursor, until, limit=10.0):
    """Batches from the stream until ``until(batches)`` holds (or ``limit`` seconds pass), then a clean stop."""
    stop = threading.Event()
    batches = []
    started = time.monotonic()
    for batch in collector.stream(ctx, cursor, stop):
        batches.append(batch)
        if until(batches) or time.monotonic() - started > limit:
            stop.set()
    return batches


def events_read(batches):
    return sum(b.events for b in batches)


def test_registered_as_a_streaming_source_that_is_not_polled():
    plugin = registry.load(registry.COLLECTORS, "jetstream")
    assert plugin is JetstreamCollector and is_stream(plugin) and not plugin.searches_natively
    with pytest.raises(CollectorError, match="streaming source"):
        list(plugin(JetstreamConfig()).fetch(context(), None))


def test_subscribe_url_asks_for_the_collections_and_resumes_by_cursor():
    url = subscribe_url("wss://host/subscribe", [POST, LIKE], 1725911162329308)
    assert url == ("wss://host/subscribe?wantedCollections=app.bsky.feed.post"
                   "&wantedCollections=app.bsky.feed.like&cursor=1725911162329308")
    assert subscribe_url("wss://host/subscribe?compress=false", [POST], None).endswith(
        "?compress=false&wantedCollections=app.bsky.feed.post")


def test_recorded_posts_get_the_ids_the_search_collector_gives_them():
    posts = recorded("bluesky", "searchPosts.json")["posts"]
    reader = EventReader(context("redistricting"))
    for k, item in enumerate(posts):
        did, _, rkey = item["uri"][len("at://"):].split("/")
        reader.read(json.dumps({"did": did, "time_us": T0 + k, "kind": "commit", "commit": {
            "rev": "r", "operation": "create", "collection": POST, "rkey": rkey, "record": item["record"],
            "cid": item["cid"]}}))
    batch = reader.take()
    searched = {m.id: m for m in BlueskyCollector(BlueskyConfig(followers=False))._mentions(
        posts, context("redistricting"), "app.bsky.feed.searchPosts")}
    streamed = {m.id: m for m in batch.mentions}
    assert batch.events == len(posts) and batch.cursor == str(T0 + len(posts) - 1)
    assert streamed and set(streamed) <= set(searched)
    assert all("redistricting" in m.text.lower() for m in streamed.values())
    for key, mention in streamed.items():
        expected = searched[key]
        assert (mention.text, mention.reply_to, mention.conversation, mention.parent_id, mention.is_quote) == (
            expected.text, expected.reply_to, expected.conversation, expected.parent_id, expected.is_quote)
        assert mention.created_at == expected.created_at and mention.matched_terms == ["redistricting"]
    replies = [m.reply_to for m in searched.values() if m.reply_to]
    quotes = [m.parent_id for m in searched.values() if m.is_quote]
    assert replies and quotes
    assert {k for k, c in batch.bumps.counts.items() if c[2]} == set(replies)
    assert {k for k, c in batch.bumps.counts.items() if c[1]} == set(quotes)


def test_likes_reposts_replies_and_quotes_count_towards_the_post_they_refer_to():
    target = uri_of("did:plc:brand", "hot")
    reader = EventReader(context())
    for k, event in enumerate([
        post(T0, "Acme lost my bag again", did="did:plc:brand", rkey="hot"),
        like(T0 + 1, target), like(T0 + 2, target), repost(T0 + 3, target),
        post(T0 + 4, "so true", reply_to=target), post(T0 + 5, "look at this", quote=target),
        identity(T0 + 6), like(T0 + 7, uri_of("did:plc:other", "cold")),
    ]):
        reader.read(json.dumps(event))
    batch = reader.take()
    assert [m.id for m in batch.mentions] == [f"bluesky:{target}"]
    other = f"bluesky:{uri_of('did:plc:other', 'cold')}"
    assert batch.bumps.counts == {f"bluesky:{target}": [2, 2, 1], other: [1, 0, 0]}
    assert batch.events == 8 and batch.cursor == str(T0 + 7)


def test_records_are_kept_by_key_and_a_deletion_is_taken_back_within_the_batch_or_left_for_the_pipeline():
    target = uri_of("did:plc:brand", "hot")
    target_id = f"bluesky:{target}"
    reader = EventReader(context())
    for event in [like(T0, target, did="did:plc:a"), like(T0 + 1, target, did="did:plc:b"),
                  delete(T0 + 2, "did:plc:a", LIKE, f"l{T0}"), post(T0 + 3, "so true", did="did:plc:c", rkey="r1",
                                                                    reply_to=target),
                  delete(T0 + 4, "did:plc:old", REPOST, "r-earlier"),
                  delete(T0 + 5, "did:plc:c", POST, "gone")]:
        reader.read(json.dumps(event))
    batch = reader.take()
    assert batch.bumps.counts == {target_id: [1, 0, 1]}
    assert batch.records.made == {record_key("did:plc:b", LIKE, f"l{T0 + 1}"): (target_id, "like"),
                                  record_key("did:plc:c", POST, "r1", "reply"): (target_id, "reply")}
    assert batch.records.taken_back == [record_key("did:plc:old", REPOST, "r-earlier"),
                                        record_key("did:plc:c", POST, "gone", "reply"),
                                        record_key("did:plc:c", POST, "gone", "quote")]
    assert batch.records.deleted == [f"bluesky:{uri_of('did:plc:c', 'gone')}"]


def test_malformed_and_replayed_messages_are_skipped_and_counted():
    ctx = context()
    reader = EventReader(ctx, last=T0 + 1)
    for raw in ['{"time_us": ', '[1, 2]', '{"time_us": "soon"}', json.dumps(post(T0, "Acme old")),
                json.dumps(post(T0 + 1, "Acme seen")), json.dumps(post(T0 + 2, "Acme new")),
                json.dumps({"did": "d", "time_us": T0 + 3, "kind": "commit", "commit": {
                    "operation": "create", "collection": POST, "rkey": "k", "record": {"text": 5}}})]:
        reader.read(raw)
    batch = reader.take()
    assert [m.text for m in batch.mentions] == ["Acme new"]
    assert ctx.unreadable.count == 4 and batch.events == 2 and batch.cursor == str(T0 + 3)


def script():
    """Forty events: every fourth a matching post, the others likes of the first post and noise."""
    first = uri_of("did:plc:author", f"p{T0}")
    events = []
    for k in range(40):
        if k % 4 == 0:
            events.append(post(T0 + k, f"Acme update number {k}"))
        elif k % 4 == 1:
            events.append(like(T0 + k, first))
        elif k % 4 == 2:
            events.append(post(T0 + k, f"unrelated chatter {k}"))
        else:
            events.append(repost(T0 + k, first))
    return events, first


@pytest.mark.parametrize("plans", [
    [Plan(cut_after=13)],
    [Plan(malformed_after=7)],
    [Plan(stall_after=9)],
    [Plan(cut_after=21), Plan(rewind_us=15)],
    [Plan(cut_after=5), Plan(cut_after=0), Plan(malformed_after=3, cut_after=11)],
], ids=["cut-mid-frame", "malformed-frame", "stall", "restart-with-older-cursor", "several"])
def test_reconnects_and_resumes_by_cursor_without_loss_or_duplicates(plans):
    events, first = script()
    ctx = context()
    with FakeJetstream(events, plans=list(plans)) as server:
        collector = fast(server.url)
        batches = drain(collector, ctx, str(T0 - 1), lambda b: events_read(b) >= 40)
    posts = [m.text for b in batches for m in b.mentions]
    assert posts == [f"Acme update number {k}" for k in range(0, 40, 4)]
    likes = sum(b.bumps.counts.get(f"bluesky:{first}", [0, 0, 0])[0] for b in batches)
    shares = sum(b.bumps.counts.get(f"bluesky:{first}", [0, 0, 0])[1] for b in batches)
    assert (likes, shares, events_read(batches)) == (10, 10, 40)
    dropped = sum(p.cut_after is not None or p.stall_after is not None for p in plans)
    assert sum(1 for b in batches if b.error) == dropped
    assert ctx.unreadable.count == sum(p.malformed_after is not None for p in plans)
    cursors = [int(q["cursor"][0]) for q in server.connections]
    assert cursors[0] == T0 - 1 and cursors == sorted(cursors) and len(cursors) == dropped + 1
    assert all(q["wantedCollections"] == [POST, LIKE, REPOST] for q in server.connections)
    assert [int(b.cursor) for b in batches if b.cursor] == sorted(int(b.cursor) for b in batches if b.cursor)


def test_starts_live_without_a_cursor_and_stops_cleanly():
    with FakeJetstream() as server:
        collector = fast(server.url)
        stop = threading.Event()
        found = []

        def consume():
            for batch in collector.stream(context(), None, stop):
                found.extend(batch.mentions)

        thread = threading.Thread(target=consume)
        thread.start()
        deadline = time.monotonic() + 5
        while not server.connections and time.monotonic() < deadline:
            time.sleep(0.01)
        server.publish(post(T0, "Acme is down"))
        while not found and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        thread.join(3)
    assert not thread.is_alive()
    assert [m.text for m in found] == ["Acme is down"] and "cursor" not in server.connections[0]


def test_a_server_that_refuses_connections_is_retried_with_backoff_and_reported():
    with FakeJetstream() as server:
        url = server.url
    batches = drain(fast(url), context(), None, lambda b: len(b) >= 3)
    assert len(batches) == 3 and all(b.error and "ended" in b.error and not b.cursor for b in batches)
