"""How incidents went: one function per figure, for `monitor report incidents`, `monitor incident show`,
the dashboard and the Slack thread alike.

The definitions are in docs/glossary.md ("negative share before", "negative share after", "time to
acknowledge", "time to resolve", "time to close", "steps on time"). Shares count whole UTC hours (the
store's hourly counts) and only the mentions with a sentiment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from monitor.alerts.notify.story import duration, peak_spike
from monitor.alerts.notify.summary import window_split
from monitor.localtime import shown
from monitor.models import SENTIMENT_LABELS, Incident, IncidentState
from monitor.store.base import Store

COMPARE = timedelta(hours=24)
"""The span of the "before" and "after" windows."""
CLOSING = timedelta(hours=2)
"""The span of the "at close" window, up to the hour the incident closed in."""
HOUR = timedelta(hours=1)


def hour_floor(moment: datetime) -> datetime:
    """``moment`` rounded down to a whole UTC hour."""
    return moment.replace(minute=0, second=0, microsecond=0)


def hour_ceiling(moment: datetime) -> datetime:
    """``moment`` rounded up to a whole UTC hour."""
    floor = hour_floor(moment)
    return floor if floor == moment else floor + HOUR


def minutes(delta: timedelta | None) -> float | None:
    """``delta`` in minutes, to one decimal (None stays None)."""
    return round(delta.total_seconds() / 60, 1) if delta is not None else None


def time_to(incident: Incident, state: IncidentState) -> timedelta | None:
    """Time from opening until the incident first reached ``state``."""
    reached = incident.time_in(state)
    return reached - incident.opened_at if reached else None


def closed_at(incident: Incident) -> datetime | None:
    """When the incident was (last) resolved or closed as a false alarm; None while it is active."""
    if incident.state.is_active:
        return None
    ends = [t.at for t in incident.transitions if t.state == incident.state]
    return ends[-1] if ends else incident.updated_at


def time_to_acknowledge(incident: Incident) -> timedelta | None:
    """From opening to the first acknowledgement (None when nobody acknowledged it)."""
    return time_to(incident, IncidentState.ACKNOWLEDGED)


def time_to_close(incident: Incident) -> timedelta | None:
    """From opening to :func:`closed_at` (None while active)."""
    ended = closed_at(incident)
    return ended - incident.opened_at if ended else None


def time_to_resolve(incident: Incident) -> timedelta | None:
    """:func:`time_to_close` of a resolved incident (None while active, and for a false alarm)."""
    return time_to_close(incident) if incident.state == IncidentState.RESOLVED else None


def steps_on_time(incident: Incident) -> tuple[int, int]:
    """Playbook steps done, and how many of them by their deadline."""
    return len(incident.steps_done), sum(1 for done in incident.steps_done if done.minutes_late <= 0)


@dataclass(frozen=True)
class Share:
    """Mentions in a window and the negative share among those with a sentiment (None without any)."""

    mentions: int
    negative: float | None


def negative_share(store: Store, brand: str, start: datetime, end: datetime) -> Share:
    """The brand's mentions in the whole hours ``[start, end)`` and their negative share."""
    rows = store.series(brand, start, end, HOUR, group_by=("sentiment",))
    scored = sum(r.count for r in rows if r.group.get("sentiment") in SENTIMENT_LABELS)
    negative = sum(r.count for r in rows if r.group.get("sentiment") == "negative")
    return Share(sum(r.count for r in rows), negative / scored if scored else None)


def negative_before(store: Store, incident: Incident) -> Share:
    """The 24 whole hours before the hour the incident opened in."""
    opened = hour_floor(incident.opened_at)
    return negative_share(store, incident.brand, opened - COMPARE, opened)


def negative_after(store: Store, incident: Incident) -> Share | None:
    """The 24 whole hours from the first whole hour after it closed (None while open)."""
    ended = closed_at(incident)
    if ended is None:
        return None
    start = hour_ceiling(ended)
    return negative_share(store, incident.brand, start, start + COMPARE)


def negative_at_close(store: Store, incident: Incident) -> Share | None:
    """The two whole hours up to the end of the hour it closed in (None while open)."""
    ended = closed_at(incident)
    if ended is None:
        return None
    end = hour_ceiling(ended)
    return negative_share(store, incident.brand, end - CLOSING, end)


def negative_at_alert(store: Store, incident: Incident) -> float | None:
    """The negative share the alert showed: its first spike window's, from the sentiment split."""
    if not incident.spikes:
        return None
    split = window_split(store, incident.spikes[0])
    scored = sum(split.values())
    return split["negative"] / scored if scored else None


@dataclass(frozen=True)
class Outcome:
    """Every figure of how one incident went; the shares only when read with a store."""

    minutes_to_acknowledge: float | None
    minutes_to_resolve: float | None
    minutes_to_close: float | None
    steps_done: int
    steps_on_time: int
    before: Share | None = None
    after: Share | None = None

    @classmethod
    def of(cls, incident: Incident, store: Store | None = None) -> Outcome:
        done, on_time = steps_on_time(incident)
        return cls(
            minutes_to_acknowledge=minutes(time_to_acknowledge(incident)),
            minutes_to_resolve=minutes(time_to_resolve(incident)),
            minutes_to_close=minutes(time_to_close(incident)),
            steps_done=done, steps_on_time=on_time,
            before=negative_before(store, incident) if store is not None else None,
            after=negative_after(store, incident) if store is not None else None,
        )


def _rounded(share: float | None) -> float | None:
    return round(share, 3) if share is not None else None


def outcome_row(incident: Incident, outcome: Outcome) -> dict[str, Any]:
    """One flat row (the CSV of ``monitor report incidents``); the shares when ``outcome`` has them."""
    peak = peak_spike(incident)
    row = {
        "id": incident.id,
        "brand": incident.brand,
        "state": incident.state.value,
        "severity": incident.severity.word,
        "playbook": incident.playbook_id or "",
        "opened_at": incident.opened_at.isoformat(),
        "spikes": len(incident.spikes),
        "peak_mentions": peak.observed if peak else None,
        "peak_window_minutes": minutes(peak.window_end - peak.window_start) if peak else None,
        **{k: v for k, v in asdict(outcome).items() if k not in ("before", "after")},
    }
    if outcome.before is not None:
        after = outcome.after
        row |= {"volume_before": outcome.before.mentions, "negative_share_before": _rounded(outcome.before.negative),
                "volume_after": after.mentions if after else None,
                "negative_share_after": _rounded(after.negative) if after else None}
    return row


def outcome_rows(incidents: Sequence[Incident], store: Store | None = None) -> list[dict[str, Any]]:
    """:func:`outcome_row` per incident, oldest first; with a store, volume and negative share before and after."""
    return [outcome_row(i, Outcome.of(i, store)) for i in sorted(incidents, key=lambda i: i.opened_at)]


def share_text(value: float | None) -> str:
    """A share as a whole percentage, or "no data"."""
    return f"{value:.0%}" if value is not None else "no data"


def times_text(outcome: Outcome) -> str:
    """``acknowledged after 12 min · resolved after 5 h · 2 step(s) done, 1 on time``."""
    parts = [f"acknowledged after {duration(outcome.minutes_to_acknowledge)}"
             if outcome.minutes_to_acknowledge is not None else "not acknowledged yet"]
    if outcome.minutes_to_resolve is not None:
        parts.append(f"resolved after {duration(outcome.minutes_to_resolve)}")
    elif outcome.minutes_to_close is not None:
        parts.append(f"closed as a false alarm after {duration(outcome.minutes_to_close)}")
    else:
        parts.append("not resolved yet")
    parts.append(f"{outcome.steps_done} step(s) done, {outcome.steps_on_time} on time")
    return " · ".join(parts)


def before_text(outcome: Outcome) -> str | None:
    """``negative share the day before it opened: 25%`` (None without a store): what a resolution can say yet."""
    return f"negative share the day before it opened: {share_text(outcome.before.negative)}" if outcome.before else None


def shares_text(outcome: Outcome) -> str | None:
    """``negative share: 25% the day before it opened, 10% the day after it closed`` (None without a store)."""
    if outcome.before is None:
        return None
    after = (f"{share_text(outcome.after.negative)} the day after it closed" if outcome.after is not None
             else "the day after: once it is closed")
    return f"negative share: {share_text(outcome.before.negative)} the day before it opened, {after}"


def outcome_lines(outcome: Outcome) -> list[str]:
    """The outcome in plain words: times and steps, then the shares when they were read."""
    shares = shares_text(outcome)
    return [times_text(outcome), *([shares] if shares else [])]


def report_lines(incident: Incident, outcome: Outcome, tz: ZoneInfo) -> list[str]:
    """An incident and its outcome in plain words, without "None", its time in ``tz``: for ``monitor report
    incidents``."""
    lines = [f"{shown(incident.opened_at, tz, '%Y-%m-%d %H:%M')}  {incident.brand}: {incident.state.value.replace('_', ' ')}, "
             f"{incident.severity.word}, playbook {incident.playbook_id or 'none'}  [{incident.id}]"]
    peak = peak_spike(incident)
    if peak is not None:
        lines.append(f"  peak {peak.observed:,.0f} mentions in {duration(minutes(peak.window_end - peak.window_start))}")
    return lines + [f"  {line}" for line in outcome_lines(outcome)]
