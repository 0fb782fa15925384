"""The embedded default store: one SQLite file in WAL mode, safe for the scheduler's threads."""

from __future__ import annotations

import re
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from monitor.errors import ConflictError, StoreError
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
from monitor.store.settings import SqliteConfig
from monitor.store.sqlite_export import SqliteExport
from monitor.store.sqlite_prune import SqlitePrune
from monitor.store.sqlite_review import CORRECTIONS_SCHEMA, SqliteReview
from monitor.store.sqlite_schema import HOUR, SCHEMA, SqliteSchema
from monitor.store.sqlite_stream import STREAM_SCHEMA, SqliteStream
from monitor.store.sqlite_work import SqliteWork



_ACTIVE = tuple(s.value for s in IncidentState if s.is_active)
# user_version from which ``mention_hours`` holds every stored mention (older files are backfilled on open)


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _fts_phrase(text: str) -> str:
    """Every word must occur; a word ending in ``*`` matches the words it begins (``cancel*``)."""
    words = re.findall(r"\w+\*?", text, re.UNICODE)
    return " ".join(f'"{w.rstrip("*")}"' + ("*" if w.endswith("*") else "") for w in words)


class SqliteStore(SqliteSchema, SqliteReview, SqliteWork, SqliteExport, SqlitePrune, SqliteStream):
    """:class:`~monitor.store.base.Store` on SQLite; one connection shared under a lock."""

    Config = SqliteConfig

    def __init__(self, path: str | Path = "monitor.db"):
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA + CORRECTIONS_SCHEMA + STREAM_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite database {path}: {exc}") from exc
        self._lock = threading.RLock()
        self._migrate()

    @classmethod
    def from_config(cls, settings: SqliteConfig) -> SqliteStore:
        return cls(settings.path)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite error on {self.path}: {exc}") from exc

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite error on {self.path}: {exc}") from exc

    def add_mentions(self, mentions: Sequence[Mention], cursor: CursorUpdate | None = None) -> int:
        rows = [
            (
                m.brand, m.id, m.source, _ts(m.created_at), m.language,
                m.sentiment.label if m.sentiment else None,
                m.engagement.likes, m.engagement.shares, m.engagement.replies,
                m.full_text, m.model_dump_json(), m.reply_to, m.conversation, m.author_name or None,
                m.author.followers, m.estimated_reach,
            )
            for m in mentions
        ]
        with self._tx() as db:
            if cursor is not None and cursor.checked:
                row = db.execute("SELECT value FROM cursors WHERE brand=? AND source=?",
                                 (cursor.brand, cursor.source)).fetchone()
                if (row[0] if row else None) != cursor.expected:
                    raise ConflictError(f"the cursor of {cursor.brand}/{cursor.source} moved since it was read")
            added = db.executemany(
                "INSERT OR IGNORE INTO mentions (brand, id, source, created_at, language, sentiment, likes, shares,"
                " replies, text, data, reply_to, conversation, author, followers, reach)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            ).rowcount
            db.executemany(
                "UPDATE mentions SET likes=?, shares=?, replies=? WHERE brand=? AND id=?"
                " AND (likes<? OR shares<? OR replies<?)",
                [(r[6], r[7], r[8], r[0], r[1], r[6], r[7], r[8]) for r in rows],
            )
            if cursor is not None:
                db.execute(
                    "INSERT INTO cursors (brand, source, value, updated_at) VALUES (?,?,?,?)"
                    " ON CONFLICT (brand, source) DO UPDATE SET value=excluded.value,"
                    " updated_at=excluded.updated_at",
                    (cursor.brand, cursor.source, cursor.value, _ts(datetime.now(timezone.utc))),
                )
        return added

    def get_cursor(self, brand: str, source: str) -> str | None:
        rows = self._query("SELECT value FROM cursors WHERE brand=? AND source=?", (brand, source))
        return rows[0][0] if rows else None

    def _where(self, query: MentionFilter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, values in (
            ("brand", query.brands), ("source", query.sources), ("language", query.languages),
            ("sentiment", query.sentiments), ("id", query.ids), ("conversation", query.conversations),
        ):
            if values:
                clauses.append(f"m.{column} IN ({','.join('?' * len(values))})")
                params += list(values)
        if query.since:
            clauses.append("m.created_at >= ?")
            params.append(_ts(query.since))
        if query.until:
            clauses.append("m.created_at < ?")
            params.append(_ts(query.until))
        if query.text and _fts_phrase(query.text):
            clauses.append("m.rowid IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH ?)")
            params.append(_fts_phrase(query.text))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def search(self, query: MentionFilter) -> list[Mention]:
        where, params = self._where(query)
        order = "DESC" if query.newest_first or query.most_engaged else "ASC"
        engaged = "m.likes + m.shares + m.replies DESC, " if query.most_engaged else ""
        rows = self._query(
            f"SELECT m.data, m.likes, m.shares, m.replies FROM mentions m{where}"
            f" ORDER BY {engaged}m.created_at {order}, m.rowid {order} LIMIT ? OFFSET ?",
            params + [query.limit, query.offset],
        )
        found = []
        for data, likes, shares, replies in rows:
            mention = Mention.model_validate_json(data)
            mention.engagement.likes, mention.engagement.shares, mention.engagement.replies = likes, shares, replies
            found.append(mention)
        return found

    def count(self, query: MentionFilter) -> int:
        where, params = self._where(query)
        return self._query(f"SELECT count(*) FROM mentions m{where}", params)[0][0]

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
        group = "".join(f", {i + 2}" for i in range(len(group_by)))
        if size % HOUR == 0 and _ts(start) % HOUR == 0 and _ts(end) % HOUR == 0:
            # whole hours: read the hourly counts instead of every mention
            columns = "".join(f", {g}" for g in group_by)
            sql = (f"SELECT hour - (hour % ?) AS b{columns}, sum(n) FROM mention_hours"
                   f" WHERE brand=? AND hour>=? AND hour<? GROUP BY 1{group} ORDER BY 1")
        else:
            columns = "".join(f", coalesce({g}, 'unknown')" for g in group_by)
            sql = (f"SELECT created_at - (created_at % ?) AS b{columns}, count(*) FROM mentions"
                   f" WHERE brand=? AND created_at>=? AND created_at<? GROUP BY 1{group} ORDER BY 1")
        rows = self._query(sql, (size, brand, _ts(start), _ts(end)))
        return [
            SeriesRow(
                bucket=datetime.fromtimestamp(row[0], tz=timezone.utc),
                group=dict(zip(group_by, row[1:-1])),
                count=row[-1],
            )
            for row in rows
        ]

    @staticmethod
    def _check_version(db: sqlite3.Connection, table: str, record: Incident | Silence) -> int:
        """The stored version of ``record``, which must be the one it was read at (else ConflictError)."""
        row = db.execute(f"SELECT version FROM {table} WHERE id=?", (record.id,)).fetchone()
        stored = row[0] if row else 0
        if stored != record.version:
            raise ConflictError(f"{table[:-1]} {record.id} is at version {stored}, not {record.version}")
        return stored

    def save_incident(self, incident: Incident, notifications: Sequence[Notification] = ()) -> None:
        with self._tx() as db:
            stored = self._check_version(db, "incidents", incident)
            for notification in notifications:
                self._enqueue(db, notification)
            db.execute(
                "INSERT INTO incidents (id, fingerprint, brand, state, opened_at, data, version)"
                " VALUES (?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET state=excluded.state,"
                " data=excluded.data, version=excluded.version",
                (incident.id, incident.fingerprint, incident.brand, incident.state.value,
                 _ts(incident.opened_at), incident.model_dump_json(), stored + 1),
            )
        incident.version = stored + 1

    def _incidents(self, where: str, params: Sequence[Any], tail: str = "") -> list[Incident]:
        rows = self._query(f"SELECT data, version FROM incidents WHERE {where} {tail}", params)
        return [Incident.model_validate_json(data).model_copy(update={"version": version}) for data, version in rows]

    def get_incident(self, incident_id: str) -> Incident | None:
        found = self._incidents("id=?", (incident_id,))
        return found[0] if found else None

    def active_incident(self, fingerprint: str) -> Incident | None:
        found = self._incidents(f"fingerprint=? AND state IN ({','.join('?' * len(_ACTIVE))})",
                                (fingerprint, *_ACTIVE), "ORDER BY opened_at DESC LIMIT 1")
        return found[0] if found else None

    def latest_incident(self, fingerprint: str) -> Incident | None:
        found = self._incidents("fingerprint=?", (fingerprint,), "ORDER BY opened_at DESC LIMIT 1")
        return found[0] if found else None

    def incidents(self, brand: str | None = None, since: datetime | None = None) -> list[Incident]:
        sql, params = "1=1", []
        if brand:
            sql, params = sql + " AND brand=?", params + [brand]
        if since:
            sql, params = sql + " AND opened_at>=?", params + [_ts(since)]
        return self._incidents(sql, params, "ORDER BY opened_at DESC")

    def enqueue(self, notification: Notification) -> bool:
        with self._tx() as db:
            return self._enqueue(db, notification)

    @staticmethod
    def _enqueue(db: sqlite3.Connection, notification: Notification) -> bool:
        return db.execute(
            "INSERT OR IGNORE INTO notifications (key, incident_id, status, due_at, seq, data)"
            " VALUES (?,?,?,?,(SELECT coalesce(max(seq), 0) + 1 FROM notifications),?)",
            (notification.key, notification.incident_id, notification.status.value, notification.due_at.timestamp(),
             notification.model_dump_json()),
        ).rowcount > 0

    @staticmethod
    def _due(db: sqlite3.Connection, now: datetime, limit: int) -> list[Notification]:
        rows = db.execute(
            "SELECT data FROM notifications WHERE status IN (?, ?) AND due_at<=? ORDER BY seq LIMIT ?",
            (NotificationStatus.PENDING.value, NotificationStatus.SENDING.value, now.timestamp(), limit),
        ).fetchall()
        return [Notification.model_validate_json(r[0]) for r in rows]

    def due_notifications(self, now: datetime, limit: int = 100) -> list[Notification]:
        with self._lock:
            return self._due(self._db, now, limit)

    @staticmethod
    def _write_notification(db: sqlite3.Connection, notification: Notification) -> None:
        db.execute(
            "UPDATE notifications SET status=?, due_at=?, data=? WHERE key=?",
            (notification.status.value, notification.due_at.timestamp(), notification.model_dump_json(),
             notification.key),
        )

    def update_notification(self, notification: Notification, owner: str | None = None) -> None:
        with self._tx() as db:
            if owner is not None:
                row = db.execute("SELECT data FROM notifications WHERE key=?", (notification.key,)).fetchone()
                holder = Notification.model_validate_json(row[0]).owner if row else owner
                if holder != owner:
                    raise ConflictError(f"notification {notification.key} is held by {holder}, not {owner}")
            self._write_notification(db, notification)

    def notifications(self, incident_id: str | None = None) -> list[Notification]:
        sql, params = "SELECT data FROM notifications", []
        if incident_id:
            sql, params = sql + " WHERE incident_id=?", [incident_id]
        return [Notification.model_validate_json(r[0]) for r in self._query(sql + " ORDER BY seq", params)]

    def save_silence(self, silence: Silence) -> None:
        with self._tx() as db:
            stored = self._check_version(db, "silences", silence)
            db.execute(
                "INSERT INTO silences (id, starts_at, ends_at, data, version) VALUES (?,?,?,?,?)"
                " ON CONFLICT (id) DO UPDATE SET starts_at=excluded.starts_at, ends_at=excluded.ends_at,"
                " data=excluded.data, version=excluded.version",
                (silence.id, _ts(silence.starts_at), _ts(silence.ends_at), silence.model_dump_json(), stored + 1),
            )
        silence.version = stored + 1

    def _silences(self, where: str, params: Sequence[Any]) -> list[Silence]:
        rows = self._query(f"SELECT data, version FROM silences WHERE {where} ORDER BY starts_at DESC, id", params)
        return [Silence.model_validate_json(data).model_copy(update={"version": version}) for data, version in rows]

    def get_silence(self, silence_id: str) -> Silence | None:
        found = self._silences("id=?", (silence_id,))
        return found[0] if found else None

    def silences(self, active_at: datetime | None = None) -> list[Silence]:
        if active_at is None:
            return self._silences("1=1", ())
        return self._silences("starts_at<=? AND ends_at>?", (_ts(active_at), _ts(active_at)))

    def record_run(self, run: JobRun, run_id: str | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO runs (job, started_at, data, key) VALUES (?,?,?,?)",
                (run.job, _ts(run.started_at), run.model_dump_json(), run_id),
            )

    def runs(self, limit: int = 200) -> list[JobRun]:
        rows = self._query("SELECT data FROM runs ORDER BY seq DESC LIMIT ?", (limit,))
        return [JobRun.model_validate_json(r[0]) for r in rows]

    def brands(self) -> list[str]:
        return [r[0] for r in self._query("SELECT DISTINCT brand FROM mentions ORDER BY brand")]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
