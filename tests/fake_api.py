"""A fake JSON API on 127.0.0.1 (port 0) for the collector tests, and the runs they share.

Each route is a handler ``(Request) -> Reply`` that behaves like the real endpoint; replies
queued with :meth:`FakeApi.queue` are served first (errors, throttling, broken bodies).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, parse_qsl, urlsplit

from monitor.collectors.base import Batch, FetchContext
from monitor.collectors.http import PoliteClient
from monitor.models import Mention
from monitor.query import Query

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def fixture(source: str, name: str) -> Any:
    return json.loads((FIXTURES / source / name).read_text(encoding="utf-8"))


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    params: list[tuple[str, str]] = field(default_factory=list)

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def json_reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})


Handler = Callable[[Request], Reply]


class FakeApi:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.queued: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                params = parse_qsl(split.query, keep_blank_values=True)
                request = Request(self.command, split.path, dict(params),
                                  {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length), params)
                reply = outer._reply(request)
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _serve  # noqa: N815 - http.server's naming

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, path: str, handler: Handler, method: str = "GET") -> None:
        self.routes[(method, path)] = handler

    def queue(self, path: str, *replies: Reply, method: str = "GET") -> None:
        self.queued.setdefault((method, path), []).extend(replies)

    def _reply(self, request: Request) -> Reply:
        key = (request.method, request.path)
        with self.lock:
            self.requests.append(request)
            queued = self.queued.get(key)
            if queued:
                return queued.pop(0)
        handler = self.routes.get(key)
        return handler(request) if handler else Reply(404, b'{"error": "not found"}')

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def fast_client(sleeps: list[float], timeout: float = 1.0) -> PoliteClient:
    """Three attempts, short timeouts, and waits recorded in ``sleeps`` instead of slept."""
    return PoliteClient(timeout=timeout, max_attempts=3, backoff=0.01, sleep=sleeps.append)


def context(query: str = "acme", brand: str = "acme", source: str = "src", now: datetime = NOW) -> FetchContext:
    return FetchContext(brand, source, Query.parse(query), (), now)


def drain(batches: Iterable[Batch], cursor: str | None = None) -> tuple[list[Mention], str | None]:
    """Consume batches the way the pipeline stores them: mentions plus the cursor after each."""
    mentions: list[Mention] = []
    for batch in batches:
        mentions += batch.mentions
        cursor = batch.cursor or cursor
    return mentions, cursor


def page_slices(items: list[Any], offset: int, size: int) -> tuple[list[Any], int | None]:
    """``items[offset:offset+size]`` and the next offset, or ``None`` on the last page."""
    page = items[offset:offset + size]
    return page, offset + size if offset + size < len(items) else None
