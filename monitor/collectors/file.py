"""Import mentions from a JSONL or CSV file (local or over HTTP), incrementally by byte offset."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Iterator, Literal, Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from monitor.collectors.base import ITEM_ERRORS, Batch, FetchContext
from monitor.collectors.http import PoliteClient, redact
from monitor.errors import CollectorError
from monitor.models import MAX_COUNT, Author, Engagement, Mention, utc

log = logging.getLogger(__name__)

HEAD = 64 * 1024
MAX_ID_LENGTH = 512
_BOM = b"\xef\xbb\xbf"
_NUMBER = re.compile(r"[+-]?\d+(\.\d*)?")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


class FileConfig(BaseModel):
    """Options of a ``file`` source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1, description="a local path or an http(s) URL")
    format: Literal["auto", "jsonl", "csv"] = "auto"
    max_batch: int = Field(default=500, ge=1)
    source_field_default: str = Field(default="file", min_length=1)

    def resolved_against(self, base: Path) -> FileConfig:
        """A copy whose relative local path is relative to ``base`` (a URL is left as it is)."""
        if "://" in self.path or Path(self.path).is_absolute():
            return self.model_copy()
        return self.model_copy(update={"path": str(base / self.path)})


class BadRow(ValueError):
    """A row that cannot become a mention; the message says why."""


def parse_time(value: Any) -> datetime:
    """ISO 8601 (naive = UTC) or Unix seconds, as an aware UTC datetime."""
    if isinstance(value, bool) or value is None:
        raise BadRow(f"bad created_at {value!r}")
    try:
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        text = str(value).strip()
        if _NUMBER.fullmatch(text):
            return datetime.fromtimestamp(float(text), tz=timezone.utc)
        return utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError, OSError):
        raise BadRow(f"bad created_at {value!r}") from None


def _text(row: Mapping[str, Any], name: str) -> str | None:
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise BadRow(f"{name} must be a string, not {type(value).__name__}")
    return str(value).strip() or None


def _count(row: Mapping[str, Any], name: str) -> int | None:
    value = row.get(name)
    if value is None:
        return None
    try:
        number = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        number = float("nan")
    if not number.is_integer() or not 0 <= number <= MAX_COUNT:
        raise BadRow(f"{name} must be a whole number from 0 to {MAX_COUNT}, got {str(value)[:40]!r}")
    return int(number)


def _flag(row: Mapping[str, Any], name: str) -> bool:
    value = row.get(name)
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise BadRow(f"{name} must be true/false/1/0, got {value!r}")


def row_to_mention(row: Mapping[str, Any], context: FetchContext, default_source: str) -> Mention:
    """Map one import row (see docs/collectors.md) to a mention; raises :class:`BadRow`."""
    external = row.get("id")
    if isinstance(external, (bool, float, dict, list)):
        raise BadRow(f"id must be a string or an integer, got {external!r}")
    external, text = _text(row, "id"), _text(row, "text")
    if external is not None and len(external) > MAX_ID_LENGTH:
        raise BadRow(f"id longer than {MAX_ID_LENGTH} characters")
    missing = [n for n, v in (("id", external), ("text", text), ("created_at", row.get("created_at")))
               if v is None or v == ""]
    if missing:
        raise BadRow(f"missing required field(s): {', '.join(missing)}")
    source = _text(row, "source") or default_source
    parent = _text(row, "parent_id")
    conversation = _text(row, "conversation_id")
    reply = _flag(row, "is_reply")
    linked = Mention.make_id(source, parent) if parent else None
    try:
        return Mention(
            id=Mention.make_id(source, external),
            brand=context.brand,
            source=source,
            text=text,
            created_at=parse_time(row["created_at"]),
            collected_at=context.now,
            url=_text(row, "url"),
            title=_text(row, "title"),
            author=Author(handle=_text(row, "author"), name=_text(row, "author_name"),
                          followers=_count(row, "followers")),
            engagement=Engagement(likes=_count(row, "likes") or 0, shares=_count(row, "shares") or 0,
                                  replies=_count(row, "replies") or 0),
            is_repost=_flag(row, "is_repost"),
            is_quote=_flag(row, "is_quote"),
            parent_id=None if reply else linked,
            reply_to=linked if reply else None,
            conversation=Mention.make_id(source, conversation) if conversation else None,
            reach=_count(row, "reach"),
            language_hint=_text(row, "language"),
        )
    except ValidationError as exc:
        raise BadRow(exc.errors()[0]["msg"]) from None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _records(
    stream: IO[bytes], offset: int, quoted: bool, complete: bool
) -> Iterator[tuple[int, int, bytes]]:
    """``(end offset, physical lines, raw record)`` from ``offset``; a CSV record may span lines.

    An unterminated last record is left unread unless the body is ``complete``.
    """
    stream.seek(offset)
    pending, lines = b"", 0
    while line := stream.readline():
        pending, lines = pending + line, lines + 1
        if not line.endswith(b"\n"):
            break
        if quoted and pending.count(b'"') % 2:
            continue
        offset += len(pending)
        yield offset, lines, pending
        pending, lines = b"", 0
    if pending and complete:
        yield offset + len(pending), lines, pending


class _Cursor(BaseModel):
    offset: int = 0
    line: int = 0
    head: str = ""
    head_len: int = 0
    etag: str | None = None
    size: int = 0


class FileCollector:
    """Read new complete rows of a growing JSONL/CSV export; ``Config`` is :class:`FileConfig`.

    ``bad_rows`` counts the rows skipped by the latest :meth:`fetch`; each is also counted in
    the run's :attr:`FetchContext.unreadable`.
    """

    Config = FileConfig
    searches_natively = False

    def __init__(self, config: FileConfig, client: PoliteClient | None = None):
        self.config = config if isinstance(config, FileConfig) else FileConfig.model_validate(config)
        self.remote = self.config.path.lower().startswith(("http://", "https://"))
        self.shown = redact(self.config.path)
        self.client = client or (PoliteClient() if self.remote else None)
        self.delimiter = ","
        self.bad_rows = 0

    def fetch(self, context: FetchContext, cursor: str | None) -> Iterator[Batch]:
        """Yield batches of at most ``max_batch`` new mentions, each with the cursor after it."""
        self.bad_rows = 0
        state = self._load(cursor)
        opened = self._open_remote(state) if self.remote else self._open_local()
        if opened is None:
            return
        stream, etag, size = opened
        with stream:
            yield from self._read(stream, state, context, etag, size)
        if self.bad_rows:
            log.warning("file %s: skipped %d bad row(s)", self.shown, self.bad_rows)

    def _load(self, cursor: str | None) -> _Cursor:
        if not cursor:
            return _Cursor()
        try:
            return _Cursor.model_validate_json(cursor)
        except ValueError:
            log.warning("file %s: unreadable cursor, reading from the start", self.shown)
            return _Cursor()

    def _open_local(self) -> tuple[IO[bytes], None, int]:
        if os.path.isdir(self.config.path):
            raise CollectorError(f"file source: {self.config.path} is a directory, not a file")
        try:
            stream = open(self.config.path, "rb")
        except FileNotFoundError:
            raise CollectorError(f"file source: {self.config.path} does not exist") from None
        except OSError as exc:
            why = exc.strerror or exc
            raise CollectorError(f"file source: cannot read {self.config.path}: {why}") from None
        return stream, None, os.fstat(stream.fileno()).st_size

    def _open_remote(self, state: _Cursor) -> tuple[IO[bytes], str | None, int] | None:
        done = state.etag and state.size and state.offset >= state.size
        response = self.client.get(self.config.path, {"If-None-Match": state.etag} if done else None)
        if response.not_modified:
            return None
        return io.BytesIO(response.content), response.headers.get("ETag"), len(response.content)

    def _format(self, head: bytes) -> str:
        if self.config.format != "auto":
            return self.config.format
        suffix = Path(urlsplit(self.config.path).path if self.remote else self.config.path).suffix.lower()
        if suffix in (".jsonl", ".ndjson", ".json"):
            return "jsonl"
        if suffix in (".csv", ".tsv"):
            return "csv"
        return "jsonl" if head.removeprefix(_BOM).lstrip().startswith(b"{") else "csv"

    def _read(self, stream: IO[bytes], state: _Cursor, context: FetchContext,
              etag: str | None, size: int) -> Iterator[Batch]:
        head = stream.read(HEAD)
        if state.offset and (state.offset > size or len(head) < state.head_len
                             or _digest(head[: state.head_len]) != state.head):
            log.warning("file %s: truncated or replaced since the last read; reading from the start",
                        self.shown)
            state = _Cursor()
        fmt = self._format(head)
        header = self._header(stream) if fmt == "csv" and state.offset else None
        offset, line, yielded = state.offset, state.line, state.offset
        mentions: list[Mention] = []

        def batch() -> Batch:
            kept = head[: min(offset, HEAD)]
            after = _Cursor(offset=offset, line=line, head=_digest(kept), head_len=len(kept),
                            etag=etag, size=max(size, offset))
            return Batch(mentions, after.model_dump_json())

        for offset, lines, raw in _records(stream, offset, fmt == "csv", complete=self.remote):
            number, line = line + 1, line + lines
            try:
                text = (raw.removeprefix(_BOM) if number == 1 else raw).decode("utf-8")
                if not text.strip():
                    continue
                if fmt == "csv" and header is None:
                    header = self._columns(text)
                    continue
                row = self._csv_row(text, header) if fmt == "csv" else self._json_row(text)
                mentions.append(row_to_mention(row, context, self.config.source_field_default))
            except (BadRow, csv.Error, *ITEM_ERRORS) as exc:
                self._bad(context, number, exc)
            if len(mentions) >= self.config.max_batch:
                yield batch()
                mentions, yielded = [], offset
        if mentions or offset != yielded:
            yield batch()

    def _header(self, stream: IO[bytes]) -> list[str] | None:
        for _, _, raw in _records(stream, 0, True, True):
            text = raw.removeprefix(_BOM).decode("utf-8", errors="replace")
            if text.strip():
                return self._columns(text)
        return None

    def _columns(self, text: str) -> list[str]:
        self.delimiter = max(",;\t", key=text.count)
        return [c.strip().lower() for c in self._csv_values(text)]

    def _csv_values(self, text: str) -> list[str]:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter, strict=True))
        if len(rows) != 1:
            raise BadRow(f"expected one CSV record, found {len(rows)}")
        return rows[0]

    def _csv_row(self, text: str, header: list[str]) -> dict[str, Any]:
        values = self._csv_values(text)
        if len(values) > len(header):
            raise BadRow(f"{len(values)} values for {len(header)} columns")
        return {k: v for k, v in zip(header, values) if v != ""}

    @staticmethod
    def _json_row(text: str) -> dict[str, Any]:
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRow(f"broken JSON: {exc.msg} at column {exc.colno}") from None
        except RecursionError:
            raise BadRow("JSON nested too deeply") from None
        except ValueError as exc:
            raise BadRow(f"unreadable JSON: {str(exc)[:120]}") from None
        if not isinstance(row, dict):
            raise BadRow(f"expected a JSON object, got {type(row).__name__}")
        return row

    def _bad(self, context: FetchContext, number: int, exc: Exception) -> None:
        self.bad_rows += 1
        context.skip(f"row {self.shown}:{number}", exc if str(exc) else type(exc).__name__)
