from datetime import datetime, timedelta, timezone

import pytest

from monitor.alerts.incidents.lifecycle import Action, apply
from monitor.errors import IncidentError
from monitor.models import Incident, IncidentState, Severity, SpikeKind, Transition
from monitor.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 23, 8, 50, tzinfo=timezone.utc)


def incident(**changes) -> Incident:
    base = dict(id="aurora-air-1", fingerprint="fp", brand="Aurora Air", kind=SpikeKind.NEGATIVE,
                severity=Severity.MEDIUM, opened_at=T0, updated_at=T0, last_spike_at=T0,
                slack_channel="#alerts", slack_ts="1.000",
                transitions=[Transition(state=IncidentState.OPEN, at=T0)])
    return Incident(**{**base, **changes})


@pytest.fixture
def store(tmp_path):
    with SqliteStore(tmp_path / "m.db") as store:
        store.save_incident(incident())
        yield store


def test_acknowledge_records_who_and_when_and_replies_in_the_thread(store):
    done = apply(store, "aurora-air-1", "acknowledge", by="dana", now=T0 + timedelta(minutes=7))
    assert done.state is IncidentState.ACKNOWLEDGED
    assert done.transitions[-1].by == "dana" and done.transitions[-1].at == T0 + timedelta(minutes=7)
    assert store.get_incident("aurora-air-1").state is IncidentState.ACKNOWLEDGED
    [reply] = store.notifications("aurora-air-1")
    assert reply.kind == "update" and reply.payload["headline"] == "dana acknowledged the incident"


def test_repeating_an_action_or_going_backwards_changes_nothing(store):
    apply(store, "aurora-air-1", Action.MITIGATE, by="dana", now=T0)
    apply(store, "aurora-air-1", Action.MITIGATE, by="dana", now=T0)
    again = apply(store, "aurora-air-1", Action.ACKNOWLEDGE, by="lee", now=T0)
    assert again.state is IncidentState.MITIGATED
    assert len(store.notifications("aurora-air-1")) == 1


def test_escalate_raises_severity_up_to_critical_and_broadcasts(store):
    apply(store, "aurora-air-1", Action.ESCALATE, by="dana", now=T0)
    top = apply(store, "aurora-air-1", Action.ESCALATE, by="dana", now=T0)
    assert top.severity is Severity.CRITICAL
    assert apply(store, "aurora-air-1", Action.ESCALATE, by="dana", now=T0).severity is Severity.CRITICAL
    assert [n.kind for n in store.notifications("aurora-air-1")] == ["escalation", "escalation"]


def test_resolve_and_false_alarm_close_it_and_closed_incidents_refuse_other_actions(store):
    closed = apply(store, "aurora-air-1", Action.FALSE_ALARM, by="dana", now=T0, note="a competitor's outage")
    assert closed.state is IncidentState.FALSE_ALARM and not closed.state.is_active
    assert store.notifications("aurora-air-1")[0].kind == "resolved"
    assert apply(store, "aurora-air-1", Action.FALSE_ALARM, by="dana", now=T0).state is IncidentState.FALSE_ALARM
    with pytest.raises(IncidentError, match="false alarm"):
        apply(store, "aurora-air-1", Action.ACKNOWLEDGE, by="dana", now=T0)
    with pytest.raises(IncidentError, match="no incident"):
        apply(store, "nope", Action.RESOLVE, by="dana", now=T0)


class Killed(Exception):
    """The writer died."""


class DiesAfterQueueing:
    """A store whose writer dies after queueing the reply and before saving the incident, as an
    Elasticsearch worker killed between the two writes of one change can."""

    def __init__(self, inner):
        self.store = inner

    def get_incident(self, incident_id):
        return self.store.get_incident(incident_id)

    def save_incident(self, incident, notifications=()):
        for notification in notifications:
            self.store.enqueue(notification)
        raise Killed


def test_a_retried_press_after_a_writer_died_mid_change_is_answered_once_even_after_another_change(store):
    acknowledge = "slack:incident_ack:U1:1700000000.5"
    with pytest.raises(Killed):
        apply(DiesAfterQueueing(store), "aurora-air-1", Action.ACKNOWLEDGE, by="dana", now=T0, request=acknowledge)
    assert store.get_incident("aurora-air-1").state is IncidentState.OPEN
    assert len(store.notifications("aurora-air-1")) == 1

    apply(store, "aurora-air-1", Action.ESCALATE, by="lee", now=T0 + timedelta(seconds=1),
          request="slack:incident_escalate:U2:1700000001.0")
    retried = apply(store, "aurora-air-1", Action.ACKNOWLEDGE, by="dana", now=T0 + timedelta(seconds=3),
                    request=acknowledge)
    assert retried.state is IncidentState.ACKNOWLEDGED and retried.severity is Severity.HIGH
    assert [t.by for t in retried.transitions if t.request == acknowledge] == ["dana"]
    assert sorted(n.payload["headline"] for n in store.notifications("aurora-air-1")) == [
        "dana acknowledged the incident", "lee escalated the incident"]
