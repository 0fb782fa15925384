import copy
import json
import threading
import time
from datetime import datetime, timezone

import pytest

from fake_api import FakeApi, Request, json_reply
from fake_mastodon_stream import FakeStreaming, status
from monitor import registry
from monitor.collectors.base import FetchContext
from monitor.collectors.mastodon import MastodonCollector, MastodonConfig
from monitor.collectors.mastodon_stream import MastodonStreamCollector, MastodonStreamConfig, StatusReader, status_key
from monitor.collectors.stream import is_stream
from monitor.errors import CollectorError
from monitor.models import Engagement
from monitor.query import Query
from tests.recordings import recorded

NOW = datetime(2026, 3, 23, 12, 0, tzinfo=timezone.utc)


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


def reader_for(api_url: str, **options) -> StatusReader:
    config = MastodonStreamConfig(instance=api_url, **options)
    return StatusReader(context("acme"), config, 0)


def message(event: str, payload) -> str:
    return json.dumps({"stream": ["public"], "event": event,
                       "payload": payload if isinstance(payload, str) else json.dumps(payload)})


def test_replies_quotes_edits_and_boosts_of_a_known_post_reach_it_and_a_delete_is_taken_back():
    reader = reader_for("https://social.example")
    post_id = "mastodon:https://social.example/users/a/statuses/1"
    reply = dict(status(2, "so sorry to hear"), in_reply_to_id="1")
    quote = dict(status(3, "look at this"), quote={"state": "accepted", "quoted_status": status(1, "Acme lost my bag")})
    for raw in [message("update", status(1, "Acme lost my bag")), message("update", reply), message("update", quote),
                message("update", reply),
                message("status.update", dict(status(1, "Acme lost my bag (edited)"), favourites_count=7)),
                message("update", dict(status(4, ""), content="", reblog=dict(
                    status(1, "Acme lost my bag"), favourites_count=9, reblogs_count=3)))]:
        reader.read(raw)
    batch = reader.take()
    assert batch.bumps.counts == {post_id: [0, 1, 1]}
    assert batch.totals == {post_id: Engagement(likes=9, shares=3)}
    assert batch.records.made[status_key("https://social.example", "2", "reply")] == (post_id, "reply")
    assert batch.records.made[status_key("https://social.example", "3", "quote")] == (post_id, "share")
    assert batch.records.made[status_key("https://social.example", "1")] == (post_id, "post")
    reader.read(message("delete", "2"))
    reader.read(message("delete", "1"))
    later = reader.take()
    assert later.records.taken_back == [status_key("https://social.example", number, role)
                                        for number in ("2", "1") for role in ("post", "reply", "quote")]
    assert later.events == 2 and not later.bumps.counts


def test_counts_of_recent_posts_are_refreshed_over_rest_a_bounded_number_per_round(servers):
    _, api = servers
    for number in (1, 2, 3):
        api.route(f"/api/v1/statuses/{number}", lambda request, n=number: json_reply(
            dict(status(n, "Acme"), favourites_count=10 * n, reblogs_count=n, quotes_count=1)))
    api.route("/api/v1/statuses/2", lambda request: json_reply({"error": "Record not found"}, status=404))
    reader = reader_for(api.url, refresh_every=60, refresh_calls=2)
    for number in (1, 2, 3):
        reader.read(message("update", status(number, f"Acme post {number}")))
    reader.take()
    assert not api.requests  # not due yet
    reader.next_refresh = 0
    first = reader.take()
    reader.next_refresh = 0
    second = reader.take()
    asked = [r.path for r in api.requests]
    assert asked[:2] == ["/api/v1/statuses/1", "/api/v1/statuses/2"] and asked[2] == "/api/v1/statuses/3"
    assert len(asked) == 4 and asked[3] in ("/api/v1/statuses/1", "/api/v1/statuses/2")
    one, three = (f"mastodon:https://social.example/users/a/statuses/{n}" for n in (1, 3))
    assert first.totals == {one: Engagement(likes=10, shares=2)}
    assert second.totals[three] == Engagement(likes=30, shares=4)
