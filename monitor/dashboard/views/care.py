"""Customer care: answers to customers (KPIs, the queue, competitors), incident response times, volume per hour."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from monitor.dashboard import care_data, charts, data, outcome_data
from monitor.localtime import shown, zone

view = data.current_view()
st.title(f"{view.brand}: customer care")

st.subheader("Answers to customers")
kpis = care_data.kpis(view.store_key, view.config_path, view.brand, view.start, view.end)
overall = kpis.iloc[0]
if not overall["needing_reply"]:
    st.info("No post in this date range needs an answer: none addressed to the brand's `handles` asks a question "
            "or complains (the `care.rules` in the config decide). Widen the range in the sidebar.")
else:
    cells = st.columns(5)
    cells[0].metric("Needing a reply", f"{overall['needing_reply']:.0f}")
    cells[1].metric("Response rate", f"{overall['response_rate']:.0%}", help="Answered by the brand's handles.")
    cells[2].metric("Median first answer", "n/a" if pd.isna(overall["median_first_response_minutes"])
                    else f"{overall['median_first_response_minutes']:.0f} min")
    cells[3].metric("p90 first answer", "n/a" if pd.isna(overall["p90_first_response_minutes"])
                    else f"{overall['p90_first_response_minutes']:.0f} min")
    cells[4].metric("Within target", f"{overall['within_target_share']:.0%}",
                    help="Answered within care.target (unanswered posts count as missed).")
    st.dataframe(kpis.drop(columns=["brand"]).assign(source=kpis["source"].replace("", "all")), hide_index=True)
st.caption(f"The same figures: `monitor report care --config {view.config_path} --brand \"{view.brand}\" "
           f"--since \"{view.start:%Y-%m-%d %H:%M}\" --until \"{view.end:%Y-%m-%d %H:%M}\"`")

st.subheader("Care queue")
waiting, now = care_data.care_queue(view.store_key, view.config_path, view.brand, view.start, view.end)
if waiting.empty:
    st.info(f"No post is waiting for an answer (as of {shown(now, zone(view.zone), '%d %b %Y %H:%M')}).")
else:
    late = int(waiting["overdue"].sum())
    as_of = shown(now, zone(view.zone), "%d %b %Y %H:%M")
    st.caption(f"{len(waiting)} post(s) waiting, {late} past the target, as of {as_of}; oldest first. "
               "Personal data is masked; such posts get the move-to-private-messages answer.")
    st.dataframe(waiting, hide_index=True, column_config={
        "posted": st.column_config.DatetimeColumn(f"posted ({view.zone})", format="D MMM, HH:mm", timezone=view.zone),
        "link": st.column_config.LinkColumn("link", display_text="open"),
        "suggested_answer": st.column_config.TextColumn("suggested answer", width="large"),
    })

st.subheader("Competitors")
ranked, missing = care_data.ranking(view.store_key, view.config_path, view.brand, view.start, view.end)
if len(ranked) < 2:
    st.info("No competitor to compare with: list competitors under `competitors:` of the brand and configure each "
            "as a brand with its `handles`, so their answers are measured the same way.")
else:
    st.dataframe(ranked[["brand", "needing_reply", "replied", "response_rate", "median_first_response_minutes",
                         "p90_first_response_minutes", "within_target_share"]], hide_index=True)
if missing:
    st.caption(f"Not measured (not configured as brands): {', '.join(missing)}.")

frame = outcome_data.outcomes(view.store_key, view.brand, view.start, view.end)
acknowledged = frame.dropna(subset=["minutes_to_acknowledge"])
resolved = frame.dropna(subset=["minutes_to_resolve"])
by_people = resolved[resolved["resolved_by"] != outcome_data.SYSTEM]

st.subheader("Incident response times")
if frame.empty:
    st.info("No incidents opened in this date range. Response times appear here once incidents are opened "
            "and someone acknowledges and resolves them (the buttons on the Slack alert, or "
            f"`monitor incident acknowledge --config {view.config_path} ID`).")
elif acknowledged.empty and by_people.empty:
    st.info(f"None of the {len(frame)} incident(s) in this range was acknowledged or resolved by a person, so "
            "no replies are tracked yet: acknowledge and resolve incidents with the buttons on the Slack alert "
            f"(or `monitor incident acknowledge --config {view.config_path} ID`) to measure first-response and "
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
            "opened_at": st.column_config.DatetimeColumn(f"opened ({view.zone})", format="D MMM YYYY, HH:mm",
                                                         timezone=view.zone),
            "minutes_to_acknowledge": st.column_config.NumberColumn("first response", format="%.0f min"),
            "minutes_to_resolve": st.column_config.NumberColumn("resolution", format="%.0f min"),
        },
    )

st.subheader("Volume per hour of the week")
cells = outcome_data.weekly_volume(view.store_key, view.brand, view.start, view.end, view.zone)
if cells.empty:
    st.info("No mentions in this date range. Widen it in the sidebar to see when people talk about the brand.")
else:
    st.altair_chart(charts.hour_of_week_heatmap(cells, view.zone), width="stretch")
    st.caption("Average mentions per hour over the date range, by weekday and local hour "
               f"({view.zone}): staff the darker cells.")
