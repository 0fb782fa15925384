"""Mastodon statuses from hashtag timelines and full-text search on any number of instances."""

from __future__ import annotations

import logging
import re
from typing import Any, Iterator, NamedTuple
from urllib.parse import quote, urlencode

from pydantic import Field

from monitor.collectors import native_query
from monitor.collectors.api import (
    ApiConfig, Sweep, count, dump_sweeps, env_secret, language, load_sweeps, make_client, oldest_wanted, parse_time,
    read_json, why_unreadable,
)
from monitor.collectors.base import ITEM_ERRORS, Batch, FetchContext
from monitor.collectors.http import PoliteClient
from monitor.collectors.rss import strip_html
from monitor.errors import CollectorError
from monitor.models import Author, Engagement, Mention

log = logging.getLogger(__name__)

SOURCE = "mastodon"
MAX_FORM_SEARCHES = 4
"""Extra full-text searches for a name's inflected forms (Mastodon's search has no OR)."""


class MastodonConfig(ApiConfig):
    """Options of a ``mastodon`` source."""

    instances: list[str] = Field(min_length=1, description="base URLs, e.g. https://mastodon.social")
    token_env: str = Field(default="MASTODON_TOKEN", description="access token; needed for full-text search only")
    page_size: int = Field(default=40, ge=1, le=40)


class _Mapped(NamedTuple):
    local_id: str
    mention: Mention


def snowflake(seconds: float) -> str:
    """The smallest status id created at ``seconds`` (Mastodon ids are milliseconds << 16)."""
    return str(int(seconds * 1000) << 16)


class MastodonCollector:
    """Pages forward with ``min_id`` (oldest page first), so each page's newest id is the cursor.

    A term group with a ``#hashtag`` reads that hashtag's public timeline; any other group
    uses ``/api/v2/search`` with the token, and an ``@handle`` also reads that account's
    posts. Statuses are identified by their ``uri``, so the same post seen through two
    instances is stored once.
    """

    Config = MastodonConfig

    def __init__(self, config: MastodonConfig, client: PoliteClient | None = None):
        self.config = config
        self.client = make_client(config, client)
        self._accounts: dict[tuple[str, str], str] = {}

    def _searches(self, context: FetchContext) -> list[tuple[str, str, str]]:
        """``(instance, kind, value)``: kind ``tag``, ``search`` or ``account`` (an ``@handle``'s own posts)."""
        found = []
        for group in native_query.with_forms(native_query.clauses(context.query, SOURCE), context, MAX_FORM_SEARCHES):
            tags = [t.value for t in group if t.kind == "hashtag"]
            wanted = [("tag", tags[0])] if tags else [("search", native_query.words(group, hashtags=False))]
            wanted += [("account", t.value) for t in group if t.kind == "handle" and not tags]
            found += [(instance.rstrip("/"), kind, value)
                      for instance in self.config.instances for kind, value in wanted]
        return list(dict.fromkeys(found))

    def _account_id(self, instance: str, acct: str) -> str:
        if (instance, acct) not in self._accounts:
            try:
                account = self._get(instance, "/api/v1/accounts/lookup", [("acct", acct)], auth=False)
            except CollectorError as exc:
                if "HTTP 404" not in str(exc):
                    raise
                account = None
            if not isinstance(account, dict) or not str(account.get("id", "")).isdigit():
                raise CollectorError(f"{SOURCE}: {instance} has no account {acct!r}")
            self._accounts[(instance, acct)] = str(account["id"])
        return self._accounts[(instance, acct)]

    def _get(self, instance: str, path: str, params: list[tuple[str, str]], auth: bool) -> Any:
        headers = {"Authorization": f"Bearer {env_secret(self.config.token_env, SOURCE)}"} if auth else {}
        return read_json(self.client.get(f"{instance}{path}?{urlencode(params)}", headers), SOURCE)

    def fetch(self, context: FetchContext, cursor: str | None) -> Iterator[Batch]:
        stored = load_sweeps(cursor, SOURCE)
        searches = self._searches(context)
        sweeps = {" ".join(s): stored.get(" ".join(s), Sweep()) for s in searches}
        start = snowflake(oldest_wanted(context, self.config).timestamp())
        pages = self.config.max_pages
        for instance, kind, value in searches:
            sweep = sweeps[f"{instance} {kind} {value}"]
            while pages > 0:
                pages -= 1
                params = [("limit", str(self.config.page_size)), ("min_id", sweep.since or start)]
                if kind == "tag":
                    statuses = self._get(instance, f"/api/v1/timelines/tag/{quote(value)}", params, auth=False)
                elif kind == "account":
                    path = f"/api/v1/accounts/{self._account_id(instance, value)}/statuses"
                    statuses = self._get(instance, path, params, auth=False)
                else:
                    found = self._get(instance, "/api/v2/search", [("q", value), ("type", "statuses"),
                                                                   ("resolve", "false"), *params], auth=True)
                    statuses = found.get("statuses") if isinstance(found, dict) else None
                if not isinstance(statuses, list):
                    raise CollectorError(f"{SOURCE}: {instance} answered without a list of statuses")
                mentions, newest = self.mentions(statuses, context, instance)
                if newest is not None:
                    sweep.since = str(max(newest, int(sweep.since or 0)))
                sweep.remember(((f"{instance} {m.local_id}", m.mention.created_at) for m in mentions), context.now,
                               self.config.refresh_hours, self.config.refresh_max)
                yield Batch([m.mention for m in mentions], dump_sweeps(sweeps))
                if len(statuses) < self.config.page_size or newest is None:
                    break
        if pages > 0:
            yield from self._refresh(context, sweeps)

    def _refresh(self, context: FetchContext, sweeps: dict[str, Sweep]) -> Iterator[Batch]:
        by_instance: dict[str, list[str]] = {}
        for sweep in sweeps.values():
            for key in sweep.recent_ids():
                instance, _, local_id = key.rpartition(" ")
                by_instance.setdefault(instance, []).append(local_id)
        for instance, ids in by_instance.items():
            try:
                statuses = self._get(instance, "/api/v1/statuses", [("id[]", i) for i in dict.fromkeys(ids)][:40],
                                     auth=False)
            except CollectorError as exc:
                log.warning("%s: engagement refresh on %s failed (%s)", SOURCE, instance, exc)
                continue
            mentions, _ = self.mentions(statuses if isinstance(statuses, list) else [], context, instance)
            if mentions:
                yield Batch([m.mention for m in mentions], dump_sweeps(sweeps))

    def mentions(self, statuses: list[Any], context: FetchContext, instance: str) -> tuple[list[_Mapped], int | None]:
        """The statuses as mentions, then the originals of boosts; replies linked by their parent's uri."""
        mapped: list[_Mapped] = []
        newest: int | None = None
        readable = [s for s in statuses if isinstance(s, dict)]
        for status in readable:
            if str(status.get("id", "")).isdigit():
                newest = max(newest or 0, int(status["id"]))
        parents = self._parent_uris(readable, instance)
        boosted = [s["reblog"] for s in readable if isinstance(s.get("reblog"), dict)]
        for status in [*statuses, *boosted]:
            try:
                mapped.append(_Mapped(str(status["id"]), _mention(status, context, parents)))
            except ITEM_ERRORS as exc:
                name = str(status.get("id") if isinstance(status, dict) else "?")[:40]
                context.skip(f"status {name} from {instance}", why_unreadable(exc))
        return list({m.mention.id: m for m in mapped}.values()), newest

    def _parent_uris(self, statuses: list[dict[str, Any]], instance: str) -> dict[str, str]:
        """``{local id: uri}`` of the statuses the replies among ``statuses`` answer.

        Parents on the page are known; the others are looked up in one call (replies stay
        unlinked if that fails).
        """
        known = {str(s.get("id")): s["uri"] for s in statuses if isinstance(s.get("uri"), str)}
        shown = [s["reblog"] if isinstance(s.get("reblog"), dict) else s for s in statuses]
        wanted = [str(s["in_reply_to_id"]) for s in shown if s.get("in_reply_to_id") is not None]
        missing = [i for i in dict.fromkeys(wanted) if i not in known and i.isdigit()][:40]
        if missing:
            try:
                found = self._get(instance, "/api/v1/statuses", [("id[]", i) for i in missing], auth=False)
            except CollectorError as exc:
                log.warning("%s: parents of replies on %s not found (%s); replies left unlinked", SOURCE, instance, exc)
                found = []
            known.update((str(s.get("id")), s["uri"]) for s in found
                         if isinstance(s, dict) and isinstance(s.get("uri"), str))
        return known


_QUOTE_LINE = re.compile(r'<p class="quote-inline">.*?</p>', re.DOTALL)
"""The "RE: url" paragraph Mastodon puts before a quote's own text, for clients that show no quotes."""


def status_text(status: dict[str, Any]) -> str:
    """Content warning and text; a status just deleted has its plain source in ``text`` instead of ``content``."""
    content = status.get("content")
    content = _QUOTE_LINE.sub("", content) if isinstance(content, str) else status.get("text")
    return strip_html(" ".join(p for p in (status.get("spoiler_text"), content) if isinstance(p, str)))


def status_engagement(status: dict[str, Any]) -> Engagement:
    """The instance's own totals of a status: favourites, boosts and quotes, replies."""
    return Engagement(likes=count(status.get("favourites_count")),
                      shares=count(status.get("reblogs_count")) + count(status.get("quotes_count")),
                      replies=count(status.get("replies_count")))


def _mention(status: dict[str, Any], context: FetchContext, parents: dict[str, str]) -> Mention:
    """One status. A boost carries its original's text but none of its counts (the original,
    stored on its own, counts the boost among its shares)."""
    uri = status["uri"]
    if not isinstance(uri, str) or not uri:
        raise ValueError("a uri")
    reblog = status.get("reblog")
    shown = reblog if isinstance(reblog, dict) else status
    text = status_text(shown)
    if not text:
        raise ValueError("a text")
    account = status.get("account") or {}
    quote = shown.get("quote")
    quoted = quote.get("quoted_status") if isinstance(quote, dict) else None
    parent = reblog.get("uri") if isinstance(reblog, dict) else (quoted or {}).get("uri")
    replied = parents.get(str(shown.get("in_reply_to_id")))
    labels = ["sensitive"] * bool(shown.get("sensitive")) + ["content warning"] * bool(shown.get("spoiler_text"))
    return Mention(
        id=Mention.make_id(SOURCE, uri), brand=context.brand, source=SOURCE, text=text,
        created_at=parse_time(status.get("created_at")) or context.now, collected_at=context.now,
        url=status.get("url") or uri,
        author=Author(handle=account.get("acct"), name=account.get("display_name") or None,
                      followers=count(account["followers_count"]) if "followers_count" in account else None),
        engagement=Engagement() if isinstance(reblog, dict) else status_engagement(status),
        is_repost=isinstance(reblog, dict), is_quote=isinstance(quoted, dict),
        parent_id=Mention.make_id(SOURCE, parent) if isinstance(parent, str) else None,
        reply_to=Mention.make_id(SOURCE, replied) if replied and not isinstance(reblog, dict) else None,
        labels=labels,
        language_hint=language(shown.get("language")),
    )
