"""A polite HTTP client shared by collectors: timeouts, bounded retries, ``Retry-After``, redaction."""

from __future__ import annotations

import email.utils
import logging
import random
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import httpx

from monitor.errors import CollectorError, RateLimited

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "monitor/0.1 (+brand monitoring)"

_SECRET_PARAM = re.compile(
    r"(?i)([?&;](?:[\w.-]*[_-])?(?:token|key|apikey|secret|password|signature|sig|auth)=)[^&#;\s]*"
)
_USERINFO = re.compile(r"(://[^/?#@\s:]+:)[^/?#@\s]*@")


def redact(text: str) -> str:
    """Hide secret query parameters (``token``, ``key``, ``access_token``…) and URL passwords."""
    return _USERINFO.sub(r"\1***@", _SECRET_PARAM.sub(r"\1***", text))


class _RedactUrls(logging.Filter):
    """Redact URLs in httpx's own request log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(str(a)) if isinstance(a, (str, httpx.URL)) else a for a in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_RedactUrls())


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


_RESET_HEADERS = ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset")


def rate_limit_reset(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until a rate-limit window resets, from the usual ``*-reset`` headers.

    X and Bluesky send a Unix time, Reddit a number of seconds; a value above 10^9 is read
    as a Unix time.
    """
    for name in _RESET_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        try:
            number = float(value.strip())
        except ValueError:
            continue
        return max(0.0, number - now if number > 1e9 else number)
    return None


@dataclass(frozen=True)
class Response:
    """A finished response: 2xx with its body, or 304 with an empty one."""

    url: str
    status: int
    headers: httpx.Headers
    content: bytes

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class _Retry(Exception):
    def __init__(self, reason: str, wait: float | None = None, retry_after: float | None = None,
                 rate_limited: bool = False):
        super().__init__(reason)
        self.wait = wait
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class _Connections:
    """The sockets one client opened (seen through httpcore's trace), so a deadline can cut them.

    httpx's timeouts bound each read, not a whole answer: a server sending a byte a second
    would hold a request for hours. :meth:`deadline` shuts the sockets down when an attempt
    runs past its time, which ends any read waiting on them.
    """

    def __init__(self) -> None:
        self.streams: list[Any] = []
        self.cut = threading.Event()
        self._lock = threading.Lock()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            self.streams.append(info["return_value"])

    def deadline(self, seconds: float) -> threading.Timer:
        """A started timer that cuts the connections after ``seconds``; cancel it when the attempt ends.

        Each attempt gets its own ``cut`` event: an earlier attempt's timer that fires late cuts
        nothing once a later attempt has begun (it would otherwise break the new connection).
        """
        with self._lock:
            self.cut = threading.Event()
        timer = threading.Timer(seconds, self._cut, args=(self.cut,))
        timer.daemon = True
        timer.start()
        return timer

    def _cut(self, cut: threading.Event) -> None:
        with self._lock:
            if cut is not self.cut:
                return
            cut.set()
            for stream in self.streams:
                sock = stream.get_extra_info("socket")
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except (OSError, AttributeError):
                    continue


class PoliteClient:
    """GET (and POST, for token endpoints) with timeouts and bounded retries.

    Network errors, timeouts and 5xx are retried with exponential backoff and jitter; a 429
    waits out a short ``Retry-After`` (at most ``max_retry_after`` seconds) and otherwise
    raises :class:`RateLimited`. Other 4xx, redirect loops and exhausted retries raise
    :class:`CollectorError`. ``timeout`` bounds each read and also a whole attempt: an answer
    still arriving ``timeout`` seconds after the request started is a timed-out attempt.
    ``sleep``, ``clock`` and ``transport`` are injectable for tests.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        user_agent: str = DEFAULT_USER_AGENT,
        max_attempts: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        max_retry_after: float = 60.0,
        max_bytes: int = 50 * 1024 * 1024,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ):
        self.timeout = timeout
        self.user_agent = user_agent
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.max_bytes = max_bytes
        self.sleep = sleep
        self.clock = clock
        self.transport = transport

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Response:
        """Fetch ``url``; returns a 2xx or 304 response, raises on anything else."""
        return self.request("GET", url, headers)

    def post(self, url: str, headers: Mapping[str, str] | None = None, *,
             data: Mapping[str, str] | None = None, json: Any = None) -> Response:
        """POST a form (``data``) or a JSON body (``json``) with the same retries as :meth:`get`."""
        return self.request("POST", url, headers, data=data, json=json)

    def request(self, method: str, url: str, headers: Mapping[str, str] | None = None, *,
                data: Mapping[str, str] | None = None, json: Any = None) -> Response:
        """Send one request with retries; returns a 2xx or 304 response, raises on anything else."""
        shown = redact(url)
        with httpx.Client(
            timeout=self.timeout,
            follow_redirects=True,
            headers={"User-Agent": self.user_agent},
            transport=self.transport,
        ) as client:
            attempt, connections = 0, _Connections()
            while True:
                attempt += 1
                try:
                    return self._once(client, connections, method, url, shown, headers, data, json)
                except _Retry as retry:
                    if attempt >= self.max_attempts:
                        message = f"{method} {shown} failed after {attempt} attempts: {retry}"
                        if retry.rate_limited:
                            raise RateLimited(message, retry_after=retry.retry_after) from None
                        raise CollectorError(message) from None
                    wait = retry.wait if retry.wait is not None else self._backoff(attempt)
                    log.warning("%s %s: %s; retry %d/%d in %.1fs", method, shown, retry, attempt,
                                self.max_attempts - 1, wait)
                    self.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return delay / 2 + random.uniform(0, delay / 2)

    def _once(
        self, client: httpx.Client, connections: _Connections, method: str, url: str, shown: str,
        headers: Mapping[str, str] | None, data: Mapping[str, str] | None, json: Any,
    ) -> Response:
        deadline = connections.deadline(self.timeout)
        try:
            with client.stream(method, url, headers=dict(headers or {}), data=data, json=json,
                               extensions={"trace": connections.trace}) as response:
                status = response.status_code
                if status == 429 or status >= 500:
                    after = parse_retry_after(response.headers.get("Retry-After"), self.clock())
                    if after is None and status == 429:
                        after = rate_limit_reset(response.headers, self.clock())
                    if status == 429 and after is not None and after > self.max_retry_after:
                        message = f"{method} {shown}: HTTP 429, retry after {after:.0f}s"
                        raise RateLimited(message, retry_after=after)
                    short = after if after is not None and after <= self.max_retry_after else None
                    raise _Retry(f"HTTP {status}", short, after, rate_limited=status == 429)
                if status == 304:
                    return Response(str(response.url), status, response.headers, b"")
                if not 200 <= status < 300:
                    raise CollectorError(f"{method} {shown}: HTTP {status} {response.reason_phrase}")
                return Response(str(response.url), status, response.headers, self._body(response, shown))
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise CollectorError(f"{method} {shown}: {redact(str(exc))}") from None
        except httpx.TooManyRedirects:
            raise CollectorError(f"{method} {shown}: too many redirects (a redirect loop?)") from None
        except httpx.TimeoutException as exc:
            raise _Retry(f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            if connections.cut.is_set():
                raise _Retry(f"timed out (no whole answer within {self.timeout:g}s)") from None
            raise _Retry(f"{type(exc).__name__}: {redact(str(exc))}") from None
        except httpx.HTTPError as exc:
            raise CollectorError(f"{method} {shown}: {type(exc).__name__}: {redact(str(exc))}") from None
        finally:
            deadline.cancel()

    def _body(self, response: httpx.Response, shown: str) -> bytes:
        """The body, at most ``max_bytes``."""
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > self.max_bytes:
                raise CollectorError(f"{response.request.method} {shown}: body larger than {self.max_bytes} bytes")
        return bytes(body)
