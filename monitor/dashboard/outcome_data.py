"""Cached reads for how incidents were handled: response times, playbooks' effect, volume per hour of week."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from monitor.dashboard import charts
from monitor.dashboard.data import TTL, hour_ceiling, store, volume
from monitor.alerts.incidents.outcomes import outcome_rows
from monitor.alerts.notify.summary import window_split
from monitor.models import SENTIMENT_LABELS, Incident, IncidentState
from monitor.store.base import Store

AROUND = timedelta(hours=24)
SYSTEM = "system"
OUTCOME_COLUMNS = ["id", "opened_at", "state", "severity", "playbook", "minutes_to_acknowledge",
                   "minutes_to_resolve", "acknowledged_by", "resolved_by", "steps_done", "steps_on_time",
                   "negative_before", "negative_at_alert", "negative_at_close", "negative_after"]
SUMMARY_COLUMNS = ["playbook", "incidents", "median_minutes_to_acknowledge", "median_minutes_to_resolve",
                   "median_steps_done", "steps_on_time", "negative_before", "negative_at_alert", "negative_at_close",
                   "negative_after", "recovered"]
CLOSING = timedelta(hours=2)
"""The negative share "at close" is the one of the hours before the incident was resolved."""
RECOVERY_MARGIN = 0.05  # negative share after resolution at most this far above before: back to normal


def negative_share(db: Store, brand: str, start: datetime, end: datetime) -> float | None:
    """Negative mentions among those with a sentiment in ``[start, end)`` (whole hours); None without any."""
    rows = db.series(brand, start, end, timedelta(hours=1), group_by=("sentiment",))
    scored = sum(r.count for r in rows if r.group["sentiment"] in SENTIMENT_LABELS)
    if not scored:
        return None
    return sum(r.count for r in rows if r.group["sentiment"] == "negative") / scored


def _who(incident: Incident, state: IncidentState) -> str:
    return next((t.by for t in incident.transitions if t.state == state), "")


def at_alert(db: Store, incident: Incident) -> float | None:
    """The negative share the alert showed: the first spike window's, from its sentiment split."""
    if not incident.spikes:
        return None
    split = window_split(db, incident.spikes[0])
    scored = sum(split.values())
    return split["negative"] / scored if scored else None


def outcome_frame(db: Store, incidents: list[Incident]) -> pd.DataFrame:
    """One row per incident: response times, who responded, negative share before, at alert, at close
    and after.

    Before is the 24 hours up to the hour the incident opened in; at alert is the first spike window
    (the alert's own figure); at close the two hours up to the hour it was resolved in; after the 24
    hours from then (each empty while unresolved, or without scored mentions).
    """
    rows = []
    by_id = {i.id: i for i in incidents}
    for row in outcome_rows(incidents):
        incident = by_id[row["id"]]
        opened = incident.opened_at.replace(minute=0, second=0, microsecond=0)
        resolved = incident.time_in(IncidentState.RESOLVED)
        after = hour_ceiling(resolved) if resolved else None
        rows.append({
            **{k: row[k] for k in ("id", "state", "severity", "playbook", "minutes_to_acknowledge",
                                   "minutes_to_resolve", "steps_done", "steps_on_time")},
            "opened_at": incident.opened_at,
            "acknowledged_by": _who(incident, IncidentState.ACKNOWLEDGED),
            "resolved_by": _who(incident, IncidentState.RESOLVED),
            "negative_before": negative_share(db, incident.brand, opened - AROUND, opened),
            "negative_at_alert": at_alert(db, incident),
            "negative_at_close": negative_share(db, incident.brand, after - CLOSING, after) if after else None,
            "negative_after": negative_share(db, incident.brand, after, after + AROUND) if after else None,
        })
    frame = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    frame["opened_at"] = pd.to_datetime(frame["opened_at"], utc=True)
    for column in ("minutes_to_acknowledge", "minutes_to_resolve", "steps_done", "steps_on_time",
                   "negative_before", "negative_at_alert", "negative_at_close", "negative_after"):
        frame[column] = pd.to_numeric(frame[column])
    return frame


@st.cache_data(ttl=TTL, show_spinner=False)
def outcomes(store_key: str, brand: str, start: datetime, end: datetime) -> pd.DataFrame:
    """:func:`outcome_frame` for the brand's incidents opened in ``[start, end)``."""
    db = store(store_key)
    found = [i for i in db.incidents(brand=brand, since=start) if i.opened_at < end]
    return outcome_frame(db, found)


def playbook_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per playbook (``none`` when unmatched): incidents, median response times, steps done and the
    share of them done by their deadline, median negative shares, and whether the median negative
    share after resolution came back to (near) where it was before."""
    if frame.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    grouped = frame.assign(playbook=frame["playbook"].replace("", "none")).groupby("playbook")
    summary = grouped.agg(
        incidents=("id", "count"),
        median_minutes_to_acknowledge=("minutes_to_acknowledge", "median"),
        median_minutes_to_resolve=("minutes_to_resolve", "median"),
        median_steps_done=("steps_done", "median"),
        steps_done=("steps_done", "sum"),
        on_time=("steps_on_time", "sum"),
        negative_before=("negative_before", "median"),
        negative_at_alert=("negative_at_alert", "median"),
        negative_at_close=("negative_at_close", "median"),
        negative_after=("negative_after", "median"),
    )
    summary["steps_on_time"] = (summary["on_time"] / summary["steps_done"]).where(summary["steps_done"] > 0)
    known = summary["negative_before"].notna() & summary["negative_after"].notna()
    back = summary["negative_after"] <= summary["negative_before"] + RECOVERY_MARGIN
    summary["recovered"] = back.map({True: "yes", False: "no"}).where(known, "not yet known")
    return summary.reset_index().sort_values(["incidents", "playbook"], ascending=[False, True])[SUMMARY_COLUMNS]


def hour_of_week(series: pd.DataFrame, zone_name: str = "UTC") -> pd.DataFrame:
    """Average mentions per hour by weekday and local hour of ``zone_name``, from an hourly ``volume`` frame.

    Hours without mentions count as zero; cells the range never covered are left out. Each UTC hour
    falls in the local hour it was on the clock then (the hour the clocks skip has no cell that day,
    the repeated one gets both).
    """
    if series.empty:
        return pd.DataFrame(columns=["weekday", "hour", "mentions"])
    hourly = series.groupby("bucket")["count"].sum()
    hours = pd.date_range(hourly.index.min(), hourly.index.max(), freq="h")
    hourly = hourly.reindex(hours, fill_value=0)
    local = hourly.index.tz_convert(zone_name)
    frame = pd.DataFrame({"weekday": [charts.WEEKDAYS[d] for d in local.day_of_week],
                          "hour": local.hour, "mentions": hourly.to_numpy()})
    return frame.groupby(["weekday", "hour"], as_index=False)["mentions"].mean()


def weekly_volume(store_key: str, brand: str, start: datetime, end: datetime, zone_name: str = "UTC") -> pd.DataFrame:
    """:func:`hour_of_week` over the brand's mentions in ``[start, end)``, in local hours of ``zone_name``."""
    return hour_of_week(volume(store_key, brand, start, end, timedelta(hours=1)), zone_name)
