from datetime import timedelta

import pytest

from monitor.alerts.incidents.steps import mark_step, timing
from monitor.errors import IncidentError
from monitor.store.sqlite import SqliteStore
from test_lifecycle import T0, DiesAfterQueueing, Killed, incident
from test_reminders import PLAYBOOK, store  # noqa: F401 (the store fixture: one incident with the playbook)


def test_a_step_done_is_recorded_with_who_when_and_whether_on_time(store):
    done = mark_step(store, [PLAYBOOK], "aurora-air-1", 2, by="dana", now=T0 + timedelta(minutes=42), note="posted on X")
    [record] = done.steps_done
    assert (record.number, record.title, record.by, record.at) == (2, "Publish the holding statement", "dana",
                                                                   T0 + timedelta(minutes=42))
    assert record.due_at == T0 + timedelta(minutes=30) and timing(record) == "12 min late"
    stored = store.get_incident("aurora-air-1")
    assert stored.step_done(2) == record and stored.step_done(1) is None
    [reply] = store.notifications("aurora-air-1")
    assert reply.kind == "step" and reply.channel == "#alerts"
    assert reply.payload["headline"] == ("dana completed step 2 “Publish the holding statement” (12 min late): "
                                         "posted on X")

    first = mark_step(store, [PLAYBOOK], "aurora-air-1", 1, by="lee", now=T0 + timedelta(minutes=4))
    assert timing(first.step_done(1)) == "on time" and first.step_done(1).minutes_late == -6


def test_marking_twice_changes_nothing_and_undo_reopens(store):
    mark_step(store, [PLAYBOOK], "aurora-air-1", 1, by="dana", now=T0)
    again = mark_step(store, [PLAYBOOK], "aurora-air-1", 1, by="lee", now=T0 + timedelta(minutes=1))
    assert [d.by for d in again.steps_done] == ["dana"]
    assert len(store.notifications("aurora-air-1")) == 1

    reopened = mark_step(store, [PLAYBOOK], "aurora-air-1", 1, by="lee", now=T0 + timedelta(minutes=2), undo=True)
    assert reopened.steps_done == [] and store.get_incident("aurora-air-1").steps_done == []
    assert store.notifications("aurora-air-1")[-1].payload["headline"] == "lee reopened step 1 “Confirm scope”"
    unchanged = mark_step(store, [PLAYBOOK], "aurora-air-1", 3, by="lee", now=T0, undo=True)
    assert unchanged.steps_done == [] and len(store.notifications("aurora-air-1")) == 2


def test_unknown_incidents_steps_and_playbooks_are_clear_errors(store, tmp_path):
    with pytest.raises(IncidentError, match="no incident 'gone'"):
        mark_step(store, [PLAYBOOK], "gone", 1, by="dana", now=T0)
    with pytest.raises(IncidentError, match="has steps 1 to 3; there is no step 4"):
        mark_step(store, [PLAYBOOK], "aurora-air-1", 4, by="dana", now=T0)
    with pytest.raises(IncidentError, match="playbook 'outage' is not loaded"):
        mark_step(store, [], "aurora-air-1", 1, by="dana", now=T0)
    with SqliteStore(tmp_path / "other.db") as other:
        other.save_incident(incident(playbook_id=None))
        with pytest.raises(IncidentError, match="has no playbook"):
            mark_step(other, [PLAYBOOK], "aurora-air-1", 1, by="dana", now=T0)


def test_a_retried_request_after_a_writer_died_mid_change_is_answered_once(store):
    request = "slack:incident_step:U1:1700000000.5"
    with pytest.raises(Killed):
        mark_step(DiesAfterQueueing(store), [PLAYBOOK], "aurora-air-1", 1, by="dana", now=T0, request=request)
    assert store.get_incident("aurora-air-1").steps_done == [] and len(store.notifications("aurora-air-1")) == 1

    done = mark_step(store, [PLAYBOOK], "aurora-air-1", 1, by="dana", now=T0 + timedelta(seconds=3), request=request)
    assert [d.by for d in done.steps_done] == ["dana"]
    [reply] = store.notifications("aurora-air-1")
    assert reply.payload["headline"] == "dana completed step 1 “Confirm scope” (on time)"

    other = mark_step(store, [PLAYBOOK], "aurora-air-1", 2, by="lee", now=T0, request="slack:incident_step:U2:1.0")
    assert other.step_done(2).by == "lee" and len(store.notifications("aurora-air-1")) == 2
