"""What a comms manager reviews on SQLite: a selection's totals, its authors, and sentiment corrections.

Reach and authors live in each mention's JSON; they are read with ``json_extract`` over the
selection (the brand-and-time index narrows it first).
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Callable, Sequence

from monitor.models import Mention, Sentiment, SentimentCorrection, SentimentLabel
from monitor.store.base import AuthorTotals, MentionFilter, Totals

_INTERACTIONS = "m.likes + m.shares + m.replies"
_REACH = "coalesce(json_extract(m.data, '$.reach'), json_extract(m.data, '$.author.followers'), 0)"
_AUTHOR = "coalesce(json_extract(m.data, '$.author.handle'), json_extract(m.data, '$.author.name'), '')"
_HOUR = 3600

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

    def totals(self, query: MentionFilter) -> Totals:
        where, params = self._where(query)
        count, interactions, reach = self._query(
            f"SELECT count(*), coalesce(sum({_INTERACTIONS}), 0), coalesce(sum({_REACH}), 0) FROM mentions m{where}",
            params)[0]
        return Totals(mentions=count, interactions=interactions, reach=reach)

    def authors(self, query: MentionFilter) -> list[AuthorTotals]:
        where, params = self._where(query)
        rows = self._query(
            f"SELECT author, count(*), sum(interactions), max(followers) FROM"
            f" (SELECT {_AUTHOR} AS author, {_INTERACTIONS} AS interactions,"
            f" coalesce(json_extract(m.data, '$.author.followers'), 0) AS followers FROM mentions m{where})"
            " WHERE author != '' GROUP BY author ORDER BY 2 DESC, 3 DESC, author LIMIT ?",
            params + [query.limit])
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

    def corrections(self, brand: str | None = None) -> list[SentimentCorrection]:
        sql, params = "SELECT data FROM corrections", []
        if brand is not None:
            sql, params = sql + " WHERE brand=?", [brand]
        return [SentimentCorrection.model_validate_json(r[0]) for r in self._query(sql + " ORDER BY seq DESC", params)]
