"""Slack button presses over Socket Mode: an outbound WebSocket, so no inbound port is needed.

``slack_sdk``'s Socket Mode client asks ``apps.connections.open`` (with the app-level token,
``xapp-…``, from ``SLACK_APP_TOKEN``) for a WebSocket URL, connects, and reconnects with a new
URL when Slack says ``disconnect`` or the connection drops. Each ``interactive`` envelope is
applied by :class:`~monitor.alerts.notify.slack.interactive.ActionHandler`, the same as on the
HTTP endpoint (a redelivered press changes nothing a second time), and then acknowledged
(``{"envelope_id": …}``; Slack wants that within three seconds, a store write takes far less).

A token Slack refuses stops ``monitor run`` (exit 2); while Slack cannot be reached the worker
goes on collecting and alerting and keeps trying to connect.
"""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.socket_mode.builtin import SocketModeClient

from monitor.alerts.notify.slack.interactive import ActionHandler, BadPayload
from monitor.errors import ConfigError, MonitorError

log = logging.getLogger(__name__)

REFUSED = frozenset({"invalid_auth", "not_authed", "not_allowed_token_type", "token_revoked", "account_inactive",
                     "missing_scope", "no_permission"})
RETRY_WAITS = (1, 2, 5, 10, 30, 60)  # seconds between tries to connect while Slack is out of reach


class _OutOfReach(Exception):
    pass


class SocketModeListener:
    """Receives presses over Socket Mode while started."""

    def __init__(self, handler: ActionHandler, app_token: str, base_url: str | None = None, ping_interval: float = 5):
        self.handler = handler
        self.app_token = app_token
        self.base_url = base_url
        self.ping_interval = ping_interval
        self.client: SocketModeClient | None = None
        self._stopped = threading.Event()
        self._retrying: threading.Thread | None = None

    def _receive(self, client: SocketModeClient, message: dict[str, Any], raw: str | None) -> None:
        """Apply an ``interactive`` envelope, then acknowledge it (any other envelope just the latter).

        Every envelope is read here, however odd its payload; a press the store could not take is
        left unacknowledged, so Slack shows its user that it failed.
        """
        envelope_id = message.get("envelope_id")
        if not envelope_id:  # hello, and what Slack says about the connection
            return
        if message.get("type") == "interactive":
            try:
                self.handler.handle(message.get("payload"))
            except BadPayload as exc:
                log.warning("ignored an interactive Socket Mode envelope: %s", exc)
            except MonitorError as exc:
                log.error("a Slack press could not be applied: %s", exc)
                return
        client.send_socket_mode_response({"envelope_id": envelope_id})

    def _connect(self, client: SocketModeClient, again: bool = False) -> None:
        try:
            client.connect_to_new_endpoint(force=True) if again else client.connect()
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in REFUSED:
                raise ConfigError(f"Slack refused to open a Socket Mode connection: {error} (check the app-level "
                                  "token, its connections:write scope, and that Socket Mode is on for the app)") from exc
            raise _OutOfReach(error or f"HTTP {exc.response.status_code}") from exc
        except (SlackClientError, OSError) as exc:
            raise _OutOfReach(str(exc) or type(exc).__name__) from exc
        log.info("Slack interactivity over Socket Mode (session %s)", client.session_id())

    def _keep_trying(self, client: SocketModeClient) -> None:
        for wait in itertools.chain(RETRY_WAITS, itertools.repeat(RETRY_WAITS[-1])):
            if self._stopped.wait(wait):
                return
            try:
                self._connect(client, again=True)
                return
            except _OutOfReach as exc:
                log.debug("Socket Mode still out of reach: %s", exc)
            except ConfigError as exc:
                log.error("%s; Slack's buttons will not work until monitor is restarted", exc)
                return

    def start(self) -> SocketModeListener:
        """Connect; a refused token raises :class:`ConfigError`, an unreachable Slack is retried."""
        web = WebClient(base_url=self.base_url) if self.base_url else WebClient()
        client = self.client = SocketModeClient(app_token=self.app_token, web_client=web, ping_interval=self.ping_interval,
                                                logger=logging.getLogger(f"{__name__}.client"))
        client.message_listeners.append(self._receive)
        try:
            self._connect(client)
        except ConfigError:
            client.close()
            raise
        except _OutOfReach as exc:
            log.warning("Slack's Socket Mode is out of reach (%s); button presses wait until it is back", exc)
            self._retrying = threading.Thread(target=self._keep_trying, args=(client,), name="slack-socket-mode",
                                              daemon=True)
            self._retrying.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._retrying:
            self._retrying.join(timeout=10)
        if self.client:
            self.client.close()
