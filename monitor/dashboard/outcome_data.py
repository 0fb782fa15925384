"""Cached reads for how incidents were handled: response times, playbooks' effect, volume per hour of week."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from monitor.dashboard import charts
from monitor.dashboard.data import TTL, store, volume
from monitor.alerts.incidents.outcomes import Outcome, negative_at_alert, negative_at_close
from monitor.models import Incident, IncidentState
from monitor.store.base import Store

SYSTEM = "system"
OUTCOME_COLUMNS = ["id", "opened_at", "state", "severity", "playbook", "minutes_to_acknowledge",
                   "minutes_to_resolve", "acknowledged_by", "resolved_by", "steps_done", "steps_on_time",
                   "negative_before", "negative_at_alert", "negative_at_close", "negative_after"]
SUMMARY_COLUMNS = ["playbook", "incidents", "median_minutes_to_acknowledge", "median_minutes_to_resolve",
                   "median_steps_done", "steps_on_time", "negative_before", "negative_at_alert", "negative_at_close",
                   "negative_after", "recovered"]
RECOVERY_MARGIN = 0.05  # negative share after closing at most this far above before: back to normal


def _who(incident: Incident, state: IncidentState) -> str:
    return next((t.by for t in incident.transitions if t.state == state), "")


def outcome_frame(db: Store, incidents: list[Incident]) -> pd.DataFrame:
    """One row per incident, oldest first: response times, who responded, negative share before, at alert,
    at close and after, each from :mod:`monitor.alerts.incidents.outcomes` (the CLI's and Slack's figures;
    the definitions are in docs/glossary.md)."""
    rows = []
    for incident in sorted(incidents, key=lambda i: i.opened_at):
        outcome = Outcome.of(incident, db)
        closing = negative_at_close(db, incident)
        rows.append({
            "id": incident.id, "state": incident.state.value, "severity": incident.severity.word,
            "playbook": incident.playbook_id or "", "opened_at": incident.opened_at,
            "minutes_to_acknowledge": outcome.minutes_to_acknowledge, "minutes_to_resolve": outcome.minutes_to_resolve,
            "steps_done": outcome.steps_done, "steps_on_time": outcome.steps_on_time,
            "acknowledged_by": _who(incident, IncidentState.ACKNOWLEDGED),
            "resolved_by": _who(incident, IncidentState.RESOLVED),
            "negative_before": outcome.before.negative if outcome.before else None,
            "negative_at_alert": negative_at_alert(db, incident),
            "negative_at_close": closing.negative if closing else None,
            "negative_after": outcome.after.negative if outcome.after else None,
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
    share after closing came back to (near) where it was before."""
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
