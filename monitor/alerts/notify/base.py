"""The ``Notifier`` protocol and the message every notifier renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from monitor.localtime import zone
from monitor.models import Incident, Playbook

if TYPE_CHECKING:
    from monitor.alerts.incidents.outcomes import Outcome

MessageKind = Literal["alert", "update", "escalation", "resolved", "reminder", "step"]
MESSAGE_KINDS: tuple[MessageKind, ...] = ("alert", "update", "escalation", "resolved", "reminder", "step")


@dataclass(kw_only=True)
class AlertMessage:
    """One message about one incident, ready to render.

    ``summary`` follows :func:`monitor.alerts.notify.summary.summarise`: ``observed``, ``expected``,
    ``negative_share``, ``baseline_negative_share``, ``key_phrases``, ``posts`` (dicts with
    ``text``, ``url``, ``author``, ``language``, ``sentiment``) and ``sentiment_split``; any
    key may be missing. ``thread_ts`` makes it a reply to the incident's first alert and
    ``broadcast`` also shows that reply in the channel (used for escalations). ``key`` is the
    notification's unique key, carried with the message so a resend can be recognised; ``zone`` the
    brand's configured time zone. ``outcome`` holds how the incident went, read from the store (a
    resolution carries it); without it a channel words the times and steps from the incident itself.
    """

    kind: MessageKind
    channel: str
    incident: Incident
    playbook: Playbook | None = None
    thread_ts: str | None = None
    headline: str
    summary: dict[str, Any] = field(default_factory=dict)
    dashboard_url: str = ""
    broadcast: bool = False
    key: str = ""
    zone: ZoneInfo = field(default_factory=lambda: zone(None))
    """The readers' time zone: of the times written out where Slack cannot show its own (fallbacks)."""
    outcome: Outcome | None = None

    def __post_init__(self) -> None:
        if self.kind not in MESSAGE_KINDS:
            raise ValueError(f"unknown message kind {self.kind!r} (known: {', '.join(MESSAGE_KINDS)})")


@runtime_checkable
class Notifier(Protocol):
    """Delivers alert messages to people."""

    def send(self, message: AlertMessage) -> str | None:
        """Deliver ``message``; returns its id in the channel (Slack's ``ts``) for threading.

        Raises :class:`~monitor.errors.DeliveryError`, with ``permanent`` set when retrying
        cannot help and ``retry_after`` when the channel said when to try again.
        """

    def find(self, message: AlertMessage) -> str | None:
        """The id of ``message`` if it was delivered already (matched by ``message.key``), else None.

        Used after a crash between sending and recording, so the message is not posted twice.
        """
