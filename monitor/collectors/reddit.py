"""Reddit posts from the search API, with app-only OAuth (client credentials)."""

from __future__ import annotations

import base64
import time
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

from pydantic import Field

from monitor.collectors import native_query
from monitor.collectors.api import (
    ApiConfig, Sweep, count, env_secret, json_object, make_client, oldest_wanted, parse_time, read_items,
)
from monitor.collectors.base import Batch, FetchContext
from monitor.collectors.http import PoliteClient
from monitor.collectors.paging import Page, Pager
from monitor.errors import CollectorError
from monitor.models import Author, Engagement, Mention

SOURCE = "reddit"


class RedditConfig(ApiConfig):
    """Options of a ``reddit`` source."""

    base_url: str = "https://oauth.reddit.com"
    auth_url: str = "https://www.reddit.com/api/v1/access_token"
    client_id_env: str = "REDDIT_CLIENT_ID"
    client_secret_env: str = "REDDIT_CLIENT_SECRET"
    subreddits: list[str] = Field(default_factory=list, description="search only these; empty: all of Reddit")
    page_size: int = Field(default=100, ge=1, le=100)


def _key(post_id: str) -> int:
    return int(post_id, 36)


class RedditCollector:
    """``/search?sort=new`` paged with ``after``; the watermark is the newest post id (base 36)."""

    Config = RedditConfig

    def __init__(self, config: RedditConfig, client: PoliteClient | None = None,
                 clock: Callable[[], float] = time.time):
        self.config = config
        self.client = make_client(config, client)
        self.clock = clock
        self._token: tuple[str, float] | None = None

    def _access_token(self) -> str:
        if self._token and self._token[1] > self.clock():
            return self._token[0]
        client_id = env_secret(self.config.client_id_env, SOURCE)
        secret = env_secret(self.config.client_secret_env, SOURCE)
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        response = self.client.post(self.config.auth_url, {"Authorization": f"Basic {basic}"},
                                    data={"grant_type": "client_credentials"})
        data = json_object(response, SOURCE)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise CollectorError(f"{SOURCE}: the token endpoint answered without an access_token ({data.get('error')})")
        self._token = (token, self.clock() + max(60.0, float(data.get("expires_in") or 3600)) - 60)
        return token

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        url = f"{self.config.base_url.rstrip('/')}{path}?{urlencode({**params, 'raw_json': '1'})}"
        return json_object(self.client.get(url, headers), SOURCE)

    def _search_path(self) -> str:
        if self.config.subreddits:
            return f"/r/{'+'.join(s.removeprefix('r/') for s in self.config.subreddits)}/search"
        return "/search"

    def fetch(self, context: FetchContext, cursor: str | None) -> Iterator[Batch]:
        sweep = Sweep.load(cursor, SOURCE)
        pager = Pager(self.config, context, sweep.dump)
        if (yield from pager.sweep(sweep, self._pages(sweep, context))):
            yield from pager.refresh(sweep.recent_ids(), 100, lambda group: self._lookup(group, context))

    def _pages(self, sweep: Sweep, context: FetchContext) -> Iterator[Page]:
        params = {"q": native_query.boolean(context.query, "reddit"), "sort": "new", "type": "link",
                  "limit": str(self.config.page_size)}
        if self.config.subreddits:
            params["restrict_sr"] = "1"
        after = f"t3_{sweep.until}" if sweep.until else None
        since = _key(sweep.since) if sweep.since else -1
        oldest = oldest_wanted(context, self.config)
        while True:
            listing = self._listing(self._get(self._search_path(), {**params, **({"after": after} if after else {})}))
            posts = [p for p in listing.get("children") or [] if isinstance(p, dict)]
            everything = self._mentions(posts, context)
            mentions = [m for m in everything if _key(m.id.split(":", 1)[1]) > since
                        and (sweep.since or m.created_at >= oldest)]
            reached = len(mentions) < len(everything) or not posts
            after = listing.get("after") if isinstance(listing.get("after"), str) else None
            yield Page(mentions, sorted((m.id.split(":", 1)[1] for m in mentions), key=_key), reached or not after)

    def _lookup(self, ids: list[str], context: FetchContext) -> list[Mention]:
        listing = self._listing(self._get("/api/info", {"id": ",".join(f"t3_{i}" for i in ids)}))
        return self._mentions([p for p in listing.get("children") or [] if isinstance(p, dict)], context)

    @staticmethod
    def _listing(data: dict[str, Any]) -> dict[str, Any]:
        listing = data.get("data")
        if data.get("kind") != "Listing" or not isinstance(listing, dict):
            raise CollectorError(f"{SOURCE}: expected a Listing, got {str(data)[:200]}")
        return listing

    def _mentions(self, children: list[dict[str, Any]], context: FetchContext) -> list[Mention]:
        posts = [child.get("data") for child in children]
        return read_items(posts, lambda post: self._mention(post, context), context, "listing", key="name")

    @staticmethod
    def _mention(post: dict[str, Any], context: FetchContext) -> Mention:
        post_id, title = str(post["id"]), post["title"]
        _key(post_id)
        author = post.get("author")
        parent = post.get("crosspost_parent")
        permalink = post.get("permalink")
        body = post.get("selftext") or ""
        return Mention(
            id=Mention.make_id(SOURCE, post_id), brand=context.brand, source=SOURCE,
            title=title, text=f"{title}\n{body}".strip() if body else title,
            created_at=parse_time(post.get("created_utc")) or context.now, collected_at=context.now,
            url=f"https://www.reddit.com{permalink}" if isinstance(permalink, str) else post.get("url"),
            author=Author(handle=None if author in (None, "[deleted]") else author),
            engagement=Engagement(likes=count(post.get("score")), shares=count(post.get("num_crossposts")),
                                  replies=count(post.get("num_comments"))),
            is_repost=bool(parent),
            parent_id=Mention.make_id(SOURCE, parent.removeprefix("t3_")) if isinstance(parent, str) else None,
        )
