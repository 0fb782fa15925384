from datetime import datetime, timedelta, timezone

from monitor.alerts.outcomes import outcome_rows, time_to
from monitor.models import Incident, IncidentState, Severity, SpikeKind, Transition

T0 = datetime(2026, 3, 23, 7, 45, tzinfo=timezone.utc)


def test_response_times_come_from_the_transitions():
    incident = Incident(
        id="i1", fingerprint="f", brand="Aurora Air", kind=SpikeKind.VOLUME, state=IncidentState.RESOLVED,
        severity=Severity.HIGH, opened_at=T0, updated_at=T0, last_spike_at=T0, playbook_id="outage",
        transitions=[Transition(state=IncidentState.OPEN, at=T0),
                     Transition(state=IncidentState.ACKNOWLEDGED, at=T0 + timedelta(minutes=12), by="ana"),
                     Transition(state=IncidentState.RESOLVED, at=T0 + timedelta(hours=5))],
    )
    assert time_to(incident, IncidentState.ACKNOWLEDGED) == timedelta(minutes=12)
    assert time_to(incident, IncidentState.MITIGATED) is None
    [row] = outcome_rows([incident])
    assert row["minutes_to_acknowledge"] == 12.0
    assert row["minutes_to_resolve"] == 300.0
    assert row["playbook"] == "outage" and row["state"] == "resolved"
