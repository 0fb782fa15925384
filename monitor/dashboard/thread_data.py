"""A post's thread: the stored mentions of its conversation and the posts it answers, in reply order."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from monitor.dashboard.data import TTL, store
from monitor.care.masking import mask
from monitor.models import Mention
from monitor.store.base import MentionFilter, Store

MAX_THREAD = 500
THREAD_COLUMNS = ["time", "depth", "author", "text", "sentiment", "engagement", "answers", "link", "id"]


def thread_of(found: Store, brand: str, mention_id: str) -> list[Mention]:
    """``mention_id``'s thread, oldest first: its conversation, and the posts up its reply chain
    that are stored outside it (at most :data:`MAX_THREAD` mentions)."""
    post = found.search(MentionFilter(brands=[brand], ids=[mention_id], limit=1))
    if not post:
        return []
    thread = {post[0].id: post[0]}
    if post[0].conversation:
        for mention in found.search(MentionFilter(brands=[brand], conversations=[post[0].conversation],
                                                  limit=MAX_THREAD, newest_first=False)):
            thread[mention.id] = mention
    parent = post[0].reply_to
    while parent and parent not in thread and len(thread) < MAX_THREAD:
        above = found.search(MentionFilter(brands=[brand], ids=[parent], limit=1))
        if not above:
            break
        thread[parent] = above[0]
        parent = above[0].reply_to
    return sorted(thread.values(), key=lambda m: m.created_at)


def depths(thread: list[Mention]) -> dict[str, int]:
    """How many stored posts up the reply chain each post of ``thread`` is (0: it answers none of them)."""
    by_id = {m.id: m for m in thread}
    found: dict[str, int] = {}
    for mention in thread:
        depth, seen, parent = 0, {mention.id}, mention.reply_to
        while parent in by_id and parent not in seen:
            seen.add(parent)
            depth, parent = depth + 1, by_id[parent].reply_to
        found[mention.id] = depth
    return found


@st.cache_data(ttl=TTL, show_spinner=False)
def thread_frame(store_key: str, brand: str, mention_id: str) -> pd.DataFrame:
    """:func:`thread_of` as a table; ``answers`` names the author of the post each one replies to."""
    thread = thread_of(store(store_key), brand, mention_id)
    level = depths(thread)
    authors = {m.id: m.author.handle or m.author.name or "" for m in thread}
    rows = [{
        "time": m.created_at, "depth": level[m.id], "author": authors[m.id],
        "text": f"{'  ' * level[m.id]}{'↳ ' if level[m.id] else ''}{mask(m.text)}",
        "sentiment": m.sentiment.label if m.sentiment else "unknown", "engagement": m.engagement.total,
        "answers": authors.get(m.reply_to, "(not stored)") if m.reply_to else "", "link": m.url, "id": m.id,
    } for m in thread]
    frame = pd.DataFrame(rows, columns=THREAD_COLUMNS)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame
