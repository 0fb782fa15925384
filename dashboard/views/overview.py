"""Overview: headline metrics and mention volume by sentiment over time, with incidents marked."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import charts, data

BUCKETS = {"15 min": timedelta(minutes=15), "1 h": timedelta(hours=1), "1 day": timedelta(days=1)}


def default_bucket(span: timedelta) -> str:
    """15 min for up to two days, hourly up to a month, daily beyond."""
    if span <= timedelta(days=2):
        return "15 min"
    return "1 h" if span <= timedelta(days=31) else "1 day"


view = data.current_view()
st.title(f"{view.brand}: overview")
st.caption(f"{view.start:%d %b %Y} to {view.end - timedelta(days=1):%d %b %Y} (UTC)")

labels = list(BUCKETS)
default = default_bucket(view.end - view.start)
choice = st.radio("Bucket", labels, index=labels.index(default), horizontal=True, key=f"bucket:{default}")
bucket = BUCKETS[choice or default]

series = data.volume(view.store_key, view.brand, view.start, view.end, bucket)
everything = data.incidents(view.store_key, view.brand)
in_range = everything[(everything["opened_at"] >= view.start) & (everything["opened_at"] < view.end)]

totals = series.groupby("sentiment")["count"].sum()
total = int(totals.sum())
scored = total - int(totals.get("unknown", 0))
left, middle, right = st.columns(3)
left.metric("Mentions in range", f"{total:,}")
middle.metric("Negative share", f"{totals.get('negative', 0) / scored:.0%}" if scored else "n/a",
              help="Negative mentions among those with a sentiment score.")
right.metric("Open incidents", int(everything["active"].sum()),
             help="Open, acknowledged or mitigated, whenever they were opened.")

if total == 0:
    st.info("No mentions in this date range. Widen it in the sidebar.")
else:
    st.altair_chart(charts.volume_chart(series, in_range, bucket), width="stretch")
    st.caption(f"{len(in_range)} incident(s) opened in this range (dashed lines); details on the Incidents page.")
