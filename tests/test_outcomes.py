from datetime import datetime, timedelta, timezone

from monitor.alerts.incidents.outcomes import (
    Outcome,
    closed_at,
    Share,
    negative_before,
    negative_share,
    outcome_rows,
    report_lines,
    time_to,
    time_to_close,
    time_to_resolve,
)
from monitor.localtime import zone
from monitor.models import Incident, IncidentState, Severity, SpikeKind, StepDone, Transition

T0 = datetime(2026, 3, 23, 7, 45, tzinfo=timezone.utc)


def test_response_times_come_from_the_transitions():
    incident = Incident(
        id="i1", fingerprint="f", brand="Aurora Air", kind=SpikeKind.VOLUME, state=IncidentState.RESOLVED,
        severity=Severity.HIGH, opened_at=T0, updated_at=T0, last_spike_at=T0, playbook_id="outage",
        transitions=[Transition(state=IncidentState.OPEN, at=T0),
                     Transition(state=IncidentState.ACKNOWLEDGED, at=T0 + timedelta(minutes=12), by="ana"),
                     Transition(state=IncidentState.RESOLVED, at=T0 + timedelta(hours=5))],
        steps_done=[StepDone(number=1, title="Confirm scope", due_at=T0 + timedelta(minutes=10),
                             at=T0 + timedelta(minutes=9)),
                    StepDone(number=2, title="Holding statement", due_at=T0 + timedelta(minutes=30),
                             at=T0 + timedelta(minutes=31))],
    )
    assert time_to(incident, IncidentState.ACKNOWLEDGED) == timedelta(minutes=12)
    assert time_to(incident, IncidentState.MITIGATED) is None
    [row] = outcome_rows([incident])
    assert row["minutes_to_acknowledge"] == 12.0
    assert row["minutes_to_resolve"] == 300.0
    assert row["playbook"] == "outage" and row["state"] == "resolved"
    assert (row["steps_done"], row["steps_on_time"]) == (2, 1)


def test_volume_and_negative_share_before_and_after(tmp_path):
    from monitor.models import Mention, Sentiment
    from monitor.store.sqlite import SqliteStore

    def mention(n, at, label):
        return Mention(id=f"x:{n}", brand="Aurora Air", source="x", text="aurora air", created_at=at, collected_at=at,
                       sentiment=Sentiment(label=label, score=0.9, probabilities={label: 0.9}))

    incident = Incident(
        id="i1", fingerprint="f", brand="Aurora Air", kind=SpikeKind.NEGATIVE, state=IncidentState.RESOLVED,
        severity=Severity.HIGH, opened_at=T0, updated_at=T0, last_spike_at=T0,
        transitions=[Transition(state=IncidentState.OPEN, at=T0),
                     Transition(state=IncidentState.RESOLVED, at=T0 + timedelta(hours=6))],
    )
    before = [mention(k, T0 - timedelta(hours=k + 1), "negative" if k < 2 else "positive") for k in range(8)]
    during = [mention(100 + k, T0 + timedelta(minutes=k), "negative") for k in range(50)]
    after = [mention(200 + k, T0 + timedelta(hours=7 + k), "negative" if k < 1 else "neutral") for k in range(4)]
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions(before + during + after)
        [row] = outcome_rows([incident], store)
        open_one = incident.model_copy(update={"state": IncidentState.OPEN, "transitions": incident.transitions[:1]})
        [still_open] = outcome_rows([open_one], store)
        text = "\n".join(report_lines(incident, Outcome.of(incident, store), zone("Europe/Prague"))
                         + report_lines(open_one, Outcome.of(open_one, store), zone("UTC")))
    assert (row["volume_before"], row["negative_share_before"]) == (8, 0.25)
    assert (row["volume_after"], row["negative_share_after"]) == (4, 0.25)
    assert still_open["volume_after"] is None and still_open["negative_share_after"] is None
    prague = zone("Europe/Prague")
    assert text.startswith(f"{T0.astimezone(prague):%Y-%m-%d %H:%M} {T0.astimezone(prague).tzname()}  ")
    assert f"\n{T0:%Y-%m-%d %H:%M} UTC  " in text
    assert "None" not in text and "=" not in text
    assert "resolved after 6 h" in text and "not acknowledged yet" in text
    assert "negative share: 25% the day before it opened, 25% the day after it closed" in text
    assert "the day after: once it is closed" in text


def test_closing_is_the_last_resolution_or_false_alarm_while_not_active():
    def incident(state, *transitions):
        return Incident(id="i", fingerprint="f", brand="B", kind=SpikeKind.VOLUME, state=state,
                        severity=Severity.HIGH, opened_at=T0, updated_at=T0, last_spike_at=T0,
                        transitions=[Transition(state=s, at=T0 + timedelta(minutes=m)) for s, m in transitions])

    false_alarm = incident(IncidentState.FALSE_ALARM, (IncidentState.OPEN, 0), (IncidentState.FALSE_ALARM, 40))
    assert (time_to_close(false_alarm), time_to_resolve(false_alarm)) == (timedelta(minutes=40), None)
    reopened = incident(IncidentState.OPEN, (IncidentState.OPEN, 0), (IncidentState.RESOLVED, 30),
                        (IncidentState.OPEN, 50))
    assert closed_at(reopened) is None and time_to_resolve(reopened) is None
    again = reopened.model_copy(update={"state": IncidentState.RESOLVED, "transitions": [
        *reopened.transitions, Transition(state=IncidentState.RESOLVED, at=T0 + timedelta(minutes=90))]})
    assert time_to_resolve(again) == timedelta(minutes=90)
    assert Outcome.of(false_alarm).minutes_to_close == 40.0
    assert "closed as a false alarm after 40 min" in report_lines(false_alarm, Outcome.of(false_alarm), zone("UTC"))[1]


def test_shares_count_whole_hours_and_only_mentions_with_a_sentiment(tmp_path):
    from monitor.models import Mention, Sentiment
    from monitor.store.sqlite import SqliteStore

    opened = T0  # 07:45: "before" ends at 07:00
    rows = [Mention(id="x:a", brand="B", source="x", text="b", created_at=opened - timedelta(minutes=20),
                    collected_at=opened, sentiment=Sentiment(label="negative", score=1, probabilities={})),
            Mention(id="x:b", brand="B", source="x", text="b", created_at=opened - timedelta(hours=2),
                    collected_at=opened, sentiment=Sentiment(label="positive", score=1, probabilities={})),
            Mention(id="x:c", brand="B", source="x", text="b", created_at=opened - timedelta(hours=3),
                    collected_at=opened)]
    incident = Incident(id="i", fingerprint="f", brand="B", kind=SpikeKind.VOLUME, state=IncidentState.OPEN,
                        severity=Severity.HIGH, opened_at=opened, updated_at=opened, last_spike_at=opened)
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions(rows)
        before = negative_before(store, incident)
        assert negative_share(store, "B", opened, opened + timedelta(days=1)) == Share(0, None)
    assert (before.mentions, before.negative) == (2, 0.0)
