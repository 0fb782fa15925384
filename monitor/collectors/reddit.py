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

OAUTH_ERRORS = frozenset({"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                          "unsupported_grant_type", "invalid_scope", "401", 401})
"""The token endpoint's error codes (RFC 6749 § 5.2) that may be shown; its other text never is."""

MAX_QUERY_LENGTH = 512
"""Reddit's search takes a ``q`` of at most 512 characters."""

SOURCE = "reddit"


class RedditConfig(ApiConfig):
    """Options of a ``reddit`` source."""

    base_url: str = "https://oauth.reddit.com"
    auth_url: str = "https://www.reddit.com/api/v1/access_token"
    client_id_env: str = "REDDIT_CLIENT_ID"
    client_secret_env: str = "REDDIT_CLIENT_SECRET"
    subreddits: list[str] = Field(default_factory=list, description="search only these; empty: all of Reddit")
    page_size: int = Field(default=100, ge=1, le=100)

    def secrets_needed(self) -> list[str]:
        return [self.client_id_env, self.client_secret_env]


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
            code = data.get("error")
            known = f" ({code})" if code in OAUTH_ERRORS else ""
            raise CollectorError(f"{SOURCE}: the token endpoint answered without an access_token{known}; "
                                 f"check {self.config.client_id_env} and {self.config.client_secret_env}")
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
        params = {"q": native_query.searched(context, "reddit", MAX_QUERY_LENGTH), "sort": "new", "type": "link",
                  "limit": str(self.config.page_size)}
        if self.config.subreddits:
            params["restrict_sr"] = "1"
        after = f"t3_{sweep.until}" if sweep.until else None
        since = _key(sweep.since) if sweep.since else -1
        oldest = oldest_wanted(context, self.config)
        while True:
            listing = self._listing(self._get(self._search_path(), {**params, **({"after": after} if after else {})}))
            posts = [p for p in listing.get("children") or [] if isinstance(p, dict)]
            everything = [m for m in self._mentions(posts, context) if ":t1_" not in m.id]
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
        """A post (``t3``), or a comment (``t1``) when a listing holds one."""
        if str(post.get("name", "")).startswith("t1_"):
            return _comment(post, context)
        post_id, title = str(post["id"]), post["title"]
        _key(post_id)
        parent = post.get("crosspost_parent")
        body = post.get("selftext") or ""
        return Mention(
            id=Mention.make_id(SOURCE, post_id), brand=context.brand, source=SOURCE,
            title=title, text=f"{title}\n{body}".strip() if body else title,
            created_at=parse_time(post.get("created_utc")) or context.now, collected_at=context.now,
            url=_url(post), author=_author(post),
            engagement=Engagement(likes=count(post.get("score")), shares=count(post.get("num_crossposts")),
                                  replies=count(post.get("num_comments"))),
            reach=count(post["view_count"]) if post.get("view_count") is not None else None,
            is_repost=bool(parent),
            parent_id=Mention.make_id(SOURCE, parent.removeprefix("t3_")) if isinstance(parent, str) else None,
            conversation=Mention.make_id(SOURCE, post_id),
            community=post.get("subreddit_name_prefixed") or None, labels=_labels(post),
        )


def _thing(fullname: str) -> str:
    """A mention's external id from a Reddit fullname: a post's bare id, a comment's ``t1_`` id."""
    return fullname.removeprefix("t3_")


def _url(item: dict[str, Any]) -> str | None:
    permalink = item.get("permalink")
    return f"https://www.reddit.com{permalink}" if isinstance(permalink, str) else item.get("url")


def _author(item: dict[str, Any]) -> Author:
    author = item.get("author")
    return Author(handle=None if author in (None, "[deleted]") else author)


def _labels(item: dict[str, Any]) -> list[str]:
    return ["nsfw"] * bool(item.get("over_18")) + ["spoiler"] * bool(item.get("spoiler"))


def _comment(comment: dict[str, Any], context: FetchContext) -> Mention:
    """A comment: linked to the comment or post it answers and to its post (the conversation)."""
    name, body, link = str(comment["name"]), comment["body"], str(comment["link_id"])
    if not isinstance(body, str) or not body.strip() or not link.startswith("t3_"):
        raise ValueError("a body and a link_id")
    parent = comment.get("parent_id")
    return Mention(
        id=Mention.make_id(SOURCE, name), brand=context.brand, source=SOURCE, text=body.strip(),
        created_at=parse_time(comment.get("created_utc")) or context.now, collected_at=context.now,
        url=_url(comment), author=_author(comment),
        engagement=Engagement(likes=count(comment.get("score"))),
        reply_to=Mention.make_id(SOURCE, _thing(parent)) if isinstance(parent, str) and parent else None,
        conversation=Mention.make_id(SOURCE, _thing(link)),
        community=comment.get("subreddit_name_prefixed") or None,
        thread_title=comment.get("link_title") or None, labels=_labels(comment),
    )
