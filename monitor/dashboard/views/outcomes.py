"""Playbook outcomes: per playbook, how many incidents, how fast the team responded, and whether sentiment recovered."""

from __future__ import annotations

import streamlit as st

from monitor import glossary
from monitor.dashboard import data, outcome_data

SHARE = {"format": "percent"}

view = data.current_view()
st.title(f"{view.brand}: playbook outcomes")
st.caption(f"Incidents opened from {view.start:%d %b %Y} to the end of the date range in the sidebar.")

frame = outcome_data.outcomes(view.store_key, view.brand, view.start, view.end)
if frame.empty:
    st.info("No incidents opened in this date range, so there is nothing to compare yet. Widen the range in "
            f"the sidebar, or run the detector (`monitor run --config {view.config_path}`) to open incidents.")
else:
    summary = outcome_data.playbook_summary(frame)
    st.dataframe(summary, hide_index=True, column_config={
        "incidents": st.column_config.NumberColumn("incidents", format="%d"),
        "median_minutes_to_acknowledge": st.column_config.NumberColumn(
            "median to acknowledge", format="%.0f min", help=glossary.help_for("time to acknowledge")),
        "median_minutes_to_resolve": st.column_config.NumberColumn(
            "median to resolve", format="%.0f min", help=glossary.help_for("time to resolve")),
        "median_steps_done": st.column_config.NumberColumn(
            "median steps done", format="%.1f", help="Playbook steps marked done per incident (median)."),
        "steps_on_time": st.column_config.NumberColumn(
            "steps on time", help=glossary.help_for("steps on time"), **SHARE),
        "negative_before": st.column_config.NumberColumn(
            "negative before", help=glossary.help_for("negative share before"), **SHARE),
        "negative_at_alert": st.column_config.NumberColumn(
            "negative at alert", help="The negative share the alert showed: its first spike window's.", **SHARE),
        "negative_at_close": st.column_config.NumberColumn(
            "negative at close", help="Negative share in the two whole hours up to the end of the hour the incident closed in.", **SHARE),
        "negative_after": st.column_config.NumberColumn(
            "negative after", help=glossary.help_for("negative share after"), **SHARE),
        "recovered": st.column_config.TextColumn(
            "recovered", help=f"Negative share after closing at most {outcome_data.RECOVERY_MARGIN:.0%} above "
                              "where it was before (medians)."),
    })
    st.caption("A playbook works when the negative share falls from the alert to the close and, the day after "
               "it closed, is back near where it was before. Empty cells: no incident reached that state, or no "
               "scored mentions in that window yet (the day after needs the day's data).")
    st.subheader("Incidents")
    st.dataframe(frame, hide_index=True, column_config={
        "opened_at": st.column_config.DatetimeColumn(f"opened ({view.zone})", format="D MMM YYYY, HH:mm", timezone=view.zone),
        "minutes_to_acknowledge": st.column_config.NumberColumn("to acknowledge", format="%.0f min"),
        "minutes_to_resolve": st.column_config.NumberColumn("to resolve", format="%.0f min"),
        "steps_done": st.column_config.NumberColumn("steps done", format="%d"),
        "steps_on_time": st.column_config.NumberColumn("on time", format="%d",
                                                       help="Steps done by their deadline."),
        "negative_before": st.column_config.NumberColumn("negative before", **SHARE),
        "negative_at_alert": st.column_config.NumberColumn("negative at alert", **SHARE),
        "negative_at_close": st.column_config.NumberColumn("negative at close", **SHARE),
        "negative_after": st.column_config.NumberColumn("negative after", **SHARE),
    })
