"""The ``Store`` contract: every behaviour the pipeline and the dashboard rely on, on every backend.

Each test runs on SQLite and on Elasticsearch (a real server: see ``es_server`` in conftest.py).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from monitor.errors import ConflictError, IncidentError, StoreError
from monitor.models import (
    Author, Engagement, Incident, IncidentState, Mention, Sentiment, SentimentCorrection, Severity, Silence,
    SpikeKind, Transition,
)
from monitor.store.base import (
    AuthorTotals, CursorUpdate, ExportKind, JobRun, MentionFilter, Notification, NotificationStatus, Store,
    StreamRecord, Totals, WorkerBeat, record_key, bucket_floor, totals_by_bucket,
)
from monitor.store.changes import change_incident, change_silence
from monitor.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def mention(n: int, *, brand="Aurora Air", minutes=0, label="neutral", source="twitter", text=None, likes=0,
            shares=0, replies=0, language="en", title=None, seconds=0):
    sentiment = None
    if label:
        probs = {"negative": 0.1, "neutral": 0.1, "positive": 0.1}
        probs[label] = 0.8
        sentiment = Sentiment(label=label, score=0.8, probabilities=probs, model="test")
    return Mention(
        id=f"{source}:{n}", brand=brand, source=source, text=text or f"post number {n}", title=title,
        created_at=T0 + timedelta(minutes=minutes, seconds=seconds), collected_at=T0, language=language,
        sentiment=sentiment, engagement=Engagement(likes=likes, shares=shares, replies=replies),
        author=Author(handle=f"@u{n}", followers=n), url=f"https://example.com/{n}", matched_terms=["aurora"],
    )


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store(request, tmp_path) -> Store:
    if request.param == "sqlite":
        with SqliteStore(tmp_path / "m.db") as opened:
            yield opened
    else:
        yield request.getfixturevalue("es_store_factory")()


def ids(found: list[Mention]) -> list[str]:
    return [m.id for m in found]


# -- mentions and cursors ------------------------------------------------------------------------


def test_it_is_a_store(store):
    assert isinstance(store, Store)


def test_insert_is_idempotent_by_brand_and_id(store):
    assert store.add_mentions([mention(1), mention(2)]) == 2
    assert store.add_mentions([mention(2), mention(3)]) == 1
    assert store.add_mentions([mention(1, brand="SkyLark")]) == 1
    assert store.add_mentions([]) == 0
    assert store.count(MentionFilter()) == 4
    assert store.brands() == ["Aurora Air", "SkyLark"]


def test_duplicates_inside_one_batch_count_once(store):
    assert store.add_mentions([mention(1, likes=1), mention(1, likes=9), mention(2)]) == 2
    assert store.count(MentionFilter()) == 2
    assert store.search(MentionFilter(ids=["twitter:1"]))[0].engagement.likes == 9


def test_mentions_round_trip_unchanged(store):
    original = mention(7, title="Headline", likes=3, shares=2, replies=1, seconds=42)
    original.created_at = original.created_at.replace(microsecond=123000)
    store.add_mentions([original])
    assert store.search(MentionFilter())[0] == original


def test_replies_reach_and_labels_round_trip_and_a_thread_is_found(store):
    root = mention(1).model_copy(update={"conversation": "twitter:1", "reach": 5000, "labels": ["sensitive"],
                                         "community": "r/aurora", "thread_title": "Delays"})
    answer = mention(2, minutes=5).model_copy(update={"reply_to": "twitter:1", "conversation": "twitter:1"})
    other = mention(3, minutes=9).model_copy(update={"conversation": "twitter:3"})
    store.add_mentions([root, answer, other])
    thread = store.search(MentionFilter(conversations=["twitter:1"], newest_first=False))
    assert thread == [root, answer]
    assert store.count(MentionFilter(conversations=["twitter:1", "twitter:3"])) == 3
    assert store.count(MentionFilter(conversations=["twitter:9"])) == 0


def test_cursor_is_saved_with_its_batch(store):
    store.add_mentions([mention(1)], CursorUpdate(brand="Aurora Air", source="import", value="42"))
    assert store.get_cursor("Aurora Air", "import") == "42"
    assert store.get_cursor("Aurora Air", "other") is None
    assert store.get_cursor("SkyLark", "import") is None
    store.add_mentions([], CursorUpdate(brand="Aurora Air", source="import", value="43"))
    assert store.get_cursor("Aurora Air", "import") == "43"


def test_failed_batch_keeps_neither_mentions_nor_cursor(store):
    store.add_mentions([mention(1)], CursorUpdate(brand="Aurora Air", source="import", value="1"))

    class Broken(Mention):
        def model_dump_json(self, **_):
            raise RuntimeError("disk on fire")

    bad = Broken.model_validate(mention(3).model_dump())
    with pytest.raises(RuntimeError):
        store.add_mentions([mention(2), bad], CursorUpdate(brand="Aurora Air", source="import", value="3"))
    assert store.get_cursor("Aurora Air", "import") == "1"
    assert store.count(MentionFilter()) == 1


def test_engagement_refresh_only_grows(store):
    store.add_mentions([mention(1, likes=5)])
    assert store.add_mentions([mention(1, likes=50)]) == 0
    store.add_mentions([mention(1, likes=7)])
    assert store.search(MentionFilter(ids=["twitter:1"]))[0].engagement.likes == 50
    # Any higher counter replaces all three (the rule both backends share).
    store.add_mentions([mention(1, likes=40, shares=2, replies=1)])
    found = store.search(MentionFilter(ids=["twitter:1"]))[0].engagement
    assert (found.likes, found.shares, found.replies) == (40, 2, 1)


def test_a_revision_may_lower_engagement_and_marks_a_deletion(store):
    store.add_mentions([mention(1, likes=5, shares=3), mention(2, likes=4)])
    deleted = mention(1, likes=2, shares=3).model_copy(update={"deleted_at": T0 + timedelta(minutes=5)})
    store.revise_mentions([deleted, mention(9, likes=1)])
    found = {m.id: m for m in store.search(MentionFilter())}
    assert set(found) == {"twitter:1", "twitter:2"}
    assert (found["twitter:1"].engagement.likes, found["twitter:1"].engagement.shares) == (2, 3)
    assert found["twitter:1"].deleted_at == T0 + timedelta(minutes=5) and found["twitter:2"].deleted_at is None
    assert store.totals(MentionFilter(ids=["twitter:1"])).interactions == 5
    store.add_mentions([mention(1, likes=1)])
    assert store.search(MentionFilter(ids=["twitter:1"]))[0].engagement.likes == 2


def test_stream_records_are_remembered_forgotten_and_bounded_by_age(store):
    records = [StreamRecord(key=record_key("did:plc:fan", "like", str(k)), mention_id=f"bluesky:{k % 2}",
                            kind="like" if k < 3 else "share", at=T0 + timedelta(hours=k)) for k in range(5)]
    store.keep_stream_records("Aurora Air", records, [])
    store.keep_stream_records("SkyLark", records[:1], [])
    keys = [r.key for r in records]
    assert store.stream_records("Aurora Air", keys + ["unknown"]) == {r.key: r for r in records}
    store.keep_stream_records("Aurora Air", [], [keys[0], "unknown"], before=T0 + timedelta(hours=2))
    assert set(store.stream_records("Aurora Air", keys)) == set(keys[2:])
    assert set(store.stream_records("SkyLark", keys)) == {keys[0]}
    assert len(record_key("did:plc:" + "x" * 40, "like", "3kabc")) == 24


# -- search and count ----------------------------------------------------------------------------


def test_search_filters_and_full_text(store):
    store.add_mentions([
        mention(1, minutes=1, text="Flight cancelled again, Kraków airport chaos", label="negative"),
        mention(2, minutes=2, text="Great crew on the Lisbon flight", label="positive"),
        mention(3, minutes=3, text="flights CANCELLED everywhere", label="negative", source="rss"),
    ])
    assert ids(store.search(MentionFilter(text="cancelled"))) == ["rss:3", "twitter:1"]
    assert ids(store.search(MentionFilter(text="krakow"))) == ["twitter:1"]
    assert ids(store.search(MentionFilter(text="KRAKÓW airport"))) == ["twitter:1"]
    assert ids(store.search(MentionFilter(text="cancelled lisbon"))) == []
    assert ids(store.search(MentionFilter(sentiments=["positive"]))) == ["twitter:2"]
    assert ids(store.search(MentionFilter(sources=["twitter"], newest_first=False))) == ["twitter:1", "twitter:2"]
    assert store.count(MentionFilter(since=T0 + timedelta(minutes=2))) == 2
    assert store.count(MentionFilter(text="cancelled", sources=["rss"])) == 1
    assert store.search(MentionFilter(text='"); DROP TABLE mentions; --')) == []
    assert store.search(MentionFilter(text="{\"query\": {\"match_all\": {}}}")) == []
    assert len(store.search(MentionFilter(text="  ?! "))) == 3  # no words: no text condition


def test_a_word_ending_in_a_star_matches_the_words_it_begins(store):
    store.add_mentions([
        mention(1, minutes=1, text="Flight cancelled again"),
        mention(2, minutes=2, text="They cancel everything, app down"),
        mention(3, minutes=3, text="Cancellation fees are a scandal, the app is dead"),
        mention(4, minutes=4, text="Great crew, lovely flight"),
    ])
    assert ids(store.search(MentionFilter(text="cancel*"))) == ["twitter:3", "twitter:2", "twitter:1"]
    assert ids(store.search(MentionFilter(text="cancel"))) == ["twitter:2"]
    assert ids(store.search(MentionFilter(text="cancel* app"))) == ["twitter:3", "twitter:2"]
    assert ids(store.search(MentionFilter(text="app*"))) == ["twitter:3", "twitter:2"]


def test_most_engaged_first_over_the_whole_range(store):
    store.add_mentions([mention(n, minutes=n, likes=likes, shares=shares)
                        for n, likes, shares in ((1, 5, 0), (2, 50_000, 30_000), (3, 0, 0), (4, 7, 0), (5, 5, 0))])
    assert ids(store.search(MentionFilter(most_engaged=True, limit=3))) == ["twitter:2", "twitter:4", "twitter:5"]
    assert ids(store.search(MentionFilter(most_engaged=True, offset=3))) == ["twitter:1", "twitter:3"]


def test_title_is_searchable(store):
    store.add_mentions([mention(1, title="Strike at Frankfurt", text="details inside"), mention(2)])
    assert ids(store.search(MentionFilter(text="frankfurt"))) == ["twitter:1"]


def test_every_filter_field_combines_with_and(store):
    store.add_mentions([
        mention(1, minutes=0, language="en"),
        mention(2, minutes=10, language="de", label="negative"),
        mention(3, minutes=20, language="de", label="negative", source="rss"),
        mention(4, minutes=30, language=None, label=None, brand="SkyLark"),
        mention(5, minutes=40, language="de", label="negative"),
    ])
    query = MentionFilter(brands=["Aurora Air"], languages=["de"], sentiments=["negative"], sources=["twitter"],
                          since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=40))
    assert ids(store.search(query)) == ["twitter:2"]
    assert store.count(query) == 1
    assert store.count(MentionFilter(until=T0 + timedelta(minutes=10))) == 1  # until is exclusive
    assert store.count(MentionFilter(since=T0 + timedelta(minutes=40))) == 1  # since is inclusive
    assert ids(store.search(MentionFilter(ids=["twitter:4", "rss:3", "nope"], newest_first=False))) == [
        "rss:3", "twitter:4"]
    assert store.count(MentionFilter(brands=["SkyLark", "Aurora Air"])) == 5
    assert store.count(MentionFilter(brands=["Nobody"])) == 0


def test_paging_with_limit_and_offset(store):
    store.add_mentions([mention(n, minutes=n) for n in range(25)])
    newest = ids(store.search(MentionFilter(limit=10)))
    assert newest == [f"twitter:{n}" for n in range(24, 14, -1)]
    assert ids(store.search(MentionFilter(limit=10, offset=20))) == [f"twitter:{n}" for n in range(4, -1, -1)]
    assert ids(store.search(MentionFilter(limit=5, offset=3, newest_first=False))) == [
        f"twitter:{n}" for n in range(3, 8)]
    assert store.search(MentionFilter(offset=30)) == []
    assert store.count(MentionFilter(limit=1)) == 25  # count ignores paging


def test_same_second_keeps_insertion_order(store):
    store.add_mentions([mention(n) for n in (5, 3, 9)])
    assert ids(store.search(MentionFilter(newest_first=False))) == ["twitter:5", "twitter:3", "twitter:9"]
    assert ids(store.search(MentionFilter())) == ["twitter:9", "twitter:3", "twitter:5"]


def test_concurrent_writers_lose_nothing(store):
    errors: list[BaseException] = []

    def write(offset: int) -> None:
        try:
            for n in range(25):
                store.add_mentions([mention(offset + n), mention(n, likes=offset)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k * 1000,)) for k in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert store.count(MentionFilter()) == 125
    assert {m.engagement.likes for m in store.search(MentionFilter(ids=["twitter:0"]))} == {4000}


# -- series --------------------------------------------------------------------------------------


def test_series_groups_by_bucket_and_sentiment(store):
    store.add_mentions([
        mention(1, minutes=1, label="negative"), mention(2, minutes=2, label="negative"),
        mention(3, minutes=16, label="positive"), mention(4, minutes=20, label="negative", source="rss"),
    ])
    rows = store.series("Aurora Air", T0, T0 + timedelta(hours=1), timedelta(minutes=15), ("sentiment",))
    table = totals_by_bucket(rows, "sentiment")
    assert table == {T0: {"negative": 2}, T0 + timedelta(minutes=15): {"positive": 1, "negative": 1}}
    by_source = totals_by_bucket(
        store.series("Aurora Air", T0, T0 + timedelta(hours=1), timedelta(hours=1), ("source",)), "source")
    assert by_source == {T0: {"twitter": 3, "rss": 1}}
    with pytest.raises(StoreError, match="cannot group"):
        store.series("Aurora Air", T0, T0, timedelta(hours=1), ("text",))


def test_series_range_alignment_and_missing_values(store):
    store.add_mentions([
        mention(1, minutes=-1), mention(2, minutes=0), mention(3, minutes=7, label=None, language=None),
        mention(4, minutes=59, seconds=59), mention(5, minutes=60), mention(6, minutes=5, brand="SkyLark"),
        mention(7, minutes=200),
    ])
    start, end = T0, T0 + timedelta(hours=1)
    rows = store.series("Aurora Air", start, end, timedelta(minutes=10))
    assert [(r.bucket, r.count, r.group) for r in rows] == [
        (T0, 2, {}), (T0 + timedelta(minutes=50), 1, {})]  # [start, end), empty buckets omitted
    assert all(r.bucket.tzinfo is not None for r in rows)
    grouped = store.series("Aurora Air", start, end, timedelta(hours=1), ("sentiment", "language"))
    assert sorted((r.group["sentiment"], r.group["language"], r.count) for r in grouped) == [
        ("neutral", "en", 2), ("unknown", "unknown", 1)]
    # Buckets are aligned to the epoch, not to ``start``.
    odd = T0 + timedelta(minutes=3)
    shifted = store.series("Aurora Air", odd, end, timedelta(minutes=10))
    assert [r.bucket for r in shifted] == [bucket_floor(T0 + timedelta(minutes=7), timedelta(minutes=10)),
                                           T0 + timedelta(minutes=50)]
    assert store.series("Nobody", start, end, timedelta(minutes=10)) == []


def test_dashboard_breakdown_by_three_fields(store):
    store.add_mentions([mention(n, minutes=n, label=("negative", "positive")[n % 2],
                                language=("en", "de", "fr")[n % 3], source=("x", "rss")[n % 2])
                        for n in range(30)])
    rows = store.series("Aurora Air", T0 - timedelta(days=1), T0 + timedelta(days=1), timedelta(days=400),
                        ("source", "language", "sentiment"))
    assert sum(r.count for r in rows) == 30
    assert len(rows) == 6
    assert all(set(r.group) == {"source", "language", "sentiment"} for r in rows)


def test_series_over_weeks_in_small_buckets(store):
    store.add_mentions([mention(n, minutes=15 * n) for n in range(3000)])  # 31 days, over a month edge
    rows = store.series("Aurora Air", T0, T0 + timedelta(days=40), timedelta(minutes=15), ("sentiment",))
    assert len(rows) == 3000 and sum(r.count for r in rows) == 3000
    assert rows == sorted(rows, key=lambda r: r.bucket)


# -- retention -----------------------------------------------------------------------------------


def test_pruning_deletes_old_mentions_everywhere_and_keeps_recent_ones(store):
    old = [mention(1, minutes=-62 * 24 * 60), mention(2, minutes=-61 * 24 * 60, label="negative")]  # December
    store.add_mentions([*old, mention(3), mention(4, minutes=5)])
    pruned = store.prune_mentions(T0 - timedelta(days=20))  # 10 February: December lies wholly before it
    assert pruned.mentions == 2
    assert ids(store.search(MentionFilter(newest_first=False))) == ["twitter:3", "twitter:4"]
    assert store.count(MentionFilter(text="post")) == 2
    rows = store.series("Aurora Air", T0 - timedelta(days=70), T0 + timedelta(days=1), timedelta(hours=1))
    assert sum(r.count for r in rows) == 2
    assert store.prune_mentions(T0 - timedelta(days=20)).mentions == 0
    assert store.add_mentions(old) == 2  # gone for good: they can be stored again, and found once each
    assert store.count(MentionFilter(text="post")) == 4


# -- incidents and notifications -----------------------------------------------------------------


# -- totals, authors and sentiment corrections ---------------------------------------------------


def test_totals_add_up_interactions_and_reach_of_the_selection(store):
    viewed = mention(1, likes=3, shares=2).model_copy(update={"reach": 5000})  # views win over followers
    store.add_mentions([viewed, mention(20, minutes=5, replies=4), mention(7, minutes=70, likes=1),
                        mention(9, brand="SkyLark", likes=100)])
    hour = MentionFilter(brands=["Aurora Air"], since=T0, until=T0 + timedelta(hours=1))
    assert store.totals(hour) == Totals(mentions=2, interactions=9, reach=5000 + 20)
    assert store.totals(MentionFilter(brands=["Aurora Air"], limit=1)) == Totals(mentions=3, interactions=10,
                                                                                 reach=5027)
    store.add_mentions([mention(1, likes=10, shares=2)])  # re-collected: its interactions grew
    assert store.totals(hour).interactions == 16
    assert store.totals(MentionFilter(brands=["Nobody"])) == Totals()


def test_authors_rank_by_mentions_then_interactions(store):
    def by(n: int, handle: str | None, followers: int, likes: int = 0):
        return mention(n, minutes=n, likes=likes).model_copy(
            update={"author": Author(handle=handle, name=None if handle else "", followers=followers)})

    store.add_mentions([by(1, "@ana", 10), by(2, "@ana", 30), by(3, "@bo", 5, likes=7), by(4, "@cy", 9, likes=2),
                        by(5, None, 99, likes=50), by(6, "@ana", 20, likes=1)])
    found = store.authors(MentionFilter(brands=["Aurora Air"], limit=10))
    assert found == [AuthorTotals(author="@ana", mentions=3, interactions=1, followers=30),
                     AuthorTotals(author="@bo", mentions=1, interactions=7, followers=5),
                     AuthorTotals(author="@cy", mentions=1, interactions=2, followers=9)]
    assert [a.author for a in store.authors(MentionFilter(brands=["Aurora Air"], limit=2))] == ["@ana", "@bo"]
    late = MentionFilter(brands=["Aurora Air"], since=T0 + timedelta(minutes=3))
    assert [a.author for a in store.authors(late)] == ["@bo", "@cy", "@ana"]


def test_a_corrected_sentiment_counts_everywhere_and_is_kept(store):
    store.add_mentions([mention(1, label="positive", text="Great, another cancelled flight"),
                        mention(2, minutes=1, label="negative"), mention(3, minutes=2, label=None)])
    at = T0 + timedelta(hours=2)
    made = store.correct_sentiment("Aurora Air", "twitter:1", "negative", "maria", at)
    assert made == SentimentCorrection(brand="Aurora Air", mention_id="twitter:1", label="negative",
                                       previous="positive", by="maria", at=at,
                                       text="Great, another cancelled flight", language="en")
    store.correct_sentiment("Aurora Air", "twitter:3", "neutral", "jonas", at + timedelta(minutes=1))
    assert store.correct_sentiment("Aurora Air", "twitter:404", "neutral", "jonas", at) is None
    assert store.correct_sentiment("SkyLark", "twitter:1", "neutral", "jonas", at) is None

    (corrected,) = store.search(MentionFilter(ids=["twitter:1"]))
    assert corrected.sentiment == Sentiment.by_hand("negative", "maria", model="test")
    assert store.count(MentionFilter(sentiments=["negative"])) == 2
    assert store.count(MentionFilter(sentiments=["positive"])) == 0
    for bucket in (timedelta(minutes=15), timedelta(hours=1)):  # read from mentions, and from hourly counts
        rows = store.series("Aurora Air", T0, T0 + timedelta(hours=1), bucket, ("sentiment",))
        assert totals_by_bucket(rows, "sentiment") == {T0: {"negative": 2, "neutral": 1}}
    assert [(c.mention_id, c.previous, c.label) for c in store.corrections()] == [
        ("twitter:3", None, "neutral"), ("twitter:1", "positive", "negative")]
    assert store.corrections("SkyLark") == []

    store.add_mentions([mention(1, label="positive", likes=5)])  # collected again: the person's label stays
    assert store.search(MentionFilter(ids=["twitter:1"]))[0].sentiment.label == "negative"
    store.correct_sentiment("Aurora Air", "twitter:1", "neutral", "jonas", at + timedelta(hours=1))
    assert store.corrections("Aurora Air")[0].previous == "negative"
    assert store.count(MentionFilter(sentiments=["negative"])) == 1


def incident(opened: datetime, state=IncidentState.OPEN, *, brand="Aurora Air", fingerprint="fp") -> Incident:
    return Incident(
        id=f"inc-{brand[:3]}-{opened:%H%M}", fingerprint=fingerprint, brand=brand, kind=SpikeKind.VOLUME,
        state=state, severity=Severity.HIGH, opened_at=opened, updated_at=opened, last_spike_at=opened,
        transitions=[Transition(state=state, at=opened)],
    )


def test_incidents_and_their_queue_are_saved_together(store):
    first = incident(T0)
    note = Notification(key=f"{first.id}:alert", incident_id=first.id, kind="alert", channel="#a",
                        payload={"headline": "x"}, created_at=T0)
    store.save_incident(first, [note])
    store.save_incident(first, [note])
    assert len(store.notifications()) == 1
    assert store.active_incident("fp").id == first.id
    assert store.get_incident(first.id) == first
    assert store.get_incident("nope") is None
    resolved = first.model_copy(update={"state": IncidentState.RESOLVED})
    store.save_incident(resolved)
    assert store.active_incident("fp") is None
    assert store.latest_incident("fp").state is IncidentState.RESOLVED
    assert store.latest_incident("other") is None
    assert [i.id for i in store.incidents(brand="Aurora Air")] == [first.id]


def test_incident_queries(store):
    store.save_incident(incident(T0, IncidentState.RESOLVED))
    store.save_incident(incident(T0 + timedelta(hours=1), IncidentState.ACKNOWLEDGED))
    store.save_incident(incident(T0 + timedelta(hours=2), IncidentState.FALSE_ALARM))
    store.save_incident(incident(T0 + timedelta(hours=3), brand="SkyLark", fingerprint="sky"))
    assert store.active_incident("fp").opened_at == T0 + timedelta(hours=1)
    assert store.latest_incident("fp").state is IncidentState.FALSE_ALARM
    assert [i.opened_at for i in store.incidents()] == [T0 + timedelta(hours=h) for h in (3, 2, 1, 0)]
    assert [i.opened_at for i in store.incidents(brand="Aurora Air", since=T0 + timedelta(hours=1))] == [
        T0 + timedelta(hours=2), T0 + timedelta(hours=1)]
    assert store.incidents(brand="Nobody") == []


def test_due_notifications_respect_not_before_and_status(store):
    first = Notification(key="a", incident_id="i", kind="alert", channel="#a", payload={}, created_at=T0)
    later = Notification(key="b", incident_id="i", kind="update", channel="#a", payload={}, created_at=T0,
                         not_before=T0 + timedelta(minutes=10))
    assert store.enqueue(first) and store.enqueue(later)
    assert not store.enqueue(first)
    assert [n.key for n in store.due_notifications(T0)] == ["a"]
    first.status = NotificationStatus.SENT
    store.update_notification(first)
    assert [n.key for n in store.due_notifications(T0 + timedelta(minutes=10))] == ["b"]


def test_notification_queue_order_updates_and_filters(store):
    for n, key in enumerate("cab"):
        assert store.enqueue(Notification(key=key, incident_id=f"i{n % 2}", kind="alert", channel="#a",
                                          payload={"n": n, "nested": {"list": [1, 2]}}, created_at=T0))
    assert [n.key for n in store.due_notifications(T0)] == ["c", "a", "b"]  # queue order, not key order
    assert [n.key for n in store.due_notifications(T0, limit=2)] == ["c", "a"]
    assert [n.key for n in store.notifications("i0")] == ["c", "b"]
    retry = store.notifications("i1")[0]
    retry.attempts, retry.error, retry.not_before = 1, "rate limited", T0 + timedelta(minutes=5)
    store.update_notification(retry)
    assert [n.key for n in store.due_notifications(T0)] == ["c", "b"]
    assert [n.key for n in store.due_notifications(T0 + timedelta(minutes=5))] == ["c", "a", "b"]
    saved = store.notifications("i1")[0]
    assert (saved.attempts, saved.error, saved.payload) == (1, "rate limited", {"n": 1, "nested": {"list": [1, 2]}})
    failed = store.notifications("i0")[1]
    failed.status, failed.sent_at, failed.external_id = NotificationStatus.FAILED, T0, "ts-1"
    store.update_notification(failed)
    assert [n.key for n in store.due_notifications(T0 + timedelta(days=1))] == ["c", "a"]
    assert store.notifications("i0")[1] == failed
    ghost = Notification(key="ghost", incident_id="x", kind="alert", channel="#a", payload={}, created_at=T0)
    store.update_notification(ghost)  # updating an unknown key is a no-op
    assert [n.key for n in store.notifications()] == ["c", "a", "b"]


# -- runs ----------------------------------------------------------------------------------------


def test_runs_are_recorded_newest_first(store):
    for n in range(3):
        store.record_run(JobRun(job=f"j{n}", started_at=T0, finished_at=T0, ok=n != 1, brand="Aurora Air",
                                source="rss", fetched=n, stored=n, error=None if n != 1 else "boom"))
    assert [r.job for r in store.runs()] == ["j2", "j1", "j0"]
    assert store.runs()[1].ok is False and store.runs()[1].error == "boom"
    assert [r.job for r in store.runs(limit=2)] == ["j2", "j1"]


def test_a_run_recorded_under_an_id_is_recorded_once(store):
    run = JobRun(job="collect:Aurora Air:rss", started_at=T0, finished_at=T0, ok=True, fetched=3)
    store.record_run(run, run_id="copy-1")
    store.record_run(run.model_copy(update={"fetched": 9}), run_id="copy-1")
    store.record_run(run)
    store.record_run(run)
    assert [r.fetched for r in store.runs()] == [3, 3, 3]


# -- silences ------------------------------------------------------------------------------------


def test_silences_are_saved_by_id_and_filtered_by_time(store):
    early = Silence(id="s1", brand="Aurora Air", starts_at=T0, ends_at=T0 + timedelta(hours=2), reason="drill")
    late = Silence(id="s2", brand="SkyLark", topic="strike", starts_at=T0 + timedelta(hours=1),
                   ends_at=T0 + timedelta(hours=3), created_by="U1")
    store.save_silence(early)
    store.save_silence(late)
    assert [s.id for s in store.silences()] == ["s2", "s1"]
    assert [s.id for s in store.silences(active_at=T0)] == ["s1"]
    assert [s.id for s in store.silences(active_at=T0 + timedelta(hours=2))] == ["s2"]  # ends_at is exclusive
    assert store.silences(active_at=T0 + timedelta(hours=3)) == []
    shortened = store.get_silence("s1")
    shortened.ends_at = T0 + timedelta(minutes=30)
    store.save_silence(shortened)
    assert store.silences() == [late, shortened]
    assert store.silences(active_at=T0 + timedelta(hours=1)) == [late]
    assert store.get_silence("s3") is None


def test_silence_saves_are_compare_and_set(store):
    first = Silence(id="s1", brand="Aurora Air", starts_at=T0, ends_at=T0 + timedelta(hours=4))
    store.save_silence(first)
    assert first.version == 1
    with pytest.raises(ConflictError):  # a second silence made under the same id
        store.save_silence(Silence(id="s1", brand="Aurora Air", starts_at=T0, ends_at=T0 + timedelta(hours=8)))
    mine, theirs = store.get_silence("s1"), store.get_silence("s1")
    assert mine.version == theirs.version == 1
    mine.ends_at = T0 + timedelta(hours=1)
    store.save_silence(mine)
    theirs.reason = "overwrites the shortening"
    with pytest.raises(ConflictError):
        store.save_silence(theirs)
    stored = store.get_silence("s1")
    assert (stored.ends_at, stored.reason, stored.version) == (T0 + timedelta(hours=1), "", 2)
    assert [s.version for s in store.silences()] == [2]


def test_change_silence_retries_until_no_update_is_lost(store):
    store.save_silence(Silence(id="s1", brand="Aurora Air", starts_at=T0, ends_at=T0 + timedelta(hours=4)))
    errors: list[BaseException] = []

    def note(worker: int) -> None:
        def change(found: Silence) -> bool:
            found.reason += f" w{worker}"
            return True

        try:
            for _ in range(5):
                change_silence(store, "s1", change)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=note, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stored = store.get_silence("s1")
    assert sorted(stored.reason.split()) == sorted(f"w{k}" for k in range(4) for _ in range(5))
    assert stored.version == 1 + 4 * 5
    assert change_silence(store, "s1", lambda found: False).version == 1 + 4 * 5  # no change: nothing written
    with pytest.raises(IncidentError, match="no silence 'gone'"):
        change_silence(store, "gone", lambda found: True)


# -- compare-and-set, claims and leases -----------------------------------------------------------


def alert(key: str, incident_id: str = "i", **fields) -> Notification:
    return Notification(key=key, incident_id=incident_id, kind="alert", channel="#a", payload={}, created_at=T0,
                        **fields)


def test_incident_saves_are_compare_and_set(store):
    first = incident(T0)
    store.save_incident(first)
    assert first.version == 1
    twin = incident(T0)  # another detector opening the same incident
    with pytest.raises(ConflictError):
        store.save_incident(twin, [alert("twin:alert", first.id)])
    mine, theirs = store.get_incident(first.id), store.get_incident(first.id)
    assert mine.version == theirs.version == 1
    mine.severity = Severity.CRITICAL
    store.save_incident(mine, [alert("mine:escalation", first.id)])
    theirs.state = IncidentState.ACKNOWLEDGED
    with pytest.raises(ConflictError):
        store.save_incident(theirs, [alert("theirs:ack", first.id)])
    stored = store.get_incident(first.id)
    assert (stored.severity, stored.state, stored.version) == (Severity.CRITICAL, IncidentState.OPEN, 2)
    assert [n.key for n in store.notifications()] == ["mine:escalation"]  # the losers queued nothing
    assert [i.version for i in store.incidents()] == [2]
    assert store.active_incident("fp").version == store.latest_incident("fp").version == 2


def test_change_incident_retries_until_no_update_is_lost(store):
    store.save_incident(incident(T0))
    errors: list[BaseException] = []

    def escalate_notes(worker: int) -> None:
        def change(found: Incident):
            found.transitions.append(Transition(state=found.state, at=T0, by=f"w{worker}"))
            return []

        try:
            for _ in range(5):
                change_incident(store, incident(T0).id, change)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=escalate_notes, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stored = store.get_incident(incident(T0).id)
    assert len(stored.transitions) == 1 + 4 * 5
    assert stored.version == 1 + 4 * 5


def test_work_is_claimed_by_one_owner_until_released_or_expired(store):
    lease = timedelta(seconds=30)
    assert store.claim("collect:Aurora Air:rss", "w1", T0, lease)
    assert not store.claim("collect:Aurora Air:rss", "w2", T0 + timedelta(seconds=29), lease)
    assert store.claim("detect:Aurora Air", "w2", T0, lease)  # other work is free
    assert store.renew("collect:Aurora Air:rss", "w1", T0 + timedelta(seconds=20), lease)
    assert not store.renew("collect:Aurora Air:rss", "w2", T0, lease)
    assert not store.claim("collect:Aurora Air:rss", "w2", T0 + timedelta(seconds=40), lease)  # renewed to 50 s
    held = {lease.name: lease for lease in store.leases()}
    assert held["collect:Aurora Air:rss"].owner == "w1"
    assert held["collect:Aurora Air:rss"].lease_until == T0 + timedelta(seconds=50)
    # released: free again, but only once it is due
    assert not store.release("collect:Aurora Air:rss", "w2", T0)
    assert store.release("collect:Aurora Air:rss", "w1", T0 + timedelta(minutes=5))
    assert not store.claim("collect:Aurora Air:rss", "w2", T0 + timedelta(minutes=4), lease)
    assert store.claim("collect:Aurora Air:rss", "w2", T0 + timedelta(minutes=5), lease)
    # a dead owner's lease runs out and another takes the work over; the dead one cannot renew
    assert store.claim("detect:Aurora Air", "w3", T0 + timedelta(seconds=30), lease)
    assert not store.renew("detect:Aurora Air", "w2", T0 + timedelta(seconds=31), lease)
    assert not store.release("detect:Aurora Air", "w2", T0)
    assert {(l.name, l.owner) for l in store.leases()} == {
        ("collect:Aurora Air:rss", "w2"), ("detect:Aurora Air", "w3")}


def test_racing_claims_have_one_winner(store):
    wins: list[str] = []
    barrier = threading.Barrier(6)

    def race(owner: str) -> None:
        barrier.wait()
        for round_ in range(5):
            if store.claim(f"job{round_}", owner, T0, timedelta(minutes=1)):
                wins.append(f"job{round_}")

    threads = [threading.Thread(target=race, args=(f"w{k}",)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [f"job{n}" for n in range(5)]


def test_notifications_are_claimed_once_and_due_again_when_the_lease_ends(store):
    for key in "abc":
        store.enqueue(alert(key))
    lease = timedelta(seconds=60)
    mine = store.claim_notifications("w1", T0, lease, limit=2)
    assert [(n.key, n.owner, n.lease_until) for n in mine] == [("a", "w1", T0 + lease), ("b", "w1", T0 + lease)]
    assert [n.key for n in store.claim_notifications("w2", T0, lease)] == ["c"]
    assert store.claim_notifications("w3", T0 + timedelta(seconds=59), lease) == []
    assert store.due_notifications(T0 + timedelta(seconds=59)) == []
    # w1 finishes "a"; w2 takes over "b" after w1's lease ran out: w1 can no longer write it
    first = mine[0].released().model_copy(update={"status": NotificationStatus.SENT})
    store.update_notification(first, owner="w1")
    taken = store.claim_notifications("w2", T0 + lease, lease)
    assert [n.key for n in taken] == ["b", "c"]
    with pytest.raises(ConflictError):
        store.update_notification(mine[1].model_copy(update={"status": NotificationStatus.SENDING}), owner="w1")
    assert {n.key: (n.status, n.owner) for n in store.notifications()} == {
        "a": (NotificationStatus.SENT, None), "b": (NotificationStatus.PENDING, "w2"),
        "c": (NotificationStatus.PENDING, "w2")}


def test_a_notification_left_sending_by_a_crash_is_due_again(store):
    store.enqueue(alert("a"))
    [claimed] = store.claim_notifications("w1", T0, timedelta(seconds=10))
    store.update_notification(claimed.model_copy(update={"status": NotificationStatus.SENDING}), owner="w1")
    assert store.claim_notifications("w2", T0 + timedelta(seconds=5), timedelta(seconds=10)) == []
    # w1 died mid-send; after its lease the notification is due again, still marked sending
    [again] = store.claim_notifications("w2", T0 + timedelta(seconds=10), timedelta(seconds=10))
    assert (again.key, again.status, again.owner) == ("a", NotificationStatus.SENDING, "w2")
    assert [n.key for n in store.due_notifications(T0 + timedelta(seconds=20))] == ["a"]


def test_racing_notification_claims_take_each_once(store):
    for n in range(20):
        store.enqueue(alert(f"n{n:02}"))
    taken: list[str] = []
    barrier = threading.Barrier(4)

    def race(owner: str) -> None:
        barrier.wait()
        for _ in range(5):
            taken.extend(n.key for n in store.claim_notifications(owner, T0, timedelta(minutes=1), limit=3))

    threads = [threading.Thread(target=race, args=(f"w{k}",)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(taken)) == len(taken)  # never twice
    rest = [n.key for n in store.claim_notifications("w9", T0, timedelta(minutes=1))]
    assert sorted(taken + rest) == [f"n{n:02}" for n in range(20)]


def test_worker_heartbeats_are_replaced_by_id(store):
    beat = WorkerBeat(id="w1", host="h", pid=1, started_at=T0, beat_at=T0, config_hash="abc", capacity=4)
    store.heartbeat(beat)
    store.heartbeat(beat.model_copy(update={"id": "w2", "beat_at": T0 + timedelta(seconds=5)}))
    store.heartbeat(beat.model_copy(update={"beat_at": T0 + timedelta(seconds=10), "holds": ["detect:x"]}))
    assert [(w.id, w.holds) for w in store.workers()] == [("w1", ["detect:x"]), ("w2", [])]


def test_a_checked_cursor_is_saved_compare_and_set(store):
    def update(value, expected):
        return CursorUpdate(brand="Aurora Air", source="rss", value=value, expected=expected, checked=True)

    store.add_mentions([mention(1)], update("10", None))
    store.add_mentions([mention(2)], update("20", "10"))
    with pytest.raises(ConflictError):  # a worker that read "10" before the other moved it on
        store.add_mentions([mention(3)], update("15", "10"))
    with pytest.raises(ConflictError):
        store.add_mentions([], update("5", None))
    assert store.get_cursor("Aurora Air", "rss") == "20"
    store.add_mentions([], CursorUpdate(brand="Aurora Air", source="rss", value="1"))  # unchecked: overwrites
    assert store.get_cursor("Aurora Air", "rss") == "1"


def test_the_holder_releases_even_while_its_heartbeat_renews(store):
    assert store.claim("job", "w1", T0, timedelta(minutes=1))
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.is_set():
            store.renew("job", "w1", T0, timedelta(minutes=1))

    beating = threading.Thread(target=heartbeat)
    beating.start()
    try:
        time.sleep(0.05)
        assert store.release("job", "w1", T0 + timedelta(minutes=5))
    finally:
        stop.set()
        beating.join()
    assert [(lease.owner, lease.due_at) for lease in store.leases()] == [(None, T0 + timedelta(minutes=5))]


# -- opening and exporting -----------------------------------------------------------------------


def test_a_store_opens_from_its_config_section(store):
    from monitor.config import StorageConfig
    from monitor.store import open_store

    if isinstance(store, SqliteStore):
        section = StorageConfig(backend="sqlite", path=store.path)
    else:
        section = StorageConfig(backend="elasticsearch", url=store.where, index_prefix=store.prefix)
    store.add_mentions([mention(1)], CursorUpdate(brand="Aurora Air", source="twitter", value="c1"))
    reopened = open_store(section)
    try:
        assert type(reopened) is type(store) and isinstance(reopened, Store)
        assert ids(reopened.search(MentionFilter())) == ["twitter:1"]
        assert reopened.get_cursor("Aurora Air", "twitter") == "c1"
    finally:
        reopened.close()


def test_export_streams_every_mention_in_stored_order_and_resumes_after_a_position(store):
    written = [mention(n, minutes=-n, brand=("Aurora Air", "SkyLark")[n % 2]) for n in range(1050)]
    store.add_mentions(written[:600])
    store.add_mentions(written[600:])
    store.add_mentions([mention(4, minutes=-4, likes=7)])  # a refresh keeps the mention's place
    exported = list(store.export(ExportKind.MENTIONS))
    assert [e.record.id for e in exported] == [m.id for m in written]
    assert exported[4].record.engagement.likes == 7
    assert exported[5].record == store.search(MentionFilter(ids=["twitter:5"]))[0]
    assert len({e.position for e in exported}) == 1050
    rest = list(store.export(ExportKind.MENTIONS, after=exported[999].position))
    assert [e.record.id for e in rest] == [m.id for m in written[1000:]]
    assert list(store.export(ExportKind.MENTIONS, after=exported[-1].position)) == []


def test_export_gives_every_other_record_as_the_store_reads_it(store):
    store.add_mentions([], CursorUpdate(brand="Aurora Air", source="rss", value="c1"))
    store.add_mentions([], CursorUpdate(brand="SkyLark", source="x", value="c2"))
    first, second = incident(T0), incident(T0 + timedelta(hours=1), fingerprint="fp2")
    store.save_incident(first, [alert("a", first.id), alert("b", first.id)])
    store.save_incident(second, [alert("c", second.id)])
    first.severity = Severity.CRITICAL
    store.save_incident(first)
    store.update_notification(alert("b", first.id, status=NotificationStatus.SENT, external_id="1.2"))
    store.save_silence(Silence(id="s1", brand="Aurora Air", starts_at=T0, ends_at=T0 + timedelta(hours=2)))
    for n in range(3):
        store.record_run(JobRun(job=f"j{n}", started_at=T0, finished_at=T0, ok=True, fetched=n))

    def records(kind: ExportKind) -> list:
        return [e.record for e in store.export(kind)]

    assert {(c.brand, c.source, c.value) for c in records(ExportKind.CURSORS)} == {
        ("Aurora Air", "rss", "c1"), ("SkyLark", "x", "c2")}
    exported = records(ExportKind.INCIDENTS)
    assert sorted(exported, key=lambda i: i.id) == sorted(store.incidents(), key=lambda i: i.id)
    assert {i.id: i.version for i in exported} == {first.id: 2, second.id: 1}
    assert records(ExportKind.NOTIFICATIONS) == store.notifications()
    assert [n.key for n in records(ExportKind.NOTIFICATIONS)] == ["a", "b", "c"]
    assert [(s.id, s.version) for s in records(ExportKind.SILENCES)] == [("s1", 1)]
    assert records(ExportKind.RUNS) == list(reversed(store.runs()))
    runs = list(store.export(ExportKind.RUNS))
    assert [e.record.job for e in store.export(ExportKind.RUNS, after=runs[0].position)] == ["j1", "j2"]


def test_corrections_export_oldest_first_and_a_copied_one_is_kept_once(store):
    store.add_mentions([mention(1), mention(2)])
    at = T0 + timedelta(hours=1)
    store.correct_sentiment("Aurora Air", "twitter:1", "negative", "maria", at)
    store.correct_sentiment("Aurora Air", "twitter:2", "positive", "jonas", at + timedelta(minutes=1))
    exported = [e.record for e in store.export(ExportKind.CORRECTIONS)]
    assert exported == list(reversed(store.corrections()))
    assert [(c.mention_id, c.label, c.previous) for c in exported] == [
        ("twitter:1", "negative", "neutral"), ("twitter:2", "positive", "neutral")]
    elsewhere = exported[0].model_copy(update={"mention_id": "twitter:2", "by": "lee"})
    store.keep_correction(elsewhere, "copy-1")
    store.keep_correction(elsewhere, "copy-1")
    assert [c.by for c in store.corrections()] == ["lee", "jonas", "maria"]
    assert store.search(MentionFilter(ids=["twitter:2"]))[0].sentiment.label == "positive"  # label untouched
