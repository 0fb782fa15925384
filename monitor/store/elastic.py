"""The Elasticsearch store: for teams with many brands and years of mentions.

Layout (``P`` is ``storage.index_prefix``):

* ``P-mentions-YYYY.MM``: one index per calendar month of ``created_at`` (UTC), all behind the
  read alias ``P-mentions``; the index template ``P-mentions`` gives every month the same explicit
  mapping, and this code creates the month's index before writing to it, so dropping an old month
  is one index deletion (:meth:`ElasticsearchStore.drop_mentions_before`).
* ``P-cursors``, ``P-incidents``, ``P-notifications``, ``P-runs``: small plain indices.
* ``P-rejected``: documents Elasticsearch refused (mapping conflict, ...), with the reason.

Only core Elasticsearch features are used (the standard analyzer, ``composite`` aggregations with
``date_histogram`` and ``terms`` sources, plain indices and aliases), so the store works on the bare
test distribution as well as on a full cluster.

Behaviour matches :class:`~monitor.store.sqlite.SqliteStore` (the contract suite checks both):

* Mention documents have the deterministic id ``sha1(brand, id)`` and are written with the
  ``create`` operation, so re-sending a batch never duplicates a mention.
* Engagement only grows: when any counter of a re-collected mention is higher than the stored one,
  all three are replaced, as in SQLite; the update is guarded with ``if_seq_no`` so concurrent
  writers cannot lower it.
* Times are stored, filtered and bucketed in whole epoch seconds, like SQLite.
* Full-text search matches every word of the query (case- and accent-insensitive): words are
  folded in Python (NFKD, combining marks dropped, case-folded) on both sides and analyzed with
  the standard analyzer (Unicode word segmentation, fit for most languages).

Elasticsearch has no multi-document transactions, so ``add_mentions`` is ordered to be crash-safe
rather than atomic: the batch is serialised first (a bad mention raises before anything is
written), the mentions are written and refreshed, and only then is the cursor saved. A crash or an
outage in between leaves the cursor behind the stored mentions: the collector fetches the same
items again, and the idempotent ids turn the re-ingest into no-ops. Nothing is lost, nothing is
duplicated. Transport failures (connection refused while the server restarts, 5xx, 429 after the
bulk helper's own retries) are retried with backoff for ``storage.retry_for`` seconds before the
call fails with :class:`~monitor.errors.StoreError` (and the cursor stays where it was).

A document Elasticsearch rejects for good (400: mapping conflict, malformed value) does not block
its batch: it is logged with its mention id, recorded in ``P-rejected``, and listed in
:attr:`ElasticsearchStore.last_rejected`; the rest of the batch and the cursor are saved.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator, Sequence

from monitor.errors import StoreError
from monitor.models import Incident, IncidentState, Mention, Silence
from monitor.store.base import (
    GROUP_FIELDS,
    CursorUpdate,
    JobRun,
    MentionFilter,
    Notification,
    NotificationStatus,
    SeriesRow,
)

try:  # the client is a dependency, but keep the import error readable
    from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers
    from elasticsearch import ConnectionError as EsConnectionError
except ImportError as exc:  # pragma: no cover
    raise StoreError(f"the elasticsearch client is not installed: {exc}") from exc

log = logging.getLogger(__name__)

_ACTIVE = [s.value for s in IncidentState if s.is_active]
_PAGE = 1000
_WINDOW = 10_000  # index.max_result_window: deeper pages go through search_after

_MISSING_OK: dict[str, Any] = {"ignore_unavailable": True, "allow_no_indices": True}
_KEYWORD = {"type": "keyword"}
_EPOCH = {"type": "date", "format": "epoch_second"}
_OPAQUE = {"type": "object", "enabled": False}

MENTION_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "brand": _KEYWORD,
        "mention_id": _KEYWORD,
        "source": _KEYWORD,
        "language": _KEYWORD,
        "sentiment": _KEYWORD,
        "ts": _EPOCH,
        "seq": {"type": "long"},
        "likes": {"type": "long"},
        "shares": {"type": "long"},
        "replies": {"type": "long"},
        # Title and text, folded (see fold()) and analyzed with the standard analyzer.
        "text": {"type": "text", "analyzer": "standard", "norms": False},
        # The mention as pydantic's JSON: kept in _source only (neither indexed nor aggregatable).
        "mention": {"type": "keyword", "index": False, "doc_values": False},
    },
}

_SMALL_MAPPINGS: dict[str, dict[str, Any]] = {
    "cursors": {"brand": _KEYWORD, "source": _KEYWORD, "value": {"type": "keyword", "index": False},
                "updated_at": _EPOCH},
    "incidents": {"id": _KEYWORD, "fingerprint": _KEYWORD, "brand": _KEYWORD, "state": _KEYWORD, "opened_at": _EPOCH,
                  "data": _OPAQUE},
    "notifications": {"key": _KEYWORD, "incident_id": _KEYWORD, "status": _KEYWORD, "due_at": _EPOCH,
                      "seq": {"type": "long"}, "data": _OPAQUE},
    "silences": {"id": _KEYWORD, "brand": _KEYWORD, "starts_at": _EPOCH, "ends_at": _EPOCH, "data": _OPAQUE},
    "runs": {"job": _KEYWORD, "started_at": _EPOCH, "seq": {"type": "long"}, "data": _OPAQUE},
    "rejected": {"doc_id": _KEYWORD, "brand": _KEYWORD, "mention_id": _KEYWORD, "index": _KEYWORD,
                 "reason": {"type": "text"}, "at": _EPOCH, "mention": {"type": "keyword", "index": False, "doc_values": False}},
}


def fold(text: str) -> str:
    """Lower-case ``text`` and strip accents (``Kraków`` -> ``krakow``), keeping only words."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"\w+", stripped, re.UNICODE))


def mention_doc_id(brand: str, mention_id: str) -> str:
    return hashlib.sha1(f"{brand}\x1f{mention_id}".encode()).hexdigest()


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _range(field: str, **bounds: datetime) -> dict[str, Any]:
    """A range filter in whole epoch seconds (a bare number would be read as milliseconds)."""
    return {"range": {field: {"format": "epoch_second", **{k: str(_ts(v)) for k, v in bounds.items()}}}}


class _Sequence:
    """Increasing numbers across threads (and, being clock-based, across processes)."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            return self._last


_SEQ = _Sequence()


def _grows(current: tuple[int, int, int], new: tuple[int, int, int]) -> bool:
    """SQLite's rule: replace the counters when any of the new ones is higher."""
    return any(c < n for c, n in zip(current, new))


def _transient(exc: BaseException) -> bool:
    """Worth retrying: no connection, a timeout, 429 or a 5xx (the server restarting or busy)."""
    if isinstance(exc, ApiError):
        return exc.meta.status == 429 or exc.meta.status >= 500
    return isinstance(exc, (EsConnectionError, TransportError))


class ElasticsearchStore:
    """:class:`~monitor.store.base.Store` on Elasticsearch 8.x (core features only)."""

    def __init__(
        self,
        url: str = "http://127.0.0.1:9200",
        *,
        index_prefix: str = "monitor",
        api_key: str | None = None,
        verify_certs: bool = True,
        ca_certs: str | None = None,
        request_timeout: float = 30.0,
        retry_for: float = 120.0,
        chunk_size: int = 1000,
        client: Elasticsearch | None = None,
    ):
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", index_prefix):
            raise StoreError(f"index prefix {index_prefix!r} must be lower-case letters, digits, '-', '_' or '.'")
        self.url = url
        self.prefix = index_prefix
        self.retry_for = retry_for
        self.chunk_size = chunk_size
        self.last_rejected: list[tuple[str, str]] = []
        options: dict[str, Any] = {
            "request_timeout": request_timeout,
            "retry_on_timeout": True,
            "max_retries": 3,
        }
        if api_key:
            options["api_key"] = api_key
        if url.startswith("https"):
            options["verify_certs"] = verify_certs
            if ca_certs:
                options["ca_certs"] = ca_certs
        self.es = client or Elasticsearch(url, **options)
        self._known_indices: set[str] = set()
        self._retrying(self._setup, "prepare indices")

    @classmethod
    def from_config(cls, storage: Any) -> ElasticsearchStore:
        api_key = None
        env = getattr(storage, "api_key_env", None)
        if env:
            api_key = os.environ.get(env) or None
        url = storage.url or "http://127.0.0.1:9200"
        ca = getattr(storage, "ca_certs", None)
        return cls(
            url,
            index_prefix=storage.index_prefix,
            api_key=api_key,
            verify_certs=getattr(storage, "verify_certs", True),
            ca_certs=str(ca) if ca else None,
            request_timeout=getattr(storage, "request_timeout", 30.0),
            retry_for=getattr(storage, "retry_for", 120.0),
        )

    # -- names and setup ---------------------------------------------------------------------

    @property
    def mentions_alias(self) -> str:
        return f"{self.prefix}-mentions"

    def _index(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    def month_index(self, moment: datetime) -> str:
        moment = moment.astimezone(timezone.utc)
        return f"{self.prefix}-mentions-{moment:%Y.%m}"

    def _setup(self) -> None:
        try:
            self.es.indices.put_index_template(
                name=self.mentions_alias,
                index_patterns=[f"{self.prefix}-mentions-*"],
                priority=200,
                template={
                    "settings": {"number_of_shards": 1, "auto_expand_replicas": "0-1"},
                    "mappings": MENTION_MAPPING,
                    "aliases": {self.mentions_alias: {}},
                },
            )
        except ApiError as exc:
            if _transient(exc):
                raise
            raise StoreError(f"cannot prepare Elasticsearch indices at {self.url}: {exc}") from exc

    def _create_index(self, name: str, settings: dict[str, Any] | None = None,
                      mappings: dict[str, Any] | None = None) -> None:
        if name in self._known_indices:
            return
        try:
            self.es.indices.create(index=name, settings=settings, mappings=mappings)
        except ApiError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
        self._known_indices.add(name)

    def _ensure(self, kind: str) -> str:
        """Create the small index ``kind`` on first write (reads of a missing one find nothing)."""
        name = self._index(kind)
        if name not in self._known_indices:
            self._retrying(self._create_index, f"create {name}", name,
                           {"number_of_shards": 1, "auto_expand_replicas": "0-1"},
                           {"dynamic": "strict", "properties": _SMALL_MAPPINGS[kind]})
        return name

    def _ensure_month(self, name: str) -> None:
        # Settings, mappings and the alias come from the index template.
        self._create_index(name)

    def mention_indices(self) -> list[str]:
        """The monthly mention indices, oldest first."""
        found = self.es.indices.get_alias(name=self.mentions_alias, ignore_unavailable=True)
        return sorted(found.body if hasattr(found, "body") else found)

    def drop_mentions_before(self, cutoff: datetime) -> list[str]:
        """Delete every monthly index whose whole month lies before ``cutoff``; returns their names."""
        keep_from = self.month_index(cutoff)
        dropped = [name for name in self.mention_indices() if name < keep_from]
        for name in dropped:
            self.es.indices.delete(index=name)
            self._known_indices.discard(name)
        return dropped

    # -- retries -----------------------------------------------------------------------------

    def _retrying(self, call: Any, what: str, *args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + self.retry_for
        delay = 0.5
        while True:
            try:
                return call(*args, **kwargs)
            except StoreError:
                raise
            except Exception as exc:
                if not _transient(exc):
                    if isinstance(exc, ApiError):
                        raise StoreError(f"Elasticsearch refused to {what}: {exc}") from exc
                    raise
                if time.monotonic() + delay > deadline:
                    raise StoreError(f"Elasticsearch at {self.url} unavailable; could not {what}: {exc}") from exc
                log.warning("Elasticsearch unavailable (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    # -- mentions ----------------------------------------------------------------------------

    def _document(self, mention: Mention, seq: int, raw: str | None = None) -> dict[str, Any]:
        text = f"{mention.title}\n{mention.text}" if mention.title else mention.text
        return {
            "brand": mention.brand,
            "mention_id": mention.id,
            "source": mention.source,
            "language": mention.language,
            "sentiment": mention.sentiment.label if mention.sentiment else None,
            "ts": _ts(mention.created_at),
            "seq": seq,
            "likes": mention.engagement.likes,
            "shares": mention.engagement.shares,
            "replies": mention.engagement.replies,
            "text": fold(text),
            "mention": raw if raw is not None else mention.model_dump_json(),
        }

    def add_mentions(self, mentions: Sequence[Mention], cursor: CursorUpdate | None = None) -> int:
        # Serialise everything before the first write: a bad mention leaves no trace.
        batch: dict[str, tuple[str, dict[str, Any]]] = {}
        final: dict[str, tuple[int, int, int]] = {}
        for mention in mentions:
            doc_id = mention_doc_id(mention.brand, mention.id)
            raw = mention.model_dump_json()
            counters = (mention.engagement.likes, mention.engagement.shares, mention.engagement.replies)
            if doc_id not in batch:
                batch[doc_id] = (self.month_index(mention.created_at), self._document(mention, _SEQ.next(), raw))
                final[doc_id] = counters
            elif _grows(final[doc_id], counters):
                final[doc_id] = counters
        for doc_id, (_, doc) in batch.items():
            doc["likes"], doc["shares"], doc["replies"] = final[doc_id]
        self.last_rejected = []
        added = self._retrying(self._ingest, "store mentions", batch, final) if batch else 0
        if cursor is not None:
            self._retrying(
                self.es.index, "save the cursor",
                index=self._ensure("cursors"), id=mention_doc_id(cursor.brand, cursor.source),
                document={"brand": cursor.brand, "source": cursor.source, "value": cursor.value,
                          "updated_at": _ts(datetime.now(timezone.utc))},
            )  # no refresh needed: get_cursor is a real-time GET
        return added

    def _ingest(self, batch: dict[str, tuple[str, dict[str, Any]]], final: dict[str, tuple[int, int, int]]) -> int:
        """Write ``batch`` until every document is created, refreshed, unchanged or rejected.

        Re-entrant: after a transport failure :meth:`_retrying` calls it again with the same batch,
        and documents created by the failed attempt come back as conflicts, then as unchanged.
        """
        pending = dict(batch)
        added = 0
        touched: set[str] = set()
        for _ in range(10):
            if not pending:
                break
            for index in {index for index, _ in pending.values()}:
                self._ensure_month(index)
            stored = self._lookup(pending)
            actions: list[dict[str, Any]] = []
            for doc_id, (index, doc) in pending.items():
                if doc_id not in stored:
                    actions.append({"_op_type": "create", "_index": index, "_id": doc_id, "_source": doc})
                    continue
                where, counters, seq_no, term = stored[doc_id]
                if _grows(counters, final[doc_id]):
                    likes, shares, replies = final[doc_id]
                    actions.append({
                        "_op_type": "update", "_index": where, "_id": doc_id, "if_seq_no": seq_no,
                        "if_primary_term": term, "doc": {"likes": likes, "shares": shares, "replies": replies},
                    })
            done = set(pending) - {a["_id"] for a in actions}
            retry: set[str] = set()
            for ok, item in helpers.streaming_bulk(
                self.es, actions, chunk_size=self.chunk_size, max_retries=8, initial_backoff=0.5,
                max_backoff=10, raise_on_error=False, raise_on_exception=True,
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
                    self._reject(doc_id, pending[doc_id], result.get("error"))
                    done.add(doc_id)
            pending = {k: v for k, v in pending.items() if k not in done or k in retry}
        if pending:
            raise StoreError(f"{len(pending)} mentions kept conflicting with concurrent writers")
        if touched:
            self.es.indices.refresh(index=",".join(sorted(i for i in touched if i)), ignore_unavailable=True)
        return added

    def _lookup(self, pending: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, tuple[str, tuple[int, int, int], int, int]]:
        """Stored copies of ``pending``: ``{doc id: (index, counters, seq_no, primary_term)}``."""
        found: dict[str, tuple[str, tuple[int, int, int], int, int]] = {}
        docs = [{"_index": index, "_id": doc_id} for doc_id, (index, _) in pending.items()]
        for start in range(0, len(docs), _PAGE):
            response = self.es.mget(docs=docs[start:start + _PAGE], source_includes=["likes", "shares", "replies"],
                                    realtime=True)
            for hit in response["docs"]:
                if hit.get("found"):
                    src = hit["_source"]
                    found[hit["_id"]] = (hit["_index"], (src["likes"], src["shares"], src["replies"]),
                                         hit["_seq_no"], hit["_primary_term"])
        # A mention collected again with another created_at lives in another month's index.
        missing = [doc_id for doc_id in pending if doc_id not in found]
        for start in range(0, len(missing), _PAGE):
            chunk = missing[start:start + _PAGE]
            response = self.es.search(
                index=self.mentions_alias, query={"ids": {"values": chunk}}, size=len(chunk),
                source_includes=["likes", "shares", "replies"], seq_no_primary_term=True,
            )
            for hit in response["hits"]["hits"]:
                src = hit["_source"]
                found[hit["_id"]] = (hit["_index"], (src["likes"], src["shares"], src["replies"]),
                                     hit["_seq_no"], hit["_primary_term"])
        return found

    def _reject(self, doc_id: str, entry: tuple[str, dict[str, Any]], error: Any) -> None:
        index, doc = entry
        reason = error.get("reason", str(error)) if isinstance(error, dict) else str(error)
        if isinstance(error, dict) and error.get("caused_by"):
            reason = f"{reason} ({error['caused_by'].get('reason', '')})"
        mention_id = doc.get("mention_id", doc_id)
        log.error("Elasticsearch rejected mention %s of %s: %s", mention_id, doc.get("brand"), reason)
        self.last_rejected.append((mention_id, reason))
        try:
            self.es.index(
                index=self._ensure("rejected"), id=doc_id,
                document={"doc_id": doc_id, "brand": doc.get("brand"), "mention_id": mention_id, "index": index,
                          "reason": reason, "at": _ts(datetime.now(timezone.utc)), "mention": doc.get("mention")},
            )
        except ApiError as exc:  # the log line above is the report of last resort
            log.error("could not record the rejection of %s: %s", mention_id, exc)

    def rejected(self) -> list[dict[str, Any]]:
        """Mentions Elasticsearch refused, newest first: mention id, brand, reason."""
        self.es.indices.refresh(index=self._index("rejected"), ignore_unavailable=True)
        hits = self.es.search(index=self._index("rejected"), size=_PAGE, sort=[{"at": "desc"}], **_MISSING_OK,
                              source_excludes=["mention"])["hits"]["hits"]
        return [h["_source"] for h in hits]

    def get_cursor(self, brand: str, source: str) -> str | None:
        try:
            found = self._retrying(self.es.get, "read a cursor", index=self._index("cursors"),
                                   id=mention_doc_id(brand, source))
        except StoreError as exc:
            if isinstance(exc.__cause__, NotFoundError):
                return None
            raise
        return found["_source"]["value"]

    def _query(self, query: MentionFilter) -> dict[str, Any]:
        filters: list[dict[str, Any]] = []
        for field, values in (
            ("brand", query.brands), ("source", query.sources), ("language", query.languages),
            ("sentiment", query.sentiments), ("mention_id", query.ids),
        ):
            if values:
                filters.append({"terms": {field: list(values)}})
        if query.since or query.until:
            bounds: dict[str, datetime] = {}
            if query.since:
                bounds["gte"] = query.since
            if query.until:
                bounds["lt"] = query.until
            filters.append(_range("ts", **bounds))
        must: list[dict[str, Any]] = []
        if query.text and fold(query.text):
            must.append({"match": {"text": {"query": fold(query.text), "operator": "and"}}})
        return {"bool": {"filter": filters, "must": must}}

    def _hydrate(self, source: dict[str, Any]) -> Mention:
        mention = Mention.model_validate_json(source["mention"])
        mention.engagement.likes = source["likes"]
        mention.engagement.shares = source["shares"]
        mention.engagement.replies = source["replies"]
        return mention

    def _sorted_hits(self, index: str, query: dict[str, Any], sort: list[dict[str, Any]], offset: int,
                     limit: int, **options: Any) -> list[dict[str, Any]]:
        """Hits ``offset .. offset + limit`` in ``sort`` order, past ``max_result_window`` too."""
        if offset + limit <= _WINDOW:
            response = self._retrying(self.es.search, "search", index=index, query=query, sort=sort,
                                      from_=offset, size=limit, track_total_hits=False, **_MISSING_OK, **options)
            return response["hits"]["hits"]
        hits: list[dict[str, Any]] = []
        after: list[Any] | None = None
        skip = offset
        while len(hits) < limit:
            page = self._retrying(self.es.search, "search", index=index, query=query, sort=sort,
                                  size=_WINDOW, track_total_hits=False, search_after=after, **_MISSING_OK,
                                  **options)
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

    def search(self, query: MentionFilter) -> list[Mention]:
        if query.limit <= 0:
            return []
        order = "desc" if query.newest_first else "asc"
        hits = self._sorted_hits(self.mentions_alias, self._query(query),
                                 [{"ts": order}, {"seq": order}], query.offset, query.limit,
                                 source_excludes=["text"])
        return [self._hydrate(h["_source"]) for h in hits]

    def count(self, query: MentionFilter) -> int:
        return self._retrying(self.es.count, "count mentions", index=self.mentions_alias,
                              query=self._query(query), **_MISSING_OK)["count"]

    def _composite(self, index: str, query: dict[str, Any], sources: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {"size": _PAGE, "sources": sources}
            if after:
                composite["after"] = after
            response = self._retrying(self.es.search, "aggregate", index=index, query=query, size=0,
                                      aggs={"rows": {"composite": composite}}, **_MISSING_OK)
            if "aggregations" not in response:  # no index yet
                return
            result = response["aggregations"]["rows"]
            yield from result["buckets"]
            after = result.get("after_key")
            if not after or not result["buckets"]:
                return

    def series(
        self,
        brand: str,
        start: datetime,
        end: datetime,
        bucket: timedelta,
        group_by: Sequence[str] = (),
    ) -> list[SeriesRow]:
        unknown = [g for g in group_by if g not in GROUP_FIELDS]
        if unknown:
            raise StoreError(f"cannot group series by {unknown[0]!r} (choose from {', '.join(GROUP_FIELDS)})")
        size = int(bucket.total_seconds())
        query = {"bool": {"filter": [
            {"term": {"brand": brand}}, _range("ts", gte=start, lt=end),
        ]}}
        sources: list[dict[str, Any]] = [
            {"bucket": {"date_histogram": {"field": "ts", "fixed_interval": f"{size}s"}}}
        ]
        sources += [{g: {"terms": {"field": g, "missing_bucket": True}}} for g in group_by]
        rows = [
            SeriesRow(
                bucket=datetime.fromtimestamp(b["key"]["bucket"] // 1000, tz=timezone.utc),
                group={g: b["key"][g] if b["key"][g] is not None else "unknown" for g in group_by},
                count=b["doc_count"],
            )
            for b in self._composite(self.mentions_alias, query, sources)
        ]
        # As SQLite returns them: by bucket, then by group values ("unknown" sorted as a word).
        rows.sort(key=lambda r: (r.bucket, *(r.group[g] for g in group_by)))
        return rows

    def brands(self) -> list[str]:
        buckets = self._composite(self.mentions_alias, {"match_all": {}},
                                  [{"brand": {"terms": {"field": "brand"}}}])
        return [b["key"]["brand"] for b in buckets]

    # -- incidents and notifications -------------------------------------------------------------

    def _incident_doc(self, incident: Incident) -> dict[str, Any]:
        return {"id": incident.id, "fingerprint": incident.fingerprint, "brand": incident.brand, "state": incident.state.value,
                "opened_at": _ts(incident.opened_at), "data": incident.model_dump(mode="json")}

    def _notification_doc(self, notification: Notification, seq: int) -> dict[str, Any]:
        due = notification.not_before or notification.created_at
        return {"key": notification.key, "incident_id": notification.incident_id,
                "status": notification.status.value, "due_at": _ts(due), "seq": seq,
                "data": notification.model_dump(mode="json")}

    def save_incident(self, incident: Incident, notifications: Sequence[Notification] = ()) -> None:
        """Queue ``notifications`` and save ``incident`` in one bulk request.

        Not a transaction: the notifications come first, so after a crash between the two the next
        detection run saves the incident again (same id) and its queue entries are already there
        (enqueueing is idempotent by key); delivery retries a notification whose incident is
        missing later, never loses it.
        """
        actions: list[dict[str, Any]] = [
            {"_op_type": "create", "_index": self._ensure("notifications"), "_id": n.key,
             "_source": self._notification_doc(n, _SEQ.next())}
            for n in notifications
        ]
        actions.append({"_op_type": "index", "_index": self._ensure("incidents"), "_id": incident.id,
                        "_source": self._incident_doc(incident)})
        self._retrying(self._bulk_small, "save an incident", actions)

    def _bulk_small(self, actions: list[dict[str, Any]]) -> list[bool]:
        """Bulk-write ``actions`` with refresh; returns per action whether it was created/written.

        A create conflict (409) is ``False``; any other item error raises.
        """
        outcome: list[bool] = []
        for ok, item in helpers.streaming_bulk(self.es, actions, refresh=True, max_retries=8, initial_backoff=0.5,
                                               raise_on_error=False, raise_on_exception=True):
            _, result = next(iter(item.items()))
            if ok:
                outcome.append(True)
            elif result.get("status") == 409:
                outcome.append(False)
            elif result.get("status", 0) == 429 or result.get("status", 0) >= 500:
                raise TransportError(f"bulk item failed with {result.get('status')}", errors=())
            else:
                raise StoreError(f"Elasticsearch refused {result.get('_id')}: {result.get('error')}")
        return outcome

    def get_incident(self, incident_id: str) -> Incident | None:
        try:
            found = self._retrying(self.es.get, "read an incident", index=self._index("incidents"), id=incident_id)
        except StoreError as exc:
            if isinstance(exc.__cause__, NotFoundError):
                return None
            raise
        return Incident.model_validate(found["_source"]["data"])

    def _incident_hits(self, filters: list[dict[str, Any]], size: int | None = None) -> list[Incident]:
        """Incidents matching ``filters``, newest opened first (the id breaks ties)."""
        query = {"bool": {"filter": filters}}
        sort = [{"opened_at": "desc"}, {"id": "asc"}]
        if size is not None:
            hits: Iterable[dict[str, Any]] = self._sorted_hits(self._index("incidents"), query, sort, 0, size)
        else:
            hits = self._scan(self._index("incidents"), query, sort)
        return [Incident.model_validate(h["_source"]["data"]) for h in hits]

    def _scan(self, index: str, query: dict[str, Any], sort: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Every hit of ``query`` in ``sort`` order, page by page (``search_after``)."""
        after: list[Any] | None = None
        while True:
            page = self._retrying(self.es.search, "search", index=index, query=query, sort=sort, size=_PAGE,
                                  track_total_hits=False, search_after=after, **_MISSING_OK)
            hits = page["hits"]["hits"]
            yield from hits
            if len(hits) < _PAGE:
                return
            after = hits[-1]["sort"]

    def active_incident(self, fingerprint: str) -> Incident | None:
        found = self._incident_hits([{"term": {"fingerprint": fingerprint}}, {"terms": {"state": _ACTIVE}}], 1)
        return found[0] if found else None

    def latest_incident(self, fingerprint: str) -> Incident | None:
        found = self._incident_hits([{"term": {"fingerprint": fingerprint}}], 1)
        return found[0] if found else None

    def incidents(self, brand: str | None = None, since: datetime | None = None) -> list[Incident]:
        filters: list[dict[str, Any]] = []
        if brand:
            filters.append({"term": {"brand": brand}})
        if since:
            filters.append(_range("opened_at", gte=since))
        return self._incident_hits(filters)

    def enqueue(self, notification: Notification) -> bool:
        action = {"_op_type": "create", "_index": self._ensure("notifications"), "_id": notification.key,
                  "_source": self._notification_doc(notification, _SEQ.next())}
        return self._retrying(self._bulk_small, "queue a notification", [action])[0]

    def due_notifications(self, now: datetime, limit: int = 100) -> list[Notification]:
        query = {"bool": {"filter": [{"term": {"status": NotificationStatus.PENDING.value}},
                                     _range("due_at", lte=now)]}}
        hits = self._sorted_hits(self._index("notifications"), query, [{"seq": "asc"}], 0, limit)
        return [Notification.model_validate(h["_source"]["data"]) for h in hits]

    def update_notification(self, notification: Notification) -> None:
        due = notification.not_before or notification.created_at
        try:
            self._retrying(
                self.es.update, "update a notification", index=self._index("notifications"), id=notification.key,
                doc={"status": notification.status.value, "due_at": _ts(due),
                     "data": notification.model_dump(mode="json")},
                refresh=True, retry_on_conflict=3,
            )
        except StoreError as exc:
            if not isinstance(exc.__cause__, NotFoundError):
                raise

    def notifications(self, incident_id: str | None = None) -> list[Notification]:
        query: dict[str, Any] = {"term": {"incident_id": incident_id}} if incident_id else {"match_all": {}}
        hits = self._scan(self._index("notifications"), query, [{"seq": "asc"}])
        return [Notification.model_validate(h["_source"]["data"]) for h in hits]

    # -- silences ----------------------------------------------------------------------------

    def add_silence(self, silence: Silence) -> None:
        self._retrying(
            self.es.index, "save a silence", index=self._ensure("silences"), id=silence.id,
            document={"id": silence.id, "brand": silence.brand, "starts_at": _ts(silence.starts_at),
                      "ends_at": _ts(silence.ends_at), "data": silence.model_dump(mode="json")},
            refresh=True,
        )

    def silences(self, active_at: datetime | None = None) -> list[Silence]:
        filters: list[dict[str, Any]] = []
        if active_at is not None:
            filters = [_range("starts_at", lte=active_at), _range("ends_at", gt=active_at)]
        hits = self._scan(self._index("silences"), {"bool": {"filter": filters}},
                          [{"starts_at": "desc"}, {"id": "asc"}])
        return [Silence.model_validate(h["_source"]["data"]) for h in hits]

    # -- runs --------------------------------------------------------------------------------

    def record_run(self, run: JobRun, run_id: str | None = None) -> None:
        """Append ``run``; ``run_id`` (used by ``monitor store copy``) makes the write idempotent."""
        self._retrying(
            self.es.index, "record a run", index=self._ensure("runs"), id=run_id,
            document={"job": run.job, "started_at": _ts(run.started_at), "seq": _SEQ.next(),
                      "data": run.model_dump(mode="json")},
            refresh=True,
        )

    def runs(self, limit: int = 200) -> list[JobRun]:
        hits = self._sorted_hits(self._index("runs"), {"match_all": {}}, [{"seq": "desc"}], 0, limit)
        return [JobRun.model_validate(h["_source"]["data"]) for h in hits]

    # -- lifecycle ---------------------------------------------------------------------------

    def drop_all(self) -> None:
        """Delete every index named ``PREFIX-*`` and the template (tests and benchmarks; irreversible)."""
        self.es.indices.delete(index=f"{self.prefix}-*", ignore_unavailable=True, allow_no_indices=True,
                               expand_wildcards="all")
        try:
            self.es.indices.delete_index_template(name=self.mentions_alias)
        except NotFoundError:
            pass
        self._known_indices.clear()

    def close(self) -> None:
        self.es.close()

    def __enter__(self) -> ElasticsearchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

