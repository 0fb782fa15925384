"""What a Slack button press (``block_actions``) does, whichever way it arrives.

A press applies the button's action to its incident (see
:mod:`monitor.alerts.incidents.lifecycle`), silences it, or marks the playbook step chosen in the
steps menu done (:mod:`monitor.alerts.incidents.steps`); the reply reaches the alert's thread
through the notification queue. Each press is keyed by its button, user and ``action_ts``: a
replayed or retried delivery of the same press changes nothing a second time.

Presses reach :class:`ActionHandler` over Socket Mode (:mod:`.socket_mode`, no inbound port) or
over the signed HTTP endpoint (:mod:`.http_endpoint`); both are an :class:`Interactivity`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any, Callable, Protocol, Sequence
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from monitor.alerts.incidents.lifecycle import Action, apply
from monitor.alerts.incidents.silences import silence_incident
from monitor.alerts.incidents.steps import mark_step
from monitor.alerts.notify.slack.blocks import STEP_ACTION, parse_step_option
from monitor.errors import IncidentError
from monitor.models import Playbook
from monitor.store.base import Store

log = logging.getLogger(__name__)

SILENCE_BUTTON = "incident_silence"
BUTTONS = {
    "incident_ack": Action.ACKNOWLEDGE,
    "incident_mitigate": Action.MITIGATE,
    "incident_escalate": Action.ESCALATE,
    "incident_resolve": Action.RESOLVE,
    "incident_false_alarm": Action.FALSE_ALARM,
}


class Interactivity(Protocol):
    """A running way for presses to reach the service; started and stopped with it."""

    def start(self) -> Interactivity: ...

    def stop(self) -> None: ...


class BadPayload(ValueError):
    """A request from Slack whose payload is not shaped as Slack sends them."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def form_payload(body: bytes) -> Any:
    """The JSON in the ``payload`` field of a form-encoded request body."""
    try:
        return json.loads(parse_qs(body.decode("utf-8"), strict_parsing=True)["payload"][0])
    except (KeyError, IndexError, ValueError) as exc:
        raise BadPayload("expected a form field 'payload' holding JSON") from exc


def _actions(payload: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The user and the actions of a ``block_actions`` payload (no actions for other types)."""
    if not isinstance(payload, dict):
        raise BadPayload("the payload is not a JSON object")
    if payload.get("type") != "block_actions":
        return {}, []
    user, actions = payload.get("user") or {}, payload.get("actions") or []
    if not isinstance(user, dict):
        raise BadPayload("'user' is not an object")
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        raise BadPayload("'actions' is not a list of objects")
    return user, actions


class ActionHandler:
    """Applies the buttons (or steps menu choices) of a payload Slack sent."""

    def __init__(self, store: Store, playbooks: Sequence[Playbook] = (), clock: Callable[[], datetime] = _utcnow,
                 zones: Callable[[str], ZoneInfo] | None = None):
        self.store = store
        self.playbooks = playbooks
        self.clock = clock
        self.zones = zones

    def handle(self, payload: Any) -> None:
        """Apply a payload; only ``block_actions`` change anything. Raises :class:`BadPayload`."""
        user, actions = _actions(payload)
        by = str(user.get("username") or user.get("name") or user.get("id") or "someone")
        for pressed in actions:
            self._press(pressed, by, str(user.get("id") or by))

    def _choose_step(self, pressed: dict[str, Any], by: str, request: str | None) -> None:
        option = pressed.get("selected_option")
        chosen = parse_step_option(str(option.get("value", ""))) if isinstance(option, dict) else None
        if chosen is None:
            return
        try:
            incident = mark_step(self.store, self.playbooks, chosen[0], chosen[1], by=by, now=self.clock(),
                                 request=request)
        except IncidentError as exc:
            log.warning("Slack step choice by %s ignored: %s", by, exc)
            return
        log.info("incident %s: step %d done by %s via Slack", incident.id, chosen[1], by)

    def _press(self, pressed: dict[str, Any], by: str, user_id: str) -> None:
        action_id, stamp = pressed.get("action_id", ""), pressed.get("action_ts")
        request = f"slack:{action_id}:{user_id}:{stamp}" if stamp else None
        if action_id == STEP_ACTION:
            self._choose_step(pressed, by, request)
            return
        incident_id = pressed.get("value")
        if not isinstance(incident_id, str) or not incident_id or (action_id not in BUTTONS and action_id != SILENCE_BUTTON):
            return
        try:
            if action_id == SILENCE_BUTTON:
                silence = silence_incident(self.store, incident_id, by=by, now=self.clock(), request=request,
                                           zones=self.zones)
                log.info("incident %s: silenced by %s via Slack until %s", incident_id, by, silence.ends_at)
                return
            incident = apply(self.store, incident_id, BUTTONS[action_id], by=by, now=self.clock(), request=request)
        except IncidentError as exc:
            log.warning("Slack button %s by %s ignored: %s", action_id, by, exc)
            return
        log.info("incident %s: %s by %s via Slack (now %s)", incident.id, action_id, by, incident.state.value)
