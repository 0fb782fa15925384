"""Cached reads for the customer-care page: answer KPIs, the care queue and the competitor ranking."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import streamlit as st

from monitor.dashboard.data import TTL, store
from monitor import config as config_lib
from monitor.care.kpis import CSV_COLUMNS, CareKpis
from monitor.care.queue import format_left, queue
from monitor.care.service import brand_cases, care_rows, clock, competitor_ranking
from monitor.care.templates import BUILT_IN_TEMPLATES, load_templates

KPI_COLUMNS = [*CSV_COLUMNS, "resolution_share", "sentiment_before", "sentiment_after"]
QUEUE_COLUMNS = ["posted", "time_left", "overdue", "source", "language", "sentiment", "author", "tag", "text",
                 "suggested_answer", "link"]


def _frame(rows: list[CareKpis]) -> pd.DataFrame:
    records = [{**k.row(), "resolution_share": k.resolution_share, "sentiment_before": k.sentiment_before,
                "sentiment_after": k.sentiment_after} for k in rows]
    frame = pd.DataFrame(records, columns=KPI_COLUMNS)
    numeric = [c for c in KPI_COLUMNS if c not in ("brand", "source")]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
    return frame


@st.cache_data(ttl=TTL, show_spinner=False)
def kpis(store_key: str, config_path: str, brand: str, start: datetime, end: datetime) -> pd.DataFrame:
    """The brand's care KPIs in ``[start, end)``: all sources (``source`` empty), then one row per source."""
    config = config_lib.load(config_path)
    return _frame(care_rows(store(store_key), config, [config.brand(brand)], start, end))


@st.cache_data(ttl=TTL, show_spinner=False)
def ranking(store_key: str, config_path: str, brand: str, start: datetime,
            end: datetime) -> tuple[pd.DataFrame, list[str]]:
    """The brand and its configured competitors, best first, and the competitors not configured as brands."""
    config = config_lib.load(config_path)
    rows, missing = competitor_ranking(store(store_key), config, config.brand(brand), start, end)
    return _frame(rows), missing


@st.cache_data(ttl=TTL, show_spinner=False)
def care_queue(store_key: str, config_path: str, brand: str, start: datetime,
               end: datetime) -> tuple[pd.DataFrame, datetime]:
    """Posts of ``[start, end)`` awaiting an answer, oldest first (personal data masked), and the clock."""
    config = config_lib.load(config_path)
    db = store(store_key)
    now = clock(db, [b.name for b in config.brands], datetime.now(timezone.utc))
    cases = brand_cases(db, config, config.brand(brand), start, min(end, now))
    items = queue(cases, brand, load_templates(config.care.templates_dir or BUILT_IN_TEMPLATES), now)
    frame = pd.DataFrame([{
        "posted": item.created_at, "time_left": format_left(item.time_left), "overdue": item.overdue,
        "source": item.source, "language": item.language, "sentiment": item.sentiment, "author": item.author,
        "tag": item.tag, "text": item.text, "suggested_answer": item.suggested_answer, "link": item.url,
    } for item in items], columns=QUEUE_COLUMNS)
    return frame, now
