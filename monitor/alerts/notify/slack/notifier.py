"""Slack delivery through the Web API (``chat.postMessage``) with the official SDK."""

from __future__ import annotations

import http.client
import logging
import re
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from monitor.alerts.notify.base import AlertMessage
from monitor.alerts.notify.chart import chart_title, spike_chart
from monitor.alerts.notify.slack.blocks import render
from monitor.alerts.notify.slack.daily import daily_blocks
from monitor.alerts.notify.slack.digest import digest_blocks
from monitor.care.digest import Digest
from monitor.daily.digest import DailyDigest
from monitor.config import SlackConfig
from monitor.errors import ConfigError, DeliveryError

log = logging.getLogger(__name__)

METADATA_EVENT = "monitor_notification"
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")

DEFAULT_RETRY_AFTER = 30.0
RETRYABLE_ERRORS = frozenset({
    "ratelimited", "rate_limited", "service_unavailable", "internal_error", "fatal_error",
    "request_timeout", "team_added_to_org",
})


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else value
    return None


def _retry_after(headers: Any) -> float:
    try:
        return max(float(_header(headers, "Retry-After") or DEFAULT_RETRY_AFTER), 0.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER


def classify(exc: SlackApiError, method: str) -> DeliveryError:
    """Turn a Slack API error into a retryable or permanent :class:`DeliveryError`."""
    response = exc.response
    status = getattr(response, "status_code", 0) or 0
    data = response.data if isinstance(getattr(response, "data", None), dict) else {}
    error = str(data.get("error") or f"HTTP {status}")[:200]
    if status == 429 or error in ("ratelimited", "rate_limited"):
        return DeliveryError(f"Slack {method} rate limited", retry_after=_retry_after(response.headers))
    if status >= 500 or error in RETRYABLE_ERRORS:
        return DeliveryError(f"Slack {method} failed ({error}); will retry")
    detail = "; ".join(str(m) for m in (data.get("response_metadata") or {}).get("messages", [])[:3])
    return DeliveryError(f"Slack {method} refused: {error}" + (f" ({detail})" if detail else ""), permanent=True)


class SlackNotifier:
    """Posts incident messages to Slack; replies go into the incident's thread.

    Retries are left to the delivery queue (the SDK's own retry handlers are off), so a
    message is never posted twice by a retry the queue does not know about.
    """

    Config = SlackConfig

    def __init__(self, token: str, base_url: str | None = None, timeout: int = 10):
        if not token:
            raise ConfigError("Slack needs a bot token (xoxb-…); set SLACK_BOT_TOKEN")
        self._client = WebClient(
            token=token,
            base_url=base_url or WebClient.BASE_URL,
            timeout=timeout,
            retry_handlers=[],
        )
        self._channel_ids: dict[str, str] = {}

    @classmethod
    def from_config(cls, slack: SlackConfig, timeout: int = 10) -> SlackNotifier:
        """Build from the ``slack:`` config section; the token comes from its environment variable."""
        token = slack.token
        if not token:
            raise ConfigError(f"Slack is configured but the environment variable {slack.token_env} is not set")
        return cls(token, base_url=slack.base_url, timeout=timeout)

    def __repr__(self) -> str:
        return f"SlackNotifier(base_url={self._client.base_url!r})"

    def _call(self, method: str, **params: Any) -> dict[str, Any]:
        call = getattr(self._client, method.replace(".", "_"))
        try:
            response = call(**params)
        except SlackApiError as exc:
            raise classify(exc, method) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(f"Slack {method} unreachable: {type(exc).__name__}: {exc}") from exc
        except SlackClientError as exc:
            raise DeliveryError(f"Slack {method} failed: {exc}", permanent=True) from exc
        return response.data if isinstance(response.data, dict) else {}

    def check(self) -> dict[str, Any]:
        """``auth.test``: who the token belongs to (team, bot user); raises DeliveryError if invalid."""
        return self._call("auth.test")

    def send(self, message: AlertMessage) -> str | None:
        rendered = render(message)
        params: dict[str, Any] = {
            "channel": message.channel,
            "text": rendered.text,
            "blocks": rendered.blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if message.thread_ts:
            params["thread_ts"] = message.thread_ts
            params["reply_broadcast"] = message.broadcast
        if message.key:
            params["metadata"] = {"event_type": METADATA_EVENT, "event_payload": {"key": message.key}}
        data = self._call("chat.postMessage", **params)
        log.info("posted %s for incident %s to %s (ts %s)", message.kind, message.incident.id,
                 message.channel, data.get("ts"))
        if message.kind == "alert" and data.get("ts"):
            self._attach_chart(message, data.get("channel") or message.channel, data["ts"])
        return data.get("ts")

    def find(self, message: AlertMessage) -> str | None:
        return self.posted(message.channel, message.key, message.thread_ts) if message.key else None

    def posted(self, channel: str, key: str, thread_ts: str | None = None) -> str | None:
        """The ts of the message posted to ``channel`` (or its thread) with ``key``, if there is one."""
        channel_id = self._channel_id(channel)
        if channel_id is None:
            return None
        if thread_ts:
            data = self._call("conversations.replies", channel=channel_id, ts=thread_ts,
                              include_all_metadata=True, limit=200)
        else:
            data = self._call("conversations.history", channel=channel_id, include_all_metadata=True, limit=200)
        for found in data.get("messages") or []:
            payload = (found.get("metadata") or {}).get("event_payload") or {}
            if payload.get("key") == key:
                return found.get("ts")
        return None

    def post_digest(self, digest: Digest) -> str | None:
        """Post the care digest (a message of no incident) to its channel, tagged with its key."""
        return self._post_keyed(digest.channel, digest.key, digest.text(), digest_blocks(digest))

    def post_daily_digest(self, digest: DailyDigest) -> str | None:
        """Post a brand's daily digest to its channel, tagged with its key."""
        return self._post_keyed(digest.channel, digest.key, digest.text(), daily_blocks(digest))

    def _post_keyed(self, channel: str, key: str, text: str, blocks: list[dict[str, Any]]) -> str | None:
        data = self._call("chat.postMessage", channel=channel, text=text, blocks=blocks, unfurl_links=False,
                          unfurl_media=False, metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}})
        log.info("posted %s to %s (ts %s)", key, channel, data.get("ts"))
        return data.get("ts")

    def _channel_id(self, channel: str) -> str | None:
        """Slack's id for a channel given by id or ``#name`` (looked up once and remembered)."""
        name = channel.lstrip("#")
        if CHANNEL_ID.fullmatch(name):
            return name
        if name not in self._channel_ids:
            cursor = None
            while True:
                data = self._call("conversations.list", types="public_channel,private_channel", limit=1000,
                                  exclude_archived=True, **({"cursor": cursor} if cursor else {}))
                self._channel_ids.update({c.get("name"): c.get("id") for c in data.get("channels") or []})
                cursor = (data.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        return self._channel_ids.get(name)

    def _attach_chart(self, message: AlertMessage, channel: str, thread_ts: str) -> None:
        """Upload the spike chart into the alert's thread; a failure is logged, never re-sends the alert."""
        png = spike_chart(message.summary, chart_title(message.incident.brand), message.zone)
        if png is None:
            return
        try:
            self._client.files_upload_v2(channel=channel, thread_ts=thread_ts, content=png, filename="spike.png",
                                         title=f"{message.incident.brand}: mentions by sentiment")
        except (SlackApiError, SlackClientError, OSError, http.client.HTTPException) as exc:
            log.warning("chart for incident %s not uploaded: %s", message.incident.id, exc)
