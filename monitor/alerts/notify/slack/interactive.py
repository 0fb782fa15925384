"""The signed HTTP endpoint that receives Slack button presses (``block_actions``).

Every request must carry a valid ``X-Slack-Signature`` made with ``SLACK_SIGNING_SECRET``
over a timestamp at most five minutes old; anything else is answered 401 and changes
nothing. A valid press applies the button's action to its incident (see
:mod:`monitor.alerts.incidents.lifecycle`), or marks the playbook step chosen in the steps menu done
(:mod:`monitor.alerts.incidents.steps`); the reply reaches the alert's thread through the notification
queue. Each press is keyed by its button, user and ``action_ts``: a replayed request, or
Slack's own retry of it (``X-Slack-Retry-Num``), changes nothing a second time.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Sequence
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from monitor.alerts.incidents.lifecycle import Action, apply
from monitor.alerts.incidents.silences import silence_incident
from monitor.alerts.incidents.steps import mark_step
from monitor.alerts.notify.slack.blocks import STEP_ACTION, parse_step_option
from monitor.errors import ConfigError, IncidentError
from monitor.models import Playbook
from monitor.store.base import Store

log = logging.getLogger(__name__)

PATH = "/slack/actions"
MAX_BODY = 1 << 20
SILENCE_BUTTON = "incident_silence"
BUTTONS = {
    "incident_ack": Action.ACKNOWLEDGE,
    "incident_mitigate": Action.MITIGATE,
    "incident_escalate": Action.ESCALATE,
    "incident_resolve": Action.RESOLVE,
    "incident_false_alarm": Action.FALSE_ALARM,
}


@dataclass(frozen=True)
class Reply:
    status: int
    text: str = ""


class _Clock(Clock):
    def __init__(self, now: Callable[[], datetime]):
        self._now = now

    def now(self) -> float:
        return self._now().timestamp()


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ActionHandler:
    """Verifies a request from Slack and applies the button (or steps menu choice) it carries."""

    def __init__(self, store: Store, signing_secret: str | None, clock: Callable[[], datetime] = _utcnow,
                 playbooks: Sequence[Playbook] = ()):
        if not signing_secret:
            raise ConfigError("Slack interactivity needs the signing secret; set SLACK_SIGNING_SECRET")
        self.store = store
        self.playbooks = playbooks
        self.clock = clock
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))

    def verified(self, body: bytes, headers: dict[str, str]) -> bool:
        try:
            return self._verifier.is_valid_request(body, headers)
        except (ValueError, TypeError):
            return False

    def handle(self, body: bytes, headers: dict[str, str]) -> Reply:
        """The HTTP answer to one request; only verified ``block_actions`` change anything."""
        if not self.verified(body, headers):
            log.warning("rejected a Slack request with a missing, invalid or expired signature")
            return Reply(401, "invalid signature")
        try:
            payload = json.loads(parse_qs(body.decode("utf-8"))["payload"][0])
        except (KeyError, IndexError, UnicodeDecodeError, json.JSONDecodeError):
            return Reply(400, "expected a form field 'payload' holding JSON")
        if payload.get("type") != "block_actions":
            return Reply(200)
        user = payload.get("user") or {}
        by = user.get("username") or user.get("name") or user.get("id") or "someone"
        for pressed in payload.get("actions") or []:
            self._press(pressed, by, str(user.get("id") or by))
        return Reply(200)

    def _choose_step(self, pressed: dict[str, Any], by: str) -> None:
        chosen = parse_step_option(str((pressed.get("selected_option") or {}).get("value", "")))
        if chosen is None:
            return
        try:
            incident = mark_step(self.store, self.playbooks, chosen[0], chosen[1], by=by, now=self.clock())
        except IncidentError as exc:
            log.warning("Slack step choice by %s ignored: %s", by, exc)
            return
        log.info("incident %s: step %d done by %s via Slack", incident.id, chosen[1], by)

    def _press(self, pressed: dict[str, Any], by: str, user_id: str) -> None:
        if pressed.get("action_id") == STEP_ACTION:
            self._choose_step(pressed, by)
            return
        action_id, incident_id = pressed.get("action_id", ""), pressed.get("value")
        if not incident_id or (action_id not in BUTTONS and action_id != SILENCE_BUTTON):
            return
        stamp = pressed.get("action_ts")
        request = f"slack:{action_id}:{user_id}:{stamp}" if stamp else None
        try:
            if action_id == SILENCE_BUTTON:
                silence = silence_incident(self.store, incident_id, by=by, now=self.clock(), request=request)
                log.info("incident %s: silenced by %s via Slack until %s", incident_id, by, silence.ends_at)
                return
            incident = apply(self.store, incident_id, BUTTONS[action_id], by=by, now=self.clock(), request=request)
        except IncidentError as exc:
            log.warning("Slack button %s by %s ignored: %s", action_id, by, exc)
            return
        log.info("incident %s: %s by %s via Slack (now %s)", incident.id, action_id, by, incident.state.value)


class InteractiveServer:
    """A small threaded HTTP server for :data:`PATH` (and ``/healthz``), run in the background."""

    def __init__(self, handler: ActionHandler, host: str = "127.0.0.1", port: int = 0):
        action_handler = handler

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                log.debug("interactive: " + format, *args)

            def _send(self, status: int, text: str) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(200, "ok") if self.path == "/healthz" else self._send(404, "not found")

            def do_POST(self) -> None:
                if self.path != PATH:
                    self._send(404, "not found")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._send(413, "request too large")
                    return
                reply = action_handler.handle(self.rfile.read(length), dict(self.headers.items()))
                self._send(reply.status, reply.text)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{PATH}"

    def start(self) -> InteractiveServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-interactive", daemon=True)
        self._thread.start()
        log.info("Slack interactivity endpoint on %s", self.url)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
