"""The signed HTTP endpoint for Slack button presses: a small ASGI app served by uvicorn.

For teams that expose a request URL instead of using Socket Mode. ``POST /slack/actions``
(and ``GET /healthz``) on ``slack.interactive_host``/``interactive_port``:

- a declared length over :data:`MAX_BODY` is answered 413 before anything is read, and so is
  a chunked body once it grows past it; a malformed ``Content-Length`` (``abc``, ``-1``) is
  answered 400 by the HTTP parser;
- the request line and headers must arrive within ``header_timeout`` and the body within
  ``body_timeout`` (a body shorter than its ``Content-Length`` is answered 400 then);
- at most ``max_connections`` connections are served at once, the others get 503;
- the signature (``X-Slack-Signature`` over a timestamp at most five minutes old, with
  ``SLACK_SIGNING_SECRET``) is checked by ``slack_sdk``'s ``SignatureVerifier``: 401 and no
  change otherwise; a signed but malformed payload is answered 400;
- the press is applied by :class:`~monitor.alerts.notify.slack.interactive.ActionHandler`, so
  a replay or Slack's retry (``X-Slack-Retry-Num``) changes nothing a second time.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from datetime import datetime, timedelta
from typing import Any, Callable

import uvicorn
from slack_sdk.signature import Clock, SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from monitor.alerts.notify.slack.interactive import ActionHandler, BadPayload, form_payload
from monitor.errors import ConfigError, MonitorError

log = logging.getLogger(__name__)

PATH = "/slack/actions"
MAX_BODY = 1 << 20
START_TIMEOUT = 10.0


class _Clock(Clock):
    def __init__(self, now: Callable[[], datetime]):
        self._now = now

    def now(self) -> float:
        return self._now().timestamp()


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _signed(verifier: SignatureVerifier, body: bytes, headers: dict[str, str]) -> bool:
    try:
        return verifier.is_valid_request(body, headers)
    except (ValueError, TypeError):  # e.g. a timestamp that is not a number
        return False


def build_app(handler: ActionHandler, signing_secret: str, body_timeout: float, max_body: int = MAX_BODY) -> Starlette:
    """The ASGI app: ``POST /slack/actions`` and ``GET /healthz``."""
    verifier = SignatureVerifier(signing_secret, clock=_Clock(handler.clock))

    async def actions(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and int(declared) > max_body:
            return PlainTextResponse("request too large", 413)
        try:
            body = await asyncio.wait_for(_read_body(request, max_body), body_timeout)
        except _TooLarge:
            return PlainTextResponse("request too large", 413)
        except TimeoutError:
            return PlainTextResponse("the body did not arrive in time (shorter than its Content-Length?)", 400)
        except ClientDisconnect:
            return Response(status_code=400)
        if not _signed(verifier, body, dict(request.headers)):
            log.warning("rejected a Slack request with a missing, invalid or expired signature")
            return PlainTextResponse("invalid signature", 401)
        try:
            await run_in_threadpool(handler.handle, form_payload(body))
        except BadPayload as exc:
            log.warning("rejected a signed Slack request: %s", exc)
            return PlainTextResponse(str(exc), 400)
        except MonitorError as exc:
            log.error("a Slack press could not be applied: %s", exc)
            return PlainTextResponse("the press could not be applied", 500)
        return Response(status_code=200)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route(PATH, actions, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])])


def _header_deadline(seconds: float) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol, closing a connection whose next request line and headers
    do not arrive within ``seconds`` (uvicorn bounds only idle keep-alive time)."""

    class HeaderDeadline(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def _arm(self) -> None:
            waiting_since = self.cycle
            self.loop.call_later(seconds, lambda: self._expire(waiting_since))

        def _expire(self, waiting_since: Any) -> None:
            if self.cycle is waiting_since and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline


class HttpEndpoint:
    """The endpoint served by uvicorn in a background thread; :meth:`start` binds the port."""

    def __init__(self, handler: ActionHandler, signing_secret: str, host: str = "127.0.0.1", port: int = 0,
                 *, max_connections: int = 100, body_timeout: timedelta = timedelta(seconds=10),
                 header_timeout: timedelta = timedelta(seconds=10), max_body: int = MAX_BODY):
        self.host, self.port = host, port
        app = build_app(handler, signing_secret, body_timeout.total_seconds(), max_body)
        self._server = uvicorn.Server(uvicorn.Config(
            app, http=_header_deadline(header_timeout.total_seconds()), ws="none", lifespan="off",
            limit_concurrency=max_connections, timeout_keep_alive=5,
            timeout_graceful_shutdown=max(1, int(body_timeout.total_seconds()) + 1),
            log_level="warning", access_log=False, server_header=False,
        ))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATH}"

    def start(self) -> HttpEndpoint:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ConfigError(f"cannot serve Slack's endpoint on {self.host}:{self.port}: {exc.strerror}") from exc
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="slack-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise MonitorError(f"Slack's endpoint on {self.host}:{self.port} did not start")
            time.sleep(0.01)
        log.info("Slack interactivity endpoint on %s", self.url)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread:
            self._thread.join(timeout=START_TIMEOUT)
