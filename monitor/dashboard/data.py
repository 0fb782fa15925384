"""Cached dashboard queries: everything goes through the ``Store`` protocol and comes back as DataFrames.

Every query takes a ``store_key`` (the storage section as JSON) so the cache is keyed by the
database it read, and opens the store through :func:`store`, which is cached once per key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from monitor.alerts.incidents.outcomes import hour_ceiling
from monitor.alerts.notify.story import peak_text, title
from monitor.care.masking import mask
from monitor.config import StorageConfig
from monitor.localtime import zone
from monitor.models import SENTIMENT_LABELS, Incident, Mention
from monitor.store import open_store
from monitor.store.base import MentionFilter, Store

TTL = 30
SENTIMENTS: tuple[str, ...] = (*SENTIMENT_LABELS, "unknown")
_WHOLE = timedelta(days=36500)  # one bucket wider than any range: one series row per group
_VIEW = "monitor_view"
BASELINE_SPAN = timedelta(days=28)
MIN_BASELINE_DAYS = 1.0
MENTION_COLUMNS = ("time", "source", "language", "sentiment", "confidence", "corrected_by", "author", "followers",
                   "engagement", "reach", "text", "link", "id", "thread", "deleted")


@dataclass(frozen=True)
class View:
    """What the sidebar selected; shared with the pages through session state."""

    config_path: str
    store_key: str
    brand: str
    start: datetime
    end: datetime
    competitors: tuple[str, ...] = ()
    playbooks_dir: str = "playbooks"
    sources: tuple[tuple[str, float], ...] = ()  # (name, seconds between runs) of the brand's enabled sources
    zone: str = "UTC"  # the brand's time zone (IANA name): every time is shown in it


def set_view(view: View) -> None:
    st.session_state[_VIEW] = view


def current_view() -> View:
    return st.session_state[_VIEW]


@st.cache_resource(show_spinner=False)
def store(store_key: str) -> Store:
    """The store named by a storage section (as JSON), opened once per process."""
    return open_store(StorageConfig.model_validate_json(store_key))


@st.cache_data(ttl=TTL, show_spinner=False)
def newest_mention(store_key: str, brand: str) -> datetime | None:
    """When the brand's newest stored mention was posted, or None when it has none."""
    found = store(store_key).search(MentionFilter(brands=[brand], limit=1))
    return found[0].created_at if found else None


@st.cache_data(ttl=TTL, show_spinner=False)
def oldest_mention(store_key: str, brand: str) -> datetime | None:
    """When the brand's oldest stored mention was posted, or None when it has none."""
    found = store(store_key).search(MentionFilter(brands=[brand], limit=1, newest_first=False))
    return found[0].created_at if found else None


@dataclass(frozen=True)
class Level:
    """Mentions in the day before ``at`` against the average day of the weeks before it."""

    at: datetime
    last_day: int
    baseline: float | None
    baseline_days: float


@st.cache_data(ttl=TTL, show_spinner=False)
def level(store_key: str, brand: str, at: datetime) -> Level:
    """The brand's volume in the 24 hours up to ``at`` (rounded up to the hour) and its daily mean
    over up to 28 days before, counted from its oldest mention."""
    at, day = hour_ceiling(at), timedelta(days=1)
    rows = store(store_key).series(brand, at - day - BASELINE_SPAN, at, timedelta(hours=1))
    last_day = sum(r.count for r in rows if r.bucket >= at - day)
    oldest = (oldest_mention(store_key, brand) or at).replace(minute=0, second=0, microsecond=0)
    history_start = max(at - day - BASELINE_SPAN, oldest)
    days = max((at - day - history_start) / day, 0.0)
    if days < MIN_BASELINE_DAYS:
        return Level(at=at, last_day=last_day, baseline=None, baseline_days=days)
    before = sum(r.count for r in rows if r.bucket < at - day)
    return Level(at=at, last_day=last_day, baseline=before / days, baseline_days=days)


@st.cache_data(ttl=TTL, show_spinner=False)
def share_of_voice(store_key: str, names: tuple[str, ...], start: datetime, end: datetime) -> pd.DataFrame:
    """Mentions of each named brand in ``[start, end)``; brands without any are left out."""
    db = store(store_key)
    counts = {name: db.count(MentionFilter(brands=[name], since=start, until=end)) for name in names}
    frame = pd.DataFrame([{"brand": n, "mentions": c} for n, c in counts.items() if c],
                         columns=["brand", "mentions"])
    frame["share"] = frame["mentions"] / max(int(frame["mentions"].sum()), 1)
    return frame


@st.cache_data(ttl=TTL, show_spinner=False)
def incident(store_key: str, incident_id: str) -> Incident | None:
    """One incident by id, or None when there is none."""
    return store(store_key).get_incident(incident_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def volume(store_key: str, brand: str, start: datetime, end: datetime, bucket: timedelta) -> pd.DataFrame:
    """Mentions per bucket and sentiment in ``[start, end)``; empty buckets are filled with zeros."""
    rows = store(store_key).series(brand, start, end, bucket, group_by=("sentiment",))
    if not rows:
        return pd.DataFrame({"bucket": pd.Series(dtype="datetime64[ns, UTC]"), "sentiment": pd.Series(dtype=str),
                             "count": pd.Series(dtype=int)})
    frame = pd.DataFrame([{"bucket": r.bucket, "sentiment": r.group["sentiment"], "count": r.count} for r in rows])
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    buckets = pd.date_range(frame["bucket"].min(), frame["bucket"].max(), freq=bucket)
    grid = pd.MultiIndex.from_product([buckets, SENTIMENTS], names=["bucket", "sentiment"])
    dense = frame.groupby(["bucket", "sentiment"])["count"].sum().reindex(grid, fill_value=0)
    return dense.reset_index()


@st.cache_data(ttl=TTL, show_spinner=False)
def facets(store_key: str, brand: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Counts per source, language and sentiment in the range (for filter options)."""
    rows = store(store_key).series(brand, start, end, _WHOLE, group_by=("source", "language", "sentiment"))
    return pd.DataFrame(
        [{**r.group, "count": r.count} for r in rows], columns=["source", "language", "sentiment", "count"]
    )


def _filter(brand: str, start: datetime, end: datetime, text: str, sources: tuple[str, ...],
            languages: tuple[str, ...], sentiments: tuple[str, ...], limit: int = 100,
            most_engaged: bool = False) -> MentionFilter:
    return MentionFilter(brands=[brand], since=start, until=end, text=text or None, sources=list(sources),
                         languages=list(languages), sentiments=list(sentiments), limit=limit,
                         most_engaged=most_engaged)


def _mention_row(mention: Mention) -> dict[str, object]:
    sentiment = mention.sentiment
    return {
        "time": mention.created_at,
        "source": mention.source,
        "language": mention.language or "",
        "sentiment": sentiment.label if sentiment else "unknown",
        "confidence": sentiment.score if sentiment else None,
        "corrected_by": (sentiment.corrected_by if sentiment else None) or "",
        "author": mention.author_name,
        "followers": mention.author.followers,
        "engagement": mention.engagement.total,
        "reach": mention.estimated_reach,
        "text": mask(mention.full_text),
        "link": mention.url,
        "id": mention.id,
        "thread": mention.conversation if mention.reply_to or mention.conversation not in (None, mention.id) else "",
        "deleted": mention.deleted_at,
    }


def export_name(brand: str, start: datetime, end: datetime, zone_name: str = "UTC") -> str:
    """``aurora-air-mentions-20260303-20260309.csv`` for ``[start, end)``: named by the first and last day shown
    (local days of ``zone_name``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", brand.casefold()).strip("-")
    tz, last = zone(zone_name), end - timedelta(microseconds=1)
    return f"{slug}-mentions-{start.astimezone(tz):%Y%m%d}-{last.astimezone(tz):%Y%m%d}.csv"


@st.cache_data(ttl=TTL, show_spinner=False)
def mentions(store_key: str, brand: str, start: datetime, end: datetime, text: str = "",
             sources: tuple[str, ...] = (), languages: tuple[str, ...] = (), sentiments: tuple[str, ...] = (),
             limit: int = 1000, most_engaged: bool = False) -> tuple[pd.DataFrame, int]:
    """The newest ``limit`` mentions matching the filters (the most interacted with over the whole range
    when ``most_engaged``), and how many match in all."""
    query = _filter(brand, start, end, text, sources, languages, sentiments, limit, most_engaged)
    found = store(store_key).search(query)
    frame = pd.DataFrame([_mention_row(m) for m in found], columns=list(MENTION_COLUMNS))
    if found:
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame, store(store_key).count(query)


@st.cache_data(ttl=TTL, show_spinner=False)
def incidents(store_key: str, brand: str, start: datetime | None = None,
              end: datetime | None = None, zone_name: str = "UTC") -> pd.DataFrame:
    """The brand's incidents opened in ``[start, end)`` (all when unbounded), newest first; the peak's times
    in ``zone_name``."""
    found = [i for i in store(store_key).incidents(brand=brand, since=start) if end is None or i.opened_at < end]
    frame = pd.DataFrame(
        [
            {
                "id": i.id, "opened_at": i.opened_at, "state": i.state.value, "active": i.state.is_active,
                "severity": i.severity.word, "kind": i.kind.value, "title": title(i).split(" · ")[0],
                "topic": i.topic, "playbook": i.playbook_id or "", "spikes": len(i.spikes),
                "peak": peak_text(i, zone(zone_name)),
                "last_spike_at": i.last_spike_at,
            }
            for i in found
        ],
        columns=["id", "opened_at", "state", "active", "severity", "kind", "title", "topic", "playbook", "spikes",
                 "peak", "last_spike_at"],
    )
    for column in ("opened_at", "last_spike_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


@st.cache_data(ttl=TTL, show_spinner=False)
def incident_spikes(store_key: str, incident_id: str) -> pd.DataFrame:
    """One row per spike window of the incident: what the detector measured (empty without the incident)."""
    incident = store(store_key).get_incident(incident_id)
    return pd.DataFrame(
        [
            {
                "window_start": s.window_start, "window_end": s.window_end, "kind": s.kind.value,
                "severity": s.severity.word, "observed": s.observed, "expected": s.expected,
                "ratio": s.ratio if s.expected > 0 else None, "negative_share": s.negative_share,
                "score": s.score,
            }
            for s in (incident.spikes if incident else [])
        ]
    )
