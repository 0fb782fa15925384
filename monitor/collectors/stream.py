"""What streaming sources share: the ``StreamCollector`` protocol, its batches, and reconnect backoff.

A streaming source holds one long connection instead of being polled. Its collector matches
the brand query locally on every event, and yields :class:`StreamBatch`\\ es: the new posts
that matched, the engagement the stream added to posts (likes, reposts, quotes and replies
of them; the pipeline applies it to the posts already stored), and the cursor after them. The pipeline stores each batch with
its cursor in one write (see :mod:`monitor.live`), so a restart resumes after the last
stored batch; events at or before a stored cursor are skipped, so a server that replays
from an older position doubles nothing.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import ClassVar, Iterator, NoReturn, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from monitor.collectors.base import Batch, FetchContext
from monitor.errors import CollectorError


class StreamConfig(BaseModel):
    """Options every streaming source has; each adds its own."""

    model_config = ConfigDict(extra="forbid")

    flush_events: int = Field(default=2000, ge=1, description="events read before a batch is stored")
    flush_seconds: float = Field(default=1.0, gt=0, description="longest wait before what was read is stored")
    stall_seconds: float = Field(default=60.0, gt=0, description="silence after which the connection is dropped")
    backoff_initial: float = Field(default=1.0, gt=0, description="first wait before reconnecting (seconds)")
    backoff_max: float = Field(default=120.0, gt=0, description="longest wait between reconnects (seconds)")
    open_timeout: float = Field(default=15.0, gt=0, description="seconds to open the connection")


@dataclass
class Bumps:
    """Engagement the stream added to posts, by mention id: [likes, shares, replies].

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


@dataclass
class StreamBatch(Batch):
    """One stored step of a stream: matched posts, engagement of stored posts, the cursor after them.

    ``events`` counts every event read; ``error`` says why the connection ended before this batch
    (the collector reconnects by itself; the pipeline records the error on the Sources health page).
    """

    bumps: Bumps = field(default_factory=Bumps)
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


def refuse_polling(source: str) -> NoReturn:
    """What ``fetch`` of a streaming source does: explain that it runs under ``monitor run`` only."""
    raise CollectorError(f"{source}: a streaming source is read continuously by `monitor run`, not polled")
