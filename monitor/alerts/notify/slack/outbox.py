"""A notifier for running without Slack: JSON lines in a file plus a console rendering."""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence, TextIO

from pydantic import BaseModel, ConfigDict

from monitor.alerts.notify.base import AlertMessage
from monitor.alerts.notify.chart import chart_title, spike_chart
from monitor.alerts.notify.jsonl import records_with_key
from monitor.alerts.notify.slack.blocks import render, units
from monitor.alerts.notify.slack.daily import daily_blocks
from monitor.alerts.notify.slack.digest import digest_blocks
from monitor.care.digest import Digest
from monitor.daily.digest import DailyDigest
from monitor.errors import DeliveryError

log = logging.getLogger(__name__)

TS_PREFIX = "outbox-"

_LINK = re.compile(r"<(?:!date\^[^|>]*\||([^|>]+)\|)?([^>]*)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")


def mrkdwn_to_plain(text: str) -> str:
    """Readable plain text: links as ``label (url)``, dates as their fallback, no bold markers."""

    def expand(found: re.Match[str]) -> str:
        url, label = found.group(1), found.group(2)
        return f"{label} ({url})" if url else label

    plain = _BOLD.sub(r"\1", _LINK.sub(expand, text))
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks_to_text(blocks: Sequence[dict[str, Any]]) -> str:
    """A console rendering of Block Kit blocks."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = block["text"]["text"]
            lines += [title, "=" * min(units(title), 72)]
        elif kind == "section":
            if "text" in block:
                lines.append(mrkdwn_to_plain(block["text"]["text"]))
            lines += [mrkdwn_to_plain(f["text"]).replace("\n", ": ", 1) for f in block.get("fields", [])]
        elif kind == "context":
            lines.append(" · ".join(mrkdwn_to_plain(e.get("text", "")) for e in block["elements"]))
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "actions":
            lines.append(" ".join(
                f"[{(e.get('text') or e.get('placeholder') or {}).get('text', '')}"
                + (" ▾]" if e.get("options") else "]") + (f" {e['url']}" if e.get("url") else "")
                for e in block["elements"]
            ))
    return "\n".join(lines)


class OutboxConfig(BaseModel):
    """The ``outbox:`` section (``alerts.outbox: PATH`` is its short form)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Path("outbox.jsonl")


class OutboxNotifier:
    """Appends each message (the blocks Slack would get) to ``path`` and prints it.

    The console copy goes to ``stream`` when given, else to this module's logger at INFO.
    Message ids are ``outbox-<n>``, counted across restarts from the lines already in the
    file, so threads still link up. An alert's spike chart is saved as a PNG beside the file
    and listed in the record's ``files``.
    """

    Config = OutboxConfig

    def __init__(self, path: str | Path = "outbox.jsonl", stream: TextIO | None = None):
        self.path = Path(path)
        self.stream = stream
        self._lock = threading.Lock()
        self._count: int | None = None

    @classmethod
    def from_config(cls, settings: OutboxConfig) -> OutboxNotifier:
        return cls(settings.path)

    def _count_lines(self) -> int:
        try:
            with self.path.open("rb") as existing:
                return sum(1 for line in existing if line.strip())
        except FileNotFoundError:
            return 0

    def _write(self, record: dict[str, Any]) -> str:
        """Append ``record`` with the next ``ts`` (under the lock); returns that ts."""
        if self._count is None:
            self._count = self._count_lines()
        ts = f"{TS_PREFIX}{self._count + 1}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"ts": ts, **record}, ensure_ascii=False) + "\n")
        self._count += 1
        return ts

    def _locked_write(self, record: dict[str, Any]) -> str:
        with self._lock:
            try:
                return self._write(record)
            except OSError as exc:
                self._count = None
                raise DeliveryError(f"cannot write outbox {self.path}: {exc.strerror or exc}") from exc

    def _show(self, console: str) -> None:
        if self.stream is not None:
            self.stream.write(console + "\n")
            self.stream.flush()
        else:
            log.info("%s", console)

    def send(self, message: AlertMessage) -> str:
        rendered = render(message)
        record: dict[str, Any] = {
            "kind": message.kind,
            "channel": message.channel,
            "thread_ts": message.thread_ts,
            "reply_broadcast": message.broadcast,
            "incident_id": message.incident.id,
            "key": message.key,
            "posted_at": datetime.now(timezone.utc).isoformat(),
            "text": rendered.text,
            "blocks": rendered.blocks,
        }
        chart = spike_chart(message.summary, chart_title(message.incident.brand), message.zone) if message.kind == "alert" else None
        if chart is not None:
            image = self.path.parent / f"{message.incident.id}-spike.png"
            try:
                image.parent.mkdir(parents=True, exist_ok=True)
                image.write_bytes(chart)
            except OSError as exc:
                raise DeliveryError(f"cannot write outbox {self.path}: {exc.strerror or exc}") from exc
            record["files"] = [str(image)]
        ts = self._locked_write(record)
        where = f"{message.channel} (thread {message.thread_ts})" if message.thread_ts else message.channel
        self._show(f"── {message.kind} to {where} · {ts} ──\n{blocks_to_text(rendered.blocks)}\n")
        return ts

    def post_digest(self, digest: Digest) -> str:
        """Record the care digest (a message of no incident) as Slack would show it."""
        return self._write_keyed("care_digest", digest.channel, digest.key, digest.text(), digest_blocks(digest))

    def post_daily_digest(self, digest: DailyDigest) -> str:
        """Record a brand's daily digest as Slack would show it."""
        return self._write_keyed("daily_digest", digest.channel, digest.key, digest.text(), daily_blocks(digest))

    def _write_keyed(self, kind: str, channel: str, key: str, text: str, blocks: list[dict[str, Any]]) -> str:
        ts = self._locked_write({"kind": kind, "channel": channel, "thread_ts": None, "reply_broadcast": False,
                                 "incident_id": None, "key": key, "posted_at": datetime.now(timezone.utc).isoformat(),
                                 "text": text, "blocks": blocks})
        self._show(f"── {kind.replace('_', ' ')} to {channel} · {ts} ──\n{blocks_to_text(blocks)}\n")
        return ts

    def posted(self, channel: str, key: str) -> str | None:
        """The ts of the record with ``key``, if there is one (keys name their channel)."""
        return self._find_key(key)

    def find(self, message: AlertMessage) -> str | None:
        return self._find_key(message.key) if message.key else None

    def _find_key(self, key: str) -> str | None:
        return next((record.get("ts") for record in records_with_key(self.path, key)), None)
        return None
