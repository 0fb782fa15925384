"""The e-mail rendering of incident messages: subject, plain text and HTML from the same AlertMessage."""

from __future__ import annotations

import ast
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS, load_playbooks
from monitor.alerts.notify.base import MESSAGE_KINDS, AlertMessage
from monitor.alerts.notify.email.render import render, subject
from monitor.models import Incident, IncidentState, Severity, Spike, SpikeKind, StepDone

ROOT = Path(__file__).resolve().parents[1]
OPENED = datetime(2024, 5, 1, 11, 50, tzinfo=timezone.utc)
PLAYBOOKS = {p.id: p for p in load_playbooks(BUILT_IN_PLAYBOOKS)}
SUMMARY = {
    "observed": 312, "expected": 40, "negative_share": 0.64, "baseline_negative_share": 0.12,
    "key_phrases": ["flight cancelled", "refund"],
    "posts": [{"text": "Cancelled again, write me at ola.nowak@example.com <script>alert(1)</script>",
               "url": "https://x.com/ola/status/1", "author": "ola", "language": "pl", "sentiment": "negative"},
              {"text": "No refund yet", "url": "javascript:alert(1)", "author": "ben", "language": "en"}],
    "sentiment_split": {"negative": 200, "neutral": 80, "positive": 32},
    "languages": {"pl": 250, "en": 40},
}


def incident(**changes: Any) -> Incident:
    spike = Spike(brand="Acme Air", kind=SpikeKind.VOLUME, window_start=OPENED - timedelta(minutes=15),
                  window_end=OPENED, observed=312, expected=40, score=9.0, severity=Severity.HIGH,
                  negative_share=0.64, baseline_negative_share=0.12)
    data: dict[str, Any] = dict(id="acme-air-20240501-1150-abc123", fingerprint="abc123abc123abc1", brand="Acme Air",
                                kind=SpikeKind.VOLUME, severity=Severity.HIGH, opened_at=OPENED, updated_at=OPENED,
                                last_spike_at=OPENED, spikes=[spike])
    return Incident(**{**data, **changes})


def message(kind: str = "alert", **changes: Any) -> AlertMessage:
    data: dict[str, Any] = dict(kind=kind, channel="#brand-alerts", incident=incident(), playbook=PLAYBOOKS["outage"],
                                headline="Mention spike for Acme Air: 312 mentions in 15 min (7.8× usual)",
                                summary=SUMMARY, dashboard_url="https://dash.example.org/?incident=acme",
                                key=f"acme:{kind}:0")
    return AlertMessage(**{**data, **changes})


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [value or "" for name, value in attrs if name == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> _Html:
    parser = _Html()
    parser.feed(html)
    return parser


def test_an_alert_says_what_how_big_what_people_say_and_what_to_do() -> None:
    rendered = render(message())
    text = rendered.text
    assert rendered.subject == "Mention spike · Acme Air · detected 01 May 11:50 UTC"
    assert text.startswith("High: Acme Air: mention spike about “flight cancelled”, “refund”: 312 mentions")
    assert "Negative share in 15 min: 64% (200 of 312) vs 12% usual (+52 pts)" in text
    assert "Mentions in 15 min: 200 negative · 80 neutral · 32 positive" in text
    assert "Key phrases\n-----------\n“flight cancelled” · “refund”" in text
    playbook = PLAYBOOKS["outage"]
    first = playbook.steps[0]
    assert f"1. {first.title} ({first.owner}, due" in text and f"Playbook: {playbook.title}" in text
    assert "Holding statement (pl)" in text and "Holding statement (en)" in text
    assert "Open in the dashboard <https://dash.example.org/?incident=acme>" in text
    assert "Incident acme-air-20240501-1150-abc123, opened 2024-05-01 11:50 UTC" in text


def test_personal_data_is_masked_and_untrusted_text_escaped_in_html() -> None:
    rendered = render(message())
    assert "ola.nowak@example.com" not in rendered.text and "[e-mail]" in rendered.text
    html = parsed(rendered.html)
    assert "script" not in html.tags
    assert any("<script>alert(1)</script>" in chunk for chunk in html.text)  # shown as text, not run
    assert "https://x.com/ola/status/1" in html.links
    assert not any(link.startswith("javascript") for link in html.links)
    assert "javascript:" not in rendered.text  # an unusable link is dropped, the post kept
    assert "No refund yet" in rendered.text


def test_html_and_text_carry_the_same_words() -> None:
    rendered = render(message())
    html_words = set(" ".join(parsed(rendered.html).text).split())
    text_words = {w for w in rendered.text.split() if not w.startswith("<") and set(w) != {"-"}}
    assert text_words <= html_words


def test_every_kind_renders_and_replies_share_the_alerts_subject() -> None:
    alert_subject = subject(message())
    for kind in MESSAGE_KINDS:
        rendered = render(message(kind))
        assert rendered.subject == (alert_subject if kind == "alert" else f"Re: {alert_subject}")
        assert rendered.text.strip() and "<body" in rendered.html


def test_reply_openings_say_what_changed() -> None:
    escalated = incident(severity=Severity.CRITICAL)
    assert render(message("escalation", incident=escalated)).text.startswith("Escalated to critical: Mention spike")
    contacts = ", ".join(PLAYBOOKS["outage"].escalation_contacts)
    assert f"Escalation contacts\n-------------------\n{contacts}" in render(message("escalation")).text
    assert render(message("update")).text.startswith("Update: Mention spike for Acme Air")
    acked = incident(state=IncidentState.ACKNOWLEDGED)
    assert render(message("reminder", incident=acked)).text.startswith("Reminder, still acknowledged:")
    closed = incident(state=IncidentState.FALSE_ALARM, updated_at=OPENED + timedelta(minutes=90))
    assert "Marked as a false alarm after 1 h 30 min." in render(message("resolved", incident=closed)).text


def test_a_done_step_is_shown_done() -> None:
    first = PLAYBOOKS["outage"].steps[0]
    done = incident(steps_done=[StepDone(number=1, title=first.title, due_at=OPENED + timedelta(minutes=30),
                                         by="maria", at=OPENED + timedelta(minutes=5))])
    text = render(message("step", incident=done)).text
    assert f"[done] 1. {first.title} (maria, 2024-05-01 11:55 UTC)" in text


def test_the_email_package_never_imports_slack_code() -> None:
    for module in (ROOT / "monitor" / "alerts" / "notify" / "email").glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [name for name in imported if "slack" in name], module.name
