"""Cached figures for a comms manager's review: the range's KPIs against the previous period of the same
length, its top authors, the mentions of one chart bucket, and correcting a post's sentiment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

import pandas as pd
import streamlit as st

from monitor.dashboard.data import TTL, store
from monitor.models import SENTIMENT_LABELS, SentimentCorrection, SentimentLabel
from monitor.store.base import MentionFilter

PICK = "bucket_pick"
"""The volume chart's selection: the bucket clicked."""


@dataclass(frozen=True)
class Kpis:
    """What a date range adds up to."""

    mentions: int
    negative: int
    scored: int
    """Mentions with a sentiment (the negative share's denominator)."""
    interactions: int
    reach: int

    @property
    def negative_share(self) -> float | None:
        return self.negative / self.scored if self.scored else None


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period of the same length that ends where ``[start, end)`` begins."""
    return start - (end - start), start


@st.cache_data(ttl=TTL, show_spinner=False)
def kpis(store_key: str, brand: str, start: datetime, end: datetime) -> Kpis:
    """Mentions, negative share, interactions and reach of the brand in ``[start, end)``."""
    db = store(store_key)
    selection = MentionFilter(brands=[brand], since=start, until=end)
    totals = db.totals(selection)
    negative = db.count(selection.model_copy(update={"sentiments": ["negative"]}))
    scored = db.count(selection.model_copy(update={"sentiments": list(SENTIMENT_LABELS)}))
    return Kpis(mentions=totals.mentions, negative=negative, scored=scored, interactions=totals.interactions,
                reach=totals.reach)


def change(now: float, before: float) -> str | None:
    """``+35% vs 1,200`` against the previous period; None when it had nothing to compare with."""
    if not before:
        return None
    return f"{round(100 * (now / before - 1)):+d}% vs {before:,.0f}"


def share_change(now: float | None, before: float | None) -> str | None:
    """``+12 pts vs 30%``: a share against the previous period's, in percentage points."""
    if now is None or before is None:
        return None
    return f"{round(100 * (now - before)):+d} pts vs {before:.0%}"


@st.cache_data(ttl=TTL, show_spinner=False)
def top_authors(store_key: str, brand: str, start: datetime, end: datetime, limit: int = 10) -> pd.DataFrame:
    """The authors with the most mentions in ``[start, end)``, with their interactions and followers."""
    found = store(store_key).authors(MentionFilter(brands=[brand], since=start, until=end, limit=limit))
    return pd.DataFrame([a.model_dump() for a in found], columns=["author", "mentions", "interactions", "followers"])


def picked_bucket(event: Mapping[str, Any] | None) -> pd.Timestamp | None:
    """The bucket clicked on the volume chart (its ``PICK`` selection), or None."""
    points = ((event or {}).get("selection") or {}).get(PICK) or []
    value = points[0].get("bucket") if points else None
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return pd.Timestamp(value, unit="ms", tz="UTC")
    return pd.to_datetime(value, utc=True)


def correct(store_key: str, brand: str, mention_id: str, label: SentimentLabel, by: str,
            at: datetime) -> SentimentCorrection | None:
    """Keep a person's sentiment label for a mention; every cached figure is read again afterwards."""
    made = store(store_key).correct_sentiment(brand, mention_id, label, by, at)
    st.cache_data.clear()
    return made
