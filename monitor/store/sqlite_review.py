"""What a comms manager reviews on SQLite: a selection's totals, its authors, and sentiment corrections.

Each mention's author, followers and reach (views, else followers) are columns of their own, filled
on insert and, for a file written before they existed, once from the stored JSON when it is opened.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Callable, Sequence

from monitor.models import Mention, Sentiment, SentimentCorrection, SentimentLabel
from monitor.store.base import AuthorTotals, MentionFilter, Totals

_INTERACTIONS = "m.likes + m.shares + m.replies"
_HOUR = 3600
_FROM_JSON = {
    "author": "coalesce(nullif(json_extract(data, '$.author.handle'), ''), nullif(json_extract(data, '$.author.name'), ''))",
    "followers": "json_extract(data, '$.author.followers')",
    "reach": "coalesce(json_extract(data, '$.reach'), json_extract(data, '$.author.followers'), 0)",
}

CORRECTIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS corrections (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, brand TEXT NOT NULL, mention_id TEXT NOT NULL, data TEXT NOT NULL
);
"""


class SqliteReview:
    """Totals, authors and corrections for :class:`~monitor.store.sqlite.SqliteStore`."""

    _tx: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _query: Callable[..., list[tuple[Any, ...]]]
    _where: Callable[[MentionFilter], tuple[str, list[Any]]]

    def _add_review_columns(self) -> None:
        """Give a database written before totals and authors its ``author``, ``followers`` and ``reach`` columns."""
        with self._tx() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(mentions)")}
            for column, value in _FROM_JSON.items():
                if column not in columns:
                    db.execute(f"ALTER TABLE mentions ADD COLUMN {column} {'TEXT' if column == 'author' else 'INTEGER'}")
                    db.execute(f"UPDATE mentions SET {column} = {value}")

    def totals(self, query: MentionFilter) -> Totals:
        where, params = self._where(query)
        count, interactions, reach = self._query(
            f"SELECT count(*), coalesce(sum({_INTERACTIONS}), 0), coalesce(sum(m.reach), 0) FROM mentions m{where}",
            params)[0]
        return Totals(mentions=count, interactions=interactions, reach=reach)

    def authors(self, query: MentionFilter) -> list[AuthorTotals]:
        where, params = self._where(query)
        rows = self._query(
            f"SELECT m.author, count(*), sum({_INTERACTIONS}), coalesce(max(m.followers), 0) FROM mentions m{where}"
            f"{' AND' if where else ' WHERE'} m.author IS NOT NULL GROUP BY m.author ORDER BY 2 DESC, 3 DESC, m.author"
            " LIMIT ?", params + [query.limit])
        return [AuthorTotals(author=a, mentions=n, interactions=i, followers=f) for a, n, i, f in rows]

    def correct_sentiment(self, brand: str, mention_id: str, label: SentimentLabel, by: str,
                          at: datetime) -> SentimentCorrection | None:
        with self._tx() as db:
            row = db.execute("SELECT data, created_at, source, language, sentiment FROM mentions"
                             " WHERE brand=? AND id=?", (brand, mention_id)).fetchone()
            if row is None:
                return None
            data, created, source, language, previous = row
            mention = Mention.model_validate_json(data)
            correction = SentimentCorrection(brand=brand, mention_id=mention_id, label=label, previous=previous,
                                             by=by, at=at, text=mention.full_text, language=mention.language)
            model = mention.sentiment.model if mention.sentiment else ""
            mention.sentiment = Sentiment.by_hand(label, by, model)
            db.execute("UPDATE mentions SET sentiment=?, data=? WHERE brand=? AND id=?",
                       (label, mention.model_dump_json(), brand, mention_id))
            self._move_hour_count(db, (brand, created - created % _HOUR, source, language or "unknown"),
                                  previous or "unknown", label)
            db.execute("INSERT INTO corrections (brand, mention_id, data) VALUES (?,?,?)",
                       (brand, mention_id, correction.model_dump_json()))
        return correction

    @staticmethod
    def _move_hour_count(db: sqlite3.Connection, cell: Sequence[Any], old: str, new: str) -> None:
        """One mention of an hour's ``cell`` (brand, hour, source, language) goes from sentiment ``old`` to ``new``."""
        brand, hour, source, language = cell
        db.execute("UPDATE mention_hours SET n = n - 1 WHERE brand=? AND hour=? AND sentiment=? AND source=?"
                   " AND language=?", (brand, hour, old, source, language))
        db.execute("DELETE FROM mention_hours WHERE n <= 0")
        db.execute("INSERT INTO mention_hours (brand, hour, sentiment, source, language, n) VALUES (?,?,?,?,?,1)"
                   " ON CONFLICT DO UPDATE SET n = n + 1", (brand, hour, new, source, language))

    def keep_correction(self, correction: SentimentCorrection, key: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO corrections (brand, mention_id, data, key) VALUES (?,?,?,?)",
                       (correction.brand, correction.mention_id, correction.model_dump_json(), key))

    def corrections(self, brand: str | None = None) -> list[SentimentCorrection]:
        sql, params = "SELECT data FROM corrections", []
        if brand is not None:
            sql, params = sql + " WHERE brand=?", [brand]
        return [SentimentCorrection.model_validate_json(r[0]) for r in self._query(sql + " ORDER BY seq DESC", params)]
