"""Reading an Elasticsearch store out in stored order, page by page (``Store.export``, for ``monitor store copy``).

A record's position is its hit's sort values (JSON), handed back as ``search_after``: mentions and
the queue in the order they were written (``seq``), the rest by their own keys.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator, TypeVar

from pydantic import BaseModel

from monitor.models import Incident, SentimentCorrection, Silence
from monitor.store.base import CursorUpdate, Exported, ExportKind, JobRun, Notification, Record
from monitor.store.elastic_mapping import hydrate
from monitor.store.elastic_queries import scan

Model = TypeVar("Model", bound=BaseModel)


def versioned(model: type[Model], hit: dict[str, Any]) -> Model:
    """The record of a stored document (``data``), at the document's version."""
    return model.model_validate(hit["_source"]["data"]).model_copy(update={"version": hit["_version"]})


def _data(model: type[Model]) -> Callable[[dict[str, Any]], Model]:
    return lambda hit: model.model_validate(hit["_source"]["data"])


def _cursor(hit: dict[str, Any]) -> CursorUpdate:
    found = hit["_source"]
    return CursorUpdate(brand=found["brand"], source=found["source"], value=found["value"])


# kind: (index kind, sort, how a hit becomes a record)
_READS: dict[ExportKind, tuple[str, list[dict[str, str]], Callable[[dict[str, Any]], Record]]] = {
    ExportKind.MENTIONS: ("mentions", [{"seq": "asc"}, {"brand": "asc"}, {"mention_id": "asc"}],
                          lambda hit: hydrate(hit["_source"])),
    ExportKind.CURSORS: ("cursors", [{"brand": "asc"}, {"source": "asc"}], _cursor),
    ExportKind.INCIDENTS: ("incidents", [{"opened_at": "asc"}, {"id": "asc"}], lambda hit: versioned(Incident, hit)),
    ExportKind.NOTIFICATIONS: ("notifications", [{"seq": "asc"}, {"key": "asc"}], _data(Notification)),
    ExportKind.SILENCES: ("silences", [{"starts_at": "asc"}, {"id": "asc"}], lambda hit: versioned(Silence, hit)),
    ExportKind.RUNS: ("runs", [{"seq": "asc"}, {"job": "asc"}, {"started_at": "asc"}], _data(JobRun)),
    ExportKind.CORRECTIONS: ("corrections", [{"seq": "asc"}, {"brand": "asc"}, {"mention_id": "asc"}],
                             _data(SentimentCorrection)),
}


class ElasticExport:
    """:meth:`~monitor.store.base.Store.export` for :class:`~monitor.store.elastic.ElasticsearchStore`."""

    _index: Callable[[str], str]
    _searcher: Callable[..., Any]
    _refresh: Callable[[str], None]

    def export(self, kind: ExportKind, after: str | None = None) -> Iterator[Exported]:
        index, sort, record = _READS[ExportKind(kind)]
        self._refresh(index)  # runs are written without waiting for a refresh; an export reads every write
        options: dict[str, Any] = {"source_excludes": ["text"]} if kind == ExportKind.MENTIONS else {"version": True}
        hits = scan(self._searcher("export"), self._index(index), {"match_all": {}}, sort,
                    json.loads(after) if after is not None else None, **options)
        for hit in hits:
            yield Exported(json.dumps(hit["sort"]), record(hit))
