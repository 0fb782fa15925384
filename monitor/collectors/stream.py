"""What streaming sources share: the ``StreamCollector`` protocol, its batches, the WebSocket loop.

A streaming source holds one long connection instead of being polled. Its collector matches
the brand query locally on every event and yields :class:`StreamBatch`\\ es: the new posts
that matched, the engagement the stream added to posts (likes, reposts, quotes and replies of
them; the pipeline applies it to the posts already stored), and the cursor after them. The
pipeline stores each batch with its cursor in one write (see :mod:`monitor.live`), so a
restart resumes after the last stored batch. :func:`hold` is the connection loop they share:
batches by count or time, stall detection, reconnects with :class:`Backoff`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import ClassVar, Iterator, NoReturn, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from monitor.collectors.base import Batch, FetchContext
from monitor.errors import CollectorError
from monitor.models import Engagement

log = logging.getLogger(__name__)

RECV_SLICE = 0.5
"""Longest block on the socket, so a stop request is seen within this many seconds."""


class StreamConfig(BaseModel):
    """Options every streaming source has; each adds its own."""

    model_config = ConfigDict(extra="forbid")

    flush_events: int = Field(default=2000, ge=1, description="events read before a batch is stored")
    flush_seconds: float = Field(default=1.0, gt=0, description="longest wait before what was read is stored")
    stall_seconds: float = Field(default=60.0, gt=0, description="silence after which the connection is dropped")
    backoff_initial: float = Field(default=1.0, gt=0, description="first wait before reconnecting (seconds)")
    backoff_max: float = Field(default=120.0, gt=0, description="longest wait between reconnects (seconds)")
    open_timeout: float = Field(default=15.0, gt=0, description="seconds to open the connection")
    remember_days: float = Field(default=30.0, gt=0, description="days a like, repost or reply of a stored post "
                                 "is remembered, so that taking it back is subtracted")

    def secrets_needed(self) -> list[str]:
        """The environment variables this source cannot work without, as configured."""
        return []


@dataclass
class Bumps:
    """Engagement the stream added to posts (or took back: negative), by mention id: [likes, shares, replies].

    Kept for every post an event refers to; the pipeline applies it to the ones already stored.
    """

    counts: dict[str, list[int]] = field(default_factory=dict)

    def add(self, mention_id: str, likes: int = 0, shares: int = 0, replies: int = 0) -> None:
        found = self.counts.get(mention_id)
        if found is None:
            self.counts[mention_id] = [likes, shares, replies]
        else:
            found[0] += likes
            found[1] += shares
            found[2] += replies

    def __len__(self) -> int:
        return len(self.counts)


KIND_FIELDS = {"like": "likes", "share": "shares", "reply": "replies"}
"""What a remembered record adds to the post it points at (a ``post`` record names the post itself)."""


@dataclass
class Records:
    """The stream's records behind a batch, so that taking one back later can be undone.

    ``made``: the records (likes, reposts, replies, quotes, posts) read in this batch, by key
    (:func:`~monitor.store.base.record_key`): the mention they point at and their kind; the
    pipeline remembers those whose mention is stored. ``taken_back``: keys of records deleted in
    this batch but made before it (a record made and taken back within the batch cancels out
    here). ``deleted``: mention ids of posts their authors deleted.
    """

    made: dict[str, tuple[str, str]] = field(default_factory=dict)
    taken_back: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def make(self, key: str, mention_id: str, kind: str) -> None:
        self.made[key] = (mention_id, kind)

    def take_back(self, key: str, bumps: Bumps) -> None:
        """Record ``key`` deleted: cancelled against this batch's own records, else left for the pipeline."""
        made = self.made.pop(key, None)
        if made is None:
            self.taken_back.append(key)
        elif made[1] in KIND_FIELDS:
            bumps.add(made[0], **{KIND_FIELDS[made[1]]: -1})


@dataclass
class StreamBatch(Batch):
    """One stored step of a stream: matched posts, engagement of stored posts, the cursor after them.

    ``events`` counts every event read; ``error`` says why the connection ended before this batch
    (the collector reconnects by itself; the pipeline records the error on the Sources health page).
    """

    bumps: Bumps = field(default_factory=Bumps)
    totals: dict[str, Engagement] = field(default_factory=dict)
    """The service's own current counts of posts, by mention id (Mastodon sends them): they replace the
    stored ones, lower included, before this batch's bumps are added."""
    records: Records = field(default_factory=Records)
    events: int = 0
    error: str | None = None


class Backoff:
    """Waits between reconnects: doubling from ``initial`` up to ``maximum``, with jitter; reset on success."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None):
        self.initial, self.maximum = initial, max(maximum, initial)
        self.failures = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        wait = min(self.initial * 2 ** min(self.failures, 32), self.maximum)
        self.failures += 1
        return wait * (0.5 + self._rng.random() / 2)

    def reset(self) -> None:
        self.failures = 0


@runtime_checkable
class StreamCollector(Protocol):
    """A streaming source: ``stream`` runs until ``stop`` is set, reconnecting by itself."""

    Config: ClassVar[type[BaseModel]]
    streams: ClassVar[bool]

    def stream(self, context: FetchContext, cursor: str | None, stop: threading.Event) -> Iterator[StreamBatch]:
        """Yield batches after ``cursor``, oldest first, until ``stop`` is set."""


def is_stream(collector: object) -> bool:
    """Whether a collector plugin (class or instance) is a streaming source."""
    return bool(getattr(collector, "streams", False))


class Stalled(Exception):
    """The server sent nothing for ``stall_seconds``."""


class EventReader(Protocol):
    """What :func:`hold` needs from a stream's reader: where to connect, what to do once connected,
    how to read one message into the pending batch, and how to hand that batch over."""

    pending: StreamBatch

    def url(self) -> str: ...

    def opened(self, socket: ClientConnection) -> None: ...

    def read(self, raw: str | bytes) -> None: ...

    def take(self, error: str | None = None) -> StreamBatch: ...


def hold(config: StreamConfig, reader: EventReader, stop: threading.Event, name: str,
         headers: dict[str, str] | None = None) -> Iterator[StreamBatch]:
    """Keep a WebSocket open until ``stop``: batches every ``flush_events`` events or ``flush_seconds``
    (an empty one when idle, so the caller can beat), reconnecting with :class:`Backoff`.

    A dropped, refused or stalled connection (or a failed catch-up in ``reader.opened``) ends with
    a batch of what was read, its ``error`` saying why, then a wait and a new connection.
    """
    backoff = Backoff(config.backoff_initial, config.backoff_max)
    while not stop.is_set():
        url = reader.url()
        error = None
        try:
            with connect(url, open_timeout=config.open_timeout, close_timeout=1,
                         additional_headers=headers) as socket:
                log.info("%s: streaming from %s", name, url.split("?")[0])
                backoff.reset()
                reader.opened(socket)
                yield from _read(config, socket, reader, stop)
        except (OSError, WebSocketException, Stalled, CollectorError) as exc:
            error = f"{name}: stream {url.split('?')[0]} ended: {type(exc).__name__}: {exc}"
            log.warning("%s", error)
        batch = reader.take(error)
        if batch.events or batch.error or batch.mentions:
            yield batch
        if not stop.is_set():
            stop.wait(backoff.next())


def _read(config: StreamConfig, socket: ClientConnection, reader: EventReader,
          stop: threading.Event) -> Iterator[StreamBatch]:
    flushed = heard = time.monotonic()
    while not stop.is_set():
        try:
            reader.read(socket.recv(timeout=RECV_SLICE))
            heard = time.monotonic()
        except TimeoutError:
            if time.monotonic() - heard > config.stall_seconds:
                raise Stalled(f"nothing for {config.stall_seconds:g} s") from None
        if reader.pending.events >= config.flush_events or time.monotonic() - flushed >= config.flush_seconds:
            yield reader.take()
            flushed = time.monotonic()


def refuse_polling(source: str) -> NoReturn:
    """What ``fetch`` of a streaming source does: explain that it runs under ``monitor run`` only."""
    raise CollectorError(f"{source}: a streaming source is read continuously by `monitor run`, not polled")
