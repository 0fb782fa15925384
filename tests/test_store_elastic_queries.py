"""Queries and paging of the Elasticsearch store, against a fake ``search`` (no server needed)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from monitor.errors import StoreError
from monitor.store import elastic_queries
from monitor.store.base import MentionFilter
from monitor.store.elastic_queries import (
    composite, epoch_range, mention_query, scan, series_request, series_rows, sorted_hits,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


class FakeIndex:
    """``search`` over hits already in sort order: ``from_``/``size`` and ``search_after`` paging."""

    def __init__(self, n: int):
        self.hits = [{"_id": str(i), "sort": [i]} for i in range(n)]
        self.calls: list[dict[str, Any]] = []

    def search(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        assert request["ignore_unavailable"] and request["allow_no_indices"]
        start = request.get("from_", 0)
        if request.get("search_after") is not None:
            start = request["search_after"][0] + 1
        return {"hits": {"hits": self.hits[start:start + request["size"]]}}


def ids(hits) -> list[int]:
    return [int(h["_id"]) for h in hits]


def test_ranges_are_whole_epoch_seconds():
    assert epoch_range("ts", gte=T0, lt=T0 + timedelta(seconds=1.9)) == {
        "range": {"ts": {"format": "epoch_second", "gte": str(int(T0.timestamp())),
                         "lt": str(int(T0.timestamp()) + 1)}}}


def test_an_empty_filter_matches_everything():
    assert mention_query(MentionFilter()) == {"bool": {"filter": [], "must": []}}
    assert mention_query(MentionFilter(text=" ?! ")) == {"bool": {"filter": [], "must": []}}


def test_every_field_of_a_filter_becomes_a_clause():
    query = mention_query(MentionFilter(brands=["Aurora Air"], sources=["rss"], languages=["pl"],
                                        sentiments=["negative"], ids=["rss:1"], since=T0, text="Kraków LOT"))
    filters, must = query["bool"]["filter"], query["bool"]["must"]
    assert {"terms": {"brand": ["Aurora Air"]}} in filters
    assert {"terms": {"mention_id": ["rss:1"]}} in filters
    assert {"terms": {"sentiment": ["negative"]}} in filters
    assert epoch_range("ts", gte=T0) in filters and len(filters) == 6
    assert must == [{"match": {"text": {"query": "krakow lot", "operator": "and"}}}]


def test_a_word_ending_in_a_star_becomes_a_prefix_clause():
    must = mention_query(MentionFilter(text="Kraków cancel* app-do*"))["bool"]["must"]
    assert must == [{"match": {"text": {"query": "krakow app", "operator": "and"}}},
                    {"prefix": {"text": "cancel"}}, {"prefix": {"text": "do"}}]


def test_series_request_buckets_by_fixed_interval_and_groups_missing_values():
    query, sources = series_request("Aurora Air", T0, T0 + timedelta(days=1), timedelta(minutes=15), ["sentiment"])
    assert query["bool"]["filter"][0] == {"term": {"brand": "Aurora Air"}}
    assert sources == [{"bucket": {"date_histogram": {"field": "ts", "fixed_interval": "900s"}}},
                       {"sentiment": {"terms": {"field": "sentiment", "missing_bucket": True}}}]
    with pytest.raises(StoreError, match="cannot group series by 'author'"):
        series_request("Aurora Air", T0, T0, timedelta(hours=1), ["author"])


def test_series_rows_are_sorted_with_unknown_groups_named():
    ms = int(T0.timestamp()) * 1000
    buckets = [
        {"key": {"bucket": ms + 3_600_000, "language": "en"}, "doc_count": 1},
        {"key": {"bucket": ms, "language": None}, "doc_count": 2},
        {"key": {"bucket": ms, "language": "en"}, "doc_count": 3},
    ]
    rows = series_rows(buckets, ["language"])
    assert [(r.bucket, r.group, r.count) for r in rows] == [
        (T0, {"language": "en"}, 3), (T0, {"language": "unknown"}, 2),
        (T0 + timedelta(hours=1), {"language": "en"}, 1)]


def test_sorted_hits_within_the_window_is_one_request():
    index = FakeIndex(50)
    assert ids(sorted_hits(index.search, "i", {}, [], 10, 5, source_excludes=["text"])) == [10, 11, 12, 13, 14]
    assert len(index.calls) == 1 and index.calls[0]["source_excludes"] == ["text"]


def test_sorted_hits_past_the_window_pages_with_search_after(monkeypatch):
    monkeypatch.setattr(elastic_queries, "WINDOW", 4)
    index = FakeIndex(20)
    assert ids(sorted_hits(index.search, "i", {}, [], 9, 6)) == [9, 10, 11, 12, 13, 14]
    assert all("from_" not in call for call in index.calls)
    assert ids(sorted_hits(index.search, "i", {}, [], 18, 6)) == [18, 19]  # runs out of hits
    assert sorted_hits(index.search, "i", {}, [], 30, 6) == []


def test_scan_reads_every_page(monkeypatch):
    monkeypatch.setattr(elastic_queries, "PAGE", 3)
    index = FakeIndex(7)
    assert ids(scan(index.search, "i", {}, [])) == list(range(7))
    assert len(index.calls) == 3
    index = FakeIndex(6)
    assert ids(scan(index.search, "i", {}, [])) == list(range(6))
    assert len(index.calls) == 3  # a full last page needs one more, empty, page


def test_composite_follows_after_keys_and_tolerates_a_missing_index():
    pages = [
        {"aggregations": {"rows": {"buckets": [{"key": {"brand": "a"}}], "after_key": {"brand": "a"}}}},
        {"aggregations": {"rows": {"buckets": [{"key": {"brand": "b"}}], "after_key": {"brand": "b"}}}},
        {"aggregations": {"rows": {"buckets": []}}},
    ]
    requests: list[dict[str, Any]] = []

    def search(**request: Any) -> dict[str, Any]:
        requests.append(request["aggs"]["rows"]["composite"])
        return pages[len(requests) - 1]

    buckets = list(composite(search, "i", {"match_all": {}}, [{"brand": {"terms": {"field": "brand"}}}]))
    assert [b["key"]["brand"] for b in buckets] == ["a", "b"]
    assert "after" not in requests[0] and requests[1]["after"] == {"brand": "a"}
    assert list(composite(lambda **_: {"hits": {"hits": []}}, "i", {}, [])) == []
