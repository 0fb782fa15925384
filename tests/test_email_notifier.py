"""The e-mail notifier against a real SMTP server on loopback (aiosmtpd), through smtplib."""

from __future__ import annotations

import logging
import random
import shutil
import socket
import ssl
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from fake_smtp import FakeSmtp

from monitor import config as config_lib
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS, load_playbooks
from monitor.alerts.notify.base import AlertMessage, Notifier
from monitor.alerts.notify.delivery import deliver_due
from monitor.alerts.notify.email.notifier import EmailConfig, EmailNotifier, message_id
from monitor.care.digest import send_digests
from monitor.daily.digest import send_daily_digests
from monitor.errors import ConfigError, DeliveryError
from monitor.models import Incident, Severity, SpikeKind
from monitor.store.base import Notification, NotificationStatus
from monitor.store.sqlite import SqliteStore
from tests.care_posts import T0, post

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
PLAYBOOKS = load_playbooks(BUILT_IN_PLAYBOOKS)
SERIES = [{"t": f"2024-05-01T{h:02d}:00:00+00:00", "negative": 5 * h, "neutral": 3, "positive": 1} for h in range(7)]
SUMMARY = {"observed": 312, "expected": 40, "negative_share": 0.6, "baseline_negative_share": 0.1,
           "key_phrases": ["flight cancelled"], "sentiment_split": {"negative": 180, "neutral": 100, "positive": 32},
           "posts": [{"text": "Flight cancelled, app down", "url": "https://x.com/1", "author": "ola",
                      "language": "en", "sentiment": "negative"}],
           "series": SERIES, "window": ["2024-05-01T05:45:00+00:00", "2024-05-01T06:00:00+00:00"]}
INCIDENT = Incident(id="acme-20240501-1145-abc123", fingerprint="abc123abc123abc1", brand="Acme",
                    kind=SpikeKind.VOLUME, severity=Severity.HIGH, opened_at=NOW, updated_at=NOW, last_spike_at=NOW,
                    playbook_id="outage", slack_channel="#brand-alerts")


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    server = FakeSmtp().start()
    yield server
    server.stop()


def settings(server: FakeSmtp, tmp_path: Path, **changes: Any) -> EmailConfig:
    data: dict[str, Any] = dict(host=server.host, port=server.port, starttls=False, sender="alerts@acme.example",
                                to=["crisis@acme.example"], journal=tmp_path / "sent.jsonl", timeout=5)
    return EmailConfig(**{**data, **changes})


def message(kind: str = "alert", **changes: Any) -> AlertMessage:
    data: dict[str, Any] = dict(kind=kind, channel="#brand-alerts", incident=INCIDENT, playbook=PLAYBOOKS[0],
                                headline="Mention spike for Acme", summary=SUMMARY, key=f"{INCIDENT.id}:{kind}:0")
    return AlertMessage(**{**data, **changes})


def test_an_alert_is_mailed_as_text_and_html_with_the_chart_attached(smtp: FakeSmtp, tmp_path: Path) -> None:
    notifier = EmailNotifier.from_config(settings(smtp, tmp_path))
    assert isinstance(notifier, Notifier)
    sent_id = notifier.send(message())
    (mail,) = smtp.received
    assert mail.sender == "alerts@acme.example" and mail.recipients == ["crisis@acme.example"]
    assert mail.message["Message-ID"] == sent_id == message_id(f"{INCIDENT.id}:alert:0", "alerts@acme.example")
    assert sent_id.endswith("@acme.example>")
    assert mail.message["Subject"] == "Mention spike · Acme · detected 01 May 12:00 UTC"
    assert mail.message["In-Reply-To"] is None
    text = mail.message.get_body(("plain",)).get_content()
    html = mail.message.get_body(("html",)).get_content()
    assert "flight cancelled" in text and "<h3>Representative posts</h3>" in html
    (chart,) = list(mail.message.iter_attachments())
    assert chart.get_filename() == "spike.png" and chart.get_content_type() == "image/png"
    assert chart.get_content().startswith(b"\x89PNG")
    assert notifier.find(message()) == sent_id
    assert notifier.find(message("update")) is None


def test_replies_thread_under_the_alert_through_the_delivery_queue(smtp: FakeSmtp, tmp_path: Path) -> None:
    notifier = EmailNotifier.from_config(settings(smtp, tmp_path))
    with SqliteStore(tmp_path / "monitor.db") as store:
        kinds = ("alert", "update", "escalation", "resolved")
        store.save_incident(INCIDENT.model_copy(), [notification(kind, seq) for seq, kind in enumerate(kinds)])
        report = deliver_due(store, notifier, PLAYBOOKS, NOW, "http://localhost:8501", rng=random.Random(1))
        assert len(report.sent) == 4
        alert, *replies = [r.message for r in smtp.received]
        assert [r["In-Reply-To"] for r in replies] == [alert["Message-ID"]] * 3
        assert [r["References"] for r in replies] == [alert["Message-ID"]] * 3
        assert {r["Subject"] for r in replies} == {f"Re: {alert['Subject']}"}
        assert not list(replies[0].iter_attachments())
        assert store.get_incident(INCIDENT.id).slack_ts == alert["Message-ID"]
        assert deliver_due(store, notifier, PLAYBOOKS, NOW, "").sent == [] and len(smtp.received) == 4


def notification(kind: str, seq: int = 0) -> Notification:
    return Notification(key=f"{INCIDENT.id}:{kind}:{seq}", incident_id=INCIDENT.id, kind=kind,
                        channel="#brand-alerts", created_at=NOW,
                        payload={"headline": f"{kind} about Acme", "summary": SUMMARY})


def test_a_connection_lost_during_data_is_never_sent_twice(smtp: FakeSmtp, tmp_path: Path) -> None:
    notifier = EmailNotifier.from_config(settings(smtp, tmp_path))
    with SqliteStore(tmp_path / "monitor.db") as store:
        store.save_incident(INCIDENT.model_copy(), [notification("alert")])
        smtp.drop = True
        report = deliver_due(store, notifier, PLAYBOOKS, NOW, "", rng=random.Random(1))
        assert report.retrying == [f"{INCIDENT.id}:alert:0"]
        assert store.notifications()[0].status is NotificationStatus.SENDING
        smtp.drop = False
        later = store.notifications()[0].not_before
        report = deliver_due(store, notifier, PLAYBOOKS, later, "", rng=random.Random(1))
        assert report.sent == [f"{INCIDENT.id}:alert:0"]
        assert smtp.received == []  # the server may have had it: at most once, so not again
        assert store.notifications()[0].external_id == message_id(f"{INCIDENT.id}:alert:0", "alerts@acme.example")


@pytest.mark.parametrize(("reply", "permanent"), [("550 5.1.1 mailbox unavailable", True),
                                                  ("451 4.3.0 try again later", False)])
def test_a_refused_message_is_retried_or_failed_by_its_code(smtp: FakeSmtp, tmp_path: Path, reply: str,
                                                           permanent: bool) -> None:
    notifier = EmailNotifier.from_config(settings(smtp, tmp_path))
    smtp.reply = reply
    with pytest.raises(DeliveryError, match=reply.split()[0]) as caught:
        notifier.send(message())
    assert caught.value.permanent is permanent
    assert notifier.find(message()) is None  # refused: a retry sends it
    smtp.reply = None
    assert notifier.send(message()) and len(smtp.received) == 1


def test_an_unreachable_server_is_retryable_and_nothing_is_journaled(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    notifier = EmailNotifier(EmailConfig(host="127.0.0.1", port=port, starttls=False, sender="a@b.example",
                                         to=["c@d.example"], journal=tmp_path / "sent.jsonl", timeout=2))
    with pytest.raises(DeliveryError, match="unreachable") as caught:
        notifier.send(message())
    assert not caught.value.permanent and notifier.find(message()) is None


def test_recipients_follow_the_messages_channel(smtp: FakeSmtp, tmp_path: Path) -> None:
    notifier = EmailNotifier(settings(smtp, tmp_path, channels={"#acme-eu": ["eu@acme.example", "pr@acme.example"]}))
    notifier.send(message(channel="#acme-eu"))
    notifier.send(message(channel="#elsewhere", key="other"))
    assert [r.recipients for r in smtp.received] == [["eu@acme.example", "pr@acme.example"], ["crisis@acme.example"]]


def test_starttls_is_refused_when_the_server_does_not_offer_it(smtp: FakeSmtp, tmp_path: Path) -> None:
    notifier = EmailNotifier(settings(smtp, tmp_path, starttls=True))
    with pytest.raises(DeliveryError, match="does not offer STARTTLS") as caught:
        notifier.send(message())
    assert caught.value.permanent and smtp.received == []


def test_a_user_name_without_the_password_variable_is_a_config_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MONITOR_SMTP_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="MONITOR_SMTP_PASSWORD"):
        EmailNotifier.from_config(EmailConfig(host="smtp.example", sender="a@b.example", to=["c@d.example"],
                                              username="alerts"))


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a certificate for the STARTTLS server")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_starttls_then_login_with_the_password_from_the_environment(tls_files: tuple[Path, Path], tmp_path: Path,
                                                                    monkeypatch, caplog) -> None:
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = FakeSmtp(tls=context, users={"alerts": "s3cret-smtp-pass"}).start()
    try:
        monkeypatch.setenv("ACME_SMTP_PASSWORD", "s3cret-smtp-pass")
        config = settings(server, tmp_path, starttls=True, ca_certs=cert, username="alerts",
                          password_env="ACME_SMTP_PASSWORD")
        with caplog.at_level(logging.DEBUG):
            EmailNotifier.from_config(config).send(message())
        assert [r.login for r in server.received] == ["alerts"]
        assert "s3cret-smtp-pass" not in caplog.text
        monkeypatch.setenv("ACME_SMTP_PASSWORD", "wrong")
        with pytest.raises(DeliveryError, match="login refused") as caught:
            EmailNotifier.from_config(config).send(message(key="second"))
        assert caught.value.permanent and len(server.received) == 1
    finally:
        server.stop()


def test_care_and_daily_digests_are_mailed_once_to_their_channels_recipients(smtp: FakeSmtp, tmp_path: Path) -> None:
    config = config_lib.parse("""
slack: {channel: "#alerts"}
care: {target: 2h, alert_share: 0.75, digest_every: 15m}
daily_digest: {enabled: true, hour: 9}
brands:
  - {name: Aurora Air, handles: [AuroraAir], slack_channel: "#aurora-care"}
""")
    notifier = EmailNotifier.from_config(settings(smtp, tmp_path, channels={"#aurora-care": ["care@acme.example"]}))
    with SqliteStore(tmp_path / "digests.db") as store:
        store.add_mentions([post("1", "@AuroraAir where is my refund?", 0, author="dana")])
        now = T0 + timedelta(hours=3)
        [care] = send_digests(store, config, notifier, now)
        assert send_digests(store, config, notifier, now + timedelta(minutes=1)) == []
        [daily] = send_daily_digests(store, config, notifier, T0 + timedelta(days=1))
        assert send_daily_digests(store, config, notifier, T0 + timedelta(days=1, hours=1)) == []
    first, second = smtp.received
    assert first.recipients == second.recipients == ["care@acme.example"]
    assert first.message["Message-ID"] == notifier.posted(care.channel, care.key)
    assert first.message["Subject"] == "Customer care: 1 post(s) waiting for an answer, 1 past the target"
    assert "where is my refund?" in first.message.get_body(("plain",)).get_content()
    assert second.message["Subject"] == "Aurora Air: daily digest for Mon 02 Mar 2026"
    assert "1 mention (UTC" in second.message.get_body(("plain",)).get_content()
    assert second.message["Message-ID"] == notifier.posted(daily.channel, daily.key)
