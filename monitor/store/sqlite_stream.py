"""What streams need beyond storing posts, on SQLite: posts revised downwards, and the records they took back.

A stream sends likes, reposts and posts, and later their deletion by record key only. The
records that pointed at stored posts are remembered in ``stream_records`` (a hashed key, the
post, the kind), so a deletion can be taken off the post it counted for; the memory is kept
bounded by age. ``revise_mentions`` writes a post's engagement even when it went down, and
its deletion mark.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from monitor.models import Mention
from monitor.store.base import StreamRecord

STREAM_SCHEMA = """
CREATE TABLE IF NOT EXISTS stream_records (
    brand TEXT NOT NULL, key TEXT NOT NULL, mention_id TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL,
    PRIMARY KEY (brand, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS stream_records_at ON stream_records (brand, at);
"""


class SqliteStream:
    """Revisions and stream records for :class:`~monitor.store.sqlite.SqliteStore`."""

    _tx: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _query: Callable[..., list[tuple[Any, ...]]]

    def revise_mentions(self, mentions: Sequence[Mention]) -> None:
        with self._tx() as db:
            db.executemany(
                "UPDATE mentions SET likes=?, shares=?, replies=?, data=? WHERE brand=? AND id=?",
                [(m.engagement.likes, m.engagement.shares, m.engagement.replies, m.model_dump_json(), m.brand, m.id)
                 for m in mentions])

    def stream_records(self, brand: str, keys: Sequence[str]) -> dict[str, StreamRecord]:
        found: dict[str, StreamRecord] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for key, mention_id, kind, at in self._query(
                    f"SELECT key, mention_id, kind, at FROM stream_records WHERE brand=? AND key IN ({marks})",
                    [brand, *chunk]):
                found[key] = StreamRecord(key=key, mention_id=mention_id, kind=kind,
                                          at=datetime.fromtimestamp(at, tz=timezone.utc))
        return found

    def keep_stream_records(self, brand: str, kept: Sequence[StreamRecord], forgotten: Sequence[str],
                            before: datetime | None = None) -> None:
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO stream_records (brand, key, mention_id, kind, at)"
                           " VALUES (?,?,?,?,?)",
                           [(brand, r.key, r.mention_id, r.kind, int(r.at.timestamp())) for r in kept])
            db.executemany("DELETE FROM stream_records WHERE brand=? AND key=?", [(brand, key) for key in forgotten])
            if before is not None:
                db.execute("DELETE FROM stream_records WHERE brand=? AND at<?", (brand, int(before.timestamp())))
