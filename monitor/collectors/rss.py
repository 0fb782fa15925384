"""RSS and Atom feeds (news search feeds, subreddit searches, blogs) via conditional GET."""

from __future__ import annotations

import calendar
import hashlib
import html
import logging
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any, Iterator
from urllib.parse import urljoin

import feedparser
from pydantic import BaseModel, ConfigDict, Field

from monitor.collectors.base import ITEM_ERRORS, Batch, FetchContext
from monitor.collectors.http import DEFAULT_USER_AGENT, PoliteClient, redact
from monitor.errors import CollectorError
from monitor.models import Author, Mention, utc

log = logging.getLogger(__name__)

SOURCE = "rss"
SEEN_LIMIT = 1000
STALE_AFTER = timedelta(days=7)
_SPACE = re.compile(r"\s+")
_EMAIL = re.compile(r"<?[\w.+-]+@[\w-]+(?:\.[\w-]+)+>?")
_EMPTY_PARENS = re.compile(r"\(\s*\)")
_WRAPPED = re.compile(r"\((.*)\)")


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append(" ")


def strip_html(text: str) -> str:
    """Plain text of an HTML fragment, entities decoded and whitespace collapsed."""
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    return _SPACE.sub(" ", html.unescape("".join(parser.parts))).strip()


class RssConfig(BaseModel):
    """Options of an ``rss`` source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(min_length=1)
    timeout: float = Field(default=10.0, gt=0)
    max_items: int = Field(default=500, ge=1)
    user_agent: str = DEFAULT_USER_AGENT


def author_name(entry: Any) -> str | None:
    """The entry's author without an e-mail address (RSS writes ``noreply@x.com (Name)``)."""
    detail = entry.get("author_detail") or {}
    raw = detail.get("name") or entry.get("author") or ""
    name = _EMPTY_PARENS.sub("", _EMAIL.sub("", raw)).strip()
    wrapped = _WRAPPED.fullmatch(name)
    return (wrapped.group(1).strip() if wrapped else name) or None


def _timestamp(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
    return None


def _language(value: str | None) -> str | None:
    """``"en-US"`` → ``"en"``; the primary subtag is what the language detector compares with."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    return primary or None


def _external_id(entry: Any) -> str | None:
    for key in ("id", "link"):
        value = (entry.get(key) or "").strip()
        if value:
            return value
    body = (entry.get("title") or "") + "\x1f" + (entry.get("summary") or "")
    if not body.strip("\x1f"):
        return None
    return "sha1:" + hashlib.sha1(body.encode()).hexdigest()


class _Cursor(BaseModel):
    etag: str | None = None
    modified: str | None = None
    seen: list[str] = Field(default_factory=list)
    newest: datetime | None = None

    @classmethod
    def load(cls, raw: str | None, url: str) -> _Cursor:
        if not raw:
            return cls()
        try:
            return cls.model_validate_json(raw)
        except ValueError:
            log.warning("rss %s: unreadable cursor, starting afresh", redact(url))
            return cls()

    def dump(self) -> str:
        return self.model_dump_json()


class RssCollector:
    """Emit each new entry of an RSS/Atom feed once; ``Config`` is :class:`RssConfig`."""

    Config = RssConfig
    searches_natively = False

    def __init__(self, config: RssConfig, client: PoliteClient | None = None):
        self.config = config if isinstance(config, RssConfig) else RssConfig.model_validate(config)
        self.client = client or PoliteClient(
            timeout=self.config.timeout, user_agent=self.config.user_agent
        )

    def fetch(self, context: FetchContext, cursor: str | None) -> Iterator[Batch]:
        """One conditional GET; yields at most one batch (none when the feed is unchanged)."""
        url = self.config.url
        state = _Cursor.load(cursor, url)
        headers: dict[str, str] = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.modified:
            headers["If-Modified-Since"] = state.modified
        response = self.client.get(url, headers)
        if response.not_modified:
            log.debug("rss %s: not modified", redact(url))
            return
        if not response.content.strip():
            raise CollectorError(f"rss {redact(url)}: the server answered HTTP {response.status} with an empty body")
        headers = {k.lower(): v for k, v in response.headers.items()}
        headers.setdefault("content-type", "application/xml")
        feed = feedparser.parse(response.content, response_headers=headers)
        if not feed.entries and (feed.bozo or not feed.get("version")):
            why = feed.get("bozo_exception") or "not an RSS or Atom document"
            raise CollectorError(f"rss {redact(url)}: cannot parse feed: {why}")
        if feed.bozo:
            log.warning("rss %s: feed is malformed (%s); keeping %d entries",
                        redact(url), feed.get("bozo_exception"), len(feed.entries))
        mentions = self._window(feed, context, response.url)
        new = self._new(mentions, state)
        seen = [m.id for m in mentions]
        current = set(seen)
        now = utc(context.now)
        times = [min(m.created_at, now) for m in mentions]
        following = _Cursor(
            etag=response.headers.get("ETag"),
            modified=response.headers.get("Last-Modified"),
            seen=(seen + [s for s in state.seen if s not in current])[: self._seen_limit],
            newest=max(times + ([state.newest] if state.newest else []), default=None),
        ).dump()
        if new or following != cursor:
            yield Batch(sorted(new, key=lambda m: m.created_at), following)

    @property
    def _seen_limit(self) -> int:
        return max(SEEN_LIMIT, 2 * self.config.max_items)

    def _window(self, feed: Any, context: FetchContext, base: str) -> list[Mention]:
        """The newest ``max_items`` entries as mentions (newest first), duplicates dropped."""
        language = _language(feed.feed.get("language"))
        mentions: dict[str, Mention] = {}
        for number, entry in enumerate(feed.entries, 1):
            try:
                mention = self._mention(entry, context, language, base)
            except ITEM_ERRORS as exc:
                context.skip(f"entry {number} ({entry.get('id') or entry.get('link')}) of {redact(base)}", exc)
                continue
            if mention is not None and mention.id not in mentions:
                mentions[mention.id] = mention
        newest = sorted(mentions.values(), key=lambda m: m.created_at, reverse=True)
        if len(newest) > self.config.max_items:
            log.info("rss %s: %d entries, keeping the newest %d",
                     redact(self.config.url), len(newest), self.config.max_items)
        return newest[: self.config.max_items]

    @staticmethod
    def _new(mentions: list[Mention], state: _Cursor) -> list[Mention]:
        seen = set(state.seen)
        oldest = state.newest - STALE_AFTER if state.newest else None
        return [m for m in mentions
                if m.id not in seen and (oldest is None or m.created_at >= oldest)]

    def _mention(
        self, entry: Any, context: FetchContext, language: str | None, base: str
    ) -> Mention | None:
        external = _external_id(entry)
        if external is None:
            log.warning("rss %s: skipping an entry with no id, link, title or summary",
                        redact(self.config.url))
            return None
        title = strip_html(entry.get("title") or "")
        summary = strip_html(entry.get("summary") or "")
        text = title if not summary or summary == title else f"{title}\n\n{summary}".strip()
        detail = entry.get("title_detail") or {}
        link = (entry.get("link") or "").strip()
        if entry.get("guidislink") and not link.startswith(("http://", "https://")):
            link = ""
        return Mention(
            id=Mention.make_id(SOURCE, external),
            brand=context.brand,
            source=SOURCE,
            text=text,
            title=title or None,
            url=urljoin(base, link) if link else None,
            author=Author(name=author_name(entry)),
            created_at=_timestamp(entry) or context.now,
            collected_at=context.now,
            language_hint=_language(detail.get("language")) or language,
        )
