"""SlackNotifier with the real slack_sdk WebClient against the fake Slack server."""

from __future__ import annotations

import logging
import socket
import traceback
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
from fake_slack import DEFAULT_TOKEN, FakeSlack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from monitor import registry
from monitor.alerts.notify.base import AlertMessage, Notifier
from monitor.alerts.notify.slack import notifier as slack_module
from monitor.alerts.notify.slack.blocks import Rendered
from monitor.alerts.notify.slack.notifier import SlackNotifier
from monitor.config import SlackConfig
from monitor.errors import ConfigError, DeliveryError
from monitor.models import Incident, Severity, SpikeKind

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
INCIDENT = Incident(id="acme-1", fingerprint="f" * 16, brand="Acme", kind=SpikeKind.VOLUME, severity=Severity.HIGH,
                    opened_at=NOW, updated_at=NOW, last_spike_at=NOW)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def message(kind: str = "alert", **changes: Any) -> AlertMessage:
    data: dict[str, Any] = dict(kind=kind, channel="#brand-alerts", incident=INCIDENT, headline="Mention spike for Acme",
                                summary={"observed": 120, "expected": 10}, dashboard_url="http://dash/?incident=acme-1")
    return AlertMessage(**{**data, **changes})


def notifier(slack: FakeSlack, token: str = DEFAULT_TOKEN, timeout: int = 5) -> SlackNotifier:
    return SlackNotifier(token, base_url=slack.base_url, timeout=timeout)


def test_alert_is_posted_with_blocks_and_bearer_token(fake_slack: FakeSlack) -> None:
    sender = notifier(fake_slack)
    assert isinstance(sender, Notifier)
    ts = sender.send(message())
    assert ts == fake_slack.messages[0]["ts"]
    request = fake_slack.calls("chat.postMessage")[0]
    assert request.headers["authorization"] == f"Bearer {DEFAULT_TOKEN}"
    params = request.params
    assert params["channel"] == "#brand-alerts" and "thread_ts" not in params
    assert params["blocks"][0]["type"] == "header" and params["text"].startswith("🔴 [high]")
    assert params["unfurl_links"] is False


CHART = {"series": [{"t": f"2024-05-01T{h:02d}:00:00+00:00", "negative": h, "neutral": 2} for h in range(12)],
         "window": ["2024-05-01T11:00:00+00:00", "2024-05-01T12:00:00+00:00"]}


def test_the_spike_chart_goes_into_the_alert_thread(fake_slack: FakeSlack) -> None:
    ts = notifier(fake_slack).send(message(summary={"observed": 120, "expected": 10, **CHART}))
    (chart,) = fake_slack.files
    assert chart["thread_ts"] == ts and chart["name"] == "spike.png" and chart["data"].startswith(b"\x89PNG")
    notifier(fake_slack).send(message(kind="update", thread_ts=ts, summary=CHART))
    assert len(fake_slack.files) == 1, "only the alert carries the chart"


def test_a_failed_chart_upload_never_fails_the_alert(fake_slack: FakeSlack, caplog) -> None:
    fake_slack.fail_next(status=500, method="files.getUploadURLExternal")
    ts = notifier(fake_slack).send(message(summary=CHART))
    assert ts == fake_slack.messages[0]["ts"] and fake_slack.files == []
    assert "chart for incident acme-1 not uploaded" in caplog.text


def test_escalation_is_a_broadcast_thread_reply(fake_slack: FakeSlack) -> None:
    sender = notifier(fake_slack)
    parent = sender.send(message())
    sender.send(message("escalation", thread_ts=parent, broadcast=True))
    sender.send(message("update", thread_ts=parent))
    escalation, update = [r.params for r in fake_slack.calls("chat.postMessage")[1:]]
    assert escalation["thread_ts"] == parent and escalation["reply_broadcast"] is True
    assert update["thread_ts"] == parent and update["reply_broadcast"] is False


def test_rate_limit_is_retryable_with_retry_after(fake_slack: FakeSlack) -> None:
    fake_slack.rate_limit_next(retry_after=7)
    with pytest.raises(DeliveryError) as caught:
        notifier(fake_slack).send(message())
    assert caught.value.retry_after == 7 and not caught.value.permanent
    assert fake_slack.messages == [] and len(fake_slack.calls()) == 1, "the SDK must not retry on its own"


@pytest.mark.parametrize("status,html", [(500, False), (502, True), (503, False)])
def test_server_errors_are_retryable(fake_slack: FakeSlack, status: int, html: bool) -> None:
    fake_slack.fail_next(status=status, html=html)
    with pytest.raises(DeliveryError) as caught:
        notifier(fake_slack).send(message())
    assert not caught.value.permanent and caught.value.retry_after is None
    assert notifier(fake_slack).send(message()) is not None


def test_timeout_is_retryable(fake_slack: FakeSlack) -> None:
    fake_slack.delay_next(2.5)
    with pytest.raises(DeliveryError) as caught:
        notifier(fake_slack, timeout=1).send(message())
    assert not caught.value.permanent and "unreachable" in str(caught.value)


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = SlackNotifier(DEFAULT_TOKEN, base_url=f"http://127.0.0.1:{port}/api/", timeout=2)
    with pytest.raises(DeliveryError) as caught:
        sender.send(message())
    assert not caught.value.permanent


def test_bad_token_and_unknown_channel_are_permanent() -> None:
    with FakeSlack(channels={"#brand-alerts": "C0ALERTS1"}) as slack:
        with pytest.raises(DeliveryError) as caught:
            notifier(slack, token="xoxb-wrong").send(message())
        assert caught.value.permanent and "invalid_auth" in str(caught.value)
        with pytest.raises(DeliveryError) as caught:
            notifier(slack).send(message(channel="#nope"))
        assert caught.value.permanent and "channel_not_found" in str(caught.value)
        assert notifier(slack).send(message(channel="C0ALERTS1"))


@pytest.mark.parametrize("rendered,error", [
    (Rendered("x", [{"type": "divider"}] * 51), "invalid_blocks"),
    (Rendered("x" * 40001, []), "msg_too_long"),
])
def test_rejected_content_is_permanent(fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch,
                                       rendered: Rendered, error: str) -> None:
    monkeypatch.setattr(slack_module, "render", lambda _: rendered)
    with pytest.raises(DeliveryError) as caught:
        notifier(fake_slack).send(message())
    assert caught.value.permanent and error in str(caught.value)


def test_huge_messages_are_accepted_by_slack(fake_slack: FakeSlack) -> None:
    posts = [{"text": "x&<" * 10000, "url": "https://x.com/1", "author": "a", "language": "en",
              "sentiment": "negative"}] * 20
    big = message(headline="H" * 1000, summary={"posts": posts, "key_phrases": ["k" * 500] * 100})
    assert notifier(fake_slack).send(big)


def test_token_never_appears_in_logs_or_errors(fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    token = "xoxb-1234-super-secret"
    caplog.set_level(logging.DEBUG)
    with FakeSlack(token=token) as slack:
        sender = notifier(slack, token=token)
        sender.send(message())
        slack.fail_next(status=500)
        with pytest.raises(DeliveryError) as caught:
            sender.send(message())
        errors = [caught.value]
        with pytest.raises(DeliveryError) as caught:
            SlackNotifier(token, base_url=fake_slack.base_url).send(message())
        errors.append(caught.value)
    assert token not in caplog.text and token not in repr(sender)
    for error in errors:
        assert token not in "".join(traceback.format_exception(error))


def test_from_config_reads_the_token_from_the_environment(fake_slack: FakeSlack,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    config = SlackConfig(base_url=fake_slack.base_url, token_env="TEST_SLACK_TOKEN")
    monkeypatch.delenv("TEST_SLACK_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="TEST_SLACK_TOKEN"):
        SlackNotifier.from_config(config)
    monkeypatch.setenv("TEST_SLACK_TOKEN", DEFAULT_TOKEN)
    assert SlackNotifier.from_config(config).check()["bot_id"] == "B0MONITOR"
    with pytest.raises(ConfigError):
        SlackNotifier("")


def test_registered_as_a_notifier_plugin() -> None:
    assert registry.load(registry.NOTIFIERS, "slack") is SlackNotifier


# -- the fake itself, for the tests of chart uploads and interactive updates --------------


def test_fake_speaks_update_ephemeral_and_file_uploads(fake_slack: FakeSlack) -> None:
    client = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url, retry_handlers=[])
    posted = client.chat_postMessage(channel="#alerts", text="first")
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="edited")
    assert fake_slack.messages[0]["text"] == "edited"
    with pytest.raises(SlackApiError, match="message_not_found"):
        client.chat_update(channel=posted["channel"], ts="1.1", text="x")
    assert client.chat_postEphemeral(channel="#alerts", user="U1", text="only you")["message_ts"]
    upload = client.files_upload_v2(channel=posted["channel"], content=b"\x89PNG", filename="chart.png",
                                    title="Mentions", thread_ts=posted["ts"], initial_comment="Chart")
    assert upload["files"][0]["name"] == "chart.png"
    (stored,) = fake_slack.files
    assert stored["data"] == b"\x89PNG" and stored["thread_ts"] == posted["ts"] and stored["channel"] == posted["channel"]
    assert [r.method for r in fake_slack.calls()][-3:] == [
        "files.getUploadURLExternal", "upload", "files.completeUploadExternal"]


def test_fake_rejects_what_slack_rejects(fake_slack: FakeSlack) -> None:
    client = WebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url, retry_handlers=[])
    cases = [
        ({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]}, "invalid_blocks"),
        ({"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]}, "invalid_blocks"),
        ({"text": "😀" * 20001}, "msg_too_long"),
        ({}, "no_text"),
    ]
    for params, error in cases:
        with pytest.raises(SlackApiError) as caught:
            client.api_call("chat.postMessage", json={"channel": "#alerts", **params})
        assert caught.value.response["error"] == error
    with pytest.raises(SlackApiError, match="not_authed"):
        WebClient(base_url=fake_slack.base_url).auth_test()
    with pytest.raises(SlackApiError, match="unknown_method"):
        client.api_call("chat.scheduleMessage", json={"channel": "#alerts"})
