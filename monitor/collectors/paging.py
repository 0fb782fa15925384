"""The page loop the search API collectors share: sweeps read within a run's page bound.

A collector states what differs in a generator of :class:`Page` per search: how it builds
the request for a page, reads the items and the next-page token, and when the sweep is
done. :class:`Pager` asks it for a page only while the run's ``max_pages`` allow, stores
the page in the sweep, yields it as a batch, and re-polls the engagement of recent posts.
"""

from __future__ import annotations

from typing import Callable, Generator, Iterator, NamedTuple

from monitor.collectors.api import ApiConfig, Sweep, chunks
from monitor.collectors.base import Batch, FetchContext
from monitor.models import Mention


class Page(NamedTuple):
    """One page of a search, as its collector read it."""

    mentions: list[Mention]
    keys: list[str]
    """Sweep keys (ids or times) of the page's posts, oldest first."""
    last: bool
    """Nothing follows: the sweep reached its watermark or the search ran out."""
    recent: list[Mention] | None = None
    """The mentions whose engagement is re-polled later; ``None``: all of them."""


class Pager:
    """Pages of one run's sweeps, ``max_pages`` at most for all of them together.

    ``cursor`` dumps the state of every sweep of the run; each batch carries it.
    """

    def __init__(self, config: ApiConfig, context: FetchContext, cursor: Callable[[], str]):
        self.config = config
        self.context = context
        self.cursor = cursor
        self.left = config.max_pages

    def sweep(self, sweep: Sweep, pages: Iterator[Page], recent: Sweep | None = None) -> Generator[Batch, None, bool]:
        """A batch per page of ``sweep``; returns whether the sweep finished within the bound.

        The mentions to re-poll are remembered in ``recent`` (by default ``sweep`` itself).
        """
        remember = sweep if recent is None else recent
        while self.left > 0:
            self.left -= 1
            page = next(pages)
            sweep.page_stored(page.keys[-1] if page.keys else None, page.keys[0] if page.keys else None)
            remember.remember(((m.id.split(":", 1)[1], m.created_at)
                               for m in (page.mentions if page.recent is None else page.recent)),
                              self.context.now, self.config.refresh_hours, self.config.refresh_max)
            if page.last:
                sweep.finish()
            yield Batch(page.mentions, self.cursor())
            if page.last:
                return True
        return False

    def refresh(self, ids: list[str], size: int, lookup: Callable[[list[str]], list[Mention]]) -> Iterator[Batch]:
        """The posts ``ids`` looked up again, ``size`` a call, for their latest engagement counts."""
        for group in chunks(list(dict.fromkeys(ids)), size):
            mentions = lookup(group)
            if mentions:
                yield Batch(mentions, self.cursor())
