"""Elasticsearch index names, mappings, and the documents that fit them.

Layout (``P`` is the index prefix):

* ``P-mentions-YYYY.MM``: one index per calendar month of ``created_at`` (UTC), all behind the
  read alias ``P-mentions``, each created with the same strict mapping; the index template
  ``P-mentions`` gives them their settings (see :mod:`~monitor.store.elastic_setup`). Dropping an
  old month is one index deletion.
* ``P-cursors``, ``P-incidents``, ``P-notifications``, ``P-silences``, ``P-runs``, ``P-leases``,
  ``P-workers``: small plain indices.
* ``P-rejected``: documents Elasticsearch refused (mapping conflict, ...), with the reason.

Times are whole epoch seconds, like SQLite. Text is folded in Python (:func:`fold`) on both sides
and analyzed with the standard analyzer, since ``asciifolding`` lives in an optional module.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import unicodedata
from datetime import datetime, timezone
from typing import Any

from monitor.errors import StoreError
from monitor.models import Incident, Mention, Silence
from monitor.store.base import CursorUpdate, JobRun, Notification

_KEYWORD = {"type": "keyword"}
_EPOCH = {"type": "date", "format": "epoch_second"}
_OPAQUE = {"type": "object", "enabled": False}
_STORED_ONLY = {"type": "keyword", "index": False, "doc_values": False}

INDEX_SETTINGS: dict[str, Any] = {"number_of_shards": 1, "auto_expand_replicas": "0-1", "refresh_interval": "250ms"}
"""The small indices': a short refresh interval bounds the wait of their ``refresh=wait_for`` writes (a
refresh of an index that did not change costs nothing)."""

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
        "interactions": {"type": "long"},
        "reach": {"type": "long"},
        "followers": {"type": "long"},
        "author": _KEYWORD,
        "reply_to": _KEYWORD,
        "conversation": _KEYWORD,
        # Title and text, folded (see fold()) and analyzed with the standard analyzer.
        "text": {"type": "text", "analyzer": "standard", "norms": False},
        # The mention as pydantic's JSON: kept in _source only (neither indexed nor aggregatable).
        "mention": _STORED_ONLY,
    },
}

SMALL_MAPPINGS: dict[str, dict[str, Any]] = {
    "cursors": {"brand": _KEYWORD, "source": _KEYWORD, "value": {"type": "keyword", "index": False},
                "updated_at": _EPOCH},
    "incidents": {"id": _KEYWORD, "fingerprint": _KEYWORD, "brand": _KEYWORD, "state": _KEYWORD, "opened_at": _EPOCH,
                  "data": _OPAQUE},
    "notifications": {"key": _KEYWORD, "incident_id": _KEYWORD, "status": _KEYWORD, "due_at": _EPOCH,
                      "seq": {"type": "long"}, "data": _OPAQUE},
    "silences": {"id": _KEYWORD, "brand": _KEYWORD, "starts_at": _EPOCH, "ends_at": _EPOCH, "data": _OPAQUE},
    "leases": {"name": _KEYWORD, "owner": _KEYWORD, "data": _OPAQUE},
    "workers": {"id": _KEYWORD, "beat_at": _EPOCH, "data": _OPAQUE},
    "runs": {"job": _KEYWORD, "started_at": _EPOCH, "seq": {"type": "long"}, "data": _OPAQUE},
    "corrections": {"brand": _KEYWORD, "mention_id": _KEYWORD, "seq": {"type": "long"}, "data": _OPAQUE},
    "records": {"brand": _KEYWORD, "key": _KEYWORD, "mention_id": _STORED_ONLY, "kind": _STORED_ONLY, "at": _EPOCH},
    "rejected": {"doc_id": _KEYWORD, "brand": _KEYWORD, "mention_id": _KEYWORD, "index": _KEYWORD,
                 "reason": {"type": "text"}, "at": _EPOCH, "mention": _STORED_ONLY},
}


# -- names -----------------------------------------------------------------------------------


def check_prefix(prefix: str) -> None:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", prefix):
        raise StoreError(f"index prefix {prefix!r} must be lower-case letters, digits, '-', '_' or '.'")


def month_index(prefix: str, moment: datetime) -> str:
    """The mention index of ``moment``'s calendar month (UTC)."""
    return f"{prefix}-mentions-{moment.astimezone(timezone.utc):%Y.%m}"


def is_month_index(prefix: str, name: str) -> bool:
    """Whether ``name`` is one of the monthly mention indices of ``prefix``."""
    return re.fullmatch(rf"{re.escape(prefix)}-mentions-\d{{4}}\.\d{{2}}", name) is not None


def mentions_template(prefix: str, settings: dict[str, Any]) -> dict[str, Any]:
    """``put_index_template`` arguments giving every monthly index ``settings``, the mapping and the alias."""
    alias = f"{prefix}-mentions"
    return {
        "name": alias,
        "index_patterns": [f"{prefix}-mentions-*"],
        "priority": 200,
        "template": {"settings": settings, "mappings": MENTION_MAPPING, "aliases": {alias: {}}},
    }


THREAD_FIELDS = ("reply_to", "conversation")
REVIEW_FIELDS = ("interactions", "reach", "followers", "author")
"""Mention fields added after the first release: put on monthly indices made before them (their older
documents lack the values: they count no reach and no author until collected again into a new month)."""


def small_mappings(kind: str) -> dict[str, Any]:
    return {"dynamic": "strict", "properties": SMALL_MAPPINGS[kind]}


# -- documents -------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower-case ``text`` and strip accents (``Kraków`` -> ``krakow``), keeping only words."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"\w+", stripped, re.UNICODE))


def mention_doc_id(brand: str, mention_id: str) -> str:
    return hashlib.sha1(f"{brand}\x1f{mention_id}".encode()).hexdigest()


def epoch_seconds(moment: datetime) -> int:
    return int(moment.timestamp())


class Sequence:
    """Increasing numbers across threads (and, being clock-based, across processes)."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            return self._last


SEQ = Sequence()  # breaks ties in time, like SQLite's rowid


def mention_document(mention: Mention, seq: int, raw: str | None = None) -> dict[str, Any]:
    """The indexed form of ``mention``; ``raw`` is its JSON when already serialised."""
    return {
        "brand": mention.brand,
        "mention_id": mention.id,
        "source": mention.source,
        "language": mention.language,
        "sentiment": mention.sentiment.label if mention.sentiment else None,
        "ts": epoch_seconds(mention.created_at),
        "seq": seq,
        "likes": mention.engagement.likes,
        "shares": mention.engagement.shares,
        "replies": mention.engagement.replies,
        "interactions": mention.engagement.likes + mention.engagement.shares + mention.engagement.replies,
        "reach": mention.estimated_reach,
        "followers": mention.author.followers,
        "author": mention.author_name or None,
        "reply_to": mention.reply_to,
        "conversation": mention.conversation,
        "text": fold(mention.full_text),
        "mention": raw if raw is not None else mention.model_dump_json(),
    }


def hydrate(source: dict[str, Any]) -> Mention:
    """The mention of a stored document, with its current engagement."""
    mention = Mention.model_validate_json(source["mention"])
    mention.engagement.likes = source["likes"]
    mention.engagement.shares = source["shares"]
    mention.engagement.replies = source["replies"]
    return mention


def cursor_document(cursor: CursorUpdate) -> dict[str, Any]:
    return {"brand": cursor.brand, "source": cursor.source, "value": cursor.value,
            "updated_at": epoch_seconds(datetime.now(timezone.utc))}


def incident_document(incident: Incident) -> dict[str, Any]:
    return {"id": incident.id, "fingerprint": incident.fingerprint, "brand": incident.brand,
            "state": incident.state.value, "opened_at": epoch_seconds(incident.opened_at),
            "data": incident.model_dump(mode="json")}


def notification_update(notification: Notification) -> dict[str, Any]:
    """The fields of a queued notification that change as it is delivered."""
    return {"status": notification.status.value, "due_at": epoch_seconds(notification.due_at),
            "data": notification.model_dump(mode="json")}


def notification_document(notification: Notification, seq: int) -> dict[str, Any]:
    return {"key": notification.key, "incident_id": notification.incident_id, "seq": seq,
            **notification_update(notification)}


def silence_document(silence: Silence) -> dict[str, Any]:
    return {"id": silence.id, "brand": silence.brand, "starts_at": epoch_seconds(silence.starts_at),
            "ends_at": epoch_seconds(silence.ends_at), "data": silence.model_dump(mode="json")}


def run_document(run: JobRun, seq: int) -> dict[str, Any]:
    return {"job": run.job, "started_at": epoch_seconds(run.started_at), "seq": seq,
            "data": run.model_dump(mode="json")}
