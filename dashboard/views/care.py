"""Customer care: first-response and resolution times of incidents, and volume per hour of the week."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, outcome_data

view = data.current_view()
st.title(f"{view.brand}: customer care")

frame = outcome_data.outcomes(view.store_key, view.brand, view.start, view.end)
acknowledged = frame.dropna(subset=["minutes_to_acknowledge"])
resolved = frame.dropna(subset=["minutes_to_resolve"])
by_people = resolved[resolved["resolved_by"] != outcome_data.SYSTEM]

st.subheader("Response times")
if frame.empty:
    st.info("No incidents opened in this date range. Response times appear here once incidents are opened "
            "and someone acknowledges and resolves them (the buttons on the Slack alert, or "
            f"`monitor incident acknowledge {view.config_path} ID`).")
elif acknowledged.empty and by_people.empty:
    st.info(f"None of the {len(frame)} incident(s) in this range was acknowledged or resolved by a person, so "
            "no replies are tracked yet: acknowledge and resolve incidents with the buttons on the Slack alert "
            f"(or `monitor incident acknowledge {view.config_path} ID`) to measure first-response and "
            "resolution times."
            + (f" {len(resolved)} were resolved automatically after a quiet period." if len(resolved) else ""))
else:
    first, second, third = st.columns(3)
    first.metric("Median first response", f"{acknowledged['minutes_to_acknowledge'].median():.0f} min"
                 if len(acknowledged) else "n/a", help="From opening to the first acknowledgement.")
    second.metric("Median resolution", f"{resolved['minutes_to_resolve'].median():.0f} min"
                  if len(resolved) else "n/a", help="From opening to resolution, by people or automatically.")
    third.metric("Acknowledged", f"{len(acknowledged)} of {len(frame)}")
    st.dataframe(
        frame, hide_index=True,
        column_order=["opened_at", "id", "severity", "state", "minutes_to_acknowledge", "acknowledged_by",
                      "minutes_to_resolve", "resolved_by"],
        column_config={
            "opened_at": st.column_config.DatetimeColumn("opened (UTC)", format="D MMM YYYY, HH:mm",
                                                         timezone="UTC"),
            "minutes_to_acknowledge": st.column_config.NumberColumn("first response", format="%.0f min"),
            "minutes_to_resolve": st.column_config.NumberColumn("resolution", format="%.0f min"),
        },
    )

st.subheader("Volume per hour of the week")
cells = outcome_data.weekly_volume(view.store_key, view.brand, view.start, view.end)
if cells.empty:
    st.info("No mentions in this date range. Widen it in the sidebar to see when people talk about the brand.")
else:
    st.altair_chart(charts.hour_of_week_heatmap(cells), width="stretch")
    st.caption("Average mentions per hour over the date range, by weekday and hour (UTC): staff the darker cells.")
