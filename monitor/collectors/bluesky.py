"""Bluesky posts from ``app.bsky.feed.searchPosts``, anonymously or with an app password."""

from __future__ import annotations

import logging
from typing import Any, Iterator
from urllib.parse import urlencode

from pydantic import Field

from monitor.collectors import native_query
from monitor.collectors.api import (
    ApiConfig, Sweep, chunks, count, dump_sweeps, env_secret, json_list, json_object, language, load_sweeps,
    make_client, oldest_wanted, parse_time, read_items, with_followers,
)
from monitor.collectors.base import Batch, FetchContext
from monitor.collectors.http import PoliteClient
from monitor.collectors.paging import Page, Pager
from monitor.errors import CollectorError
from monitor.models import Author, Engagement, Mention
from monitor.query import Term

log = logging.getLogger(__name__)

SOURCE = "bluesky"
MAX_FORM_SEARCHES = 6
"""Extra searches for a name's inflected forms (Bluesky's search ignores OR, so each is its own)."""
QUOTE_EMBEDS = ("app.bsky.embed.record", "app.bsky.embed.recordWithMedia")


class BlueskyConfig(ApiConfig):
    """Options of a ``bluesky`` source."""

    base_url: str = Field(default="https://public.api.bsky.app", description="AppView used without login")
    login: bool = Field(default=False, description="log in (createSession) and search through the PDS")
    pds_url: str = "https://bsky.social"
    identifier_env: str = "BLUESKY_HANDLE"
    password_env: str = "BLUESKY_APP_PASSWORD"
    page_size: int = Field(default=100, ge=1, le=100)
    overlap_seconds: int = Field(default=300, ge=0, description="re-read this much before the watermark (indexing lag)")
    followers: bool = Field(default=True, description="look up authors' follower counts (one call per 25 authors)")

    def secrets_needed(self) -> list[str]:
        return [self.identifier_env, self.password_env] if self.login else []


def search_strings(groups: list[tuple[Term, ...]]) -> list[str]:
    """One search per group; a group with an ``@handle`` becomes a ``from:`` and a ``mentions:`` search."""
    found: list[str] = []
    for group in groups:
        handles = [t for t in group if t.kind == "handle"]
        rest = tuple(t for t in group if t.kind != "handle")
        if not handles:
            found.append(native_query.words(group))
            continue
        handle = handles[0].value
        prefix = native_query.words(rest) + " " if rest else ""
        found += [f"{prefix}from:{handle}", f"{prefix}mentions:{handle}"]
    return list(dict.fromkeys(found))


def _labels(post: dict[str, Any]) -> list[str]:
    """Moderation labels on the post and the author's own labels in the record (``porn``, ``!warn``...)."""
    record = post["record"]
    own = record.get("labels") if isinstance(record.get("labels"), dict) else {}
    found = [label.get("val") for label in [*(post.get("labels") or []), *(own.get("values") or [])]
             if isinstance(label, dict)]
    return list(dict.fromkeys(v for v in found if isinstance(v, str) and v))


def _iso(seconds: float) -> str:
    return parse_time(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]


class BlueskyCollector:
    """``sort=latest`` searches per term group between ``since``/``until`` times, paged by cursor."""

    Config = BlueskyConfig

    def __init__(self, config: BlueskyConfig, client: PoliteClient | None = None):
        self.config = config
        self.client = make_client(config, client)
        self._session: str | None = None

    def _base(self) -> str:
        return (self.config.pds_url if self.config.login else self.config.base_url).rstrip("/")

    def _headers(self) -> dict[str, str]:
        if not self.config.login:
            return {}
        if self._session is None:
            body = {"identifier": env_secret(self.config.identifier_env, SOURCE),
                    "password": env_secret(self.config.password_env, SOURCE)}
            url = f"{self._base()}/xrpc/com.atproto.server.createSession"
            data = json_object(self.client.post(url, json=body), SOURCE)
            if not isinstance(data.get("accessJwt"), str):
                raise CollectorError(f"{SOURCE}: createSession answered without an accessJwt")
            self._session = data["accessJwt"]
        return {"Authorization": f"Bearer {self._session}"}

    def _get(self, method: str, params: list[tuple[str, str]]) -> dict[str, Any]:
        url = f"{self._base()}/xrpc/{method}?{urlencode(params)}"
        try:
            return json_object(self.client.get(url, self._headers()), SOURCE)
        except CollectorError as exc:
            if self._session is None or not any(f"HTTP {s}" in str(exc) for s in (400, 401)):
                raise
            log.info("%s: session refused (%s); logging in again", SOURCE, exc)
            self._session = None
            return json_object(self.client.get(url, self._headers()), SOURCE)

    def fetch(self, context: FetchContext, cursor: str | None) -> Iterator[Batch]:
        stored = load_sweeps(cursor, SOURCE)
        groups = native_query.with_forms(native_query.clauses(context.query, SOURCE), context, MAX_FORM_SEARCHES)
        searches = search_strings(groups)
        sweeps = {key: stored.get(key, Sweep()) for key in searches}
        floor = oldest_wanted(context, self.config).timestamp()
        pager = Pager(self.config, context, lambda: dump_sweeps(sweeps))
        for key in searches:
            yield from pager.sweep(sweeps[key], self._pages(key, sweeps[key], floor, context))
        if pager.left > 0:
            ids = [i for s in sweeps.values() for i in s.recent_ids()]
            yield from pager.refresh(ids, 25, lambda group: self._lookup(group, context))

    def _pages(self, key: str, sweep: Sweep, floor: float, context: FetchContext) -> Iterator[Page]:
        upper, page_cursor = sweep.until, None
        while True:
            lower = float(sweep.since) - self.config.overlap_seconds if sweep.since else floor
            params = [("q", key), ("sort", "latest"), ("limit", str(self.config.page_size)), ("since", _iso(lower))]
            params += [("until", _iso(float(upper) + 1))] if upper else []
            params += [("cursor", page_cursor)] if page_cursor else []
            data = self._get("app.bsky.feed.searchPosts", params)
            posts = json_list(data, "posts", SOURCE, "the searchPosts response")
            mentions = self._mentions(posts, context, "app.bsky.feed.searchPosts")
            page_cursor = data.get("cursor") if isinstance(data.get("cursor"), str) else None
            times = sorted(m.created_at.timestamp() for m in mentions)
            yield Page(mentions, [str(t) for t in times], not posts or not page_cursor)

    def _lookup(self, uris: list[str], context: FetchContext) -> list[Mention]:
        data = self._get("app.bsky.feed.getPosts", [("uris", uri) for uri in uris])
        return self._mentions(data.get("posts") or [], context, "app.bsky.feed.getPosts")

    def _mentions(self, posts: list[Any], context: FetchContext, where: str) -> list[Mention]:
        mentions = read_items(posts, lambda post: self._mention(post, context), context, where, key="uri")
        return self._with_followers(mentions) if self.config.followers else mentions

    def _with_followers(self, mentions: list[Mention]) -> list[Mention]:
        """Authors' follower counts from ``app.bsky.actor.getProfiles``; posts are kept without them on failure."""
        followers: dict[str, int] = {}
        try:
            for group in chunks(sorted({m.author.handle for m in mentions if m.author.handle}), 25):
                data = self._get("app.bsky.actor.getProfiles", [("actors", handle) for handle in group])
                for profile in data.get("profiles") or []:
                    if isinstance(profile, dict) and isinstance(profile.get("handle"), str):
                        followers[profile["handle"]] = count(profile.get("followersCount"))
        except CollectorError as exc:
            log.warning("%s: follower counts unavailable (%s)", SOURCE, exc)
        return with_followers(mentions, followers)

    @staticmethod
    def _mention(post: dict[str, Any], context: FetchContext) -> Mention:
        uri, record = post["uri"], post["record"]
        text = record["text"]
        if not isinstance(uri, str) or not uri.startswith("at://") or not isinstance(text, str):
            raise ValueError("an at:// uri and a text")
        author = post.get("author") or {}
        handle = author.get("handle")
        embed = record.get("embed") or {}
        quoted = embed.get("record") if embed.get("$type") in QUOTE_EMBEDS else None
        if isinstance(quoted, dict) and "record" in quoted:
            quoted = quoted["record"]
        quoted_uri = quoted.get("uri") if isinstance(quoted, dict) else None
        langs = record.get("langs") or []
        reply = record.get("reply") if isinstance(record.get("reply"), dict) else {}
        parent, root = (reply.get(k).get("uri") if isinstance(reply.get(k), dict) else None for k in ("parent", "root"))
        return Mention(
            id=Mention.make_id(SOURCE, uri), brand=context.brand, source=SOURCE, text=text,
            created_at=parse_time(record.get("createdAt")) or parse_time(post.get("indexedAt")) or context.now,
            collected_at=context.now,
            url=f"https://bsky.app/profile/{handle or uri.split('/')[2]}/post/{uri.rsplit('/', 1)[-1]}",
            author=Author(handle=handle, name=author.get("displayName") or None),
            engagement=Engagement(likes=count(post.get("likeCount")),
                                  shares=count(post.get("repostCount")) + count(post.get("quoteCount")),
                                  replies=count(post.get("replyCount"))),
            is_quote=quoted_uri is not None,
            parent_id=Mention.make_id(SOURCE, quoted_uri) if isinstance(quoted_uri, str) else None,
            reply_to=Mention.make_id(SOURCE, parent) if isinstance(parent, str) else None,
            conversation=Mention.make_id(SOURCE, root if isinstance(root, str) else uri),
            labels=_labels(post),
            language_hint=language(langs[0]) if isinstance(langs, list) and langs else None,
        )
