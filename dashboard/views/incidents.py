"""Incidents: the brand's incidents in the date range and, for one of them, its alert and spike windows."""

from __future__ import annotations

import streamlit as st

from dashboard import data

view = data.current_view()
st.title(f"{view.brand}: incidents")

frame = data.incidents(view.store_key, view.brand, view.start, view.end)
if frame.empty:
    st.info("No incidents opened in this date range. The detector opens one when it finds a spike: "
            f"`monitor run {view.config_path}` runs it on schedule, `monitor detect {view.config_path}` once.")
else:
    st.dataframe(
        frame,
        hide_index=True,
        column_order=["opened_at", "id", "state", "severity", "kind", "topic", "playbook", "spikes", "peak"],
        column_config={
            "opened_at": st.column_config.DatetimeColumn("opened (UTC)", format="D MMM YYYY, HH:mm",
                                                         timezone="UTC"),
            "peak": st.column_config.NumberColumn("peak", help="Most mentions in one spike window", format="%d"),
        },
    )
    labels = {row.id: f"{row.opened_at:%d %b %H:%M} · {row.severity} · {row.state} · {row.id}"
              for row in frame.itertuples()}
    chosen = st.selectbox("Incident", list(labels), format_func=labels.__getitem__)
    title, spikes = data.incident_detail(view.store_key, chosen)
    st.subheader(chosen)
    if title:
        st.markdown(f"> {title}")
    st.dataframe(
        spikes,
        hide_index=True,
        column_config={
            "window_start": st.column_config.DatetimeColumn("from (UTC)", format="D MMM HH:mm", timezone="UTC"),
            "window_end": st.column_config.DatetimeColumn("to (UTC)", format="D MMM HH:mm", timezone="UTC"),
            "expected": st.column_config.NumberColumn("expected", format="%.1f"),
            "ratio": st.column_config.NumberColumn("ratio", format="%.1f×"),
            "negative_share": st.column_config.NumberColumn("negative", format="percent"),
            "score": st.column_config.NumberColumn("score", format="%.1f"),
        },
    )
