import threading
from datetime import datetime, timedelta, timezone

import pytest

from monitor.errors import StoreError
from monitor.models import Engagement, Incident, IncidentState, Mention, Sentiment, Severity, SpikeKind
from monitor.store.base import CursorUpdate, JobRun, MentionFilter, Notification, NotificationStatus, totals_by_bucket
from monitor.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def mention(n: int, *, brand="Aurora Air", minutes=0, label="neutral", source="twitter", text=None, likes=0):
    probs = {"negative": 0.1, "neutral": 0.1, "positive": 0.1}
    probs[label] = 0.8
    return Mention(
        id=f"{source}:{n}", brand=brand, source=source, text=text or f"post number {n}",
        created_at=T0 + timedelta(minutes=minutes), collected_at=T0, language="en",
        sentiment=Sentiment(label=label, score=0.8, probabilities=probs), engagement=Engagement(likes=likes),
    )


@pytest.fixture
def store(tmp_path):
    with SqliteStore(tmp_path / "m.db") as s:
        yield s


def test_insert_is_idempotent_by_brand_and_id(store):
    assert store.add_mentions([mention(1), mention(2)]) == 2
    assert store.add_mentions([mention(2), mention(3)]) == 1
    assert store.add_mentions([mention(1, brand="SkyLark")]) == 1
    assert store.count(MentionFilter()) == 4


def test_cursor_is_saved_with_its_batch(store):
    store.add_mentions([mention(1)], CursorUpdate(brand="Aurora Air", source="import", value="42"))
    assert store.get_cursor("Aurora Air", "import") == "42"
    assert store.get_cursor("Aurora Air", "other") is None


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
    store.add_mentions([mention(1, likes=50)])
    store.add_mentions([mention(1, likes=7)])
    assert store.search(MentionFilter(ids=["twitter:1"]))[0].engagement.likes == 50


def test_series_groups_by_bucket_and_sentiment(store):
    store.add_mentions([
        mention(1, minutes=1, label="negative"), mention(2, minutes=2, label="negative"),
        mention(3, minutes=16, label="positive"), mention(4, minutes=20, label="negative", source="rss"),
    ])
    rows = store.series("Aurora Air", T0, T0 + timedelta(hours=1), timedelta(minutes=15), ("sentiment",))
    table = totals_by_bucket(rows, "sentiment")
    assert table == {T0: {"negative": 2}, T0 + timedelta(minutes=15): {"positive": 1, "negative": 1}}
    by_source = totals_by_bucket(store.series("Aurora Air", T0, T0 + timedelta(hours=1), timedelta(hours=1), ("source",)), "source")
    assert by_source == {T0: {"twitter": 3, "rss": 1}}
    with pytest.raises(StoreError, match="cannot group"):
        store.series("Aurora Air", T0, T0, timedelta(hours=1), ("text",))


def test_series_over_whole_hours_matches_counting_every_mention(store):
    labels = ("negative", "neutral", "positive")
    batch = [mention(n, minutes=7 * n, label=labels[n % 3], source=("rss", "x")[n % 2]) for n in range(60)]
    store.add_mentions(batch)
    store.add_mentions(batch[:10])  # already stored: not counted again
    start, end = T0 - timedelta(hours=1), T0 + timedelta(hours=8)
    hourly = store.series("Aurora Air", start, end, timedelta(hours=1), ("sentiment", "source", "language"))
    shifted = store.series("Aurora Air", start + timedelta(seconds=1), end, timedelta(hours=1),
                           ("sentiment", "source", "language"))  # not whole hours: read from the mentions
    assert [r.model_dump() for r in hourly] == [r.model_dump() for r in shifted]
    assert sum(r.count for r in hourly) == 60
    daily = store.series("Aurora Air", start, end, timedelta(days=1), ("sentiment",))
    assert {r.group["sentiment"]: r.count for r in daily} == {"negative": 20, "neutral": 20, "positive": 20}


def test_hourly_counts_are_filled_in_for_a_database_written_before_them(tmp_path):
    path = tmp_path / "old.db"
    with SqliteStore(path) as old:
        old.add_mentions([mention(n, minutes=30 * n) for n in range(6)])
        old._db.execute("DELETE FROM mention_hours")
        old._db.execute("PRAGMA user_version = 0")
    with SqliteStore(path) as reopened:
        rows = reopened.series("Aurora Air", T0, T0 + timedelta(hours=3), timedelta(hours=1))
        assert [(r.bucket, r.count) for r in rows] == [(T0, 2), (T0 + timedelta(hours=1), 2),
                                                      (T0 + timedelta(hours=2), 2)]
        reopened.add_mentions([mention(7, minutes=5)])
        assert reopened.series("Aurora Air", T0, T0 + timedelta(hours=1), timedelta(hours=1))[0].count == 3


def test_a_database_written_before_threads_gets_their_columns(tmp_path):
    path = tmp_path / "old.db"
    reply = mention(2).model_copy(update={"reply_to": "twitter:1", "conversation": "twitter:1"})
    with SqliteStore(path) as old:
        old.add_mentions([mention(1), reply])
        old._db.execute("DROP INDEX mentions_conversation")
        old._db.execute("ALTER TABLE mentions DROP COLUMN conversation")
        old._db.execute("ALTER TABLE mentions DROP COLUMN reply_to")
    with SqliteStore(path) as reopened:
        assert reopened.search(MentionFilter(conversations=["twitter:1"])) == [reply]
        reopened.add_mentions([mention(3).model_copy(update={"conversation": "twitter:1"})])
        assert reopened.count(MentionFilter(conversations=["twitter:1"])) == 2
        assert reopened._query("SELECT reply_to FROM mentions WHERE id = 'twitter:2'") == [("twitter:1",)]


def test_search_filters_and_full_text(store):
    store.add_mentions([
        mention(1, minutes=1, text="Flight cancelled again, Kraków airport chaos", label="negative"),
        mention(2, minutes=2, text="Great crew on the Lisbon flight", label="positive"),
        mention(3, minutes=3, text="flights CANCELLED everywhere", label="negative", source="rss"),
    ])
    assert [m.id for m in store.search(MentionFilter(text="cancelled"))] == ["rss:3", "twitter:1"]
    assert [m.id for m in store.search(MentionFilter(text="krakow"))] == ["twitter:1"]
    assert [m.id for m in store.search(MentionFilter(sentiments=["positive"]))] == ["twitter:2"]
    assert [m.id for m in store.search(MentionFilter(sources=["twitter"], newest_first=False))] == ["twitter:1", "twitter:2"]
    assert store.count(MentionFilter(since=T0 + timedelta(minutes=2))) == 2
    assert store.search(MentionFilter(text='"); DROP TABLE mentions; --')) == []


def incident(opened: datetime, state=IncidentState.OPEN) -> Incident:
    return Incident(
        id=f"inc-{opened:%H%M}", fingerprint="fp", brand="Aurora Air", kind=SpikeKind.VOLUME,
        state=state, severity=Severity.HIGH, opened_at=opened, updated_at=opened, last_spike_at=opened,
    )


def test_incidents_and_their_queue_are_saved_together(store):
    note = Notification(key="inc-0800:alert", incident_id="inc-0800", kind="alert", channel="#a",
                        payload={"headline": "x"}, created_at=T0)
    opened = incident(T0)
    store.save_incident(opened, [note])
    store.save_incident(opened, [note])
    assert len(store.notifications()) == 1
    assert store.active_incident("fp").id == "inc-0800"
    resolved = opened.model_copy(update={"state": IncidentState.RESOLVED})
    store.save_incident(resolved)
    assert store.active_incident("fp") is None
    assert store.latest_incident("fp").state is IncidentState.RESOLVED
    assert [i.id for i in store.incidents(brand="Aurora Air")] == ["inc-0800"]


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


def test_runs_are_recorded_newest_first(store):
    for n in range(3):
        store.record_run(JobRun(job=f"j{n}", started_at=T0, finished_at=T0, ok=n != 1))
    assert [r.job for r in store.runs()] == ["j2", "j1", "j0"]
    assert store.runs()[1].ok is False


def test_concurrent_writers_lose_nothing(store):
    def write(offset: int) -> None:
        for n in range(50):
            store.add_mentions([mention(offset + n)])

    threads = [threading.Thread(target=write, args=(k * 1000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.count(MentionFilter()) == 200


def test_unopenable_database_is_a_store_error(tmp_path):
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match="cannot open SQLite database"):
        SqliteStore(tmp_path / "dir.db")


def test_incidents_of_a_database_written_before_versions_get_one(tmp_path):
    path = tmp_path / "old.db"
    with SqliteStore(path) as old:
        old._db.executescript("DROP TABLE incidents; CREATE TABLE incidents (id TEXT PRIMARY KEY, fingerprint TEXT"
                              " NOT NULL, brand TEXT NOT NULL, state TEXT NOT NULL, opened_at INTEGER NOT NULL,"
                              " data TEXT NOT NULL)")
        legacy = incident(T0)
        old._db.execute("INSERT INTO incidents VALUES (?,?,?,?,?,?)", (legacy.id, "fp", legacy.brand, "open",
                                                                       int(T0.timestamp()), legacy.model_dump_json()))
    with SqliteStore(path) as reopened:
        found = reopened.get_incident(legacy.id)
        assert found.version == 1
        found.state = IncidentState.ACKNOWLEDGED
        reopened.save_incident(found)
        assert reopened.get_incident(legacy.id).version == 2


CLAIMER = """
import json, sys
from datetime import datetime, timedelta
from monitor.store.sqlite import SqliteStore

path, owner, at = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
with SqliteStore(path) as store:
    taken = []
    for n in range(10):
        taken += [note.key for note in store.claim_notifications(owner, at, timedelta(minutes=1), limit=2)]
        if store.claim(f"job{n}", owner, at, timedelta(minutes=1)):
            taken.append(f"job{n}")
print(json.dumps(taken))
"""


def test_processes_on_one_file_take_each_piece_of_work_once(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "shared.db"
    with SqliteStore(path) as store:
        for n in range(30):
            store.enqueue(Notification(key=f"n{n:02}", incident_id="i", kind="alert", channel="#a", payload={},
                                       created_at=T0))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    processes = [subprocess.Popen([sys.executable, "-c", CLAIMER, str(path), f"w{k}", T0.isoformat()],
                                  stdout=subprocess.PIPE, env=env) for k in range(3)]
    taken = [key for process in processes for key in json.loads(process.communicate(timeout=120)[0])]
    assert sorted(taken) == sorted([f"n{n:02}" for n in range(30)] + [f"job{n}" for n in range(10)])
