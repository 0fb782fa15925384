"""Overview: headline metrics, volume by sentiment with incidents marked, share of voice, top sources and languages."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from monitor.dashboard import charts, data
from monitor import glossary

BUCKETS = {"15 min": timedelta(minutes=15), "1 h": timedelta(hours=1), "1 day": timedelta(days=1)}


def default_bucket(span: timedelta) -> str:
    """15 min for up to two days, hourly up to a month, daily beyond."""
    if span <= timedelta(days=2):
        return "15 min"
    return "1 h" if span <= timedelta(days=31) else "1 day"


def level_delta(level: data.Level) -> str | None:
    """``+240% vs 310/day`` against the baseline, or None without enough history."""
    if level.baseline is None:
        return None
    if level.baseline == 0:
        return "no mentions in the days before"
    return f"{round(100 * (level.last_day / level.baseline - 1)):+d}% vs {level.baseline:,.0f}/day"


def show_share_of_voice() -> None:
    """Bars of the brand against its configured competitors, or what to configure to get them."""
    if not view.competitors:
        st.info(f"No competitors configured for {view.brand}. List them under `competitors:` of the brand "
                f"in `{view.config_path}`, and add each as a brand of its own so its mentions are collected.")
        return
    shares = data.share_of_voice(view.store_key, (view.brand, *view.competitors), view.start, view.end)
    missing = ", ".join(c for c in view.competitors if c not in set(shares["brand"]))
    why = ("Competitors' mentions are collected only when they are configured as brands too, with their own "
           f"sources, in `{view.config_path}`.")
    if len(shares) > 1:
        st.altair_chart(charts.share_bar(shares, view.brand), width="stretch")
        if missing:
            st.caption(f"No mentions stored for {missing} in this range. {why}")
    else:
        st.info(f"No mentions stored for the competitors ({missing}) in this range, so there is no share of "
                f"voice to show. {why}")


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
newest = data.newest_mention(view.store_key, view.brand)
level = data.level(view.store_key, view.brand, min(view.end, newest + timedelta(seconds=1)))
first, second, third, fourth = st.columns(4)
first.metric("Mentions in range", f"{total:,}", help=glossary.help_for("mention"))
second.metric("Negative share", f"{totals.get('negative', 0) / scored:.0%}" if scored else "n/a",
              help=glossary.help_for("negative share"))
third.metric("Last 24 h", f"{level.last_day:,}", delta=level_delta(level), delta_color="off",
             help=f"Mentions in the 24 hours up to {level.at:%d %b %H:%M} UTC, against the average day "
                  "of up to four weeks before.")
fourth.metric("Open incidents", int(everything["active"].sum()),
              help="Open, acknowledged or mitigated, whenever they were opened.")
for row in everything.loc[everything["active"].astype(bool)].itertuples():
    st.page_link("views/incidents.py", icon=":material/emergency:", query_params={"incident": row.id},
                 label=f"Active incident: {row.title} · detected {row.opened_at:%d %b %H:%M} UTC · {row.state}")

if total == 0:
    st.info("No mentions in this date range. Widen it in the sidebar.")
else:
    st.altair_chart(charts.volume_chart(series, in_range, bucket), width="stretch")
    st.caption(f"{len(in_range)} incident(s) opened in this range (dashed lines); details on the Incidents page.")
    voice, sources, languages = st.columns(3)
    with voice:
        st.subheader("Share of voice")
        show_share_of_voice()
    facets = data.facets(view.store_key, view.brand, view.start, view.end)
    with sources:
        st.subheader("Top sources")
        st.altair_chart(charts.top_bar(facets, "source"), width="stretch")
    with languages:
        st.subheader("Top languages")
        st.altair_chart(charts.top_bar(facets, "language"), width="stretch")
