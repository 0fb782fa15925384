"""Hacker News stories and comments from the Algolia search API (no credentials)."""

from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urlencode

from pydantic import Field

from monitor.collectors import native_query
from monitor.collectors.api import (
    ApiConfig, Sweep, count, dump_sweeps, json_list, json_object, load_sweeps, make_client, oldest_wanted,
    parse_time, read_items,
)
from monitor.collectors.base import Batch, FetchContext
from monitor.collectors.http import PoliteClient
from monitor.collectors.paging import Page, Pager
from monitor.collectors.rss import strip_html
from monitor.models import Author, Engagement, Mention
from monitor.query import Query

SOURCE = "hackernews"
PAGINATION_LIMIT = 1000
"""Algolia serves at most this many hits of one search, whatever the page number."""


class HackerNewsConfig(ApiConfig):
    """Options of a ``hackernews`` source."""

    base_url: str = "https://hn.algolia.com/api/v1"
    tags: str = Field(default="(story,comment)", description="Algolia tag filter: story, comment, or both")
    page_size: int = Field(default=100, ge=1, le=1000)
    overlap_seconds: int = Field(default=600, ge=0, description="re-read this much before the watermark (indexing lag)")


class HackerNewsCollector:
    """``search_by_date`` per term group between ``created_at_i`` bounds.

    Pages are numbered within a run; the cursor keeps the oldest stored time, so a resumed
    sweep starts again at page 0 below it, as it does every 1000 hits (Algolia's limit).
    """

    Config = HackerNewsConfig

    def __init__(self, config: HackerNewsConfig, client: PoliteClient | None = None):
        self.config = config
        self.client = make_client(config, client)

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"{self.config.base_url.rstrip('/')}{path}?{urlencode(params)}"
        return json_object(self.client.get(url), SOURCE)

    def _searches(self, query: Query) -> dict[str, tuple[str, str]]:
        """``{cursor key: (query, tags)}``; a group with ``@handle`` also searches that author's items."""
        found: dict[str, tuple[str, str]] = {}
        for group in native_query.clauses(query, SOURCE):
            text = native_query.words(group, hashtags=False)
            found[text] = (text, self.config.tags)
            for handle in (t.value for t in group if t.kind == "handle"):
                rest = native_query.words(tuple(t for t in group if t.value != handle), hashtags=False)
                found[f"{rest} author:{handle}"] = (rest, f"{self.config.tags},author_{handle}")
        return found

    def fetch(self, context: FetchContext, cursor: str | None) -> Iterator[Batch]:
        stored = load_sweeps(cursor, SOURCE)
        searches = self._searches(context.query)
        sweeps = {key: stored.get(key, Sweep()) for key in searches}
        floor = int(oldest_wanted(context, self.config).timestamp())
        pager = Pager(self.config, context, lambda: dump_sweeps(sweeps))
        for key, (text, tags) in searches.items():
            yield from pager.sweep(sweeps[key], self._pages(text, tags, sweeps[key], floor, context))
        if pager.left > 0:
            ids = [i for s in sweeps.values() for i in s.recent_ids()]
            yield from pager.refresh(ids, 50, lambda group: self._lookup(group, context))

    def _pages(self, text: str, tags: str, sweep: Sweep, floor: int, context: FetchContext) -> Iterator[Page]:
        """Pages of one search; stories are remembered for refresh, comments are not."""
        upper, page = sweep.until, 0
        while True:
            lower = int(sweep.since) - self.config.overlap_seconds if sweep.since else floor
            filters = [f"created_at_i>={lower}"] + ([f"created_at_i<={upper}"] if upper else [])
            data = self._get("/search_by_date", {
                "query": text, "tags": tags, "hitsPerPage": str(self.config.page_size),
                "numericFilters": ",".join(filters), "advancedSyntax": "true", "page": str(page),
            })
            hits = json_list(data, "hits", SOURCE, "the search response")
            mentions = self._mentions(hits, context)
            times = sorted(count(h.get("created_at_i")) for h in hits if isinstance(h, dict))
            page += 1
            total = count(data.get("nbHits")) if "nbHits" in data else count(data.get("nbPages")) * len(hits)
            done = len(hits) < self.config.page_size or page * self.config.page_size >= total
            yield Page(mentions, [str(t) for t in times], done, [m for m in mentions if m.title])
            if page * self.config.page_size >= PAGINATION_LIMIT:
                upper, page = sweep.until, 0

    def _lookup(self, ids: list[str], context: FetchContext) -> list[Mention]:
        tags = "story,(" + ",".join(f"story_{i}" for i in ids) + ")"
        data = self._get("/search", {"tags": tags, "hitsPerPage": str(len(ids))})
        return self._mentions(json_list(data, "hits", SOURCE, "the search response"), context)

    def _mentions(self, hits: list[Any], context: FetchContext) -> list[Mention]:
        return read_items(hits, lambda hit: self._mention(hit, context), context, "search", key="objectID")

    @staticmethod
    def _mention(hit: dict[str, Any], context: FetchContext) -> Mention:
        item_id = str(hit["objectID"])
        title = hit.get("title") or None
        body = strip_html(hit.get("comment_text") or hit.get("story_text") or "")
        text = "\n".join(part for part in (title, body) if part)
        if not text:
            raise ValueError("a title or a text")
        parent, story = hit.get("parent_id"), hit.get("story_id")
        return Mention(
            id=Mention.make_id(SOURCE, item_id), brand=context.brand, source=SOURCE, title=title, text=text,
            created_at=parse_time(hit.get("created_at_i")) or parse_time(hit.get("created_at")) or context.now,
            collected_at=context.now, url=f"https://news.ycombinator.com/item?id={item_id}",
            author=Author(handle=hit.get("author") or None),
            engagement=Engagement(likes=count(hit.get("points")), replies=count(hit.get("num_comments"))),
            reply_to=Mention.make_id(SOURCE, str(parent)) if parent is not None else None,
            conversation=Mention.make_id(SOURCE, str(story if story is not None else item_id)),
            thread_title=None if title else hit.get("story_title") or None,
        )
