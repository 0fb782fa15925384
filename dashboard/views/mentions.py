"""Mentions: a filterable table of stored mentions with a CSV download of the selection."""

from __future__ import annotations

import re

import streamlit as st

from dashboard import data, thread_data
from monitor.models import SENTIMENT_LABELS

LIMIT = 1000

view = data.current_view()
st.title(f"{view.brand}: mentions")

facets = data.facets(view.store_key, view.brand, view.start, view.end)
search, source, language, sentiment = st.columns([2, 1, 1, 1])
text = search.text_input("Search text", placeholder="words in the post")
sources = source.multiselect("Source", sorted(facets["source"].unique()))
languages = language.multiselect("Language", sorted(set(facets["language"]) - {"unknown"}))
sentiments = sentiment.multiselect("Sentiment", list(SENTIMENT_LABELS))

frame, matched = data.mentions(view.store_key, view.brand, view.start, view.end, text.strip(),
                               tuple(sources), tuple(languages), tuple(sentiments), LIMIT)
if frame.empty:
    st.info("No mentions match these filters. Clear some of them or widen the date range in the sidebar.")
else:
    shown = f"; showing the newest {len(frame):,}" if matched > len(frame) else ""
    st.caption(f"{matched:,} mention(s) match{shown}.")
    st.dataframe(
        frame,
        hide_index=True,
        column_order=["time", "source", "language", "sentiment", "link", "confidence", "author", "engagement",
                      "text"],
        column_config={
            "time": st.column_config.DatetimeColumn("time (UTC)", format="D MMM YYYY, HH:mm", timezone="UTC"),
            "confidence": st.column_config.ProgressColumn("confidence", format="percent", min_value=0,
                                                          max_value=1),
            "engagement": st.column_config.NumberColumn("engagement", help="likes + shares + replies"),
            "text": st.column_config.TextColumn("text", width="large"),
            "link": st.column_config.LinkColumn("link", display_text="open"),
        },
    )
    slug = re.sub(r"[^a-z0-9]+", "-", view.brand.casefold()).strip("-")
    st.download_button(
        "Download CSV", frame.to_csv(index=False).encode("utf-8"), mime="text/csv",
        file_name=f"{slug}-mentions-{view.start:%Y%m%d}-{view.end:%Y%m%d}.csv",
        help="The rows in the table above, with every column.",
    )
    threaded = frame[frame["thread"] != ""]
    if not threaded.empty:
        st.subheader("Thread")
        labels = dict(zip(threaded["id"], threaded["author"] + ": " + threaded["text"].str.slice(0, 80)))
        chosen = st.selectbox("Show the conversation of", list(labels), format_func=labels.get,
                              help="Posts that belong to a conversation (replies, or posts that were answered).")
        st.dataframe(thread_data.thread_frame(view.store_key, view.brand, chosen), hide_index=True,
                     column_order=["time", "author", "answers", "text", "sentiment", "engagement", "link"],
                     column_config={
                         "time": st.column_config.DatetimeColumn("time (UTC)", format="D MMM, HH:mm", timezone="UTC"),
                         "answers": st.column_config.TextColumn("in reply to"),
                         "text": st.column_config.TextColumn("text", width="large"),
                         "link": st.column_config.LinkColumn("link", display_text="open"),
                     })
