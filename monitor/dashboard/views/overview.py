"""Overview: headline figures against the previous period, volume by sentiment with incidents marked (a click
lists a bucket's mentions), top posts and authors, share of voice, top sources and languages."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from monitor.dashboard import charts, data, review_data
from monitor import glossary
from monitor.localtime import shown, zone

BUCKETS = {"15 min": timedelta(minutes=15), "1 h": timedelta(hours=1), "1 day": timedelta(days=1)}
TOP = 5
POST_COLUMNS = {
    "text": st.column_config.TextColumn("text", width="large"),
    "engagement": st.column_config.NumberColumn("interactions", help=glossary.help_for("interaction")),
    "reach": st.column_config.NumberColumn("reach", help=glossary.help_for("reach")),
    "link": st.column_config.LinkColumn("link", display_text="open"),
}


def post_columns() -> dict:
    """:data:`POST_COLUMNS` with the time in the brand's zone."""
    return {**POST_COLUMNS, "time": st.column_config.DatetimeColumn(f"time ({view.zone})", format="D MMM, HH:mm",
                                                                     timezone=view.zone)}


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


def show_bucket(clicked: pd.Timestamp | None, choice: str) -> None:
    """The mentions of one bucket of the volume chart: the one clicked, or the one picked in the list."""
    starts = list(pd.DatetimeIndex(series.loc[series["count"] > 0, "bucket"].unique()).sort_values())
    key, seen = f"bucket_listed:{choice}", f"bucket_clicked:{choice}"
    if clicked is not None and clicked in starts and st.session_state.get(seen) != clicked:
        st.session_state[seen] = st.session_state[key] = clicked
    start = st.selectbox(f"Mentions of the {choice} from", starts, index=None, key=key,
                         format_func=lambda b: shown(b, zone(view.zone), "%d %b %Y %H:%M"),
                         placeholder="click the chart, or pick a time")
    if start is None:
        return
    end = (start + bucket).to_pydatetime()
    frame, matched = data.mentions(view.store_key, view.brand, start.to_pydatetime(), end, limit=100,
                                   most_engaged=True)
    most = f"; the {len(frame)} with the most interactions" if matched > len(frame) else ""
    st.caption(f"{matched:,} mention(s) from {shown(start, zone(view.zone))}, {choice}{most}.")
    st.dataframe(frame, hide_index=True, column_config=post_columns(),
                 column_order=["time", "text", "author", "engagement", "reach", "sentiment", "source", "link"])


view = data.current_view()
st.title(f"{view.brand}: overview")
st.caption(f"{view.start.astimezone(zone(view.zone)):%d %b %Y} to "
           f"{(view.end - timedelta(seconds=1)).astimezone(zone(view.zone)):%d %b %Y} ({view.zone})")

labels = list(BUCKETS)
default = default_bucket(view.end - view.start)
choice = st.radio("Bucket", labels, index=labels.index(default), horizontal=True, key=f"bucket:{default}")
bucket = BUCKETS[choice or default]

series = data.volume(view.store_key, view.brand, view.start, view.end, bucket)
everything = data.incidents(view.store_key, view.brand, zone_name=view.zone)
in_range = everything[(everything["opened_at"] >= view.start) & (everything["opened_at"] < view.end)]

now = review_data.kpis(view.store_key, view.brand, view.start, view.end)
before_start, before_end = review_data.previous_period(view.start, view.end)
before = review_data.kpis(view.store_key, view.brand, before_start, before_end)
local = zone(view.zone)
against = (f"Against the previous {round((view.end - view.start) / timedelta(days=1))} day(s), "
           f"{before_start.astimezone(local):%d %b} to "
           f"{(before_end - timedelta(seconds=1)).astimezone(local):%d %b %Y}.")
first, second, third, fourth = st.columns(4)
first.metric("Mentions in range", f"{now.mentions:,}", delta=review_data.change(now.mentions, before.mentions),
             delta_color="off", help=f"{glossary.help_for('mention')} {against}")
second.metric("Negative share", f"{now.negative_share:.0%}" if now.negative_share is not None else "n/a",
              delta=review_data.share_change(now.negative_share, before.negative_share), delta_color="inverse",
              help=f"{glossary.help_for('negative share')} {against}")
third.metric("Interactions", f"{now.interactions:,}", delta=review_data.change(now.interactions, before.interactions),
             delta_color="off", help=f"{glossary.help_for('interaction')} {against}")
fourth.metric("Reach", f"{now.reach:,}", delta=review_data.change(now.reach, before.reach), delta_color="off",
              help=f"{glossary.help_for('reach')} {against}")
newest = data.newest_mention(view.store_key, view.brand)
level = data.level(view.store_key, view.brand, min(view.end, newest + timedelta(seconds=1)))
fifth, sixth, _, _ = st.columns(4)
fifth.metric("Last 24 h", f"{level.last_day:,}", delta=level_delta(level), delta_color="off",
             help=f"Mentions in the 24 hours up to {shown(level.at, zone(view.zone))}, against the average day "
                  "of up to four weeks before.")
sixth.metric("Open incidents", int(everything["active"].sum()),
             help="Open, acknowledged or mitigated, whenever they were opened.")
for row in everything.loc[everything["active"].astype(bool)].itertuples():
    st.page_link("views/incidents.py", icon=":material/emergency:", query_params={"incident": row.id},
                 label=f"Active incident: {row.title} · detected {shown(row.opened_at, local)} · {row.state}")

if now.mentions == 0:
    st.info("No mentions in this date range. Widen it in the sidebar.")
else:
    clicked = st.altair_chart(charts.volume_chart(series, in_range, bucket, review_data.PICK, view.zone),
                              width="stretch",
                              on_select="rerun", key=f"volume:{choice}")
    st.caption(f"{len(in_range)} incident(s) opened in this range (dashed lines); details on the Incidents page. "
               "Click the chart to list the mentions of a bucket.")
    show_bucket(review_data.picked_bucket(clicked), choice or default)
    st.subheader("Top posts")
    top, _ = data.mentions(view.store_key, view.brand, view.start, view.end, limit=TOP, most_engaged=True)
    st.dataframe(top, hide_index=True, column_config=post_columns(),
                 column_order=["time", "text", "author", "engagement", "reach", "sentiment", "link"])
    authors, voice = st.columns(2)
    with authors:
        st.subheader("Top authors")
        st.dataframe(review_data.top_authors(view.store_key, view.brand, view.start, view.end), hide_index=True,
                     column_config={"interactions": st.column_config.NumberColumn(
                         "interactions", help=glossary.help_for("interaction"))})
    with voice:
        st.subheader("Share of voice")
        show_share_of_voice()
    sources, languages = st.columns(2)
    facets = data.facets(view.store_key, view.brand, view.start, view.end)
    with sources:
        st.subheader("Top sources")
        st.altair_chart(charts.top_bar(facets, "source"), width="stretch")
    with languages:
        st.subheader("Top languages")
        st.altair_chart(charts.top_bar(facets, "language"), width="stretch")
