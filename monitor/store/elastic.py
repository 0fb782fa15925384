"""The Elasticsearch store: for teams with many brands and years of mentions.

Behaviour matches :class:`~monitor.store.sqlite.SqliteStore` (the contract suite checks both), using
core Elasticsearch features only (the standard analyzer, ``composite`` aggregations, plain indices
and aliases), so it works on the bare test distribution as well as on a full cluster. The parts:

* :mod:`~monitor.store.elastic_mapping`: index names, mappings and documents;
* :mod:`~monitor.store.elastic_client`: connecting, retries, small bulk writes;
* :mod:`~monitor.store.elastic_ingest`: writing a batch of mentions;
* :mod:`~monitor.store.elastic_queries`: filters, series and paging.

Elasticsearch has no multi-document transactions, so ``add_mentions`` is ordered to be crash-safe
rather than atomic: the batch is serialised first (a bad mention raises before anything is
written), the mentions are written and refreshed, and only then is the cursor saved. A crash or an
outage in between leaves the cursor behind the stored mentions: the collector fetches the same
items again, and the idempotent ids turn the re-ingest into no-ops. Transport failures are retried
for ``storage.retry_for`` seconds before the call fails with :class:`~monitor.errors.StoreError`
(and the cursor stays where it was). Documents Elasticsearch rejects for good are listed in
:attr:`ElasticsearchStore.last_rejected` and kept in ``P-rejected``; the rest of the batch and the
cursor are saved.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any, Iterable, Sequence

from monitor.errors import ConflictError, StoreError
from monitor.models import Incident, IncidentState, Mention, Silence
from monitor.store.base import (
    CursorUpdate, JobRun, MentionFilter, Notification, NotificationStatus, Pruned, SeriesRow,
)
from monitor.store.elastic_auth import Connection, connection_from_config
from monitor.store.elastic_client import (
    ApiError, Elasticsearch, NotFoundError, bulk_small, connect, retry, transient,
)
from monitor.store.elastic_ingest import Counters, Entry, ingest, serialise, set_aside
from monitor.store.elastic_mapping import (
    INDEX_SETTINGS, MENTION_MAPPING, REVIEW_FIELDS, SEQ, THREAD_FIELDS, check_prefix, cursor_document, hydrate, incident_document,
    mention_doc_id, mention_document, month_index, notification_document, notification_update,
    run_document, silence_document, small_mappings,
)
from monitor.store.elastic_queries import (
    ENGAGEMENT_SORT, MISSING_OK, PAGE, Search, composite, epoch_range, mention_query, scan, series_request, series_rows, sorted_hits,
)
from monitor.store.elastic_export import ElasticExport, versioned
from monitor.store.elastic_review import ElasticReview
from monitor.store.elastic_setup import TemplateSettings, apply_template, drop_months, ensure_template
from monitor.store.elastic_stream import ElasticStream
from monitor.store.elastic_work import ElasticWork
from monitor.store.settings import ElasticsearchConfig

_ACTIVE = [s.value for s in IncidentState if s.is_active]


class ElasticsearchStore(ElasticReview, ElasticWork, ElasticExport, ElasticStream):
    """:class:`~monitor.store.base.Store` on Elasticsearch 8.x (core features only)."""

    Config = ElasticsearchConfig

    def __init__(
        self,
        url: str | Connection = "http://127.0.0.1:9200",
        *,
        index_prefix: str = "monitor",
        request_timeout: float = 30.0,
        retry_for: float = 120.0,
        bulk_size: int = 1000,
        bulk_bytes: int = 10_000_000,
        template: TemplateSettings = TemplateSettings(),
        client: Elasticsearch | None = None,
    ):
        check_prefix(index_prefix)
        connection = url if isinstance(url, Connection) else Connection(hosts=(url,), request_timeout=request_timeout)
        self.where = connection.where
        self.prefix = index_prefix
        self.retry_for = retry_for
        self.bulk_size, self.bulk_bytes = bulk_size, bulk_bytes
        self.template = template
        self.last_rejected: list[tuple[str, str]] = []
        self.es = client or connect(connection)
        self._known_indices: set[str] = set()
        self._retrying(self._setup, "prepare indices")

    @classmethod
    def from_config(cls, settings: ElasticsearchConfig) -> ElasticsearchStore:
        return cls(
            connection_from_config(settings),
            index_prefix=settings.index_prefix,
            retry_for=settings.retry_for,
            bulk_size=settings.bulk_size,
            bulk_bytes=int(settings.bulk_bytes),
            template=TemplateSettings.from_config(settings),
        )

    # -- names, setup and retries ------------------------------------------------------------

    @property
    def mentions_alias(self) -> str:
        return f"{self.prefix}-mentions"

    def _index(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    def month_index(self, moment: datetime) -> str:
        return month_index(self.prefix, moment)

    def _setup(self) -> None:
        """Create the template when missing (else leave it alone); add later fields to existing months."""
        try:
            ensure_template(self.es, self.prefix, self.template)
            self.es.indices.put_mapping(index=f"{self.prefix}-mentions-*", allow_no_indices=True, properties={
                name: MENTION_MAPPING["properties"][name] for name in (*THREAD_FIELDS, *REVIEW_FIELDS)})
        except ApiError as exc:
            if transient(exc):
                raise
            raise StoreError(f"cannot prepare Elasticsearch indices at {self.where}: {exc}") from exc

    def apply_template(self) -> list[str]:
        """``monitor store setup``: put the config's template; returns the existing months it updated."""
        return self._retrying(apply_template, "set up the index template", self.es, self.prefix, self.template)

    def _create_index(self, name: str, settings: dict[str, Any] | None = None,
                      mappings: dict[str, Any] | None = None, aliases: dict[str, Any] | None = None) -> None:
        """Create index ``name`` once (a monthly one gets its settings from the template)."""
        if name in self._known_indices:
            return
        try:
            self.es.indices.create(index=name, settings=settings, mappings=mappings, aliases=aliases)
        except ApiError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
        self._known_indices.add(name)

    def _ensure(self, kind: str) -> str:
        """Create the small index ``kind`` on first write (reads of a missing one find nothing)."""
        name = self._index(kind)
        if name not in self._known_indices:
            self._retrying(self._create_index, f"create {name}", name, INDEX_SETTINGS, small_mappings(kind))
        return name

    def _retrying(self, call: Any, what: str, *args: Any, **kwargs: Any) -> Any:
        return retry(partial(call, *args, **kwargs), what, where=self.where, retry_for=self.retry_for)

    def _searcher(self, what: str = "search") -> Search:
        return partial(self._retrying, self.es.search, what)

    def prune_mentions(self, before: datetime) -> Pruned:
        """Delete every monthly index whose whole month lies before ``before``."""
        pruned = self._retrying(drop_months, "delete old months", self.es, self.prefix, before)
        self._known_indices.difference_update(pruned.indices)
        return pruned

    # -- mentions ----------------------------------------------------------------------------

    _document = staticmethod(mention_document)

    def add_mentions(self, mentions: Sequence[Mention], cursor: CursorUpdate | None = None) -> int:
        # Serialise everything before the first write: a bad mention leaves no trace.
        batch, final = serialise(mentions, self._document, self.month_index)
        self.last_rejected = []
        added = self._retrying(self._ingest, "store mentions", batch, final) if batch else 0
        if cursor is not None and cursor.checked:
            self._retrying(self._save_cursor_if, "save the cursor", cursor)
        elif cursor is not None:
            self._retrying(
                self.es.index, "save the cursor", index=self._ensure("cursors"),
                id=mention_doc_id(cursor.brand, cursor.source), document=cursor_document(cursor),
            )  # no refresh needed: get_cursor is a real-time GET
        return added

    def _save_cursor_if(self, cursor: CursorUpdate) -> None:
        doc_id = mention_doc_id(cursor.brand, cursor.source)
        read = self._read("cursors", doc_id)
        stored = read["_source"]["value"] if read else None
        if stored != cursor.expected or not self._write_if("cursors", doc_id, cursor_document(cursor), read):
            raise ConflictError(f"the cursor of {cursor.brand}/{cursor.source} moved since it was read")

    def _ingest(self, batch: dict[str, Entry], final: dict[str, Counters]) -> int:
        reject = partial(set_aside, self.es, rejected_index=partial(self._ensure, "rejected"),
                         rejected=self.last_rejected)
        return ingest(self.es, batch, final, alias=self.mentions_alias, chunk_size=self.bulk_size,
                      chunk_bytes=self.bulk_bytes, create_index=self._create_month, reject=reject)

    def _create_month(self, name: str) -> None:
        self._create_index(name, mappings=MENTION_MAPPING, aliases={self.mentions_alias: {}})

    def rejected(self) -> list[dict[str, Any]]:
        """Mentions Elasticsearch refused, newest first: mention id, brand, reason."""
        self.es.indices.refresh(index=self._index("rejected"), ignore_unavailable=True)
        hits = self.es.search(index=self._index("rejected"), size=PAGE, sort=[{"at": "desc"}], **MISSING_OK,
                              source_excludes=["mention"])["hits"]["hits"]
        return [h["_source"] for h in hits]

    def get_cursor(self, brand: str, source: str) -> str | None:
        found = self._get("read a cursor", "cursors", mention_doc_id(brand, source))
        return found["_source"]["value"] if found is not None else None

    def _get(self, what: str, kind: str, doc_id: str) -> Any:
        """The document ``doc_id`` of the small index ``kind``, or ``None``."""
        try:
            return self._retrying(self.es.get, what, index=self._index(kind), id=doc_id)
        except StoreError as exc:
            if isinstance(exc.__cause__, NotFoundError):
                return None
            raise

    def search(self, query: MentionFilter) -> list[Mention]:
        if query.limit <= 0:
            return []
        order = "desc" if query.newest_first or query.most_engaged else "asc"
        engaged = [ENGAGEMENT_SORT] if query.most_engaged else []
        hits = sorted_hits(self._searcher(), self.mentions_alias, mention_query(query),
                           [*engaged, {"ts": order}, {"seq": order}], query.offset, query.limit,
                           source_excludes=["text"])
        return [hydrate(h["_source"]) for h in hits]

    def count(self, query: MentionFilter) -> int:
        return self._retrying(self.es.count, "count mentions", index=self.mentions_alias,
                              query=mention_query(query), **MISSING_OK)["count"]

    def series(
        self,
        brand: str,
        start: datetime,
        end: datetime,
        bucket: timedelta,
        group_by: Sequence[str] = (),
    ) -> list[SeriesRow]:
        query, sources = series_request(brand, start, end, bucket, group_by)
        return series_rows(composite(self._searcher("aggregate"), self.mentions_alias, query, sources), group_by)

    def brands(self) -> list[str]:
        buckets = composite(self._searcher("aggregate"), self.mentions_alias, {"match_all": {}},
                            [{"brand": {"terms": {"field": "brand"}}}])
        return [b["key"]["brand"] for b in buckets]

    # -- incidents and notifications -------------------------------------------------------------

    def save_incident(self, incident: Incident, notifications: Sequence[Notification] = ()) -> None:
        """Queue ``notifications`` and save ``incident`` compare-and-set, in one bulk request.

        The incident's version is the document's external version: the write succeeds only while
        the stored one is ``incident.version``. Not a transaction: the notifications come first, so
        after a crash between the two the next detection run saves the incident again (same id) and
        its queue entries are already there (enqueueing is idempotent by key). When the incident
        lost the compare-and-set, the notifications this call created are deleted again.
        """
        actions: list[dict[str, Any]] = [self._enqueue_action(n) for n in notifications]
        actions.append({"_op_type": "index", "_index": self._ensure("incidents"), "_id": incident.id,
                        "_source": incident_document(incident), "version": incident.version + 1,
                        "version_type": "external"})
        *created, saved = self._retrying(bulk_small, "save an incident", self.es, actions)
        if not saved:
            for notification, new in zip(notifications, created):
                if new:
                    self._retrying(self.es.delete, "withdraw a notification", index=self._index("notifications"),
                                   id=notification.key, refresh="wait_for")
            raise ConflictError(f"incident {incident.id} changed since version {incident.version}")
        incident.version += 1

    def _enqueue_action(self, notification: Notification) -> dict[str, Any]:
        return {"_op_type": "create", "_index": self._ensure("notifications"), "_id": notification.key,
                "_source": notification_document(notification, SEQ.next())}

    def get_incident(self, incident_id: str) -> Incident | None:
        found = self._get("read an incident", "incidents", incident_id)
        return versioned(Incident, found) if found is not None else None

    def _incident_hits(self, filters: list[dict[str, Any]], size: int | None = None) -> list[Incident]:
        """Incidents matching ``filters``, newest opened first (the id breaks ties)."""
        index, query = self._index("incidents"), {"bool": {"filter": filters}}
        sort = [{"opened_at": "desc"}, {"id": "asc"}]
        if size is not None:
            hits: Iterable[dict[str, Any]] = sorted_hits(self._searcher(), index, query, sort, 0, size, version=True)
        else:
            hits = scan(self._searcher(), index, query, sort, version=True)
        return [versioned(Incident, h) for h in hits]

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
            filters.append(epoch_range("opened_at", gte=since))
        return self._incident_hits(filters)

    def enqueue(self, notification: Notification) -> bool:
        return self._retrying(bulk_small, "queue a notification", self.es, [self._enqueue_action(notification)])[0]

    def due_notifications(self, now: datetime, limit: int = 100) -> list[Notification]:
        query = {"bool": {"filter": [
            {"terms": {"status": [NotificationStatus.PENDING.value, NotificationStatus.SENDING.value]}},
            epoch_range("due_at", lte=now),
        ]}}
        hits = sorted_hits(self._searcher(), self._index("notifications"), query, [{"seq": "asc"}], 0, limit)
        found = [Notification.model_validate(h["_source"]["data"]) for h in hits]
        return [n for n in found if n.due_at <= now]  # the index keeps whole seconds

    def update_notification(self, notification: Notification, owner: str | None = None) -> None:
        if owner is not None:
            self._update_held(notification, owner)
            return
        try:
            self._retrying(self.es.update, "update a notification", index=self._index("notifications"),
                           id=notification.key, doc=notification_update(notification), refresh="wait_for",
                           retry_on_conflict=3)
        except StoreError as exc:
            if not isinstance(exc.__cause__, NotFoundError):
                raise

    def notifications(self, incident_id: str | None = None) -> list[Notification]:
        query: dict[str, Any] = {"term": {"incident_id": incident_id}} if incident_id else {"match_all": {}}
        hits = scan(self._searcher(), self._index("notifications"), query, [{"seq": "asc"}])
        return [Notification.model_validate(h["_source"]["data"]) for h in hits]

    # -- silences and runs -------------------------------------------------------------------

    def save_silence(self, silence: Silence) -> None:
        """Save ``silence`` compare-and-set: its version is the document's external version."""
        action = {"_op_type": "index", "_index": self._ensure("silences"), "_id": silence.id,
                  "_source": silence_document(silence), "version": silence.version + 1, "version_type": "external"}
        if not self._retrying(bulk_small, "save a silence", self.es, [action])[0]:
            raise ConflictError(f"silence {silence.id} changed since version {silence.version}")
        silence.version += 1

    def get_silence(self, silence_id: str) -> Silence | None:
        found = self._get("read a silence", "silences", silence_id)
        return versioned(Silence, found) if found is not None else None

    def silences(self, active_at: datetime | None = None) -> list[Silence]:
        filters: list[dict[str, Any]] = []
        if active_at is not None:
            filters = [epoch_range("starts_at", lte=active_at), epoch_range("ends_at", gt=active_at)]
        hits = scan(self._searcher(), self._index("silences"), {"bool": {"filter": filters}},
                    [{"starts_at": "desc"}, {"id": "asc"}], version=True)
        return [versioned(Silence, h) for h in hits]

    def record_run(self, run: JobRun, run_id: str | None = None) -> None:
        """Append ``run``; under ``run_id`` it is created once (a second write of it is a no-op)."""
        if run_id is None:
            self._retrying(self.es.index, "record a run", index=self._ensure("runs"),
                           document=run_document(run, SEQ.next()))  # no wait: runs() refreshes when it reads
            return
        self._retrying(bulk_small, "record a run", self.es, [
            {"_op_type": "create", "_index": self._ensure("runs"), "_id": run_id,
             "_source": run_document(run, SEQ.next())}])

    def runs(self, limit: int = 200) -> list[JobRun]:
        self._refresh("runs")  # written every job, read rarely: refreshed when read, not per write
        hits = sorted_hits(self._searcher(), self._index("runs"), {"match_all": {}}, [{"seq": "desc"}], 0, limit)
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
