"""Block Kit rendering: content of alerts and thread replies, escaping, Slack's limits."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fake_slack import block_problems
from hypothesis import given
from hypothesis import strategies as st

from monitor.alerts.notify.slack.blocks import (
    MAX_HEADER,
    MAX_TEXT,
    clip,
    clip_plain,
    escape,
    parse_step_option,
    post_text,
    render,
    safe_url,
    step_option,
    units,
)
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS, load_playbooks
from monitor.alerts.notify.base import AlertMessage
from monitor.localtime import zone
from monitor.models import (
    Incident,
    IncidentState,
    Playbook,
    PlaybookStep,
    Severity,
    Spike,
    SpikeKind,
    StepDone,
)

ROOT = Path(__file__).resolve().parents[1]
OPENED = datetime(2024, 5, 1, 11, 50, tzinfo=timezone.utc)
PLAYBOOKS = {p.id: p for p in load_playbooks(BUILT_IN_PLAYBOOKS)}


def make_incident(**changes: Any) -> Incident:
    spike = Spike(brand="Acme Air", kind=SpikeKind.VOLUME, window_start=OPENED - timedelta(minutes=15),
                  window_end=OPENED, observed=312, expected=40, score=9.0, severity=Severity.HIGH,
                  negative_share=0.64, baseline_negative_share=0.12)
    data: dict[str, Any] = dict(id="acme-air-20240501-1135-abc123", fingerprint="abc123abc123abc1", brand="Acme Air",
                                kind=SpikeKind.VOLUME, severity=Severity.HIGH, opened_at=OPENED, updated_at=OPENED,
                                last_spike_at=OPENED, spikes=[spike])
    return Incident(**{**data, **changes})


def post(n: int, text: str = "My flight was cancelled again", language: str = "en") -> dict[str, Any]:
    return {"text": f"{text} #{n}", "url": f"https://x.com/u{n}/status/{n}", "author": f"user{n}",
            "language": language, "sentiment": "negative"}


SUMMARY = {
    "observed": 312, "expected": 40, "negative_share": 0.64, "baseline_negative_share": 0.12,
    "key_phrases": ["flight cancelled", "refund", "no information"],
    "posts": [post(n) for n in range(5)],
    "sentiment_split": {"negative": 200, "neutral": 80, "positive": 32},
    "languages": {"en": 250, "pl": 40},
}


def message(kind: str = "alert", **changes: Any) -> AlertMessage:
    data: dict[str, Any] = dict(
        kind=kind, channel="#brand-alerts", incident=make_incident(), playbook=PLAYBOOKS["outage"],
        headline="Negative sentiment surge for Acme Air: 312 mentions vs 40 expected (7.8×), 64% negative",
        summary=SUMMARY, dashboard_url="http://localhost:8501/?incident=acme-air-20240501-1135-abc123",
    )
    return AlertMessage(**{**data, **changes})


def all_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def fields_of(blocks: list[dict[str, Any]]) -> list[str]:
    return [f["text"] for f in next(b for b in blocks if "fields" in b)["fields"]]


def test_alert_shows_the_numbers_people_need() -> None:
    rendered = render(message())
    blocks = rendered.blocks
    headline = ("🔴 Acme Air: mention spike about “flight cancelled”, “refund”: "
                "312 mentions in 15 min (7.8× usual), 64% negative")
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "emoji": True, "text": headline}}
    fields = fields_of(blocks)
    assert "*Brand*\nAcme Air" in fields and "*Severity*\n🔴 High" in fields
    assert "*Kind*\nMention spike" in fields
    assert "*Mentions*\n312 mentions in 15 min vs 40 expected (7.8×)" in fields
    assert "*Negative share in 15 min*\n64% (200 of 312) vs 12% usual (+52 pts)" in fields
    assert "*Mentions in 15 min*\n😠 200 negative · 😐 80 neutral · 🙂 32 positive" in fields
    assert "“flight cancelled” · “refund” · “no information”" in all_text(blocks)
    assert rendered.text == headline.replace("🔴", "🔴 [high]", 1)


def test_the_playbooks_first_step_is_right_under_the_headline() -> None:
    blocks = render(message()).blocks
    step = PLAYBOOKS["outage"].steps[0]
    under = blocks[1]["text"]["text"]
    assert under.startswith(f"➡️ *First step:* {step.title}") and step.owner in under
    done = StepDone(number=1, title=step.title, due_at=OPENED, at=OPENED, by="dana")
    later = render(message(incident=make_incident(steps_done=[done]))).blocks[1]["text"]["text"]
    assert later.startswith(f"➡️ *Next step (2 of {len(PLAYBOOKS['outage'].steps)}):* "
                            f"{PLAYBOOKS['outage'].steps[1].title}")


def test_a_viral_alert_counts_interactions_and_the_post_and_replies_apart_and_agrees_with_itself() -> None:
    viral = Spike(brand="Acme Air", kind=SpikeKind.VIRAL_POST, window_start=OPENED - timedelta(minutes=15),
                  window_end=OPENED, observed=83551, expected=8, score=10443.9, severity=Severity.CRITICAL,
                  negative_share=1.0)
    summary = {**SUMMARY, "kind": "viral_post", "observed": 83551, "expected": 8, "negative_share": 1.0,
               "baseline_negative_share": 0.2, "sentiment_split": {"negative": 11, "neutral": 9, "positive": 17},
               "uncertain_split": {"negative": 2, "neutral": 0, "positive": 5}, "window": [viral.window_start.isoformat(), viral.window_end.isoformat()],
               "posts": [{**post(0), "source": "twitter"}], "sources": {"bluesky": 20, "twitter": 17}}
    rendered = render(message(incident=make_incident(spikes=[viral], severity=Severity.CRITICAL), summary=summary))
    header = rendered.blocks[0]["text"]["text"]
    assert header == ("🚨 Acme Air: post going viral on twitter about “flight cancelled”, “refund”: "
                      "83,551 likes, shares and replies (10,444× usual)")
    fields = fields_of(rendered.blocks)
    assert "*Interactions*\n83,551 interactions (likes, shares, replies) on one post vs 8 on the brand's usual post " \
           "(10,444×)" in fields
    assert "*Negative share of the post and replies*\n30% (11 of 37) vs 20% usual (+10 pts)" in fields
    assert ("*Mentions of the post and replies*\n😠 11 negative (2 uncertain) · 😐 9 neutral · "
            "🙂 17 positive (5 uncertain)") in fields
    assert "10443" not in all_text(rendered.blocks) and "100%" not in all_text(rendered.blocks)


def test_alert_shows_three_posts_with_links() -> None:
    text = all_text(render(message()).blocks)
    for n in range(3):
        assert f"<https://x.com/u{n}/status/{n}|Open post>" in text and f"@user{n}" in text
    assert "status/3" not in text


def test_alert_shows_first_three_steps_with_deadlines_and_holding_statement() -> None:
    text = all_text(render(message()).blocks)
    playbook = PLAYBOOKS["outage"]
    for step in playbook.steps[:3]:
        due = OPENED + timedelta(minutes=step.due_minutes)
        assert step.owner in text
        assert f"<!date^{int(due.timestamp())}^{{date_short_pretty}} {{time}}|{due:%Y-%m-%d %H:%M} UTC>" in text
    assert playbook.steps[3].title not in text
    assert "|2024-05-01 12:00 UTC>" in text and "(+10 min)" in text
    assert "Holding statement (en)" in text and "problems with Acme Air services" in text
    assert "{brand}" not in text
    assert "When to move to DMs" in text


def test_the_times_written_out_for_slack_are_in_the_brands_zone_and_name_it() -> None:
    text = all_text(render(message(zone=zone("Europe/Prague"))).blocks)
    assert "|2024-05-01 14:00 CEST>" in text and "opened <!date^" in text and "|2024-05-01 13:50 CEST>" in text
    assert " UTC>" not in text
    winter = make_incident(opened_at=datetime(2024, 1, 10, 8, 0, tzinfo=timezone.utc))
    assert "|2024-01-10 09:10 CET>" in all_text(render(message(incident=winter, zone=zone("Europe/Prague"))).blocks)


def test_holding_statement_follows_the_posts_language() -> None:
    summary = {**SUMMARY, "languages": {"pl": 90, "en": 10}}
    text = all_text(render(message(summary=summary)).blocks)
    assert text.index("Holding statement (pl)") < text.index("Holding statement (en)")
    assert "problemy z usługami Acme Air" in text


def test_actions_block_has_the_incident_buttons() -> None:
    actions = next(b for b in render(message()).blocks if b["type"] == "actions")
    buttons = {e["action_id"]: e for e in actions["elements"]}
    assert list(buttons) == ["incident_ack", "incident_escalate", "incident_resolve", "incident_false_alarm",
                             "incident_silence", "incident_step", "incident_open_dashboard"]
    incident_id = make_incident().id
    assert all(buttons[a]["value"] == incident_id for a in list(buttons)[:4])
    assert buttons["incident_ack"]["style"] == "primary" and buttons["incident_escalate"]["style"] == "danger"
    assert buttons["incident_ack"]["text"]["text"] == "Acknowledge"
    assert buttons["incident_false_alarm"]["confirm"]["confirm"]["text"] == "False alarm"
    assert buttons["incident_open_dashboard"]["url"] == message().dashboard_url


def test_the_steps_menu_offers_the_steps_not_done_and_the_checklist_ticks_the_done_ones() -> None:
    playbook = PLAYBOOKS["outage"]
    done = StepDone(number=1, title=playbook.steps[0].title, due_at=OPENED + timedelta(minutes=10),
                    at=OPENED + timedelta(minutes=8), by="dana")
    incident = make_incident(steps_done=[done])
    select = next(e for b in render(message(incident=incident)).blocks if b["type"] == "actions"
                  for e in b["elements"] if e["action_id"] == "incident_step")
    values = [o["value"] for o in select["options"]]
    assert values == [step_option(incident.id, n) for n in range(2, len(playbook.steps) + 1)]
    assert parse_step_option(values[0]) == (incident.id, 2) and parse_step_option("no-number#x") is None
    assert select["options"][0]["text"]["text"] == f"2. {playbook.steps[1].title}"

    reply = all_text(render(message("step", thread_ts="1.1", incident=incident, headline="dana completed step 1")).blocks)
    assert reply.startswith('[{"type": "section", "text": {"type": "mrkdwn", "text": "☑️ dana completed step 1')
    assert f"✅ ~1. {playbook.steps[0].title}~  dana" in reply and playbook.steps[-1].title in reply
    assert "mentions vs" not in reply

    all_done = make_incident(steps_done=[done.model_copy(update={"number": n}) for n in range(1, len(playbook.steps) + 1)])
    actions = next(b for b in render(message(incident=all_done)).blocks if b["type"] == "actions")
    assert "incident_step" not in [e["action_id"] for e in actions["elements"]]


def test_alert_without_summary_or_playbook_uses_the_spike() -> None:
    blocks = render(message(summary={}, playbook=None, dashboard_url="")).blocks
    fields = fields_of(blocks)
    assert "*Mentions*\n312 mentions in 15 min vs 40 expected (7.8×)" in fields
    assert "*Negative share in 15 min*\n64% vs 12% usual (+52 pts)" in fields
    assert "Playbook" not in all_text(blocks)
    assert not any(e.get("url") for b in blocks if b["type"] == "actions" for e in b["elements"])
    assert block_problems(blocks) == []


def test_untrusted_text_is_escaped() -> None:
    evil = post(0, text="<!channel> free tickets & <https://evil.example|click> *here*")
    evil["url"] = "javascript:alert(1)"
    evil["author"] = "<@U123>"
    blocks = render(message(summary={**SUMMARY, "posts": [evil], "key_phrases": ["<!here>"]})).blocks
    text = all_text(blocks)
    assert "<!channel>" not in text and "<!here>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt; free tickets &amp; &lt;https://evil.example|click&gt;" in text
    assert "javascript:" not in text and "<@U123>" not in text


def test_huge_incident_stays_within_slack_limits() -> None:
    steps = [PlaybookStep(title="Step " + "x" * 3000, owner="Owner " * 100, due_minutes=i + 1) for i in range(100)]
    playbook = PLAYBOOKS["outage"].model_copy(update={
        "steps": steps, "title": "T" * 5000, "move_to_private": "m & " * 5000,
        "holding_statement": {"en": "Sorry & <thanks> " * 2000, "pl": "Przepraszamy " * 3000},
    })
    summary = {
        **SUMMARY,
        "observed": 10**9, "expected": 0.001,
        "key_phrases": ["phrase & <b> " * 50] * 1000,
        "posts": [post(n, text="😡 &<> " * 20000) | {"url": "https://x.com/" + "a" * 5000} for n in range(100)],
        "sentiment_split": {"negative": 10**9, "neutral": 0, "positive": 1},
        "languages": {"pl": 10},
    }
    huge = message(
        incident=make_incident(brand="B" * 5000, id="i" * 200, severity=Severity.CRITICAL),
        playbook=playbook, summary=summary, headline="🚨" * 10000,
    )
    for kind in ("alert", "update", "escalation", "resolved", "reminder", "step"):
        rendered = render(AlertMessage(**{**vars(huge), "kind": kind, "thread_ts": None if kind == "alert" else "1.2"}))
        assert block_problems(rendered.blocks) == [], kind
        assert units(rendered.text) <= MAX_TEXT
        assert len(json.dumps(rendered.blocks)) < 200_000


def test_thread_replies_are_short() -> None:
    update = render(message("update", thread_ts="1.1")).blocks
    assert len(update) == 2 and update[0]["text"]["text"].startswith("🔁 *Update:*")
    assert "312 mentions in 15 min vs 40 expected (7.8×)" in update[0]["text"]["text"]

    escalation = render(message("escalation", thread_ts="1.1", broadcast=True,
                                incident=make_incident(severity=Severity.CRITICAL))).blocks
    text = all_text(escalation)
    assert "🔺 *Escalated to critical:*" in text and "*Escalation contacts:* Head of Comms" in text
    assert any(b["type"] == "actions" for b in escalation)

    reminder = all_text(render(message("reminder", thread_ts="1.1")).blocks)
    assert "⏰ *Reminder, still open:*" in reminder and "Playbook: Service outage" in reminder

    closed = make_incident(state=IncidentState.FALSE_ALARM, updated_at=OPENED + timedelta(minutes=200))
    resolved = render(message("resolved", thread_ts="1.1", summary={}, incident=closed,
                              headline="Resolved: Acme Air is back to its usual level")).blocks
    text = all_text(resolved)
    assert "✅ Resolved: Acme Air is back" in text and "false alarm after 3 h 20 min" in text
    assert render(message("resolved", incident=closed, headline="Resolved: back to normal")).text.startswith("✅")
    assert not any(b["type"] == "actions" for b in resolved)
    assert all(block_problems(b) == [] for b in (update, escalation, resolved))


def test_malformed_summary_values_are_skipped() -> None:
    summary = {"observed": "n/a", "expected": None, "negative_share": None, "sentiment_split": {"negative": "x"},
               "posts": ["not a dict", {"text": None}], "key_phrases": [1, None]}
    blocks = render(message(summary=summary, incident=make_incident(spikes=[]))).blocks
    fields = fields_of(blocks)
    assert not any(f.startswith(("*Mentions*", "*Negative share")) for f in fields)
    assert "😠 0 negative" in all_text(blocks) and "> (no text)" in all_text(blocks)
    assert block_problems(blocks) == []


def test_escalation_without_playbook() -> None:
    blocks = render(message("escalation", playbook=None)).blocks
    assert "Escalation contacts" not in all_text(blocks)


def test_safe_url() -> None:
    assert safe_url("https://x.com/a|b>c") == "https://x.com/a%7Cb%3Ec"
    assert safe_url("ftp://x") is None and safe_url(None) is None
    assert safe_url("https://x.com/" + "a" * 4000) is None


def test_clip_counts_utf16_and_keeps_entities_whole() -> None:
    assert units(clip_plain("😀" * 200, MAX_HEADER)) <= MAX_HEADER
    assert clip("ab &amp; cd", 6) == "ab…"
    assert clip("see <https://x.com/long|link> now", 20) == "see…"
    assert clip("short", 10) == "short"


@given(st.text(alphabet=st.sampled_from(list("ab &<>|😀\n")), max_size=300), st.integers(2, 200))
def test_clip_never_breaks_markup(text: str, limit: int) -> None:
    clipped = clip(escape(text), limit)
    assert units(clipped) <= limit
    body = clipped.removesuffix("…")
    assert body.count("&") == body.count(";")
    assert "<" not in body and ">" not in body


def test_playbook_holding_statement_fallback_language() -> None:
    only_pl = Playbook(id="p", title="P", crisis_type="x", steps=[PlaybookStep(title="t", owner="o", due_minutes=5)],
                       holding_statement={"pl": "Przepraszamy, {brand}."})
    text = all_text(render(message(playbook=only_pl, summary={})).blocks)
    assert "Holding statement (pl)" in text and "Przepraszamy, Acme Air." in text
    assert "Holding statement (en)" not in text


TEXT = st.text(alphabet=st.sampled_from(list("aą &<>|*_~`\n😀🏳️‍🌈")), max_size=4000)


@given(headline=TEXT, brand=TEXT.filter(bool), posts=st.lists(TEXT, max_size=6),
       phrases=st.lists(TEXT, max_size=30), statement=TEXT.filter(str.strip))
def test_any_content_renders_within_limits(headline: str, brand: str, posts: list[str], phrases: list[str],
                                           statement: str) -> None:
    playbook = PLAYBOOKS["generic"].model_copy(update={"holding_statement": {"en": statement * 3}})
    summary = {**SUMMARY, "posts": [post(n, text=t) for n, t in enumerate(posts)], "key_phrases": phrases}
    for kind in ("alert", "escalation", "resolved"):
        rendered = render(message(kind, headline=headline, summary=summary, playbook=playbook,
                                  incident=make_incident(brand=brand)))
        assert block_problems(rendered.blocks) == [] and units(rendered.text) <= MAX_TEXT
        assert "<!" not in all_text([b for b in rendered.blocks if b["type"] == "section"]).replace("<!date^", "")


def test_posts_in_alerts_have_personal_data_masked() -> None:
    text = post_text({"text": "@AuroraAir booking ref X7K9PQ, call +48 601 234 567", "author": "dana"})
    assert "X7K9PQ" not in text and "601 234 567" not in text
    assert "[booking ref]" in text and "[phone]" in text
