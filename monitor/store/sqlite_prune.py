"""Retention on SQLite: delete the mentions created before a cutoff, with their search and count rows."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Callable

from monitor.store.base import Pruned

_UNCOUNT = """
UPDATE mention_hours AS h SET n = h.n - gone.n
FROM (SELECT brand, created_at - created_at % 3600 AS hour, coalesce(sentiment, 'unknown') AS sentiment, source,
             coalesce(language, 'unknown') AS language, count(*) AS n
      FROM mentions WHERE created_at < ? GROUP BY 1, 2, 3, 4, 5) AS gone
WHERE h.brand = gone.brand AND h.hour = gone.hour AND h.sentiment = gone.sentiment AND h.source = gone.source
  AND h.language = gone.language
"""


class SqlitePrune:
    """:meth:`prune_mentions` for :class:`~monitor.store.sqlite.SqliteStore`."""

    _tx: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def prune_mentions(self, before: datetime) -> Pruned:
        """Delete every mention created before ``before``, in one transaction."""
        cutoff = int(before.timestamp())
        with self._tx() as db:
            db.execute("INSERT INTO mentions_fts (mentions_fts, rowid, text) "
                       "SELECT 'delete', rowid, text FROM mentions WHERE created_at < ?", (cutoff,))
            db.execute(_UNCOUNT, (cutoff,))
            db.execute("DELETE FROM mention_hours WHERE n <= 0")
            deleted = db.execute("DELETE FROM mentions WHERE created_at < ?", (cutoff,)).rowcount
        return Pruned(mentions=deleted)
