import copy
import json
import threading
import time
from collections import Counter
from datetime import datetime, timezone

import pytest

from monitor import config as config_lib
from monitor import registry
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.alerts.notify.slack.outbox import OutboxNotifier
from monitor.collectors.base import FetchContext
from monitor.collectors.stream import is_stream
from monitor.collectors.x import page_mentions, references
from monitor.collectors.x_stream import TweetReader, XStreamCollector, XStreamConfig
from monitor.errors import CollectorError, ConfigError
from monitor.live import LiveSource
from monitor.models import Engagement, Mention
from monitor.query import Query
from monitor.runtime import build_pipeline
from monitor.store.base import MentionFilter
from monitor.store.sqlite import SqliteStore
from tests.recordings import recorded
from tests.x_stream_fake import TOKEN, FakeXStream, Plan

NOW = datetime(2026, 3, 23, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)


def context(query: str = "brexit", brand: str = "Acme", peers: tuple[str, ...] = ()) -> FetchContext:
    return FetchContext(brand, "x_stream", Query.parse(query), ("en",), NOW, peers=peers or (brand,))


def fast(server: FakeXStream, **options) -> XStreamCollector:
    settings = dict(base_url=server.base_url, flush_seconds=0.05, backoff_initial=0.01, rate_limit_backoff=0.02,
                    backoff_max=0.05, network_step=0.01, stall_seconds=1.0)
    return XStreamCollector(XStreamConfig(**{**settings, **options}))


def messages(page: dict) -> list[dict]:
    """A recorded search page as the stream sends it: one post per message, with the page's includes."""
    return [{"data": post, "includes": page["includes"]} for post in page["data"]]


def brexit() -> list[dict]:
    """The recorded page's posts in the order the stream sends them: oldest first."""
    return sorted(messages(recorded("x", "twarc_brexit.jsonl")), key=lambda m: int(m["data"]["id"]))


def run(collector, ctx, act, until, cursor=None, limit=15.0):
    """Stream in a thread, ``act()`` once it is connected, until ``until(batches)`` (or ``limit`` s)."""
    stop, batches = threading.Event(), []

    def consume():
        for batch in collector.stream(ctx, cursor, stop):
            batches.append(batch)

    thread = threading.Thread(target=consume)
    thread.start()
    act()
    started = time.monotonic()
    while not until(batches) and time.monotonic() - started < limit:
        time.sleep(0.02)
    stop.set()
    thread.join(5)
    assert not thread.is_alive(), "the stream did not stop"
    return batches


def wait_for(condition, limit=10.0):
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < limit, "timed out"
        time.sleep(0.02)


def mentions(batches) -> list[Mention]:
    return [m for b in batches for m in b.mentions]


def bumps(batches) -> Counter:
    total: Counter = Counter()
    for batch in batches:
        for mention_id, (likes, shares, replies) in batch.bumps.counts.items():
            total[mention_id] += likes + shares + replies
    return total


def read(batches) -> int:
    return sum(b.events for b in batches)


def test_registered_as_a_streaming_source_that_is_not_polled():
    plugin = registry.load(registry.COLLECTORS, "x_stream")
    assert plugin is XStreamCollector and is_stream(plugin)
    with pytest.raises(CollectorError, match="streaming source"):
        list(plugin(XStreamConfig()).fetch(context(), None))


def test_a_refused_rule_is_warned_about_and_the_stream_still_reads(caplog):
    with FakeXStream(rules=[{"id": "9", "value": "(brexit OR #brexit)", "tag": "pets"}]) as server:
        sent = brexit()[:3]
        batches = run(fast(server), context(), lambda: wait_for(lambda: server.connections) or [
            server.publish(m) for m in sent], lambda b: read(b) >= 3)
    assert "DuplicateRule" in caplog.text
    assert read(batches) == 3


def test_recorded_posts_are_read_as_the_search_collector_reads_them_and_matched_by_rule():
    page = recorded("x", "twarc_brexit.jsonl")
    sent = messages(page)
    with FakeXStream() as server:
        batches = run(fast(server), context(), lambda: wait_for(lambda: server.connections) or [
            server.publish(m) for m in sent], lambda b: read(b) >= len(sent))
        assert server.rules[0]["tag"] == "monitor:Acme"
        query = server.connections[0]
        assert query["expansions"] == ["author_id,referenced_tweets.id,referenced_tweets.id.author_id"]
        assert "public_metrics" in query["tweet.fields"][0] and "backfill_minutes" not in query
    found = {m.id: m for m in mentions(batches)}
    expected = {m.id: m for m in page_mentions(page, context(), "search")}
    assert set(found) == set(expected)
    some = next(iter(expected))
    assert found[some].model_copy(update={"collected_at": NOW}) == expected[some].model_copy(
        update={"collected_at": NOW})
    assert [b.cursor for b in batches if b.cursor][-1] == max((t["id"] for t in page["data"]), key=int)


def test_retweets_quotes_and_replies_raise_the_engagement_of_the_posts_they_refer_to():
    page = recorded("x", "twarc_brexit.jsonl")
    quoted = messages(recorded("x", "twarc_quoted_edit.jsonl"))
    expected: Counter = Counter()
    for post in page["data"] + [m["data"] for m in quoted]:
        for target in references(post).values():
            expected[Mention.make_id("x", target)] += 1
    with FakeXStream() as server:
        ctx = context("brexit OR test")
        sent = messages(page) + quoted
        batches = run(fast(server), ctx, lambda: wait_for(lambda: server.connections) or [
            server.publish(m) for m in sent], lambda b: read(b) >= len(sent))
    assert bumps(batches) == expected
    retweeted = Mention.make_id("x", "1440713161355583489")
    assert expected[retweeted] >= 2


def test_an_original_carried_by_a_retweet_is_stored_with_the_totals_not_counting_the_batch_twice():
    page = recorded("x", "twarc_brexit.jsonl")
    reader = TweetReader(context())
    retweets = [m for m in messages(page) if references(m["data"]).get("retweeted") == "1440713161355583489"]
    for message in retweets:
        reader.read(json.dumps(message).encode())
    batch = reader.take()
    original = next(m for m in batch.mentions if m.id == "x:1440713161355583489")
    shares = batch.bumps.counts["x:1440713161355583489"][1]
    totals = next(m for m in page_mentions(page, context(), "search") if m.id == "x:1440713161355583489")
    assert shares == len(retweets) and original.engagement.shares + shares == totals.engagement.shares
    assert original.engagement.likes == totals.engagement.likes > 0
    assert batch.totals == {original.id: original.engagement}, "the totals replace a stored original's counts"


def test_a_drop_mid_line_reconnects_and_backfill_loses_nothing_and_counts_nothing_twice(tmp_path):
    sent = brexit()
    with FakeXStream(plans=[Plan(cut_after=5), Plan(cut_after=30)]) as server:
        batches = run(fast(server, backfill_minutes=2), context(),
                      lambda: wait_for(lambda: server.connections) or [server.publish(m) for m in sent],
                      lambda b: len(server.connections) >= 3 and read(b) >= 5 + 30 + len(sent))
        assert len(server.connections) == 3 and server.connections[1]["backfill_minutes"] == ["2"]
    errors = [b.error for b in batches if b.error]
    assert len(errors) == 2 and all("ended" in e for e in errors)
    assert bumps(batches) == bumps(run_once(sent))
    store = SqliteStore(tmp_path / "x.db")
    found = mentions(batches)
    assert len(found) > len({m.id for m in found}), "the backfill resent posts"
    store.add_mentions(found)
    stored = store.search(MentionFilter(brands=["Acme"], limit=1000))
    assert len(stored) == len({m.id for m in found}) == len({m.id for m in run_once(sent)[0].mentions})
    store.close()


def run_once(sent):
    reader = TweetReader(context())
    for message in sent:
        reader.read(json.dumps(message).encode())
    return [reader.take()]


def test_a_restart_counts_no_engagement_again_for_posts_up_to_the_stored_cursor():
    sent = brexit()
    first = run_once(sent[:50])
    with FakeXStream() as server:
        batches = run(fast(server, backfill_minutes=5), context(), lambda: [server.publish(m) for m in sent],
                      lambda b: read(b) >= len(sent), cursor=first[0].cursor)
    assert bumps(first) + bumps(batches) == bumps(run_once(sent))


def test_a_malformed_line_is_skipped_and_counted():
    sent = brexit()[:4]
    with FakeXStream(plans=[Plan(malformed_after=2)]) as server:
        ctx = context()
        batches = run(fast(server), ctx, lambda: wait_for(lambda: server.connections) or [
            server.publish(m) for m in sent], lambda b: read(b) >= 4)
    assert read(batches) == 4 and ctx.unreadable.count == 1 and len(server.connections) == 1


def test_keep_alives_hold_a_quiet_stream_and_a_stall_is_dropped_and_reconnected():
    sent = brexit()[:6]
    with FakeXStream(plans=[Plan(stall_after=2)], keepalive=0.2) as server:
        def act():
            wait_for(lambda: server.connections)
            time.sleep(1.5)
            assert len(server.connections) == 1, "keep-alive lines count as life"
            for message in sent[:3]:
                server.publish(message)
            wait_for(lambda: len(server.connections) >= 2)
            for message in sent[3:]:
                server.publish(message)

        batches = run(fast(server), context(), act, lambda b: read(b) >= 5)
    assert any(b.error and "Stalled" in b.error for b in batches)
    assert read(batches) == 5


def test_429_waits_then_connects():
    sent = brexit()[:2]
    with FakeXStream(plans=[Plan(status=429), Plan(status=503)]) as server:
        batches = run(fast(server), context(), lambda: wait_for(lambda: len(server.connections) >= 3) or [
            server.publish(m) for m in sent], lambda b: read(b) >= 2)
    errors = [b.error for b in batches if b.error]
    assert "HTTP 429" in errors[0] and "maximum allowed connection" in errors[0] and "HTTP 503" in errors[1]
    assert read(batches) == 2


def test_a_missing_token_or_a_rule_too_long_is_a_config_error_and_the_stream_stops_cleanly(monkeypatch):
    monkeypatch.delenv("X_BEARER_TOKEN")
    with pytest.raises(ConfigError, match="X_BEARER_TOKEN"):
        next(XStreamCollector(XStreamConfig()).stream(context(), None, threading.Event()))
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    with FakeXStream() as server:
        with pytest.raises(ConfigError, match="max_rule_length"):
            next(fast(server, max_rule_length=5).stream(context(), None, threading.Event()))
        assert not server.connections
        stop = threading.Event()
        stream = fast(server).stream(context(), None, stop)
        threading.Timer(0.5, stop.set).start()
        started = time.monotonic()
        assert all(b.error is None for b in stream)
        assert time.monotonic() - started < 3


def test_a_bad_token_is_an_error_batch_and_the_token_is_never_shown(monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", "wrong-secret")
    with FakeXStream() as server:
        batches = run(fast(server), context(), lambda: None, lambda b: any(x.error for x in b))
    assert "401" in batches[0].error and "wrong-secret" not in batches[0].error


def test_the_recorded_messages_are_not_changed_by_reading():
    sent = brexit()
    before = copy.deepcopy(sent)
    run_once(sent)
    assert sent == before


def test_through_the_pipeline_rules_follow_the_config_and_stored_posts_get_x_totals_and_the_stream_counts(
        tmp_path, offline_annotator):
    page = recorded("x", "twarc_brexit.jsonl")
    original = "1440713161355583489"
    quote = messages(recorded("x", "twarc_quoted_edit.jsonl"))[0]
    sent = [m for k, m in enumerate(brexit()) if k < 10 or references(m["data"]).get("retweeted") == original]
    sent.append(quote)
    source = {"type": "x_stream", "flush_seconds": 0.05, "backoff_initial": 0.01, "stall_seconds": 5}
    gone = {"id": "7", "value": "(initech OR #initech)", "tag": "monitor:Initech"}
    with FakeXStream(rules=[gone]) as server:
        config = {"storage": {"path": str(tmp_path / "m.db")}, "nlp": {"backend": "offline"},
                  "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS), "outbox": str(tmp_path / "out.jsonl")},
                  "brands": [{"name": "Acme", "query": "brexit OR test",
                              "sources": [{**source, "base_url": server.base_url}]},
                             {"name": "Globex", "query": "globex", "sources": [{"type": "x"}]}]}
        (tmp_path / "monitor.yaml").write_text(json.dumps(config))
        pipeline = build_pipeline(config_lib.load(tmp_path / "monitor.yaml"), annotator=offline_annotator,
                                  notifier=OutboxNotifier(tmp_path / "out.jsonl"), clock=lambda: NOW)
        totals = next(m for m in page_mentions(page, context(), "search") if m.id == f"x:{original}")
        referred = {kind: f"x:{target}" for kind, target in references(quote["data"]).items()}
        pipeline.store.add_mentions([totals.model_copy(update={"engagement": Engagement()})] + [
            totals.model_copy(update={"id": mention_id, "engagement": Engagement(likes=3)})
            for mention_id in referred.values()])
        brand = pipeline.config.brand("Acme")
        live = LiveSource(pipeline, brand, pipeline.source_config(brand, "x_stream"))
        stop = threading.Event()
        thread = threading.Thread(target=live.run, args=(stop,))
        thread.start()
        try:
            wait_for(lambda: server.connections)
            for message in sent:
                server.publish(message)
            wait_for(lambda: pipeline.store.get_cursor("Acme", "x_stream") == sent[-1]["data"]["id"], limit=30)
        finally:
            stop.set()
            thread.join(5)
        assert [r.get("tag") for r in server.rules] == ["monitor:Acme"]
    found = {m.id: m for m in pipeline.store.search(MentionFilter(brands=["Acme"], limit=1000))}
    assert found[f"x:{original}"].engagement == totals.engagement, "X's totals, each retweet counted once"
    assert found[referred["quoted"]].engagement == Engagement(likes=3, shares=1)
    assert found[referred["replied_to"]].engagement == Engagement(likes=3, replies=1)
    assert len(found) == len({m.id for m in run_once(sent)[0].mentions} | set(referred.values()))
    runs = [r for r in pipeline.store.runs() if r.job == "collect:Acme:x_stream"]
    assert runs and all(r.ok for r in runs) and sum(r.fetched for r in runs) == len(sent)
