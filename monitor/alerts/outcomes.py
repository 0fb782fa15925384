"""How incidents went: response times and the playbook used, for reports and the dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Sequence

from monitor.models import Incident, IncidentState


def _minutes(delta: timedelta | None) -> float | None:
    return round(delta.total_seconds() / 60, 1) if delta is not None else None


def time_to(incident: Incident, state: IncidentState) -> timedelta | None:
    """Time from opening until the incident first reached ``state``."""
    reached = incident.time_in(state)
    return reached - incident.opened_at if reached else None


def outcome_rows(incidents: Sequence[Incident]) -> list[dict[str, Any]]:
    """One flat row per incident, oldest first."""
    rows = []
    for incident in sorted(incidents, key=lambda i: i.opened_at):
        peak = max((s.observed for s in incident.spikes), default=0)
        rows.append(
            {
                "id": incident.id,
                "brand": incident.brand,
                "state": incident.state.value,
                "severity": incident.severity.word,
                "playbook": incident.playbook_id or "",
                "opened_at": incident.opened_at.isoformat(),
                "spikes": len(incident.spikes),
                "peak_mentions": peak,
                "minutes_to_acknowledge": _minutes(time_to(incident, IncidentState.ACKNOWLEDGED)),
                "minutes_to_resolve": _minutes(time_to(incident, IncidentState.RESOLVED)),
            }
        )
    return rows
