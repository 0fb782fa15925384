"""Failure behaviour every API collector must show, run by each collector's own test file.

Each check takes a ``make(client)`` building the collector, the fake API, the search path
(where failures are injected) and the fetch context; the fake's own handler answers
whatever is not queued.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from monitor.collectors.base import FetchContext
from monitor.collectors.http import PoliteClient
from monitor.errors import CollectorError, RateLimited
from fake_api import FakeApi, Reply, drain, fast_client

Make = Callable[[PoliteClient], Any]


def retry_after_is_honoured(make: Make, api: FakeApi, path: str, ctx: FetchContext, method: str = "GET") -> None:
    sleeps: list[float] = []
    api.queue(path, Reply(429, b'{"error": "Too Many Requests"}', {"Retry-After": "2"}), method=method)
    mentions, cursor = drain(make(fast_client(sleeps)).fetch(ctx, None))
    assert 2.0 in sleeps
    assert mentions and cursor


def long_retry_after_raises_rate_limited(make: Make, api: FakeApi, path: str, ctx: FetchContext,
                                         method: str = "GET") -> None:
    api.queue(path, Reply(429, b"{}", {"Retry-After": "900"}), method=method)
    with pytest.raises(RateLimited) as caught:
        drain(make(fast_client([])).fetch(ctx, None))
    assert caught.value.retry_after == pytest.approx(900, abs=1)


def server_errors_are_retried(make: Make, api: FakeApi, path: str, ctx: FetchContext, method: str = "GET") -> None:
    sleeps: list[float] = []
    api.queue(path, Reply(500, b"oops"), Reply(503, b"busy"), method=method)
    mentions, _ = drain(make(fast_client(sleeps)).fetch(ctx, None))
    assert len(sleeps) == 2 and mentions


def persistent_errors_raise(make: Make, api: FakeApi, path: str, ctx: FetchContext, method: str = "GET") -> None:
    api.queue(path, *[Reply(502, b"bad gateway")] * 3, method=method)
    with pytest.raises(CollectorError, match="HTTP 502"):
        drain(make(fast_client([])).fetch(ctx, None))


def timeouts_are_retried(make: Make, api: FakeApi, path: str, ctx: FetchContext, method: str = "GET") -> None:
    sleeps: list[float] = []
    api.queue(path, Reply(200, b"{}", delay=2.0), method=method)
    mentions, _ = drain(make(fast_client(sleeps, timeout=0.6)).fetch(ctx, None))
    assert len(sleeps) == 1 and mentions


def malformed_json_raises(make: Make, api: FakeApi, path: str, ctx: FetchContext, method: str = "GET") -> None:
    api.queue(path, Reply(200, b'{"data": [{"id": '), method=method)
    with pytest.raises(CollectorError, match="malformed JSON"):
        drain(make(fast_client([])).fetch(ctx, None))


ALL = [retry_after_is_honoured, long_retry_after_raises_rate_limited, server_errors_are_retried,
       persistent_errors_raise, timeouts_are_retried, malformed_json_raises]
