"""Care figures from a store and a config: the cases of a brand over a date range, and its ranking."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.care.cases import CarePost, build_cases, load_mentions
from monitor.care.kpis import CareKpis, brand_rows, kpis, ranking
from monitor.config import BrandConfig, Config
from monitor.store.base import MentionFilter, Store

CONTEXT = timedelta(days=1)
"""How far before the range the posts answered or threads started are looked up."""
ANSWER_WINDOW = timedelta(days=7)
"""How long after the range answers and the author's follow-ups still count."""


def clock(store: Store, brands: list[str], now: datetime) -> datetime:
    """The moment the queue is judged at: now, or the newest collection when that is older (a replay)."""
    newest = [found[0].collected_at for brand in brands
              if (found := store.search(MentionFilter(brands=[brand], limit=1)))]
    return min([now, max(newest)]) if newest else now


def brand_cases(store: Store, config: Config, brand: BrandConfig, since: datetime,
                until: datetime) -> list[CarePost]:
    """The posts of ``brand`` created in ``[since, until)`` that need an answer."""
    mentions = load_mentions(store, brand.name, since - CONTEXT, until + ANSWER_WINDOW)
    return [c for c in build_cases(mentions, brand.handles, config.care, since=since)
            if c.mention.created_at < until]


def care_rows(store: Store, config: Config, brands: list[BrandConfig], since: datetime,
              until: datetime) -> list[CareKpis]:
    """The ``report care`` rows: per brand all sources together, then each source."""
    return [row for brand in brands for row in brand_rows(brand.name, brand_cases(store, config, brand, since, until))]


def competitor_ranking(store: Store, config: Config, brand: BrandConfig, since: datetime,
                       until: datetime) -> tuple[list[CareKpis], list[str]]:
    """The brand and its configured competitors ranked, and the competitors not configured as brands."""
    known = {b.name.casefold(): b for b in config.brands}
    rivals = [known[name.casefold()] for name in brand.competitors if name.casefold() in known]
    missing = [name for name in brand.competitors if name.casefold() not in known]
    rows = [kpis(b.name, brand_cases(store, config, b, since, until)) for b in (brand, *rivals)]
    return ranking(rows), missing
