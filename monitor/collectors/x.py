"""X (Twitter) posts from the API v2 recent search, with a bearer token."""

from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import urlencode

from pydantic import Field

from monitor.collectors import native_query
from monitor.collectors.api import (
    ApiConfig, Sweep, count, env_secret, json_object, language, make_client, oldest_wanted, parse_time, read_items,
)
from monitor.collectors.base import Batch, FetchContext
from monitor.collectors.http import PoliteClient
from monitor.collectors.paging import Page, Pager
from monitor.errors import CollectorError, ConfigError
from monitor.models import Author, Engagement, Mention

log = logging.getLogger(__name__)

SOURCE = "x"
SEARCH = "/2/tweets/search/recent"
LOOKUP = "/2/tweets"
TWEET_FIELDS = ("created_at,public_metrics,lang,author_id,referenced_tweets,conversation_id,note_tweet,"
                "edit_history_tweet_ids,possibly_sensitive")
EXPANSIONS = "author_id,referenced_tweets.id,referenced_tweets.id.author_id"
"""The originals of retweets, quotes and replies come in ``includes.tweets``, their authors in
``includes.users``: without them a retweet's ``text`` is cut short ("RT @user: ...")."""
USER_FIELDS = "username,name,public_metrics"
RECENT_WINDOW = timedelta(days=7) - timedelta(minutes=1)
SNOWFLAKE_EPOCH_MS = 1288834974657


class XConfig(ApiConfig):
    """Options of an ``x`` source."""

    base_url: str = "https://api.x.com"
    token_env: str = "X_BEARER_TOKEN"
    page_size: int = Field(default=100, ge=10, le=100)
    max_query_length: int = Field(default=512, ge=1, description="512 on the basic tier, 4096 on pro")

    def secrets_needed(self) -> list[str]:
        return [self.token_env]


def _id_key(value: str) -> int:
    return int(value) if value.isdigit() else -1


def posted_at(post_id: str) -> datetime:
    """When a post was created, from its id (a snowflake: milliseconds since 2010-11-04 << 22)."""
    return datetime.fromtimestamp(((_id_key(post_id) >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, tz=timezone.utc)


class XCollector:
    """Recent search (last 7 days) paged with ``since_id``/``until_id``; lookups refresh counts."""

    Config = XConfig

    def __init__(self, config: XConfig, client: PoliteClient | None = None):
        self.config = config
        self.client = make_client(config, client)

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {env_secret(self.config.token_env, SOURCE)}"}
        url = f"{self.config.base_url.rstrip('/')}{path}?{urlencode(params)}"
        return json_object(self.client.get(url, headers), SOURCE)

    def _fields(self) -> dict[str, str]:
        return {"tweet.fields": TWEET_FIELDS, "expansions": EXPANSIONS, "user.fields": USER_FIELDS}

    def fetch(self, context: FetchContext, cursor: str | None) -> Iterator[Batch]:
        sweep = Sweep.load(cursor, SOURCE)
        query = native_query.boolean(context.query, "x")
        if len(query) <= self.config.max_query_length:
            query = native_query.searched(context, "x", self.config.max_query_length)
        if len(query) > self.config.max_query_length:
            raise ConfigError(f"{SOURCE}: the compiled query has {len(query)} characters, more than "
                              f"max_query_length ({self.config.max_query_length}): {query}")
        params = {"query": query, "max_results": str(self.config.page_size), **self._fields()}
        if sweep.since and posted_at(sweep.since) < context.now - RECENT_WINDOW:
            log.warning("%s: the cursor is older than the 7-day search window; starting again from %s",
                        SOURCE, (context.now - RECENT_WINDOW).isoformat())
            sweep = Sweep(recent=sweep.recent)
        if sweep.since:
            params["since_id"] = sweep.since
        else:
            start = max(oldest_wanted(context, self.config), context.now - RECENT_WINDOW)
            params["start_time"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        if sweep.until:
            params["until_id"] = sweep.until
        pager = Pager(self.config, context, sweep.dump)
        if (yield from pager.sweep(sweep, self._pages(params, context))):
            yield from pager.refresh(sweep.recent_ids(), 100, lambda group: self._lookup(group, context))

    def _pages(self, params: dict[str, str], context: FetchContext) -> Iterator[Page]:
        token: str | None = None
        while True:
            data = self._get(SEARCH, {**params, **({"next_token": token} if token else {})})
            mentions = page_mentions(data, context, SEARCH)
            meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
            token = meta.get("next_token") if isinstance(meta.get("next_token"), str) else None
            ids = sorted({str(t.get("id")) for t in data.get("data") or [] if isinstance(t, dict)
                          and str(t.get("id")).isdigit()}, key=_id_key)
            yield Page(mentions, ids, not token or not data.get("data"))

    def _lookup(self, ids: list[str], context: FetchContext) -> list[Mention]:
        return page_mentions(self._get(LOOKUP, {"ids": ",".join(ids), **self._fields()}), context, LOOKUP)


def page_mentions(data: dict[str, Any], context: FetchContext, where: str) -> list[Mention]:
    """A response's posts (``data``, a list), then the originals of its reposts that are not among them."""
    tweets = data.get("data") or []
    if not isinstance(tweets, list):
        raise CollectorError(f"{SOURCE}: 'data' is not a list in the search response")
    includes = data.get("includes") if isinstance(data.get("includes"), dict) else {}
    users = {u.get("id"): u for u in includes.get("users") or [] if isinstance(u, dict)}
    included = {str(t.get("id")): t for t in includes.get("tweets") or [] if isinstance(t, dict)}

    def read(tweet: dict[str, Any]) -> Mention:
        return _mention(tweet, users, included, context)

    mentions = read_items(tweets, read, context, where)
    on_page = {m.id for m in mentions}
    reposted = dict.fromkeys(references(t).get("retweeted") for t in tweets if isinstance(t, dict))
    originals = [included[i] for i in reposted if i in included and Mention.make_id(SOURCE, i) not in on_page]
    return mentions + read_items(originals, read, context, f"{where} includes.tweets")


def references(tweet: dict[str, Any]) -> dict[str, str]:
    """``{type: id}`` of the posts ``tweet`` retweets, quotes or replies to."""
    return {str(r.get("type")): str(r.get("id")) for r in tweet.get("referenced_tweets") or [] if isinstance(r, dict)}


def _full_text(tweet: dict[str, Any]) -> str:
    """The whole text: a long post's ``note_tweet`` (``text`` is cut at 280), HTML entities decoded."""
    note = tweet.get("note_tweet")
    text = note.get("text") if isinstance(note, dict) and isinstance(note.get("text"), str) else tweet["text"]
    if not isinstance(text, str):
        raise ValueError("a text")
    return html.unescape(text)


def _mention(tweet: dict[str, Any], users: dict[Any, dict[str, Any]], included: dict[str, dict[str, Any]],
             context: FetchContext) -> Mention:
    """One post. A retweet carries its original's text (from ``includes.tweets``) but none of
    its counts: X reports the original's counts on every retweet, and the retweet is already one
    of the original's shares. An edited post keeps the id of its first version."""
    tweet_id = str(tweet["id"])
    if not tweet_id.isdigit():
        raise ValueError("a numeric id")
    referenced = references(tweet)
    reposted = "retweeted" in referenced
    original = included.get(referenced.get("retweeted", ""))
    text = _full_text(original if original is not None else tweet)
    user = users.get(tweet.get("author_id"), {})
    followers = (user.get("public_metrics") if isinstance(user.get("public_metrics"), dict) else {}).get(
        "followers_count")
    metrics = tweet.get("public_metrics") if isinstance(tweet.get("public_metrics"), dict) else {}
    edits = tweet.get("edit_history_tweet_ids")
    first = str(edits[0]) if isinstance(edits, list) and edits and str(edits[0]).isdigit() else tweet_id
    parent = referenced.get("retweeted") or referenced.get("quoted")
    handle = user.get("username")
    lang = tweet.get("lang")
    conversation = tweet.get("conversation_id")
    return Mention(
        id=Mention.make_id(SOURCE, first), brand=context.brand, source=SOURCE, text=text,
        created_at=parse_time(tweet.get("created_at")) or posted_at(tweet_id), collected_at=context.now,
        url=f"https://x.com/{handle or 'i/web'}/status/{tweet_id}",
        author=Author(handle=handle, name=user.get("name"), followers=None if followers is None else count(followers)),
        engagement=Engagement() if reposted else Engagement(
            likes=count(metrics.get("like_count")),
            shares=count(metrics.get("retweet_count")) + count(metrics.get("quote_count")),
            replies=count(metrics.get("reply_count"))),
        reach=None if reposted or "impression_count" not in metrics else count(metrics["impression_count"]),
        is_repost=reposted, is_quote="quoted" in referenced,
        parent_id=Mention.make_id(SOURCE, parent) if parent else None,
        reply_to=Mention.make_id(SOURCE, referenced["replied_to"]) if "replied_to" in referenced else None,
        conversation=Mention.make_id(SOURCE, str(conversation)) if conversation else None,
        labels=["sensitive"] if tweet.get("possibly_sensitive") is True else [],
        language_hint=None if lang in (None, "und", "qme", "zxx", "qht") else language(lang),
    )
