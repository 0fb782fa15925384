import json
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fake_api import FakeApi, json_reply
from fake_mastodon_stream import FakeStreaming, status
from monitor import config as config_lib
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.alerts.notify.slack.outbox import OutboxNotifier
from monitor.demo.jetstream_fake import LIKE, POST, REPOST, FakeJetstream, Plan, delete, like, post, repost, uri_of
from monitor.errors import ConfigError, ConflictError
from monitor.live import LiveSource
from monitor.models import Author, Engagement, Mention
from monitor.runtime import build_pipeline
from monitor.store.base import CursorUpdate, MentionFilter, record_key

NOW = datetime(2026, 3, 23, 12, 0, tzinfo=timezone.utc)
T0 = 1_774_267_000_000_000
VIRAL = {"min_engagement": 6, "min_ratio": 3, "min_rate": 1, "min_history": 3}


def write_config(tmp_path: Path, url: str, stream: dict | None = None, **detection) -> Path:
    config = {
        "storage": {"path": str(tmp_path / "m.db")},
        "nlp": {"backend": "offline"},
        "detection": {"warmup": "1d", **detection},
        "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS), "outbox": str(tmp_path / "out.jsonl")},
        "brands": [{"name": "Acme", "query": "acme",
                    "sources": [{"type": "jetstream", "url": url, "flush_seconds": 0.05, "backoff_initial": 0.01,
                                 "backoff_max": 0.05, "stall_seconds": 30, **(stream or {})},
                                {"type": "file", "path": str(tmp_path / "feed.jsonl")}]}],
    }
    path = tmp_path / "monitor.yaml"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def pipeline_for(tmp_path, offline_annotator):
    def build(url: str, stream: dict | None = None, **detection):
        config = config_lib.load(write_config(tmp_path, url, stream, **detection))
        return build_pipeline(config, annotator=offline_annotator, notifier=OutboxNotifier(tmp_path / "out.jsonl"),
                              clock=lambda: NOW)
    return build


def stored_post(rkey: str, text: str, at: datetime, likes: int = 0) -> Mention:
    uri = uri_of("did:plc:author", rkey)
    return Mention(id=f"bluesky:{uri}", brand="Acme", source="bluesky", text=text, created_at=at, collected_at=at,
                   author=Author(handle="author.bsky.social"), engagement=Engagement(likes=likes))


def run_until(pipeline, done, heartbeat=timedelta(0), limit=15.0):
    """Run the stream on a thread until ``done()`` holds, then stop it; what it raised, if anything."""
    brand = pipeline.config.brand("Acme")
    live = LiveSource(pipeline, brand, pipeline.source_config(brand, "jetstream"), heartbeat=heartbeat)
    stop = threading.Event()
    raised = []

    def work():
        try:
            live.run(stop)
        except Exception as exc:
            raised.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + limit
    while not done() and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    return raised


def test_posts_are_matched_and_stored_and_engagement_raised_only_on_stored_posts(tmp_path, pipeline_for):
    known = uri_of("did:plc:author", "known")
    events = [post(T0, "Acme refunded me in a day"), post(T0 + 1, "nothing about brands"),
              like(T0 + 2, known), like(T0 + 3, known), repost(T0 + 4, known),
              post(T0 + 5, "replying", reply_to=known), post(T0 + 6, "quoting", quote=known),
              like(T0 + 7, uri_of("did:plc:nobody", "never-stored")), like(T0 + 8, uri_of("did:plc:author", f"p{T0}"))]
    with FakeJetstream(events) as server:
        pipeline = pipeline_for(server.url)
        pipeline.store.add_mentions([stored_post("known", "Acme old post", NOW - timedelta(hours=1), likes=10)])
        assert not run_until(pipeline, lambda: pipeline.store.get_cursor("Acme", "jetstream") == str(T0 + 8))
    found = {m.text: m for m in pipeline.store.search(MentionFilter(brands=["Acme"]))}
    assert set(found) == {"Acme refunded me in a day", "Acme old post"}
    assert found["Acme old post"].engagement == Engagement(likes=12, shares=2, replies=1)
    assert found["Acme refunded me in a day"].engagement == Engagement(likes=1)
    assert found["Acme refunded me in a day"].sentiment is not None
    assert pipeline.store.count(MentionFilter(ids=[f"bluesky:{uri_of('did:plc:nobody', 'never-stored')}"])) == 0
    runs = [r for r in pipeline.store.runs() if r.job == "collect:Acme:jetstream"]
    assert runs and all(r.ok for r in runs) and sum(r.fetched for r in runs) == 9 and sum(r.stored for r in runs) == 1


def test_a_restart_resumes_from_the_stored_cursor_without_doubling_engagement(tmp_path, pipeline_for):
    target = uri_of("did:plc:author", "target")
    events = [like(T0 + k, target) for k in range(30)] + [post(T0 + 30, "Acme again")]
    with FakeJetstream(events[:12], plans=[Plan(), Plan(rewind_us=10)]) as server:
        first = pipeline_for(server.url)
        first.store.add_mentions([stored_post("target", "Acme target", NOW - timedelta(hours=1))])
        run_until(first, lambda: first.store.get_cursor("Acme", "jetstream") == str(T0 + 11))
        first.store.close()
        server.publish(*events[12:])
        second = pipeline_for(server.url)
        assert not run_until(second, lambda: second.store.get_cursor("Acme", "jetstream") == str(T0 + 30))
    stored = {m.text: m for m in second.store.search(MentionFilter(brands=["Acme"]))}
    assert stored["Acme target"].engagement.likes == 30 and "Acme again" in stored
    assert int(server.connections[1]["cursor"][0]) == T0 + 11


def test_a_worker_whose_cursor_moved_underneath_stops_and_records_the_conflict(tmp_path, pipeline_for):
    with FakeJetstream([post(T0, "Acme one")]) as server:
        pipeline = pipeline_for(server.url)
        pipeline.store.add_mentions([], CursorUpdate(brand="Acme", source="jetstream", value=str(T0 - 5)))
        original = pipeline.store.get_cursor

        def moved(brand, source):
            value = original(brand, source)
            pipeline.store.add_mentions([], CursorUpdate(brand=brand, source=source, value=str(T0 - 2)))
            return value

        pipeline.store.get_cursor = moved
        raised = run_until(pipeline, lambda: False, limit=3)
    assert len(raised) == 1 and isinstance(raised[0], ConflictError)
    assert pipeline.store.get_cursor("Acme", "jetstream") == str(T0 - 2)
    runs = [r for r in pipeline.store.runs() if r.job == "collect:Acme:jetstream"]
    assert not runs[0].ok and "cursor" in runs[0].error


def test_a_dropped_connection_is_recorded_for_the_sources_health_page(tmp_path, pipeline_for):
    with FakeJetstream([post(T0 + k, f"Acme {k}") for k in range(6)], plans=[Plan(cut_after=3)]) as server:
        pipeline = pipeline_for(server.url)
        run_until(pipeline, lambda: pipeline.store.count(MentionFilter()) == 6, heartbeat=timedelta(hours=1))
    runs = sorted((r for r in pipeline.store.runs() if r.job == "collect:Acme:jetstream"), key=lambda r: r.started_at)
    assert [r.ok for r in runs] == [False, True]
    assert "ended" in runs[0].error and runs[0].fetched == 3 and runs[1].fetched == 3


def test_only_streaming_sources_can_be_streamed(tmp_path, pipeline_for):
    pipeline = pipeline_for("ws://127.0.0.1:9/subscribe")
    brand = pipeline.config.brand("Acme")
    with pytest.raises(ConfigError, match="not a streaming source"):
        LiveSource(pipeline, brand, pipeline.source_config(brand, "file"))


def test_a_post_going_viral_on_the_stream_is_alerted_at_once(tmp_path, pipeline_for):
    hot = uri_of("did:plc:angry", "hot")
    events = [post(T0, "Acme lost my luggage and the staff were rude, worst airline ever", did="did:plc:angry",
                   rkey="hot")] + [like(T0 + k, hot) for k in range(1, 9)]
    with FakeJetstream(events) as server:
        pipeline = pipeline_for(server.url, viral=VIRAL)
        pipeline.store.add_mentions([stored_post(f"old{k}", f"Acme flight {k} was on time", NOW - timedelta(hours=6),
                                                 likes=1) for k in range(4)])
        outbox = tmp_path / "out.jsonl"
        assert not run_until(pipeline, lambda: outbox.exists() and outbox.read_text().strip())
    alerts = [json.loads(line) for line in outbox.read_text().splitlines()]
    incidents = pipeline.store.incidents("Acme")
    assert len(incidents) == 1 and incidents[0].spikes[0].kind == "viral_post"
    assert incidents[0].spikes[0].sample_mention_ids == [f"bluesky:{hot}"]
    assert len(alerts) == 1 and alerts[0]["channel"]
    assert not pipeline.store.due_notifications(NOW + timedelta(minutes=1))


def test_a_burst_of_ten_thousand_likes_on_one_post_is_counted_exactly(tmp_path, pipeline_for):
    target = uri_of("did:plc:author", "burst")
    events = [like(T0 + k, target, did=f"did:plc:fan{k}") for k in range(10_000)]
    with FakeJetstream(events, plans=[Plan(cut_after=4_321)]) as server:
        pipeline = pipeline_for(server.url)
        pipeline.store.add_mentions([stored_post("burst", "Acme burst", NOW - timedelta(hours=1), likes=7)])
        assert not run_until(pipeline, lambda: pipeline.store.get_cursor("Acme", "jetstream") == str(T0 + 9_999),
                             limit=60)
    [stored] = pipeline.store.search(MentionFilter(brands=["Acme"]))
    assert stored.engagement == Engagement(likes=10_007)


def test_an_idle_stream_still_beats_on_the_sources_health_page(tmp_path, pipeline_for):
    with FakeJetstream() as server:
        pipeline = pipeline_for(server.url)
        runs = lambda: [r for r in pipeline.store.runs() if r.job == "collect:Acme:jetstream"]  # noqa: E731
        run_until(pipeline, lambda: len(runs()) >= 2, heartbeat=timedelta(seconds=0.1))
    assert len(runs()) >= 2 and all(r.ok and r.fetched == 0 for r in runs())


def unlike(time_us: int, liked_at: int, did: str = "did:plc:fan") -> dict:
    """The deletion of ``like(liked_at, …, did)``: the like's key only, as Jetstream sends it."""
    return delete(time_us, did, LIKE, f"l{liked_at}")


def test_a_like_then_an_unlike_of_a_stored_post_nets_zero_even_across_a_restart(tmp_path, pipeline_for):
    target = uri_of("did:plc:author", "target")
    with FakeJetstream([like(T0, target, did="did:plc:a"), like(T0 + 1, target, did="did:plc:b"),
                        repost(T0 + 2, target)]) as server:
        first = pipeline_for(server.url)
        first.store.add_mentions([stored_post("target", "Acme target", NOW - timedelta(hours=1), likes=5)])
        assert not run_until(first, lambda: first.store.get_cursor("Acme", "jetstream") == str(T0 + 2))
        first.store.close()
        server.publish(unlike(T0 + 3, T0, did="did:plc:a"), unlike(T0 + 4, T0 + 1, did="did:plc:b"),
                       delete(T0 + 5, "did:plc:fan", REPOST, f"r{T0 + 2}"))
        second = pipeline_for(server.url)
        assert not run_until(second, lambda: second.store.get_cursor("Acme", "jetstream") == str(T0 + 5))
    [stored] = second.store.search(MentionFilter(brands=["Acme"]))
    assert stored.engagement == Engagement(likes=5)
    keys = [record_key("did:plc:a", LIKE, f"l{T0}"), record_key("did:plc:fan", REPOST, f"r{T0 + 2}")]
    assert second.store.stream_records("Acme", keys) == {}


def test_a_like_older_than_remember_days_is_forgotten_and_its_unlike_ignored(tmp_path, pipeline_for):
    target = uri_of("did:plc:author", "target")
    with FakeJetstream([like(T0, target)]) as server:
        pipeline = pipeline_for(server.url, stream={"remember_days": 0.5 / 86400})
        pipeline.store.add_mentions([stored_post("target", "Acme target", NOW - timedelta(hours=1))])
        key = record_key("did:plc:fan", LIKE, f"l{T0}")
        seen = []

        def remembered_then_forgotten():
            seen.extend(pipeline.store.stream_records("Acme", [key]).values())
            return bool(seen) and not pipeline.store.stream_records("Acme", [key])

        assert not run_until(pipeline, remembered_then_forgotten)
        assert seen and seen[0].mention_id == f"bluesky:{target}"
        server.publish(unlike(T0 + 1, T0))
        assert not run_until(pipeline, lambda: pipeline.store.get_cursor("Acme", "jetstream") == str(T0 + 1))
    [stored] = pipeline.store.search(MentionFilter(brands=["Acme"]))
    assert stored.engagement == Engagement(likes=1) and pipeline.store.stream_records("Acme", [key]) == {}


def test_a_delete_replayed_after_a_reconnect_subtracts_once(tmp_path, pipeline_for):
    target = uri_of("did:plc:author", "target")
    events = [like(T0 + k, target, did=f"did:plc:fan{k}") for k in range(4)] + [
        unlike(T0 + 4, T0 + 1, did="did:plc:fan1"), post(T0 + 5, "Acme filler")]
    with FakeJetstream(events, plans=[Plan(cut_after=2), Plan(cut_after=4), Plan(rewind_us=5)]) as server:
        pipeline = pipeline_for(server.url)
        pipeline.store.add_mentions([stored_post("target", "Acme target", NOW - timedelta(hours=1))])
        assert not run_until(pipeline, lambda: pipeline.store.get_cursor("Acme", "jetstream") == str(T0 + 5))
        server.publish(unlike(T0 + 6, T0 + 1, did="did:plc:fan1"), post(T0 + 7, "Acme again"))
        assert not run_until(pipeline, lambda: pipeline.store.get_cursor("Acme", "jetstream") == str(T0 + 7))
    stored = {m.text: m for m in pipeline.store.search(MentionFilter(brands=["Acme"]))}
    assert stored["Acme target"].engagement == Engagement(likes=3)
    cursors = [int(q["cursor"][0]) if "cursor" in q else None for q in server.connections]
    assert cursors[:3] == [None, T0 + 1, T0 + 4]  # the third connection rewound to before the unlike


def test_an_unlike_of_a_post_never_stored_is_ignored_and_nothing_is_remembered_for_it(tmp_path, pipeline_for):
    stranger = uri_of("did:plc:nobody", "never-stored")
    with FakeJetstream([like(T0, stranger), unlike(T0 + 1, T0), unlike(T0 + 2, T0 - 50),
                        like(T0 + 3, stranger, did="did:plc:other")]) as server:
        pipeline = pipeline_for(server.url)
        pipeline.store.add_mentions([stored_post("known", "Acme known", NOW - timedelta(hours=1), likes=2)])
        assert not run_until(pipeline, lambda: pipeline.store.get_cursor("Acme", "jetstream") == str(T0 + 3))
    assert [m.engagement for m in pipeline.store.search(MentionFilter(brands=["Acme"]))] == [Engagement(likes=2)]
    assert pipeline.store.stream_records("Acme", [record_key("did:plc:other", LIKE, f"l{T0 + 3}")]) == {}


def test_a_deleted_post_is_marked_and_stays_as_the_evidence_of_its_incident(tmp_path, pipeline_for):
    hot = uri_of("did:plc:angry", "hot")
    rant = "Acme lost my luggage and the staff were rude, worst airline ever"
    events = [post(T0, rant, did="did:plc:angry", rkey="hot")] + [like(T0 + k, hot) for k in range(1, 9)]
    with FakeJetstream(events) as server:
        pipeline = pipeline_for(server.url, viral=VIRAL)
        pipeline.store.add_mentions([stored_post(f"old{k}", f"Acme flight {k} was on time", NOW - timedelta(hours=6),
                                                 likes=1) for k in range(4)])
        assert not run_until(pipeline, lambda: pipeline.store.incidents("Acme"))
        server.publish(delete(T0 + 9, "did:plc:angry", POST, "hot"), *[like(T0 + k, hot) for k in range(10, 40)])
        assert not run_until(pipeline, lambda: pipeline.store.get_cursor("Acme", "jetstream") == str(T0 + 39))
    [incident] = pipeline.store.incidents("Acme")
    [kept] = pipeline.store.search(MentionFilter(ids=incident.spikes[0].sample_mention_ids))
    assert kept.text == rant and kept.deleted_at is not None and kept.engagement.likes == 38


def test_a_mastodon_stream_keeps_a_stored_post_at_the_instance_counts_and_marks_its_deletion(
        tmp_path, offline_annotator):
    streaming, api = FakeStreaming(), FakeApi()
    counts = {"favourites_count": 4, "reblogs_count": 1}
    api.route("/api/v1/statuses/1", lambda request: json_reply(dict(status(1, "Acme lost my bag"), **counts)))
    source = {"type": "mastodon_stream", "instance": api.url, "streaming_url": streaming.url, "flush_seconds": 0.05,
              "backoff_initial": 0.01, "backoff_max": 0.05, "refresh_every": 0.2, "refresh_calls": 5}
    config = {"storage": {"path": str(tmp_path / "m.db")}, "nlp": {"backend": "offline"},
              "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS), "outbox": str(tmp_path / "out.jsonl")},
              "brands": [{"name": "Acme", "query": "acme", "sources": [source]}]}
    (tmp_path / "monitor.yaml").write_text(json.dumps(config))
    pipeline = build_pipeline(config_lib.load(tmp_path / "monitor.yaml"), annotator=offline_annotator,
                              notifier=OutboxNotifier(tmp_path / "out.jsonl"), clock=lambda: NOW)
    post_id = "mastodon:https://social.example/users/a/statuses/1"
    stored = lambda: {m.id: m for m in pipeline.store.search(MentionFilter(brands=["Acme"]))}  # noqa: E731

    def first_post_at(likes, replies=0):
        def check():
            mention = stored().get(post_id)
            return mention is not None and (mention.engagement.likes, mention.engagement.replies) == (likes, replies)
        return check

    brand = pipeline.config.brand("Acme")
    live = LiveSource(pipeline, brand, pipeline.source_config(brand, "mastodon_stream"))
    stop = threading.Event()
    thread = threading.Thread(target=live.run, args=(stop,))
    thread.start()
    try:
        wait = lambda check: [time.sleep(0.02) for _ in range(500) if not check()]  # noqa: E731
        wait(lambda: streaming.connected() and streaming.subscriptions[0])
        streaming.publish(["public"], dict(status(1, "Acme lost my bag"), favourites_count=2))
        wait(first_post_at(4))
        assert first_post_at(4)()  # the refresh read the favourites the stream never sends
        streaming.publish(["public"], dict(status(2, "so sorry"), in_reply_to_id="1"))
        wait(first_post_at(4, replies=1))
        assert first_post_at(4, replies=1)()
        counts["favourites_count"], counts["replies_count"] = 3, 1  # an unfavourite
        wait(first_post_at(3, replies=1))
        assert first_post_at(3, replies=1)()
        streaming.publish(["public"], "1", event="delete")
        wait(lambda: stored()[post_id].deleted_at is not None)
    finally:
        stop.set()
        thread.join(5)
        streaming.close()
        api.close()
    assert stored()[post_id].deleted_at is not None and stored()[post_id].text == "Acme lost my bag"
