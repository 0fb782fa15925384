"""What streams need beyond storing posts, on Elasticsearch: posts revised downwards, the records they took back.

As on SQLite (:mod:`monitor.store.sqlite_stream`): ``revise_mentions`` rewrites a stored post's
engagement (it may go down) and its deletion mark in the post's month index; the stream records
that pointed at stored posts live in ``PREFIX-records`` (one document per brand and hashed key),
read by a real-time multi-get and pruned by age.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from monitor.models import Mention
from monitor.store.base import StreamRecord
from monitor.errors import StoreError
from monitor.store.elastic_client import Elasticsearch, TransportError, helpers
from monitor.store.elastic_mapping import epoch_seconds, mention_doc_id
from monitor.store.elastic_queries import epoch_range

_CHUNK = 1000


class ElasticStream:
    """Revisions and stream records for :class:`~monitor.store.elastic.ElasticsearchStore`."""

    es: Elasticsearch
    _index: Callable[[str], str]
    _ensure: Callable[[str], str]
    _retrying: Callable[..., Any]
    month_index: Callable[[datetime], str]

    def revise_mentions(self, mentions: Sequence[Mention]) -> None:
        if mentions:
            self._retrying(self._revise, "revise mentions", mentions)

    def _revise(self, mentions: Sequence[Mention]) -> None:
        actions = []
        for m in mentions:
            likes, shares, replies = m.engagement.likes, m.engagement.shares, m.engagement.replies
            actions.append({"_op_type": "update", "_index": self.month_index(m.created_at),
                            "_id": mention_doc_id(m.brand, m.id), "retry_on_conflict": 5,
                            "doc": {"likes": likes, "shares": shares, "replies": replies,
                                    "interactions": likes + shares + replies, "mention": m.model_dump_json()}})
        _bulk(self.es, actions, refresh="wait_for")  # a mention not stored (or pruned meanwhile) is left alone

    def stream_records(self, brand: str, keys: Sequence[str]) -> dict[str, StreamRecord]:
        found: dict[str, StreamRecord] = {}
        index = self._ensure("records")
        for start in range(0, len(keys), _CHUNK):
            ids = [mention_doc_id(brand, key) for key in keys[start:start + _CHUNK]]
            docs = self._retrying(self.es.mget, "read stream records", index=index, ids=ids)["docs"]
            for doc in docs:
                if doc.get("found"):
                    src = doc["_source"]
                    found[src["key"]] = StreamRecord(key=src["key"], mention_id=src["mention_id"], kind=src["kind"],
                                                     at=datetime.fromtimestamp(src["at"], tz=timezone.utc))
        return found

    def keep_stream_records(self, brand: str, kept: Sequence[StreamRecord], forgotten: Sequence[str],
                            before: datetime | None = None) -> None:
        index = self._ensure("records")
        actions: list[dict[str, Any]] = [
            {"_op_type": "index", "_index": index, "_id": mention_doc_id(brand, r.key),
             "_source": {"brand": brand, "key": r.key, "mention_id": r.mention_id, "kind": r.kind,
                         "at": epoch_seconds(r.at)}} for r in kept]
        actions += [{"_op_type": "delete", "_index": index, "_id": mention_doc_id(brand, key)} for key in forgotten]
        if actions:
            self._retrying(_bulk, "keep stream records", self.es, actions)
        if before is not None:
            self._retrying(self._forget_before, "forget old stream records", index, brand, before)

    def _forget_before(self, index: str, brand: str, before: datetime) -> None:
        """Delete the brand's records older than ``before``, a page of ids at a time."""
        self.es.indices.refresh(index=index)
        query = {"bool": {"filter": [{"term": {"brand": brand}}, epoch_range("at", lt=before)]}}
        while True:
            hits = self.es.search(index=index, query=query, size=_CHUNK, source=False)["hits"]["hits"]
            if not hits:
                return
            _bulk(self.es, [{"_op_type": "delete", "_index": index, "_id": h["_id"]} for h in hits], refresh=True)

def _bulk(es: Elasticsearch, actions: list[dict[str, Any]], **options: Any) -> None:
    """Write ``actions``; one about a document that is not there (404) is no error."""
    for ok, item in helpers.streaming_bulk(es, actions, max_retries=8, raise_on_error=False,
                                           raise_on_exception=True, **options):
        result = next(iter(item.values()))
        status = result.get("status", 0)
        if not ok and (status == 429 or status >= 500):
            raise TransportError(f"bulk item failed with {status}", errors=())
        if not ok and status != 404:
            raise StoreError(f"Elasticsearch refused {result.get('_id')}: {result.get('error')}")
