from datetime import timedelta

import pytest

from monitor.alerts.incidents import silences
from monitor.localtime import zone
from monitor.alerts.notify.delivery import deliver_due
from monitor.alerts.notify.slack.outbox import OutboxNotifier
from monitor.errors import IncidentError
from monitor.models import IncidentState
from monitor.store.base import Notification, NotificationStatus
from monitor.store.sqlite import SqliteStore
from test_lifecycle import T0, incident


@pytest.fixture
def store(tmp_path):
    with SqliteStore(tmp_path / "m.db") as store:
        opened = incident(slack_ts=None, topic="app outage")
        store.save_incident(opened, [Notification(key="a:alert", incident_id=opened.id, kind="alert",
                                                  channel="#alerts", payload={"headline": "surge"}, created_at=T0)])
        yield store


def outbox(tmp_path):
    return OutboxNotifier(tmp_path / "out.jsonl")


def test_a_silence_covers_its_brand_and_topic_for_its_time_only(store):
    quiet = silences.add(store, "aurora air", timedelta(hours=2), T0, topic="App Outage", by="dana", reason="known")
    subject = store.get_incident("aurora-air-1")
    assert silences.covering(store, subject, T0 + timedelta(minutes=30)) == quiet
    assert silences.covering(store, subject, T0 + timedelta(hours=2)) is None
    assert silences.covering(store, subject.model_copy(update={"topic": "refunds"}), T0) is None
    assert silences.covering(store, subject.model_copy(update={"brand": "SkyLark"}), T0) is None
    whole_brand = silences.add(store, "Aurora Air", timedelta(hours=5), T0)
    assert silences.covering(store, subject.model_copy(update={"topic": "refunds"}), T0) == whole_brand
    with pytest.raises(IncidentError, match="positive duration"):
        silences.add(store, "Aurora Air", timedelta(0), T0)


def test_silenced_alerts_wait_and_go_out_when_the_silence_is_expired(store, tmp_path):
    notifier = outbox(tmp_path)
    quiet = silences.add(store, "Aurora Air", timedelta(hours=4), T0)
    report = deliver_due(store, notifier, [], T0 + timedelta(minutes=1), "")
    assert report.silenced == ["a:alert"] and report.sent == []
    assert deliver_due(store, notifier, [], T0 + timedelta(hours=1), "").sent == []
    silences.expire(store, quiet.id, T0 + timedelta(hours=1))
    assert deliver_due(store, notifier, [], T0 + timedelta(hours=1), "").sent == ["a:alert"]
    with pytest.raises(IncidentError, match="no silence"):
        silences.expire(store, "silence-nope", T0)


def test_messages_of_an_incident_closed_during_its_silence_are_dropped(store, tmp_path):
    silences.add(store, "Aurora Air", timedelta(hours=4), T0)
    closed = store.get_incident("aurora-air-1").model_copy(update={"state": IncidentState.RESOLVED})
    store.save_incident(closed)
    report = deliver_due(store, outbox(tmp_path), [], T0 + timedelta(minutes=1), "")
    assert report.skipped == ["a:alert"]
    [note] = store.notifications()
    assert note.status is NotificationStatus.SKIPPED and "silenced by" in note.error


def test_silencing_from_an_incident_tells_the_thread_despite_the_silence(store, tmp_path):
    deliver_due(store, outbox(tmp_path), [], T0, "")
    quiet = silences.silence_incident(store, "aurora-air-1", by="dana", now=T0 + timedelta(minutes=5))
    assert (quiet.brand, quiet.topic, quiet.ends_at) == ("Aurora Air", "app outage", T0 + timedelta(hours=4, minutes=5))
    report = deliver_due(store, outbox(tmp_path), [], T0 + timedelta(minutes=5), "")
    assert len(report.sent) == 1
    assert "dana silenced alerts for Aurora Air for 4 h" in store.notifications()[-1].payload["headline"]


def test_the_silence_notice_writes_its_end_in_the_brands_zone(store):
    silences.silence_incident(store, "aurora-air-1", by="dana", now=T0, zones=lambda brand: zone("Asia/Kolkata"))
    headline = store.notifications()[-1].payload["headline"]
    assert f"(until {(T0 + timedelta(hours=4)).astimezone(zone('Asia/Kolkata')):%H:%M} IST)" in headline
