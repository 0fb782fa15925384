from datetime import timedelta

import pytest

from monitor.alerts.incidents.lifecycle import Action, apply
from monitor.alerts.incidents.reminders import no_longer_due, queue_reminders
from monitor.alerts.incidents.steps import mark_step
from monitor.localtime import zone
from monitor.models import Playbook, PlaybookStep
from monitor.store.sqlite import SqliteStore
from test_lifecycle import T0, incident

PLAYBOOK = Playbook(id="outage", title="Outage", crisis_type="outage", holding_statement={"en": "We are on it."},
                    steps=[PlaybookStep(title="Confirm scope", owner="Duty manager", due_minutes=10),
                           PlaybookStep(title="Publish the holding statement", owner="Head of Comms", due_minutes=30),
                           PlaybookStep(title="Reply to top posts", owner="Care lead", due_minutes=45)])


@pytest.fixture
def store(tmp_path):
    with SqliteStore(tmp_path / "m.db") as store:
        store.save_incident(incident(playbook_id="outage"))
        yield store


def test_each_passed_deadline_of_an_unacknowledged_incident_is_announced_once(store):
    assert queue_reminders(store, [PLAYBOOK], "Aurora Air", T0 + timedelta(minutes=9)) == []
    [first] = queue_reminders(store, [PLAYBOOK], "Aurora Air", T0 + timedelta(minutes=10))
    assert first.kind == "reminder" and "step 1 “Confirm scope” (Duty manager) was due at 09:00 UTC" in first.payload["headline"]
    assert queue_reminders(store, [PLAYBOOK], "Aurora Air", T0 + timedelta(minutes=20)) == []
    [latest] = queue_reminders(store, [PLAYBOOK], "Aurora Air", T0 + timedelta(minutes=50))
    assert latest.key == "aurora-air-1:reminder:2"
    assert [n.key for n in store.notifications()] == ["aurora-air-1:reminder:0", "aurora-air-1:reminder:2"]


def test_no_reminders_once_acknowledged_or_without_a_playbook(store, tmp_path):
    apply(store, "aurora-air-1", Action.ACKNOWLEDGE, by="dana", now=T0 + timedelta(minutes=5))
    assert queue_reminders(store, [PLAYBOOK], "Aurora Air", T0 + timedelta(hours=2)) == []
    with SqliteStore(tmp_path / "other.db") as other:
        other.save_incident(incident(playbook_id=None))
        assert queue_reminders(other, [PLAYBOOK], "Aurora Air", T0 + timedelta(hours=2)) == []


def test_a_step_already_done_is_not_reminded(store):
    mark_step(store, [PLAYBOOK], "aurora-air-1", 3, by="dana", now=T0 + timedelta(minutes=40))
    [reminder] = queue_reminders(store, [PLAYBOOK], "Aurora Air", T0 + timedelta(minutes=50))
    assert reminder.key == "aurora-air-1:reminder:1" and "step 2" in reminder.payload["headline"]


def test_a_queued_reminder_is_judged_again_against_the_incident_as_it_is_now(store):
    [reminder] = queue_reminders(store, [PLAYBOOK], "Aurora Air", T0 + timedelta(minutes=10))
    assert reminder.payload["step"] == 1
    assert no_longer_due(store.get_incident("aurora-air-1"), reminder) is None
    mark_step(store, [PLAYBOOK], "aurora-air-1", 1, by="dana", now=T0 + timedelta(minutes=11))
    assert no_longer_due(store.get_incident("aurora-air-1"), reminder).startswith("step 1 was done by dana")
    apply(store, "aurora-air-1", Action.ACKNOWLEDGE, by="dana", now=T0 + timedelta(minutes=12))
    assert no_longer_due(store.get_incident("aurora-air-1"), reminder) == "incident aurora-air-1 is acknowledged"



def test_the_deadline_is_written_in_the_brands_zone(store):
    [reminder] = queue_reminders(store, [PLAYBOOK], "Aurora Air", T0 + timedelta(minutes=10), zone("America/New_York"))
    assert "was due at 05:00 EDT and nobody" in reminder.payload["headline"]
