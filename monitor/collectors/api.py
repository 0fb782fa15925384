"""Pieces shared by the collectors of JSON search APIs: options, cursors, JSON, tokens, time.

Every API collector pages *backwards* from the newest post, while batches must be stored
oldest position first. A :class:`Sweep` makes that lossless: the watermark ``since`` moves
only when a sweep reaches it, and until then the cursor of each page remembers ``until``,
the oldest key already stored, so a crash or the per-run page bound resumes below it.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

from pydantic import BaseModel, ConfigDict, Field

from monitor.collectors.base import ITEM_ERRORS, FetchContext
from monitor.collectors.http import DEFAULT_USER_AGENT, PoliteClient, Response, redact
from monitor.errors import CollectorError, ConfigError
from monitor.models import MAX_COUNT, Mention

log = logging.getLogger(__name__)


class ApiConfig(BaseModel):
    """Options every API collector has; each source adds its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout: float = Field(default=15.0, gt=0)
    max_pages: int = Field(default=10, ge=1, description="pages fetched per run at most")
    page_size: int = Field(default=50, ge=1)
    refresh_hours: float = Field(default=24.0, ge=0, description="re-poll engagement of posts this recent; 0 disables")
    refresh_max: int = Field(default=100, ge=0, description="recent posts whose engagement is re-polled")
    user_agent: str = DEFAULT_USER_AGENT
    max_attempts: int = Field(default=4, ge=1)
    lookback_hours: float = Field(default=24.0, gt=0, description="how far back the first run (no cursor) reaches")

    def secrets_needed(self) -> list[str]:
        """The environment variables this source cannot work without, as configured."""
        return []


def oldest_wanted(context: FetchContext, config: ApiConfig) -> datetime:
    """The lower time bound of a sweep that has no watermark yet."""
    return context.since or context.now - timedelta(hours=config.lookback_hours)


def make_client(config: ApiConfig, client: PoliteClient | None) -> PoliteClient:
    return client or PoliteClient(timeout=config.timeout, user_agent=config.user_agent,
                                  max_attempts=config.max_attempts)


def env_secret(variable: str, source: str) -> str:
    """The secret in environment variable ``variable``; a clear error naming it when unset."""
    value = os.environ.get(variable, "").strip()
    if not value:
        raise ConfigError(f"{source}: environment variable {variable} is not set (it holds the API credential)")
    return value


def _whole_number(text: str) -> int | float:
    """A JSON integer; one too long for ``int`` (thousands of digits) is read as a float (``inf``),
    which an item's reader then rejects, instead of failing the whole body."""
    return int(text) if len(text) <= 100 else float(text)


def read_json(response: Response, source: str) -> Any:
    """The decoded JSON body; malformed JSON raises :class:`CollectorError` naming the URL."""
    try:
        return json.loads(response.content, parse_int=_whole_number)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        why = str(exc)[:200] or type(exc).__name__
        raise CollectorError(f"{source}: malformed JSON from {redact(response.url)}: {why}") from None


def json_object(response: Response, source: str) -> dict[str, Any]:
    data = read_json(response, source)
    if not isinstance(data, dict):
        raise CollectorError(f"{source}: expected a JSON object from {redact(response.url)}, got {type(data).__name__}")
    return data


def json_list(data: dict[str, Any], key: str, source: str, what: str = "the response") -> list[Any]:
    """``data[key]``, which must be a list; otherwise :class:`CollectorError` naming the field."""
    items = data.get(key)
    if not isinstance(items, list):
        raise CollectorError(f"{source}: {what} has no '{key}' list")
    return items


def why_unreadable(exc: BaseException) -> str:
    """A short reason for a skipped item (``missing 'text'``, ``ValueError: ...``)."""
    if isinstance(exc, KeyError):
        return f"missing {exc}"
    return f"{type(exc).__name__}: {exc}"[:200]


def read_items(items: Iterable[Any], read: Callable[[Any], Mention], context: FetchContext, where: str,
               key: str = "id") -> list[Mention]:
    """``read`` applied to each item; an item it cannot read is skipped and counted, naming
    ``where`` (the endpoint) and the item's ``key``, and the others are kept."""
    mentions = []
    for item in items:
        try:
            mentions.append(read(item))
        except ITEM_ERRORS as exc:
            name = item.get(key) if isinstance(item, dict) else None
            context.skip(f"{where} item {str(name)[:80] if name is not None else '?'}", why_unreadable(exc))
    return mentions


def with_followers(mentions: list[Mention], followers: dict[str, int]) -> list[Mention]:
    """The mentions with their author's follower count set where ``followers`` knows the handle."""
    return [
        m.model_copy(update={"author": m.author.model_copy(update={"followers": followers[m.author.handle]})})
        if m.author.handle in followers else m
        for m in mentions
    ]


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 string (``Z`` allowed) or Unix seconds as an aware UTC datetime."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, ValueError, OSError):
            return None
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def count(value: Any) -> int:
    """A whole number from 0 to ``MAX_COUNT`` from an API count field (absent or odd values are 0)."""
    try:
        return min(MAX_COUNT, max(0, int(value)))
    except (TypeError, ValueError, OverflowError):
        return 0


def language(value: Any) -> str | None:
    """``"en-US"`` → ``"en"``."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().replace("_", "-").split("-")[0].lower() or None


@dataclass
class Sweep:
    """Where a source stands: everything newer than ``since`` down to ``until`` is stored.

    ``newest`` is the newest key of the sweep in progress; ``until`` is the oldest key it
    stored so far (``None``: the sweep has not started). Keys are whatever the API orders
    by (ids, timestamps), kept as strings.
    """

    since: str | None = None
    until: str | None = None
    newest: str | None = None
    recent: list[tuple[str, float]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: str | None, source: str) -> Sweep:
        if not raw:
            return cls()
        try:
            return cls.from_dict(json.loads(raw))
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("%s: unreadable cursor (%s); starting over", source, exc)
            return cls()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sweep:
        return cls(
            since=data.get("since"), until=data.get("until"), newest=data.get("newest"),
            recent=[(str(i), float(t)) for i, t in data.get("recent", [])],
            extra=dict(data.get("extra", {})),
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"since": self.since, "until": self.until, "newest": self.newest}
        if self.recent:
            data["recent"] = [list(r) for r in self.recent]
        if self.extra:
            data["extra"] = self.extra
        return data

    def dump(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    def page_stored(self, newest: str | None, oldest: str | None) -> None:
        """Record a stored page of the sweep (keys of its newest and oldest posts)."""
        if self.newest is None:
            self.newest = newest
        if oldest is not None:
            self.until = oldest

    def finish(self) -> None:
        """The sweep reached ``since``: its newest key becomes the watermark."""
        if self.newest is not None:
            self.since = self.newest
        self.until = None
        self.newest = None

    def remember(self, posts: Iterable[tuple[str, datetime]], now: datetime, hours: float, limit: int) -> None:
        """Keep the ids of posts newer than ``hours`` (at most ``limit``) for engagement refresh."""
        horizon = (now - timedelta(hours=hours)).timestamp()
        merged = dict(self.recent)
        merged.update((i, t.timestamp()) for i, t in posts)
        fresh = sorted(((i, t) for i, t in merged.items() if t >= horizon), key=lambda r: -r[1])
        self.recent = fresh[:limit] if hours > 0 else []

    def recent_ids(self) -> list[str]:
        return [i for i, _ in self.recent]


def chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def load_sweeps(raw: str | None, source: str) -> dict[str, Sweep]:
    """One :class:`Sweep` per search (for sources that run several searches per query)."""
    if not raw:
        return {}
    try:
        return {key: Sweep.from_dict(value) for key, value in json.loads(raw)["sweeps"].items()}
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        log.warning("%s: unreadable cursor (%s); starting over", source, exc)
        return {}


def dump_sweeps(sweeps: dict[str, Sweep]) -> str:
    return json.dumps({"sweeps": {k: v.to_dict() for k, v in sweeps.items()}}, separators=(",", ":"), sort_keys=True)
