"""Elasticsearch queries: mention filters, series buckets, and paging through every hit.

The paging helpers take ``search``, a callable with the keyword arguments of
``Elasticsearch.search`` (the store passes its retrying one); missing indices find nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator, Sequence

from monitor.errors import StoreError
from monitor.store.base import GROUP_FIELDS, MentionFilter, SeriesRow
from monitor.store.elastic_mapping import epoch_seconds, fold

Search = Callable[..., Any]

PAGE = 1000
WINDOW = 10_000  # index.max_result_window: deeper pages go through search_after
MISSING_OK: dict[str, Any] = {"ignore_unavailable": True, "allow_no_indices": True}


def epoch_range(field: str, **bounds: datetime) -> dict[str, Any]:
    """A range filter in whole epoch seconds (a bare number would be read as milliseconds)."""
    return {"range": {field: {"format": "epoch_second", **{k: str(epoch_seconds(v)) for k, v in bounds.items()}}}}


ENGAGEMENT_SORT = {"interactions": {"order": "desc", "missing": "_last"}}
"""Most interactions first (``MentionFilter.most_engaged``)."""


def mention_query(query: MentionFilter) -> dict[str, Any]:
    """``query`` as a bool query; the text must match every folded word, a word ending in ``*`` as a prefix."""
    filters: list[dict[str, Any]] = []
    for field, values in (
        ("brand", query.brands), ("source", query.sources), ("language", query.languages),
        ("sentiment", query.sentiments), ("mention_id", query.ids), ("conversation", query.conversations),
    ):
        if values:
            filters.append({"terms": {field: list(values)}})
    if query.since or query.until:
        bounds: dict[str, datetime] = {}
        if query.since:
            bounds["gte"] = query.since
        if query.until:
            bounds["lt"] = query.until
        filters.append(epoch_range("ts", **bounds))
    must: list[dict[str, Any]] = []
    whole: list[str] = []
    for word in (query.text or "").split():
        parts = fold(word).split()
        if word.endswith("*") and parts:
            must.append({"prefix": {"text": parts.pop()}})
        whole += parts
    if whole:
        must.insert(0, {"match": {"text": {"query": " ".join(whole), "operator": "and"}}})
    return {"bool": {"filter": filters, "must": must}}


def series_request(brand: str, start: datetime, end: datetime, bucket: timedelta,
                   group_by: Sequence[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The query and the ``composite`` sources counting ``brand``'s mentions per bucket and group."""
    unknown = [g for g in group_by if g not in GROUP_FIELDS]
    if unknown:
        raise StoreError(f"cannot group series by {unknown[0]!r} (choose from {', '.join(GROUP_FIELDS)})")
    size = int(bucket.total_seconds())
    query = {"bool": {"filter": [
        {"term": {"brand": brand}}, epoch_range("ts", gte=start, lt=end),
    ]}}
    sources: list[dict[str, Any]] = [
        {"bucket": {"date_histogram": {"field": "ts", "fixed_interval": f"{size}s"}}}
    ]
    sources += [{g: {"terms": {"field": g, "missing_bucket": True}}} for g in group_by]
    return query, sources


def series_rows(buckets: Iterable[dict[str, Any]], group_by: Sequence[str]) -> list[SeriesRow]:
    """Composite buckets as rows, in SQLite's order: by bucket, then by group values."""
    rows = [
        SeriesRow(
            bucket=datetime.fromtimestamp(b["key"]["bucket"] // 1000, tz=timezone.utc),
            group={g: b["key"][g] if b["key"][g] is not None else "unknown" for g in group_by},
            count=b["doc_count"],
        )
        for b in buckets
    ]
    rows.sort(key=lambda r: (r.bucket, *(r.group[g] for g in group_by)))  # "unknown" sorts as a word
    return rows


def sorted_hits(search: Search, index: str, query: dict[str, Any], sort: list[dict[str, Any]], offset: int,
                limit: int, **options: Any) -> list[dict[str, Any]]:
    """Hits ``offset .. offset + limit`` in ``sort`` order, past ``max_result_window`` too."""
    if offset + limit <= WINDOW:
        response = search(index=index, query=query, sort=sort, from_=offset, size=limit, track_total_hits=False,
                          **MISSING_OK, **options)
        return response["hits"]["hits"]
    hits: list[dict[str, Any]] = []
    after: list[Any] | None = None
    skip = offset
    while len(hits) < limit:
        page = search(index=index, query=query, sort=sort, size=WINDOW, track_total_hits=False, search_after=after,
                      **MISSING_OK, **options)
        found = page["hits"]["hits"]
        if not found:
            break
        after = found[-1]["sort"]
        if skip >= len(found):
            skip -= len(found)
            continue
        hits.extend(found[skip:])
        skip = 0
    return hits[:limit]


def scan(search: Search, index: str, query: dict[str, Any], sort: list[dict[str, Any]],
         after: list[Any] | None = None, **options: Any) -> Iterator[dict[str, Any]]:
    """Every hit of ``query`` in ``sort`` order (past the sort values ``after``), page by page."""
    while True:
        page = search(index=index, query=query, sort=sort, size=PAGE, track_total_hits=False, search_after=after,
                      **MISSING_OK, **options)
        hits = page["hits"]["hits"]
        yield from hits
        if len(hits) < PAGE:
            return
        after = hits[-1]["sort"]


def composite(search: Search, index: str, query: dict[str, Any],
              sources: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every bucket of a ``composite`` aggregation over ``sources``, page by page."""
    after: dict[str, Any] | None = None
    while True:
        request: dict[str, Any] = {"size": PAGE, "sources": sources}
        if after:
            request["after"] = after
        response = search(index=index, query=query, size=0, aggs={"rows": {"composite": request}}, **MISSING_OK)
        if "aggregations" not in response:  # no index yet
            return
        result = response["aggregations"]["rows"]
        yield from result["buckets"]
        after = result.get("after_key")
        if not after or not result["buckets"]:
            return
