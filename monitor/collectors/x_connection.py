"""One connection to X's filtered stream, shared by every brand of this process that streams from the app.

X allows one filtered-stream connection per app on most tiers, and every connection carries
the posts of all the app's rules, so the brands' ``x_stream`` sources of one process share
one :class:`Connection` (per base URL, token and ``backfill_minutes``): it opens when the
first brand joins, hands every line it reads to each brand's inbox, and closes when the last
one leaves. Each brand reads the lines with its own reader (its query matched locally).
X sends a blank line every ~20 s: silence for ``stall_seconds`` drops the connection. It
reconnects by itself, waiting as X asks (:class:`Waits`): exponentially after HTTP 429 (from
``rate_limit_backoff``) or another HTTP error (from ``backoff_initial``), linearly after a
network error (``network_step`` more each time, at most ``network_max``); and it tells every
brand why it dropped (:class:`Ended`). The first brand's options (stall, waits) govern it.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

import httpx

from monitor.collectors.http import DEFAULT_USER_AGENT, redact
from monitor.collectors.stream import RECV_SLICE, Backoff, Stalled
from monitor.errors import CollectorError, RateLimited

if TYPE_CHECKING:
    from monitor.collectors.x_stream import XStreamConfig

STREAM = "/2/tweets/search/stream"


class Refused(Exception):
    """The stream answered with an HTTP error."""

    def __init__(self, status: int, detail: str):
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status


class Waits:
    """How long to wait before reconnecting, as X asks: exponential after HTTP errors (from a higher
    start after 429), linear after network errors; all reset by a connection that opens."""

    def __init__(self, config: XStreamConfig):
        self.config = config
        self.http = Backoff(config.backoff_initial, config.backoff_max)
        self.limited = Backoff(config.rate_limit_backoff, config.backoff_max)
        self.network = 0

    def after(self, exc: BaseException) -> float:
        if isinstance(exc, RateLimited) or (isinstance(exc, Refused) and exc.status == 429):
            return self.limited.next()
        if isinstance(exc, (Refused, CollectorError)):
            return self.http.next()
        self.network += 1
        return min(self.network * self.config.network_step, self.config.network_max)

    def reset(self) -> None:
        self.http.reset()
        self.limited.reset()
        self.network = 0


_END = object()


def lines(response: httpx.Response, stall_seconds: float, stop: threading.Event) -> Iterator[bytes]:
    """The response's lines as they arrive (blank keep-alives included), until ``stop`` (seen within
    :data:`RECV_SLICE`). A line the connection cut is dropped; silence for ``stall_seconds`` raises
    :class:`Stalled`; the server closing the stream raises ``httpx.ReadError``."""
    arrived: queue.Queue[Any] = queue.Queue()

    def pump() -> None:
        rest = b""
        try:
            for chunk in response.iter_bytes():
                *complete, rest = (rest + chunk).split(b"\n")
                for line in complete:
                    arrived.put(line)
            arrived.put(_END)
        except Exception as exc:  # handed to the reading thread, which raises it
            arrived.put(exc)

    threading.Thread(target=pump, name="x-stream-reader", daemon=True).start()
    heard = time.monotonic()
    while not stop.is_set():
        try:
            item = arrived.get(timeout=RECV_SLICE)
        except queue.Empty:
            if time.monotonic() - heard > stall_seconds:
                raise Stalled(f"nothing for {stall_seconds:g} s") from None
            continue
        if item is _END:
            raise httpx.ReadError("the server ended the stream")
        if isinstance(item, Exception):
            raise item
        heard = time.monotonic()
        yield item


@dataclass(frozen=True)
class Ended:
    """The connection dropped (or was refused); ``error`` says why. It reconnects by itself."""

    error: str


class Connection:
    """The stream's connection and the inboxes of the brands reading it."""

    def __init__(self, config: XStreamConfig, url: str, token: str):
        self.config, self.url = config, url
        self.headers = {"Authorization": f"Bearer {token}", "User-Agent": DEFAULT_USER_AGENT}
        self.inboxes: list[queue.Queue[Any]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="x-stream", daemon=True)

    def _send(self, item: Any) -> None:
        with _LOCK:
            inboxes = list(self.inboxes)
        for inbox in inboxes:
            inbox.put(item)

    def _run(self) -> None:
        waits = Waits(self.config)
        timeout = httpx.Timeout(self.config.open_timeout, read=self.config.stall_seconds + RECV_SLICE)
        with httpx.Client(timeout=timeout) as client:
            while not self.stop.is_set():
                try:
                    with client.stream("GET", self.url, headers=self.headers) as response:
                        if response.status_code != 200:
                            raise Refused(response.status_code, response.read().decode("utf-8", "replace")[:300])
                        waits.reset()
                        for line in lines(response, self.config.stall_seconds, self.stop):
                            self._send(line)
                except (Refused, Stalled, httpx.HTTPError, OSError) as exc:
                    self._send(Ended(f"stream {redact(self.url.split('?')[0])} ended: "
                                     f"{type(exc).__name__}: {redact(str(exc))}"))
                    self.stop.wait(waits.after(exc))


_LOCK = threading.Lock()
_OPEN: dict[tuple[str, str], Connection] = {}


def join(config: XStreamConfig, url: str, token: str) -> queue.Queue[Any]:
    """A new inbox on the connection to ``url`` with ``token`` (opened now if there is none): the
    stream's lines (``bytes``) and an :class:`Ended` each time it drops, from now on."""
    inbox: queue.Queue[Any] = queue.Queue()
    with _LOCK:
        connection = _OPEN.get((url, token))
        if connection is None:
            connection = _OPEN[(url, token)] = Connection(config, url, token)
            connection.thread.start()
        connection.inboxes.append(inbox)
    return inbox


def leave(url: str, token: str, inbox: queue.Queue[Any]) -> None:
    """Stop reading into ``inbox``; the last brand to leave closes the connection."""
    with _LOCK:
        connection = _OPEN.get((url, token))
        if connection is None or inbox not in connection.inboxes:
            return
        connection.inboxes.remove(inbox)
        if not connection.inboxes:
            del _OPEN[(url, token)]
            connection.stop.set()
