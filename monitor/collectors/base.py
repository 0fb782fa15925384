"""The ``Collector`` protocol: how a source turns a brand query into batches of mentions."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Iterator, Protocol, runtime_checkable

from pydantic import BaseModel

from monitor.models import Mention
from monitor.query import Query

log = logging.getLogger(__name__)

WARN_LIMIT = 20
"""Unreadable items logged one by one per run; the rest are only counted."""

ITEM_ERRORS = (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError)
"""What reading one malformed item of a response can raise; the item is skipped, the rest kept."""


@dataclass
class Unreadable:
    """Items of one run that a collector could not read: each skipped, counted and logged."""

    count: int = 0

    def skip(self, source: str, where: str, why: object) -> None:
        """Count one skipped item; ``where`` names it (file:line, or URL/endpoint and item id)."""
        self.count += 1
        if self.count <= WARN_LIMIT:
            log.warning("%s: skipped %s: %s", source, where, why or "unreadable")
        elif self.count == WARN_LIMIT + 1:
            log.warning("%s: more unreadable items skipped; only counted from now on", source)


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
    unreadable: Unreadable = field(default_factory=Unreadable, compare=False)
    """Items skipped during the run (the pipeline records the count on the Sources health page)."""
    peers: tuple[str, ...] = ()
    """The brands with a source of this type (set for streams: X's stream keeps one rule per brand)."""

    def skip(self, where: str, why: object) -> None:
        """Skip one item the collector cannot read (see :class:`Unreadable`)."""
        self.unreadable.skip(self.source, where, why)


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
