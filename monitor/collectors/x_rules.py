"""The rules of X's filtered stream kept in sync with the config: one rule per brand, tagged with its name.

A brand's rule is its query compiled as the ``x`` search collector compiles it, with the
common inflected forms the rule length limit leaves room for (the others named in a
warning). Rules tagged ``tag_prefix`` + a brand's name are ours: a brand without its rule
gets one, a brand whose rule changed gets it replaced (the old one deleted, the new one
added), and ours of brands no longer configured are deleted. Rules tagged otherwise (made
by hand or by another program on the same app) are left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from monitor.collectors import native_query
from monitor.collectors.api import json_object
from monitor.collectors.base import FetchContext
from monitor.collectors.http import PoliteClient
from monitor.errors import CollectorError, ConfigError

if TYPE_CHECKING:
    from monitor.collectors.x_stream import XStreamConfig

log = logging.getLogger(__name__)

SOURCE = "x"
RULES = "/2/tweets/search/stream/rules"


def rule_value(context: FetchContext, limit: int) -> str:
    """The brand's rule: its query in X's syntax, inflected forms added within ``limit`` characters."""
    plain = native_query.boolean(context.query, "x")
    if len(plain) > limit:
        raise ConfigError(f"{context.source}: the stream rule of {context.brand} has {len(plain)} characters, "
                          f"more than max_rule_length ({limit}): {plain}")
    return native_query.searched(context, "x", limit)


@dataclass(frozen=True)
class Rule:
    """A rule as X lists it."""

    id: str
    value: str
    tag: str | None = None


@dataclass
class Changes:
    """What a sync sends: rule ids to delete, then rules (value, tag) to add."""

    delete: list[str] = field(default_factory=list)
    add: list[tuple[str, str]] = field(default_factory=list)


def plan(existing: list[Rule], wanted: dict[str, str], prefix: str, brands: tuple[str, ...]) -> Changes:
    """The changes that leave, among the rules tagged ``prefix`` + a brand, exactly ``wanted``
    (``{tag: value}``): stale and duplicate rules of the wanted tags deleted, missing ones added,
    and rules of brands not in ``brands`` (the brands configured) deleted when ``brands`` is given."""
    changes = Changes()
    kept: set[str] = set()
    configured = {prefix + brand for brand in brands}
    for rule in existing:
        tag = rule.tag or ""
        if tag in wanted and rule.value == wanted[tag] and tag not in kept:
            kept.add(tag)
        elif tag in wanted or (tag.startswith(prefix) and brands and tag not in configured):
            changes.delete.append(rule.id)
    changes.add = [(value, tag) for tag, value in wanted.items() if tag not in kept]
    return changes


class RuleSync:
    """Lists, deletes and adds rules over X's rules endpoint, with the stream's bearer token."""

    def __init__(self, config: XStreamConfig, token: str, client: PoliteClient | None = None):
        self.config = config
        self.client = client or PoliteClient(timeout=config.timeout)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.url = f"{config.base_url.rstrip('/')}{RULES}"

    def sync(self, context: FetchContext) -> Changes:
        """Make the brand's rule the one its query compiles to; delete ours of brands no longer configured."""
        tag = self.config.tag_prefix + context.brand
        wanted = {tag: rule_value(context, self.config.max_rule_length)}
        changes = plan(self.rules(), wanted, self.config.tag_prefix, context.peers)
        if changes.delete:
            self._post({"delete": {"ids": changes.delete}}, "deleting")
        if changes.add:
            self._post({"add": [{"value": value, "tag": tag} for value, tag in changes.add]}, "adding")
        if changes.delete or changes.add:
            log.info("%s/%s: stream rules synced: %d deleted, %d added%s", context.brand, context.source,
                     len(changes.delete), len(changes.add), " (dry run)" if self.config.dry_run else "")
        return changes

    def rules(self) -> list[Rule]:
        """Every rule of the app, page after page."""
        found: list[Rule] = []
        token = None
        while True:
            params = {"max_results": "1000", **({"pagination_token": token} if token else {})}
            data = json_object(self.client.get(f"{self.url}?{urlencode(params)}", self.headers), SOURCE)
            rules = data.get("data") or []
            if not isinstance(rules, list):
                raise CollectorError(f"{SOURCE}: 'data' is not a list in the stream rules")
            found += [Rule(str(r["id"]), str(r["value"]), r.get("tag")) for r in rules
                      if isinstance(r, dict) and "id" in r and "value" in r]
            meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
            token = meta.get("next_token")
            if not isinstance(token, str) or not rules:
                return found

    def _post(self, body: dict[str, Any], doing: str) -> dict[str, Any]:
        url = f"{self.url}?dry_run=true" if self.config.dry_run else self.url
        data = json_object(self.client.post(url, self.headers, json=body), SOURCE)
        for error in data.get("errors") or []:
            log.warning("%s: X refused %s a stream rule: %s", SOURCE, doing, error)
        return data
