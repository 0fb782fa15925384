"""Writing a batch of mentions to Elasticsearch: idempotent, crash-safe, rejections set aside.

* Mention documents have the deterministic id ``sha1(brand, id)`` and are written with the
  ``create`` operation, so re-sending a batch never duplicates a mention.
* Engagement only grows: when any counter of a re-collected mention is higher than the stored one,
  all three are replaced, as in SQLite; the update is guarded with ``if_seq_no`` so concurrent
  writers cannot lower it.
* A document Elasticsearch rejects for good (400: mapping conflict, malformed value) does not block
  its batch: it is logged with its mention id and recorded in ``P-rejected`` with the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from monitor.errors import StoreError
from monitor.models import Mention
from monitor.store.elastic_client import ApiError, Elasticsearch, TransportError, helpers
from monitor.store.elastic_mapping import SEQ, epoch_seconds, mention_doc_id

log = logging.getLogger(__name__)

Counters = tuple[int, int, int]
Entry = tuple[str, dict[str, Any]]  # (month index, document)
Stored = tuple[str, Counters, int, int]  # (index, counters, seq_no, primary_term)

_LOOKUP_CHUNK = 1000  # ids per mget / ids search
_ATTEMPTS = 10


def grows(current: Counters, new: Counters) -> bool:
    """SQLite's rule: replace the counters when any of the new ones is higher."""
    return any(c < n for c, n in zip(current, new))


def serialise(
    mentions: Iterable[Mention],
    document: Callable[[Mention, int, str], dict[str, Any]],
    month_index: Callable[[datetime], str],
) -> tuple[dict[str, Entry], dict[str, Counters]]:
    """``mentions`` as ``{doc id: (index, document)}`` and ``{doc id: counters}``, one per id.

    A mention repeated in the batch keeps its first document with the counters that won by
    :func:`grows`.
    """
    batch: dict[str, Entry] = {}
    final: dict[str, Counters] = {}
    for mention in mentions:
        doc_id = mention_doc_id(mention.brand, mention.id)
        raw = mention.model_dump_json()
        counters = (mention.engagement.likes, mention.engagement.shares, mention.engagement.replies)
        if doc_id not in batch:
            batch[doc_id] = (month_index(mention.created_at), document(mention, SEQ.next(), raw))
            final[doc_id] = counters
        elif grows(final[doc_id], counters):
            final[doc_id] = counters
    for doc_id, (_, doc) in batch.items():
        doc["likes"], doc["shares"], doc["replies"] = final[doc_id]
        doc["interactions"] = sum(final[doc_id])
    return batch, final


def ingest(
    es: Elasticsearch,
    batch: dict[str, Entry],
    final: dict[str, Counters],
    *,
    alias: str,
    chunk_size: int,
    chunk_bytes: int,
    create_index: Callable[[str], None],
    reject: Callable[[str, Entry, Any], None],
) -> int:
    """Write ``batch`` until every document is created, refreshed, unchanged or rejected.

    Returns how many were created. Re-entrant: after a transport failure the caller retries with
    the same batch, and documents created by the failed attempt come back as conflicts, then as
    unchanged.
    """
    pending = dict(batch)
    added = 0
    touched: set[str] = set()
    for _ in range(_ATTEMPTS):
        if not pending:
            break
        for index in {index for index, _ in pending.values()}:
            create_index(index)
        stored = lookup(es, alias, pending)
        actions: list[dict[str, Any]] = []
        for doc_id, (index, doc) in pending.items():
            if doc_id not in stored:
                actions.append({"_op_type": "create", "_index": index, "_id": doc_id, "_source": doc})
                continue
            where, counters, seq_no, term = stored[doc_id]
            if grows(counters, final[doc_id]):
                likes, shares, replies = final[doc_id]
                actions.append({
                    "_op_type": "update", "_index": where, "_id": doc_id, "if_seq_no": seq_no,
                    "if_primary_term": term,
                    "doc": {"likes": likes, "shares": shares, "replies": replies, "interactions": likes + shares + replies},
                })
        done = set(pending) - {a["_id"] for a in actions}
        retry: set[str] = set()
        for ok, item in helpers.streaming_bulk(
            es, actions, chunk_size=chunk_size, max_chunk_bytes=chunk_bytes, max_retries=8,
            initial_backoff=0.5, max_backoff=10, raise_on_error=False, raise_on_exception=True,
        ):
            op, result = next(iter(item.items()))
            doc_id = result.get("_id")
            status = result.get("status", 0)
            if ok:
                touched.add(result.get("_index", ""))
                done.add(doc_id)
                if op == "create":
                    added += 1
            elif status == 409:
                retry.add(doc_id)  # created or updated meanwhile: look again
            elif status == 429 or status >= 500:
                raise TransportError(f"bulk item {doc_id} failed with {status}", errors=())
            else:
                reject(doc_id, pending[doc_id], result.get("error"))
                done.add(doc_id)
        pending = {k: v for k, v in pending.items() if k not in done or k in retry}
    if pending:
        raise StoreError(f"{len(pending)} mentions kept conflicting with concurrent writers")
    if touched:
        es.indices.refresh(index=",".join(sorted(i for i in touched if i)), ignore_unavailable=True)
    return added


def lookup(es: Elasticsearch, alias: str, pending: dict[str, Entry]) -> dict[str, Stored]:
    """Stored copies of ``pending``: ``{doc id: (index, counters, seq_no, primary_term)}``."""
    found: dict[str, Stored] = {}
    docs = [{"_index": index, "_id": doc_id} for doc_id, (index, _) in pending.items()]
    for start in range(0, len(docs), _LOOKUP_CHUNK):
        response = es.mget(docs=docs[start:start + _LOOKUP_CHUNK], source_includes=["likes", "shares", "replies"],
                           realtime=True)
        for hit in response["docs"]:
            if hit.get("found"):
                found[hit["_id"]] = _stored(hit)
    # A mention collected again with another created_at lives in another month's index.
    missing = [doc_id for doc_id in pending if doc_id not in found]
    for start in range(0, len(missing), _LOOKUP_CHUNK):
        chunk = missing[start:start + _LOOKUP_CHUNK]
        response = es.search(
            index=alias, query={"ids": {"values": chunk}}, size=len(chunk),
            source_includes=["likes", "shares", "replies"], seq_no_primary_term=True,
        )
        for hit in response["hits"]["hits"]:
            found[hit["_id"]] = _stored(hit)
    return found


def _stored(hit: dict[str, Any]) -> Stored:
    src = hit["_source"]
    return hit["_index"], (src["likes"], src["shares"], src["replies"]), hit["_seq_no"], hit["_primary_term"]


def rejection_reason(error: Any) -> str:
    """A bulk item's error as one line: the reason, and its cause when there is one."""
    reason = error.get("reason", str(error)) if isinstance(error, dict) else str(error)
    if isinstance(error, dict) and error.get("caused_by"):
        reason = f"{reason} ({error['caused_by'].get('reason', '')})"
    return reason


def set_aside(
    es: Elasticsearch,
    doc_id: str,
    entry: Entry,
    error: Any,
    *,
    rejected_index: Callable[[], str],
    rejected: list[tuple[str, str]],
) -> None:
    """Log a rejected document, append ``(mention id, reason)`` to ``rejected`` and keep it there."""
    index, doc = entry
    reason = rejection_reason(error)
    mention_id = doc.get("mention_id", doc_id)
    log.error("Elasticsearch rejected mention %s of %s: %s", mention_id, doc.get("brand"), reason)
    rejected.append((mention_id, reason))
    try:
        es.index(
            index=rejected_index(), id=doc_id,
            document={"doc_id": doc_id, "brand": doc.get("brand"), "mention_id": mention_id, "index": index,
                      "reason": reason, "at": epoch_seconds(datetime.now(timezone.utc)),
                      "mention": doc.get("mention")},
        )
    except ApiError as exc:  # the log line above is the report of last resort
        log.error("could not record the rejection of %s: %s", mention_id, exc)
