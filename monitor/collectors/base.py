"""The ``Collector`` protocol: how a source turns a brand query into batches of mentions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Iterator, Protocol, runtime_checkable

from pydantic import BaseModel

from monitor.models import Mention
from monitor.query import Query


@dataclass(frozen=True)
class FetchContext:
    """Everything a collector needs for one run for one brand."""

    brand: str
    source: str
    query: Query
    languages: tuple[str, ...]
    now: datetime
    since: datetime | None = None
    """Oldest post wanted when there is no cursor (``monitor backfill --since``); else the source's default."""


@dataclass
class Batch:
    """Mentions fetched in one step and the cursor to resume after them.

    The pipeline stores the mentions and the cursor in one transaction, so a crash between
    batches resumes exactly after the last stored one.
    """

    mentions: list[Mention] = field(default_factory=list)
    cursor: str | None = None


@runtime_checkable
class Collector(Protocol):
    """A source of mentions; ``Config`` is the pydantic model of its options.

    A collector that does not send the query to a search API (a file, a feed) sets
    ``searches_natively = False``; the others must be able to search it (see
    :func:`monitor.collectors.native_query.check_searchable`).
    """

    Config: ClassVar[type[BaseModel]]

    def __init__(self, config: BaseModel) -> None: ...

    def fetch(self, context: FetchContext, cursor: str | None) -> Iterator[Batch]:
        """Yield batches newer than ``cursor``, oldest first, until caught up or a bound is hit."""
