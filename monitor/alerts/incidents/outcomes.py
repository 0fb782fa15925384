"""How incidents went: response times and the playbook used, for reports and the dashboard."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from monitor.alerts.notify.story import duration
from monitor.alerts.notify.story import peak_spike
from monitor.localtime import shown
from monitor.models import Incident, IncidentState
from monitor.store.base import Store, totals_by_bucket

COMPARE = timedelta(hours=24)


def _minutes(delta: timedelta | None) -> float | None:
    return round(delta.total_seconds() / 60, 1) if delta is not None else None


def time_to(incident: Incident, state: IncidentState) -> timedelta | None:
    """Time from opening until the incident first reached ``state``."""
    reached = incident.time_in(state)
    return reached - incident.opened_at if reached else None


def closed_at(incident: Incident) -> datetime | None:
    """When the incident was resolved or closed as a false alarm, if it was."""
    return incident.time_in(IncidentState.RESOLVED) or incident.time_in(IncidentState.FALSE_ALARM)


def volume_and_negative_share(store: Store, brand: str, start: datetime, end: datetime) -> tuple[int, float | None]:
    """Mentions of ``brand`` in ``[start, end)`` and the share of them that is negative."""
    table = totals_by_bucket(store.series(brand, start, end, end - start, group_by=("sentiment",)), "sentiment")
    total = sum(sum(cell.values()) for cell in table.values())
    negative = sum(cell.get("negative", 0) for cell in table.values())
    return total, (round(negative / total, 3) if total else None)


def before_and_after(store: Store, incident: Incident) -> dict[str, Any]:
    """Volume and negative share over the day before the incident opened and the day after it closed."""
    before = volume_and_negative_share(store, incident.brand, incident.opened_at - COMPARE, incident.opened_at)
    closed = closed_at(incident)
    after = volume_and_negative_share(store, incident.brand, closed, closed + COMPARE) if closed else (None, None)
    return {"volume_before": before[0], "negative_share_before": before[1],
            "volume_after": after[0], "negative_share_after": after[1]}


def outcome_rows(incidents: Sequence[Incident], store: Store | None = None) -> list[dict[str, Any]]:
    """One flat row per incident, oldest first; with a store, volume and negativity before and after."""
    rows = []
    for incident in sorted(incidents, key=lambda i: i.opened_at):
        peak = peak_spike(incident)
        rows.append(
            {
                "id": incident.id,
                "brand": incident.brand,
                "state": incident.state.value,
                "severity": incident.severity.word,
                "playbook": incident.playbook_id or "",
                "opened_at": incident.opened_at.isoformat(),
                "spikes": len(incident.spikes),
                "peak_mentions": peak.observed if peak else None,
                "peak_window_minutes": _minutes(peak.window_end - peak.window_start) if peak else None,
                "minutes_to_acknowledge": _minutes(time_to(incident, IncidentState.ACKNOWLEDGED)),
                "minutes_to_resolve": _minutes(time_to(incident, IncidentState.RESOLVED)),
                "steps_done": len(incident.steps_done),
                "steps_on_time": sum(1 for done in incident.steps_done if done.minutes_late <= 0),
                **(before_and_after(store, incident) if store is not None else {}),
            }
        )
    return rows


def _share(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "no data"


def report_lines(row: dict[str, Any], tz: ZoneInfo) -> list[str]:
    """One :func:`outcome_rows` row in plain words, without "None", its time in ``tz``: for ``monitor report
    incidents``."""
    opened = datetime.fromisoformat(row["opened_at"])
    lines = [f"{shown(opened, tz, '%Y-%m-%d %H:%M')}  {row['brand']}: {row['state'].replace('_', ' ')}, {row['severity']}, "
             f"playbook {row['playbook'] or 'none'}  [{row['id']}]"]
    times = [f"{label} after {duration(row[key])}" if row[key] is not None else f"not {label} yet"
             for key, label in (("minutes_to_acknowledge", "acknowledged"), ("minutes_to_resolve", "resolved"))]
    steps = f"{row['steps_done']} step(s) done, {row['steps_on_time']} on time"
    lines.append("  " + " · ".join([*times, steps]))
    if row.get("peak_mentions") is not None:
        lines.append(f"  peak {row['peak_mentions']:,.0f} mentions in {duration(row['peak_window_minutes'])}")
    if "negative_share_before" in row:
        after = (f"{_share(row['negative_share_after'])} the day after it was resolved"
                 if row["volume_after"] is not None else "the day after: once it is resolved")
        lines.append(f"  negative share: {_share(row['negative_share_before'])} the day before it opened, {after}")
    return lines
