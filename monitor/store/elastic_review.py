"""What a comms manager reviews on Elasticsearch: a selection's totals, its authors, and sentiment corrections.

Totals and authors are aggregations over the indexed ``interactions``, ``reach``, ``followers`` and
``author`` fields. A correction rewrites the mention's ``sentiment`` and stored JSON with a partial
update (the counters, updated by re-collection, are other fields), then keeps the correction in
``P-corrections``; a failure between the two leaves the label changed and the correction unkept,
and repeating the correction completes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from monitor.models import Mention, Sentiment, SentimentCorrection, SentimentLabel
from monitor.store.base import AuthorTotals, MentionFilter, Totals
from monitor.store.elastic_client import Elasticsearch, bulk_small
from monitor.store.elastic_mapping import SEQ, mention_doc_id
from monitor.store.elastic_queries import MISSING_OK, mention_query, scan

_SHARD_SIZE = 10_000  # authors each monthly index reports before they are merged: exact for any real top list


class ElasticReview:
    """Totals, authors and corrections for :class:`~monitor.store.elastic.ElasticsearchStore`."""

    es: Elasticsearch
    mentions_alias: str
    _index: Callable[[str], str]
    _ensure: Callable[[str], str]
    _retrying: Callable[..., Any]
    _searcher: Callable[..., Any]

    def totals(self, query: MentionFilter) -> Totals:
        response = self._retrying(
            self.es.search, "add up mentions", index=self.mentions_alias, query=mention_query(query), size=0,
            track_total_hits=True, **MISSING_OK,
            aggs={"interactions": {"sum": {"field": "interactions"}}, "reach": {"sum": {"field": "reach"}}})
        sums = response.get("aggregations") or {}
        return Totals(mentions=response["hits"]["total"]["value"],
                      interactions=int(sums.get("interactions", {}).get("value") or 0),
                      reach=int(sums.get("reach", {}).get("value") or 0))

    def authors(self, query: MentionFilter) -> list[AuthorTotals]:
        if query.limit <= 0:
            return []
        terms = {"field": "author", "size": query.limit, "shard_size": max(_SHARD_SIZE, query.limit),
                 "order": [{"_count": "desc"}, {"interactions": "desc"}, {"_key": "asc"}]}
        response = self._retrying(
            self.es.search, "rank authors", index=self.mentions_alias, query=mention_query(query), size=0,
            **MISSING_OK, aggs={"authors": {"terms": terms, "aggs": {
                "interactions": {"sum": {"field": "interactions"}}, "followers": {"max": {"field": "followers"}}}}})
        buckets = (response.get("aggregations") or {}).get("authors", {}).get("buckets", [])
        return [AuthorTotals(author=b["key"], mentions=b["doc_count"], interactions=int(b["interactions"]["value"]),
                             followers=int(b["followers"]["value"] or 0)) for b in buckets]

    def correct_sentiment(self, brand: str, mention_id: str, label: SentimentLabel, by: str,
                          at: datetime) -> SentimentCorrection | None:
        doc_id = mention_doc_id(brand, mention_id)
        hits = self._retrying(self.es.search, "find a mention", index=self.mentions_alias,
                              query={"ids": {"values": [doc_id]}}, size=1, **MISSING_OK)["hits"]["hits"]
        if not hits:
            return None
        stored = hits[0]["_source"]
        mention = Mention.model_validate_json(stored["mention"])
        correction = SentimentCorrection(brand=brand, mention_id=mention_id, label=label,
                                         previous=stored.get("sentiment"), by=by, at=at, text=mention.full_text,
                                         language=mention.language)
        mention.sentiment = Sentiment.by_hand(label, by, mention.sentiment.model if mention.sentiment else "")
        self._retrying(self.es.update, "correct a sentiment", index=hits[0]["_index"], id=doc_id,
                       doc={"sentiment": label, "mention": mention.model_dump_json(),
                            "reach": mention.estimated_reach, "followers": mention.author.followers,
                            "author": mention.author_name or None}, refresh="wait_for",
                       retry_on_conflict=5)
        self._retrying(self.es.index, "keep a correction", index=self._ensure("corrections"), refresh="wait_for",
                       document={"brand": brand, "mention_id": mention_id, "seq": SEQ.next(),
                                 "data": correction.model_dump(mode="json")})
        return correction

    def keep_correction(self, correction: SentimentCorrection, key: str) -> None:
        self._retrying(bulk_small, "keep a correction", self.es, [
            {"_op_type": "create", "_index": self._ensure("corrections"), "_id": key,
             "_source": {"brand": correction.brand, "mention_id": correction.mention_id, "seq": SEQ.next(),
                         "data": correction.model_dump(mode="json")}}])

    def corrections(self, brand: str | None = None) -> list[SentimentCorrection]:
        query: dict[str, Any] = {"term": {"brand": brand}} if brand is not None else {"match_all": {}}
        hits = scan(self._searcher(), self._index("corrections"), query, [{"seq": "desc"}])
        return [SentimentCorrection.model_validate(h["_source"]["data"]) for h in hits]
