"""The polite HTTP helper against a scripted server on 127.0.0.1 (also used by the collector tests)."""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

import httpx
import pytest

from monitor.collectors.http import PoliteClient, Response, parse_retry_after, rate_limit_reset, redact
from monitor.errors import CollectorError, RateLimited


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip: float = 0.0
    """Seconds between the answer's bytes, status line and headers included (0: all at once)."""


Script = Reply | Callable[[dict[str, str]], Reply]


class LocalServer:
    """A threaded server on an ephemeral port; each path replays its scripted replies in order
    (the last one repeats) and every request is recorded as ``(path, headers)``."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Script]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                reply = outer._next(self.path, dict(self.headers.items()))
                time.sleep(reply.delay)
                head = "".join(f"{name}: {value}\r\n" for name, value in
                               {**reply.headers, "Content-Length": str(len(reply.body))}.items())
                answer = f"HTTP/1.0 {reply.status} {HTTPStatus(reply.status).phrase}\r\n{head}\r\n".encode() + reply.body
                try:
                    for start in range(0, len(answer), 1 if reply.drip else len(answer)):
                        self.wfile.write(answer[start:start + 1] if reply.drip else answer)
                        self.wfile.flush()
                        time.sleep(reply.drip)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def _next(self, path: str, headers: dict[str, str]) -> Reply:
        with self.lock:
            self.requests.append((path, headers))
            script = self.routes.get(path.split("?")[0], [Reply(404)])
            step = script.pop(0) if len(script) > 1 else script[0]
        return step(headers) if callable(step) else step

    def script(self, path: str, *replies: Script) -> str:
        """Set the replies for ``path``; returns its URL."""
        self.routes[path] = list(replies)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p.split("?")[0] == path]

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Sleeps(list):
    """An injectable ``sleep`` that records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def client(sleeps: Sleeps, **options: object) -> PoliteClient:
    return PoliteClient(sleep=sleeps, timeout=2.0, **options)


def test_plain_get_sends_user_agent_and_returns_body(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/a", Reply(200, b"hello", {"ETag": '"v1"'}))
    response = client(sleeps, user_agent="monitor-test/1").get(url, {"X-Extra": "1"})
    assert isinstance(response, Response)
    assert (response.status, response.content, response.headers["etag"]) == (200, b"hello", '"v1"')
    assert not response.not_modified
    sent = server.hits("/a")[0]
    assert sent["User-Agent"] == "monitor-test/1" and sent["X-Extra"] == "1"
    assert sleeps == []


def test_304_is_returned_not_raised(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/a", Reply(304))
    response = client(sleeps).get(url, {"If-None-Match": '"v1"'})
    assert response.not_modified and response.content == b""


def test_500_twice_then_success_backs_off_exponentially(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/a", Reply(500), Reply(502), Reply(200, b"ok"))
    assert client(sleeps, backoff=1.0).get(url).content == b"ok"
    assert len(server.hits("/a")) == 3
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0


def test_500_forever_raises_collector_error_naming_url_and_status(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/down", Reply(503))
    with pytest.raises(CollectorError) as caught:
        client(sleeps, max_attempts=3).get(url)
    assert not isinstance(caught.value, RateLimited)
    assert "/down" in str(caught.value) and "503" in str(caught.value)
    assert len(server.hits("/down")) == 3 and len(sleeps) == 2


def test_backoff_is_capped(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/a", Reply(500))
    with pytest.raises(CollectorError):
        client(sleeps, max_attempts=6, backoff=10, max_backoff=15).get(url)
    assert max(sleeps) <= 15


def test_404_is_not_retried(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/gone", Reply(404))
    with pytest.raises(CollectorError, match="404"):
        client(sleeps).get(url)
    assert len(server.hits("/gone")) == 1 and sleeps == []


def test_429_with_short_retry_after_waits_then_succeeds(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/a", Reply(429, headers={"Retry-After": "7"}), Reply(200, b"ok"))
    assert client(sleeps).get(url).content == b"ok"
    assert sleeps == [7.0]


def test_429_with_http_date_retry_after(server: LocalServer, sleeps: Sleeps) -> None:
    now = 1_714_557_600.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    url = server.script("/a", Reply(429, headers={"Retry-After": date}), Reply(200, b"ok"))
    assert client(sleeps, clock=lambda: now).get(url).content == b"ok"
    assert sleeps == [30.0]


def test_429_with_long_retry_after_raises_rate_limited(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/a", Reply(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimited) as caught:
        client(sleeps, max_retry_after=60).get(url)
    assert caught.value.retry_after == 3600 and sleeps == []
    assert len(server.hits("/a")) == 1


def test_429_forever_raises_rate_limited_after_attempts(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/a", Reply(429, headers={"Retry-After": "2"}))
    with pytest.raises(RateLimited) as caught:
        client(sleeps, max_attempts=3).get(url)
    assert caught.value.retry_after == 2 and sleeps == [2.0, 2.0]


def test_timeout_is_retried_then_raises(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/slow", Reply(200, b"late", delay=0.6))
    started = time.monotonic()
    with pytest.raises(CollectorError, match="timed out"):
        PoliteClient(timeout=0.15, max_attempts=2, sleep=sleeps).get(url)
    assert len(sleeps) == 1 and len(server.hits("/slow")) == 2
    assert time.monotonic() - started < 1.5


def test_timeout_then_success(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/slow", Reply(200, b"late", delay=0.5), Reply(200, b"quick"))
    assert PoliteClient(timeout=0.15, sleep=sleeps).get(url).content == b"quick"


def test_connection_refused_is_retried_then_raises(sleeps: Sleeps) -> None:
    with LocalServer() as gone:
        url = gone.url("/x")
    with pytest.raises(CollectorError, match="failed after 2 attempts"):
        client(sleeps, max_attempts=2).get(url)
    assert len(sleeps) == 1


def test_body_over_the_limit_is_refused(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/big", Reply(200, b"x" * 5000))
    with pytest.raises(CollectorError, match="larger than 1000 bytes"):
        client(sleeps, max_bytes=1000).get(url)


def test_redirects_are_followed(server: LocalServer, sleeps: Sleeps) -> None:
    server.script("/new", Reply(200, b"moved here"))
    url = server.script("/old", Reply(301, headers={"Location": server.url("/new")}))
    response = client(sleeps).get(url)
    assert response.content == b"moved here" and response.url.endswith("/new")


def test_a_redirect_loop_is_a_collector_error(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/loop", Reply(302, headers={"Location": server.url("/loop")}))
    with pytest.raises(CollectorError, match="too many redirects"):
        client(sleeps).get(url)
    assert sleeps == [] and len(server.hits("/loop")) > 5


def test_a_dripping_answer_is_cut_at_the_timeout_not_per_read(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/drip", Reply(200, b"x" * 100, drip=0.05))
    started = time.monotonic()
    with pytest.raises(CollectorError, match="timed out"):
        PoliteClient(timeout=0.4, max_attempts=2, sleep=sleeps).get(url)
    assert len(sleeps) == 1 and len(server.hits("/drip")) == 2
    assert time.monotonic() - started < 2.0


def test_not_http_is_refused_without_retry(sleeps: Sleeps) -> None:
    with pytest.raises(CollectorError):
        client(sleeps).get("ftp://example.org/feed")
    assert sleeps == []


def test_redact_hides_secret_parameters_and_passwords() -> None:
    url = "https://u:hunter2@api.example.com/s?q=acme&token=T0K&api_key=K3Y&key=abc&access_token=AT&monkey=ok"
    shown = redact(url)
    for secret in ("hunter2", "T0K", "K3Y", "=abc", "AT&"):
        assert secret not in shown
    assert "q=acme" in shown and "monkey=ok" in shown and "token=***" in shown


def test_secrets_never_reach_logs_or_errors(
    server: LocalServer, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.script("/a", Reply(500)) + "?q=acme&access_token=SECRET1&key=SECRET2"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CollectorError) as caught:
        client(sleeps, max_attempts=2).get(url, {"Authorization": "Bearer SECRET3"})
    text = caplog.text + str(caught.value)
    assert "HTTP Request: GET" in caplog.text and "access_token=***" in caplog.text
    for secret in ("SECRET1", "SECRET2", "SECRET3"):
        assert secret not in text


def test_retry_is_counted_with_mock_transport(sleeps: Sleeps) -> None:
    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("boom", request=request)
        return httpx.Response(200, content=b"fine")

    response = PoliteClient(transport=httpx.MockTransport(handle), sleep=sleeps).get("http://feed.test/x")
    assert response.content == b"fine" and len(calls) == 2 and len(sleeps) == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", 120.0), ("0", 0.0), ("-5", 0.0), ("1.5", 1.5), (None, None), ("soon", None),
     ("Wed, 01 May 2024 10:01:00 GMT", 60.0), ("Wed, 01 May 2024 09:00:00 GMT", 0.0)],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = email.utils.parsedate_to_datetime("Wed, 01 May 2024 10:00:00 GMT").timestamp()
    assert parse_retry_after(header, now) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"x-rate-limit-reset": "1714557630"}, 30.0), ({"x-ratelimit-reset": "42"}, 42.0),
     ({"ratelimit-reset": "1714557500"}, 0.0), ({"x-ratelimit-reset": "soon"}, None), ({}, None)],
)
def test_rate_limit_reset_headers(headers: dict[str, str], expected: float | None) -> None:
    assert rate_limit_reset(httpx.Headers(headers), 1714557600.0) == expected


def test_post_sends_a_form_and_retries(sleeps: Sleeps) -> None:
    bodies: list[bytes] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(503 if len(bodies) == 1 else 200, content=b'{"access_token": "t"}')

    client = PoliteClient(transport=httpx.MockTransport(handle), sleep=sleeps)
    response = client.post("http://auth.test/token", data={"grant_type": "client_credentials"})
    assert response.content == b'{"access_token": "t"}' and len(sleeps) == 1
    assert bodies == [b"grant_type=client_credentials"] * 2


def test_a_late_deadline_of_an_earlier_attempt_cuts_nothing_of_the_next() -> None:
    from monitor.collectors.http import _Connections

    class Stream:
        def __init__(self) -> None:
            self.shut = 0

        def get_extra_info(self, name: str) -> Any:
            return self

        def shutdown(self, how: int) -> None:
            self.shut += 1

    connections = _Connections()
    first = connections.deadline(3600)
    first.cancel()
    earlier = connections.cut
    connections.deadline(3600).cancel()
    stream = Stream()
    connections.trace("connection.connect_tcp.complete", {"return_value": stream})
    connections._cut(earlier)
    assert stream.shut == 0 and not connections.cut.is_set()
    connections._cut(connections.cut)
    assert stream.shut == 1 and connections.cut.is_set()
