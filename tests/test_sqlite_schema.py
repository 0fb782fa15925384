"""An SQLite file written by an older version is brought up to date on open, and opening twice changes nothing."""

from __future__ import annotations

import sqlite3

from monitor.store.sqlite import SqliteStore


def columns(path, table):
    with sqlite3.connect(path) as db:
        return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def test_an_old_file_gains_the_columns_and_hourly_counts_it_lacks(tmp_path):
    path = tmp_path / "old.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE incidents DROP COLUMN version")
        db.execute("DROP INDEX IF EXISTS runs_key")
        db.execute("ALTER TABLE runs DROP COLUMN key")
        db.execute("INSERT INTO mentions (id, brand, source, created_at, text, data) VALUES ('m1', 'Acme', 'rss', 7200, 'acme', '{}')")
        db.execute("PRAGMA user_version = 0")
    SqliteStore(path).close()
    assert "version" in columns(path, "incidents") and "key" in columns(path, "runs")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT brand, hour, n FROM mention_hours").fetchall() == [("Acme", 7200, 1)]
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 1


def test_opening_a_current_file_again_changes_nothing(tmp_path):
    path = tmp_path / "m.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        before = db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == before
