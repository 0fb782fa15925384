"""Reading a SQLite store out in stored order, page by page (``Store.export``, for ``monitor store copy``).

A record's position is its row's key in storage order: the ``rowid`` (the queue's ``seq`` for
notifications, the runs' ``seq`` for runs), so a copy resumes after any record it saved.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

from monitor.models import Incident, Mention, SentimentCorrection, Silence
from monitor.store.base import CursorUpdate, Exported, ExportKind, JobRun, Notification, Record

PAGE = 1000


def _mention(data: str, likes: int, shares: int, replies: int) -> Mention:
    mention = Mention.model_validate_json(data)
    mention.engagement.likes, mention.engagement.shares, mention.engagement.replies = likes, shares, replies
    return mention


def _cursor(brand: str, source: str, value: str) -> CursorUpdate:
    return CursorUpdate(brand=brand, source=source, value=value)


def _versioned(model: type[Incident] | type[Silence]) -> Callable[[str, int], Record]:
    return lambda data, version: model.model_validate_json(data).model_copy(update={"version": version})


# kind: (table, key column, the other columns, how a row becomes a record)
_READS: dict[ExportKind, tuple[str, str, str, Callable[..., Record]]] = {
    ExportKind.MENTIONS: ("mentions", "rowid", "data, likes, shares, replies", _mention),
    ExportKind.CURSORS: ("cursors", "rowid", "brand, source, value", _cursor),
    ExportKind.INCIDENTS: ("incidents", "rowid", "data, version", _versioned(Incident)),
    ExportKind.NOTIFICATIONS: ("notifications", "seq", "data", Notification.model_validate_json),
    ExportKind.SILENCES: ("silences", "rowid", "data, version", _versioned(Silence)),
    ExportKind.RUNS: ("runs", "seq", "data", JobRun.model_validate_json),
    ExportKind.CORRECTIONS: ("corrections", "seq", "data", SentimentCorrection.model_validate_json),
}


class SqliteExport:
    """:meth:`~monitor.store.base.Store.export` for :class:`~monitor.store.sqlite.SqliteStore`."""

    _query: Callable[..., list[tuple[Any, ...]]]

    def export(self, kind: ExportKind, after: str | None = None) -> Iterator[Exported]:
        table, key, columns, record = _READS[ExportKind(kind)]
        sql = f"SELECT {key}, {columns} FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT ?"
        position = int(after) if after is not None else 0
        while True:
            rows: Sequence[tuple[Any, ...]] = self._query(sql, (position, PAGE))
            for row in rows:
                yield Exported(str(row[0]), record(*row[1:]))
            if len(rows) < PAGE:
                return
            position = rows[-1][0]

