"""Mentions: a filterable table of stored mentions with a CSV download of the selection, and correcting a
post's sentiment."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import streamlit as st

from monitor.dashboard import data, review_data, thread_data
from monitor import glossary
from monitor.models import SENTIMENT_LABELS

LIMIT = 1000
ORDERS = {"Newest": False, "Most interactions": True}
SEARCH_HELP = ("Every word must occur (any case, accents ignored). End a word with * to match the words it begins: "
               "cancel* finds cancel, cancelled and cancellation.")

_DONE = "correction_done"


def show_correction(frame: pd.DataFrame) -> None:
    """Pick one of the posts shown and give it the right sentiment; every figure counts it from then on."""
    with st.expander("Correct a post's sentiment", expanded=_DONE in st.session_state):
        if _DONE in st.session_state:
            st.success(st.session_state.pop(_DONE))
        labels = dict(zip(frame["id"], frame["sentiment"] + " · " + frame["author"] + ": "
                          + frame["text"].str.slice(0, 90)))
        post = st.selectbox("Post", list(labels), format_func=labels.get,
                            help="One of the posts in the table above (filter it to find the post).")
        label = st.radio("Right sentiment", list(SENTIMENT_LABELS), horizontal=True,
                         help=glossary.help_for("corrected sentiment"))
        by = st.text_input("Your name", help="Kept with the correction.")
        if st.button("Save the correction", disabled=not by.strip(), type="primary"):
            made = review_data.correct(view.store_key, view.brand, post, label, by.strip(), datetime.now(timezone.utc))
            st.session_state[_DONE] = (f"Saved: {made.previous or 'no sentiment'} → {made.label}. Every figure counts "
                                       "it from now on." if made else "That post is not stored any more.")
            st.rerun()


view = data.current_view()
st.title(f"{view.brand}: mentions")

facets = data.facets(view.store_key, view.brand, view.start, view.end)
search, source, language, sentiment, order = st.columns([2, 1, 1, 1, 1])
text = search.text_input("Search text", placeholder="words in the post, or cancel*", help=SEARCH_HELP)
sources = source.multiselect("Source", sorted(facets["source"].unique()))
languages = language.multiselect("Language", sorted(set(facets["language"]) - {"unknown"}))
sentiments = sentiment.multiselect("Sentiment", list(SENTIMENT_LABELS))
ordering = order.radio("Sort", list(ORDERS), help="Most interactions: over the whole date range, not only the "
                                                      "newest mentions. " + glossary.help_for("interaction"))

frame, matched = data.mentions(view.store_key, view.brand, view.start, view.end, text.strip(),
                               tuple(sources), tuple(languages), tuple(sentiments), LIMIT, ORDERS[ordering])
if frame.empty:
    hint = (f" Whole words only: try {text.split()[-1].rstrip('*')}* for the words it begins."
            if text.strip() and not text.strip().endswith("*") else "")
    st.info(f"No mentions match these filters.{hint} Clear some of them or widen the date range in the sidebar.")
else:
    which = "most interacted with" if ORDERS[ordering] else "newest"
    shown = f"; showing the {which} {len(frame):,}" if matched > len(frame) else ""
    st.caption(f"{matched:,} mention(s) match{shown}.")
    st.dataframe(
        frame,
        hide_index=True,
        column_order=["time", "text", "author", "engagement", "followers", "reach", "sentiment", "corrected_by",
                      "source", "language", "link", "confidence", "deleted"],
        column_config={
            "time": st.column_config.DatetimeColumn(f"time ({view.zone})", format="D MMM YYYY, HH:mm", timezone=view.zone),
            "confidence": st.column_config.ProgressColumn("confidence", format="percent", min_value=0,
                                                          max_value=1),
            "engagement": st.column_config.NumberColumn("interactions", help=glossary.help_for("interaction")),
            "reach": st.column_config.NumberColumn("reach", help=glossary.help_for("reach")),
            "corrected_by": st.column_config.TextColumn("corrected by", help=glossary.help_for("corrected sentiment")),
            "text": st.column_config.TextColumn("text", width="large"),
            "link": st.column_config.LinkColumn("link", display_text="open"),
            "deleted": st.column_config.DatetimeColumn(f"deleted ({view.zone})", format="D MMM YYYY, HH:mm",
                                                       timezone=view.zone, help=glossary.help_for("deleted post")),
        },
    )
    st.download_button(
        "Download CSV", frame.to_csv(index=False).encode("utf-8"), mime="text/csv",
        file_name=data.export_name(view.brand, view.start, view.end, view.zone),
        help="The rows in the table above, with every column.",
    )
    show_correction(frame)
    threaded = frame[frame["thread"] != ""]
    if not threaded.empty:
        st.subheader("Thread")
        labels = dict(zip(threaded["id"], threaded["author"] + ": " + threaded["text"].str.slice(0, 80)))
        chosen = st.selectbox("Show the conversation of", list(labels), format_func=labels.get,
                              help="Posts that belong to a conversation (replies, or posts that were answered).")
        st.dataframe(thread_data.thread_frame(view.store_key, view.brand, chosen), hide_index=True,
                     column_order=["time", "author", "answers", "text", "sentiment", "engagement", "link"],
                     column_config={
                         "time": st.column_config.DatetimeColumn(f"time ({view.zone})", format="D MMM, HH:mm", timezone=view.zone),
                         "answers": st.column_config.TextColumn("in reply to"),
                         "text": st.column_config.TextColumn("text", width="large"),
                         "link": st.column_config.LinkColumn("link", display_text="open"),
                     })
