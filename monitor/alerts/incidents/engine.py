"""Incident lifecycle: fingerprints, grouping, cooldown, escalation, auto-resolve.

Every write is idempotent so a crash at any point is recovered by running the same tick
again: incident ids and notification keys are derived from what was detected, and an
incident is saved in one transaction with the notifications it queues. Saves are
compare-and-set: when two detectors (or a detector and a Slack button) change one incident
at once, the loser reads it again and redoes its change, so no update is lost and no
incident is opened twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime
from typing import Any, Callable, Sequence

from monitor.alerts.notify.story import headline
from monitor.config import AlertsConfig
from monitor.errors import ConflictError
from monitor.models import Incident, IncidentState, Playbook, Spike, SpikeKind, Transition
from monitor.store.base import Notification, Store
from monitor.store.changes import CAS_ATTEMPTS, change_incident

log = logging.getLogger(__name__)

Summariser = Callable[[Spike], dict[str, Any]]
PlaybookMatcher = Callable[[Incident, Sequence[str]], Playbook | None]

KIND_GROUPS = {kind: SpikeKind.VOLUME for kind in (SpikeKind.VOLUME, SpikeKind.NEGATIVE, SpikeKind.VIRAL_POST)}


SLUG_CHARS = 40


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold())[:SLUG_CHARS].strip("-") or "brand"


def incident_id(spike: Spike, fingerprint: str) -> str:
    """``aurora-air-3f2a1c9e``: the brand and a code derived from what was detected, so a repeated tick
    finds the same id. It names no time: the time an incident is known by is when it was detected."""
    code = hashlib.sha256(f"{fingerprint}\x1f{spike.window_start.isoformat()}".encode()).hexdigest()[:8]
    return f"{_slug(spike.brand)}-{code}"


class IncidentEngine:
    """Turns spikes into incidents and queued notifications."""

    def __init__(
        self,
        store: Store,
        config: AlertsConfig,
        channel_for: Callable[[str], str],
        summarise: Summariser,
        match_playbook: PlaybookMatcher,
    ):
        self.store = store
        self.config = config
        self.channel_for = channel_for
        self.summarise = summarise
        self.match_playbook = match_playbook

    def handle(self, spikes: Sequence[Spike], now: datetime) -> list[Incident]:
        """Open or update incidents for ``spikes`` (one tick of one brand)."""
        touched: dict[str, Incident] = {}
        for spike in sorted(spikes, key=lambda s: (s.kind != SpikeKind.VOLUME, -s.severity)):
            incident = self._handle_one(spike, now)
            if incident is not None:
                touched[incident.id] = incident
        return list(touched.values())

    def _handle_one(self, spike: Spike, now: datetime) -> Incident | None:
        for _ in range(CAS_ATTEMPTS):
            try:
                return self._apply(spike, now)
            except ConflictError:
                log.info("incident for %s changed while handling a spike; reading it again", spike.brand)
        raise ConflictError(f"incidents of {spike.brand} kept changing under {CAS_ATTEMPTS} attempts")

    def _apply(self, spike: Spike, now: datetime) -> Incident | None:
        kind = KIND_GROUPS.get(spike.kind, spike.kind)
        fingerprint = Incident.fingerprint_of(spike.brand, kind, spike.topic)
        incident = self.store.active_incident(fingerprint)
        if incident is None:
            latest = self.store.latest_incident(fingerprint)
            resolved_at = latest.time_in(IncidentState.RESOLVED) if latest else None
            if latest and resolved_at and now - resolved_at < self.config.cooldown:
                return self._reopen(latest, spike, now)
            return self._open(fingerprint, kind, spike, now)
        if any((s.window_start, s.window_end, s.kind) == (spike.window_start, spike.window_end, spike.kind)
               for s in incident.spikes):
            return None
        incident.spikes.append(spike)
        incident.last_spike_at = max(incident.last_spike_at, spike.window_end)
        incident.updated_at = now
        queued = []
        if spike.severity > incident.severity:
            incident.severity = spike.severity
            queued.append(self._notify(incident, spike, "escalation", f"escalation:{spike.severity.value}", now))
        elif self._update_due(incident, now):
            queued.append(self._notify(incident, spike, "update", f"update:{spike.window_end:%Y%m%d%H%M}", now))
        self.store.save_incident(incident, queued)
        return incident

    def _open(self, fingerprint: str, kind: SpikeKind, spike: Spike, now: datetime) -> Incident:
        incident = Incident(
            id=incident_id(spike, fingerprint),
            fingerprint=fingerprint,
            brand=spike.brand,
            kind=kind,
            topic=spike.topic,
            severity=spike.severity,
            opened_at=now,
            updated_at=now,
            last_spike_at=spike.window_end,
            spikes=[spike],
            slack_channel=self.channel_for(spike.brand),
            transitions=[Transition(state=IncidentState.OPEN, at=now, note="opened by detector")],
        )
        summary = self.summarise(spike)
        playbook = self.match_playbook(incident, summary.get("texts", []) + summary.get("key_phrases", []))
        incident.playbook_id = playbook.id if playbook else None
        if playbook and playbook.slack_channel:
            incident.slack_channel = playbook.slack_channel
        self.store.save_incident(incident, [self._notify(incident, spike, "alert", "alert", now, summary)])
        log.warning("incident %s opened: %s", incident.id, headline(incident, spike))
        return incident

    def _reopen(self, incident: Incident, spike: Spike, now: datetime) -> Incident:
        incident.state = IncidentState.OPEN
        incident.spikes.append(spike)
        incident.last_spike_at = spike.window_end
        incident.updated_at = now
        incident.transitions.append(Transition(state=IncidentState.OPEN, at=now, note="reopened within cooldown"))
        notification = self._notify(incident, spike, "update", f"reopen:{spike.window_start:%Y%m%d%H%M}", now)
        self.store.save_incident(incident, [notification])
        return incident

    def _update_due(self, incident: Incident, now: datetime) -> bool:
        sent = [n.created_at for n in self.store.notifications(incident.id)]
        return not sent or now - max(sent) >= self.config.repeat_interval

    def _notify(
        self,
        incident: Incident,
        spike: Spike,
        kind: str,
        suffix: str,
        now: datetime,
        summary: dict[str, Any] | None = None,
    ) -> Notification:
        summary = summary if summary is not None else self.summarise(spike)
        return Notification(
            key=f"{incident.id}:{suffix}",
            incident_id=incident.id,
            kind=kind,
            channel=incident.slack_channel or self.channel_for(incident.brand),
            payload={"headline": headline(incident, spike), "summary": summary, "severity": spike.severity.value},
            created_at=now,
        )

    def resolve_quiet(self, brand: str, now: datetime) -> list[Incident]:
        """Resolve the brand's active incidents that saw no spike for ``resolve_after``."""
        resolved = []
        for incident in self.store.incidents(brand=brand):
            if not self._quiet(incident, now):
                continue
            changed = False

            def change(found: Incident) -> list[Notification] | None:
                nonlocal changed
                queued = self._resolve(found, now)
                changed = queued is not None  # the last call is the one that was saved (or changed nothing)
                return queued

            incident = change_incident(self.store, incident.id, change)
            if changed:
                resolved.append(incident)
        return resolved

    def _quiet(self, incident: Incident, now: datetime) -> bool:
        return incident.state.is_active and now - incident.last_spike_at >= self.config.resolve_after

    def _resolve(self, incident: Incident, now: datetime) -> list[Notification] | None:
        if not self._quiet(incident, now):  # changed since: someone else resolved it, or a spike came
            return None
        incident.state = IncidentState.RESOLVED
        incident.updated_at = now
        incident.transitions.append(Transition(state=IncidentState.RESOLVED, at=now, note="quiet period: auto-resolved"))
        return [Notification(
            key=f"{incident.id}:resolved:{len(incident.transitions)}",
            incident_id=incident.id,
            kind="resolved",
            channel=incident.slack_channel or self.channel_for(incident.brand),
            payload={"headline": f"Resolved: {incident.brand} is back to its usual level", "summary": {}},
            created_at=now,
        )]
