"""The SQLite store's tables, and bringing a file written by an older version up to date on open."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

HOUR = 3600
_HOURS_VERSION = 1
"""``PRAGMA user_version`` from which the hourly counts are kept."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS mentions (
    rowid INTEGER PRIMARY KEY,
    brand TEXT NOT NULL,
    id TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    language TEXT,
    sentiment TEXT,
    likes INTEGER NOT NULL DEFAULT 0,
    shares INTEGER NOT NULL DEFAULT 0,
    replies INTEGER NOT NULL DEFAULT 0,
    text TEXT NOT NULL,
    data TEXT NOT NULL,
    reply_to TEXT,
    conversation TEXT,
    author TEXT,
    followers INTEGER,
    reach INTEGER,
    UNIQUE (brand, id)
);
CREATE INDEX IF NOT EXISTS mentions_brand_time ON mentions (brand, created_at);
CREATE VIRTUAL TABLE IF NOT EXISTS mentions_fts USING fts5 (
    text, content='mentions', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS mentions_fts_insert AFTER INSERT ON mentions BEGIN
    INSERT INTO mentions_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TABLE IF NOT EXISTS mention_hours (
    brand TEXT NOT NULL, hour INTEGER NOT NULL, sentiment TEXT NOT NULL, source TEXT NOT NULL,
    language TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (brand, hour, sentiment, source, language)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS mention_hours_insert AFTER INSERT ON mentions BEGIN
    INSERT INTO mention_hours (brand, hour, sentiment, source, language, n)
    VALUES (new.brand, new.created_at - new.created_at % 3600, coalesce(new.sentiment, 'unknown'), new.source,
            coalesce(new.language, 'unknown'), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TABLE IF NOT EXISTS cursors (
    brand TEXT NOT NULL, source TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (brand, source)
);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, brand TEXT NOT NULL, state TEXT NOT NULL,
    opened_at INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_fingerprint ON incidents (fingerprint, opened_at);
CREATE TABLE IF NOT EXISTS notifications (
    key TEXT PRIMARY KEY, incident_id TEXT NOT NULL, status TEXT NOT NULL,
    due_at INTEGER NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (status, due_at);
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY, owner TEXT, lease_until REAL, due_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY, beat_at REAL NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, started_at INTEGER NOT NULL,
    data TEXT NOT NULL
);
"""


class SqliteSchema:
    """Migrations run on every open, each a no-op once done."""

    _tx: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _query: Callable[..., list[tuple[Any, ...]]]
    _add_review_columns: Callable[[], None]

    def _migrate(self) -> None:
        self._add_thread_columns()
        self._add_review_columns()
        self._backfill_hours()
        self._add_versions()
        self._add_keys()

    def _add_thread_columns(self) -> None:
        """Give a database written before replies were linked its ``reply_to`` and ``conversation`` columns."""
        with self._tx() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(mentions)")}
            for column in ("reply_to", "conversation"):
                if column not in columns:
                    db.execute(f"ALTER TABLE mentions ADD COLUMN {column} TEXT")
                    db.execute(f"UPDATE mentions SET {column} = json_extract(data, '$.{column}')")
            db.execute("CREATE INDEX IF NOT EXISTS mentions_conversation ON mentions (brand, conversation)"
                       " WHERE conversation IS NOT NULL")

    def _backfill_hours(self) -> None:
        """Fill the hourly counts from the mentions of a file written before they existed (once)."""
        if self._query("PRAGMA user_version")[0][0] >= _HOURS_VERSION:
            return
        with self._tx() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] >= _HOURS_VERSION:
                return
            db.execute("DELETE FROM mention_hours")
            db.execute(
                "INSERT INTO mention_hours (brand, hour, sentiment, source, language, n)"
                f" SELECT brand, created_at - created_at % {HOUR}, coalesce(sentiment, 'unknown'), source,"
                " coalesce(language, 'unknown'), count(*) FROM mentions GROUP BY 1, 2, 3, 4, 5"
            )
            db.execute(f"PRAGMA user_version = {_HOURS_VERSION}")

    def _add_versions(self) -> None:
        """Give the incidents and silences of a file written before compare-and-set their version column."""
        with self._tx() as db:
            for table in ("incidents", "silences"):
                columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
                if "version" not in columns:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN version INTEGER NOT NULL DEFAULT 1")

    def _add_keys(self) -> None:
        """Give the runs and corrections of a file written before copies kept them once their key column."""
        with self._tx() as db:
            for table in ("runs", "corrections"):
                if "key" not in [row[1] for row in db.execute(f"PRAGMA table_info({table})")]:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN key TEXT")
                db.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_key ON {table} (key) WHERE key IS NOT NULL")
