"""The delivery worker: sends queued notifications, threads replies, retries with backoff.

Each due notification is claimed (see :meth:`~monitor.store.base.Store.claim_notifications`),
so of several workers on one store only one handles it, then rendered for its incident and
sent once. It is marked ``sending`` (only while this worker still holds it) just before the
notifier is called and ``sent`` right after it returns; every write that ends a step also
drops the claim. One still marked ``sending`` when its lease ran out (the worker died in
between, or the channel timed out) is first looked up in the channel by its key and only sent
again if it is not there. The alert's Slack id is copied onto the incident before the alert
is marked ``sent``, and replies also find it from the sent mark. Retryable failures wait ``max(retry_after,
jittered exponential backoff)``, capped; permanent failures and exhausted retries end as
``failed`` with the error kept.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from monitor.alerts.incidents.outcomes import Outcome
from monitor.alerts.incidents.playbooks import find, match
from monitor.alerts.incidents.reminders import no_longer_due
from monitor.alerts.incidents.silences import covering
from monitor.alerts.notify.base import MESSAGE_KINDS, AlertMessage, Notifier
from monitor.alerts.notify.story import summary_languages, summary_posts
from monitor.errors import ConflictError, DeliveryError, IncidentError, PlaybookError
from monitor.localtime import zone
from monitor.models import Incident, Playbook
from monitor.store.base import Notification, NotificationStatus, Store
from monitor.store.changes import change_incident
from monitor.workers import DEFAULT_LEASE, PROCESS_WORKER

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a retryable failure."""

    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> timedelta:
        """Wait before attempt ``attempts + 1``: exponential with jitter, at least ``retry_after``."""
        cap = self.max_delay.total_seconds()
        backoff = min(cap, self.base_delay.total_seconds() * 2 ** max(attempts - 1, 0))
        jittered = backoff * (0.5 + rng.random() / 2)
        return timedelta(seconds=min(max(retry_after or 0.0, jittered), cap))


@dataclass
class DeliveryReport:
    """Notification keys by what happened to them in one run."""

    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    silenced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        """Whether anything was due."""
        return any(vars(self).values())

    def __str__(self) -> str:
        counts = (f"{len(keys)} {name}" for name, keys in vars(self).items() if keys)
        return ", ".join(counts) or "nothing due"


def incident_link(dashboard_url: str, incident_id: str) -> str:
    """The dashboard URL with ``incident=<id>`` added to its query."""
    if not dashboard_url:
        return ""
    parts = urlsplit(dashboard_url)
    query = urlencode([*parse_qsl(parts.query), ("incident", incident_id)])
    return urlunsplit(parts._replace(query=query))


def playbook_for(incident: Incident, playbooks: Sequence[Playbook], summary: dict[str, Any]) -> Playbook | None:
    """The incident's chosen playbook, or the best match for its summary when none was saved."""
    if not playbooks:
        return None
    chosen = find(playbooks, incident.playbook_id)
    if chosen is not None:
        return chosen
    found = [*(summary.get("texts") or []), *(summary.get("key_phrases") or [])]
    found += [p.get("text") for p in summary_posts(summary)]
    languages = summary_languages(summary)
    try:
        return match(incident, playbooks, [str(t) for t in found if t], language=languages[0] if languages else None)
    except PlaybookError as exc:
        log.warning("no playbook for incident %s: %s", incident.id, exc)
        return None


UNSENT = (NotificationStatus.PENDING, NotificationStatus.SENDING)


def alert_thread(store: Store, incident: Incident) -> tuple[str | None, bool]:
    """The Slack id of the incident's alert (from the incident, else its ``sent`` mark), and whether it is unsent."""
    alerts = [n for n in store.notifications(incident.id) if n.kind == "alert"]
    sent = next((n.external_id for n in alerts if n.status is NotificationStatus.SENT and n.external_id), None)
    return incident.slack_ts or sent, any(n.status in UNSENT for n in alerts)


class _Run:
    """One pass over the notifications this worker claimed."""

    def __init__(self, store: Store, notifier: Notifier, playbooks: Sequence[Playbook], now: datetime,
                 dashboard_url: str, policy: RetryPolicy, rng: random.Random, owner: str, lease: timedelta,
                 zones: Callable[[str], ZoneInfo]):
        self.store, self.notifier, self.playbooks, self.zones = store, notifier, playbooks, zones
        self.now, self.dashboard_url, self.policy, self.rng = now, dashboard_url, policy, rng
        self.owner, self.lease = owner, lease
        self.started = time.monotonic()
        self.report = DeliveryReport()

    def save(self, notification: Notification, keep_claim: bool = False) -> None:
        """Write ``notification`` while this worker holds it (dropping the claim, or renewing it with ``keep_claim``).

        Raises :class:`ConflictError` when its lease ran out and another worker took it over.
        """
        if keep_claim:  # a full lease from this moment on: the batch may have taken a while so far
            elapsed = timedelta(seconds=time.monotonic() - self.started)
            notification.lease_until = self.now + elapsed + self.lease
        self.store.update_notification(notification if keep_claim else notification.released(), owner=self.owner)

    def fail(self, notification: Notification, error: str) -> None:
        notification.status = NotificationStatus.FAILED
        notification.error = error
        self.save(notification)
        self.report.failed.append(notification.key)
        log.error("notification %s failed after %d attempt(s): %s", notification.key, notification.attempts, error)

    def message(self, notification: Notification, incident: Incident) -> AlertMessage | None:
        """The message to send, or None while a reply waits for its thread to exist."""
        channel, thread_ts = notification.channel, None
        if notification.kind != "alert":
            ts, unsent = alert_thread(self.store, incident)
            if ts:
                channel, thread_ts = incident.slack_channel or channel, ts
            elif unsent:
                return None
        payload = notification.payload
        summary = payload.get("summary") if isinstance(payload.get("summary"), dict) else {}
        return AlertMessage(
            kind=notification.kind,  # type: ignore[arg-type]
            channel=channel,
            incident=incident,
            playbook=playbook_for(incident, self.playbooks, summary),
            thread_ts=thread_ts,
            headline=str(payload.get("headline") or f"{incident.brand}: {incident.kind.value} incident"),
            summary=summary,
            dashboard_url=incident_link(self.dashboard_url, incident.id),
            broadcast=notification.kind == "escalation",
            key=notification.key,
            zone=self.zones(incident.brand),
            outcome=Outcome.of(incident, self.store) if notification.kind == "resolved" else None,
        )

    def sent(self, notification: Notification, message: AlertMessage, external_id: str | None) -> None:
        notification.status = NotificationStatus.SENT
        notification.attempts += 1
        notification.sent_at = self.now
        notification.external_id = external_id
        notification.error = None
        if message.kind == "alert" and external_id:  # before the sent mark: a sent alert's incident has its thread
            self.copy_thread(message.incident.id, message.channel, external_id)
        self.save(notification)
        self.report.sent.append(notification.key)

    def copy_thread(self, incident_id: str, channel: str, ts: str) -> None:
        """Copy the alert's Slack id onto the incident (replies also find it from the sent mark).

        Done before the sent mark: a worker dying in between leaves the alert ``sending``, and the
        worker that takes it over finds the post by its key and copies the id again.
        """
        def change(current: Incident) -> list[Notification] | None:
            if current.slack_ts:
                return None
            current.slack_channel, current.slack_ts = channel, ts
            return []

        try:
            change_incident(self.store, incident_id, change)
        except (IncidentError, ConflictError) as exc:
            log.warning("alert of incident %s sent, its thread not copied onto it yet: %s", incident_id, exc)

    def retry(self, notification: Notification, exc: DeliveryError) -> None:
        notification.attempts += 1
        if exc.permanent or notification.attempts >= self.policy.max_attempts:
            self.fail(notification, str(exc))
            return
        wait = self.policy.delay(notification.attempts, exc.retry_after, self.rng)
        notification.not_before = self.now + wait
        notification.error = str(exc)
        if exc.retry_after is not None:
            notification.status = NotificationStatus.PENDING
        self.save(notification)
        self.report.retrying.append(notification.key)
        log.warning("notification %s: %s; retry %d in %.0fs", notification.key, exc,
                    notification.attempts + 1, wait.total_seconds())

    def deliver_later(self, notification: Notification) -> None:
        """Hand an untouched notification back, due again at once."""
        try:
            self.save(notification)
        except ConflictError:
            return
        self.report.deferred.append(notification.key)

    def already_sent(self, message: AlertMessage) -> str | None:
        """After an attempt that may have gone through (a crash, a timeout): its id if it did.

        A rate-limited attempt surely did not, so it goes back to ``pending`` and skips this.
        """
        lookup = getattr(self.notifier, "find", None)
        found = lookup(message) if lookup is not None else None
        if found is not None:
            log.warning("notification %s had been delivered before an interruption; not sending it again",
                        message.key)
        return found

    def held(self, notification: Notification, incident: Incident) -> bool:
        """Hold a silenced message until its silence ends, or drop it when the incident closed."""
        silence = None if notification.payload.get("bypass_silence") else covering(self.store, incident, self.now)
        if silence is None:
            return False
        if incident.state.is_active:
            notification.not_before = silence.ends_at
            self.report.silenced.append(notification.key)
        else:
            notification.status = NotificationStatus.SKIPPED
            self.report.skipped.append(notification.key)
        notification.error = f"silenced by {silence.id} until {silence.ends_at:%Y-%m-%d %H:%M} UTC"
        self.save(notification)
        return True

    def stale(self, notification: Notification, incident: Incident) -> bool:
        """Drop a reminder whose condition no longer holds (acknowledged, or its step done since it was queued)."""
        if notification.kind != "reminder" or notification.status is not NotificationStatus.PENDING:
            return False  # one left ``sending`` may have gone out already: it is looked up, not dropped
        reason = no_longer_due(incident, notification)
        if reason is None:
            return False
        notification.status = NotificationStatus.SKIPPED
        notification.error = f"not sent: {reason}"
        self.save(notification)
        self.report.skipped.append(notification.key)
        log.info("reminder %s dropped: %s", notification.key, reason)
        return True

    def deliver(self, notification: Notification) -> bool:
        """Handle one notification; False when the channel asked to slow down.

        When this worker's claim ran out and another worker took the notification over, it is
        left to that worker (reported as ``lost``).
        """
        try:
            return self._deliver(notification)
        except ConflictError as exc:
            self.report.lost.append(notification.key)
            log.warning("notification %s: left to another worker (%s)", notification.key, exc)
            return True

    def _deliver(self, notification: Notification) -> bool:
        incident = self.store.get_incident(notification.incident_id)
        if incident is None:
            self.fail(notification, f"incident {notification.incident_id} not found")
            return True
        if notification.kind not in MESSAGE_KINDS:
            self.fail(notification, f"unknown notification kind {notification.kind!r}")
            return True
        if self.held(notification, incident) or self.stale(notification, incident):
            return True
        message = self.message(notification, incident)
        if message is None:
            self.save(notification)
            self.report.waiting.append(notification.key)
            return True
        try:
            if notification.status is NotificationStatus.SENDING:
                found = self.already_sent(message)
                if found is not None:
                    self.sent(notification, message, found)
                    return True
            notification.status = NotificationStatus.SENDING
            self.save(notification, keep_claim=True)
            external_id = self.notifier.send(message)
        except DeliveryError as exc:
            self.retry(notification, exc)
            return exc.retry_after is None
        except Exception as exc:  # a bug must not block the queue or cause a repost loop
            log.exception("notifier crashed on %s", notification.key)
            notification.attempts += 1
            self.fail(notification, f"{type(exc).__name__}: {exc}")
            return True
        self.sent(notification, message, external_id)
        return True


def deliver_due(
    store: Store,
    notifier: Notifier,
    playbooks: Sequence[Playbook],
    now: datetime,
    dashboard_url: str,
    *,
    policy: RetryPolicy | None = None,
    rng: random.Random | None = None,
    limit: int = 100,
    owner: str = PROCESS_WORKER,
    lease: timedelta = DEFAULT_LEASE,
    zones: Callable[[str], ZoneInfo] | None = None,
) -> DeliveryReport:
    """Claim the notifications due at ``now`` for ``owner`` and send them; replies thread under the alert.

    The claim on each notification is renewed for ``lease`` just before it is sent, so ``lease``
    must outlast sending one message. When the channel rate-limits, the rest of the batch is
    handed back for the next run. ``zones`` gives a brand's time zone (:meth:`monitor.config.Config.zone`;
    UTC without it), in which messages write out times.
    """
    run = _Run(store, notifier, playbooks, now, dashboard_url, policy or RetryPolicy(), rng or random.Random(), owner,
               lease, zones or (lambda brand: zone(None)))
    due = store.claim_notifications(owner, now, lease, limit=limit)
    for index, notification in enumerate(due):
        if not run.deliver(notification):
            for rest in due[index + 1:]:
                run.deliver_later(rest)
            break
    if due:
        log.info("delivery: %s", run.report)
    return run.report
