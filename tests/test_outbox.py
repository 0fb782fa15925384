"""OutboxNotifier: JSON lines with Slack's blocks, a readable console copy, synthetic ts."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from monitor import registry
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS, load_playbooks
from monitor.alerts.notify.base import AlertMessage, Notifier
from monitor.alerts.notify.slack.blocks import render
from monitor.alerts.notify.slack.outbox import OutboxNotifier, blocks_to_text, mrkdwn_to_plain
from monitor.errors import DeliveryError
from monitor.models import Incident, Severity, SpikeKind

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
INCIDENT = Incident(id="acme-1", fingerprint="f" * 16, brand="Acme", kind=SpikeKind.VOLUME, severity=Severity.MEDIUM,
                    opened_at=NOW, updated_at=NOW, last_spike_at=NOW)
PLAYBOOK = next(p for p in load_playbooks(BUILT_IN_PLAYBOOKS) if p.id == "data_breach")


def message(kind: str = "alert", **changes: Any) -> AlertMessage:
    summary = {"observed": 80, "expected": 20, "negative_share": 0.5, "baseline_negative_share": 0.1,
               "posts": [{"text": "My Acme account was hacked & drained", "url": "https://x.com/1",
                          "author": "jan", "language": "en", "sentiment": "negative"}],
               "key_phrases": ["hacked", "password"]}
    data: dict[str, Any] = dict(kind=kind, channel="#brand-alerts", incident=INCIDENT, playbook=PLAYBOOK,
                                headline="Mention spike for Acme: 80 vs 20", summary=summary,
                                dashboard_url="http://dash/?incident=acme-1")
    return AlertMessage(**{**data, **changes})


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_writes_the_same_blocks_slack_would_get(tmp_path: Path) -> None:
    path = tmp_path / "var" / "outbox.jsonl"
    outbox = OutboxNotifier(path, stream=io.StringIO())
    assert isinstance(outbox, Notifier)
    first = outbox.send(message())
    second = outbox.send(message("escalation", thread_ts=first, broadcast=True))
    assert (first, second) == ("outbox-1", "outbox-2")
    alert, escalation = lines(path)
    rendered = render(message())
    assert alert["blocks"] == rendered.blocks and alert["text"] == rendered.text
    assert alert["ts"] == "outbox-1" and alert["thread_ts"] is None and alert["incident_id"] == "acme-1"
    assert escalation["thread_ts"] == "outbox-1" and escalation["reply_broadcast"] is True
    assert escalation["kind"] == "escalation" and escalation["channel"] == "#brand-alerts"


def test_numbering_continues_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    OutboxNotifier(path, stream=io.StringIO()).send(message())
    OutboxNotifier(path, stream=io.StringIO()).send(message())
    assert OutboxNotifier(path, stream=io.StringIO()).send(message("update")) == "outbox-3"
    assert [r["ts"] for r in lines(path)] == ["outbox-1", "outbox-2", "outbox-3"]


def test_console_copy_is_readable(tmp_path: Path) -> None:
    stream = io.StringIO()
    OutboxNotifier(tmp_path / "o.jsonl", stream=stream).send(message())
    text = stream.getvalue()
    assert "── alert to #brand-alerts · outbox-1 ──" in text
    assert "🟠 Acme: mention spike about “hacked”, “password”: 80 mentions in the spike window (4.0× usual)" in text
    assert "Mentions: 80 mentions in the spike window vs 20 expected (4.0×)" in text
    assert "My Acme account was hacked & drained" in text and "Open post (https://x.com/1)" in text
    assert "Playbook: Data breach / security incident" in text
    assert "due 2024-05-01 12:15 UTC" in text
    assert "[Acknowledge] [Escalate] [Resolve] [False alarm] [Silence 4h] [Mark a step done ▾] [Open in dashboard] http://dash/?incident=acme-1" in text
    assert "&amp;" not in text and "<!date" not in text


def test_console_copy_goes_to_the_log_without_a_stream(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="monitor.alerts.notify.slack.outbox")
    OutboxNotifier(tmp_path / "o.jsonl").send(message("resolved", thread_ts="outbox-1", summary={}))
    assert "resolved to #brand-alerts (thread outbox-1)" in caplog.text


def test_unwritable_outbox_is_a_delivery_error(tmp_path: Path) -> None:
    (tmp_path / "dir.jsonl").mkdir()
    outbox = OutboxNotifier(tmp_path / "dir.jsonl", stream=io.StringIO())
    with pytest.raises(DeliveryError, match="cannot write outbox"):
        outbox.send(message())


def test_mrkdwn_to_plain() -> None:
    assert mrkdwn_to_plain("*Bold* and <https://a.b/c|a link> &amp; &lt;x&gt;") == "Bold and a link (https://a.b/c) & <x>"
    assert mrkdwn_to_plain("due <!date^1714564800^{time}|2024-05-01 12:00 UTC>") == "due 2024-05-01 12:00 UTC"
    assert mrkdwn_to_plain("<https://bare.example>") == "https://bare.example"
    assert blocks_to_text([{"type": "divider"}, {"type": "image"}]) == "-" * 40


def test_registered_as_a_notifier_plugin() -> None:
    assert registry.load(registry.NOTIFIERS, "outbox") is OutboxNotifier


def test_an_alert_with_a_series_saves_its_chart_beside_the_outbox(tmp_path: Path) -> None:
    series = {"series": [{"t": f"2024-05-01T{h:02d}:00:00+00:00", "negative": h} for h in range(6)]}
    notifier = OutboxNotifier(tmp_path / "o.jsonl", stream=io.StringIO())
    notifier.send(message(summary={**message().summary, **series}))
    record = json.loads((tmp_path / "o.jsonl").read_text().splitlines()[0])
    [chart] = record["files"]
    assert Path(chart).read_bytes().startswith(b"\x89PNG")
    assert notifier.find(message(key="nothing")) is None
