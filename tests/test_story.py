"""One wording for an incident's figures: ratios rounded once, interactions named as such, one story line."""

from datetime import datetime, timedelta, timezone

import json

from monitor.alerts.notify.base import AlertMessage
from monitor.alerts.notify.email.render import render as render_email
from monitor.alerts.notify.slack.blocks import SENTIMENT_ICON
from monitor.alerts.notify.slack.outbox import OutboxNotifier
from monitor.alerts.notify.story import Figures, headline, peak_text, ratio_text, span_text, story, title
from monitor.alerts.notify.summary import summarise
from monitor.incident_cli import show_lines
from monitor.localtime import zone
from monitor.models import Author, Incident, Mention, Sentiment, Severity, Spike, SpikeKind
from monitor.store.base import Notification
from monitor.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 9, 7, 45, tzinfo=timezone.utc)


def spike(kind: SpikeKind, observed: float, expected: float, minutes: int = 15, share: float = 0.5) -> Spike:
    return Spike(brand="Aurora Air", kind=kind, window_start=T0, window_end=T0 + timedelta(minutes=minutes),
                 observed=observed, expected=expected, score=3, severity=Severity.HIGH, negative_share=share)


def incident(*spikes: Spike) -> Incident:
    return Incident(id="aurora-air-20260309-0745-abcdef", fingerprint="f" * 16, brand="Aurora Air",
                    kind=SpikeKind.VOLUME, severity=Severity.HIGH, opened_at=T0 + timedelta(minutes=20),
                    updated_at=T0, last_spike_at=T0, spikes=list(spikes))


def test_a_ratio_is_rounded_one_way_everywhere():
    assert ratio_text(83551, 8) == "10,444×" and ratio_text(312, 40) == "7.8×" and ratio_text(5, 0) == "no baseline yet"
    viral = spike(SpikeKind.VIRAL_POST, 83551, 8)
    figures = Figures.of({}, viral)
    assert ratio_text(83551, 8) in headline(incident(viral), viral) and ratio_text(83551, 8) in figures.magnitude()


def test_a_viral_post_headline_speaks_of_interactions_not_mentions():
    viral = spike(SpikeKind.VIRAL_POST, 83552, 7)
    assert headline(incident(viral), viral) == ("Post going viral for Aurora Air: one post has 83,552 likes, shares "
                                                "and replies (11,936× usual)")
    assert "mentions" not in headline(incident(viral), viral)


def test_a_window_is_named_by_its_real_length():
    volume = spike(SpikeKind.VOLUME, 128, 16, minutes=30, share=0.64)
    assert span_text(volume.window_start, volume.window_end) == "30 min"
    assert headline(incident(volume), volume) == "Mention spike for Aurora Air: 128 mentions in 30 min (8.0× usual), 64% negative"


def test_the_story_says_what_about_what_where_and_how_big():
    viral = spike(SpikeKind.VIRAL_POST, 83551, 8)
    summary = {"kind": "viral_post", "observed": 83551, "expected": 8, "key_phrases": ["stranded", "app dead", "x"],
               "posts": [{"text": "…", "source": "twitter"}], "sources": {"bluesky": 30, "twitter": 3}}
    assert story(incident(viral), summary) == ("Aurora Air: post going viral on twitter about “stranded”, “app dead”: "
                                               "83,551 likes, shares and replies (10,444× usual)")
    volume = spike(SpikeKind.VOLUME, 128, 16, minutes=30)
    summary = {"key_phrases": ["refund"], "sources": {"bluesky": 30, "twitter": 3},
               "sentiment_split": {"negative": 64, "neutral": 32, "positive": 32}}
    assert story(incident(volume), summary) == ("Aurora Air: mention spike on bluesky about “refund”: "
                                                "128 mentions in 30 min (8.0× usual), 50% negative")


def test_the_negative_share_is_the_splits_own_figure():
    figures = Figures.of({"sentiment_split": {"negative": 11, "neutral": 9, "positive": 17},
                          "baseline_negative_share": 0.2}, spike(SpikeKind.VIRAL_POST, 83551, 8, share=1.0))
    assert figures.negative_share == 11 / 37
    assert figures.negative() == "30% (11 of 37) vs 20% usual (+10 pts)"
    assert Figures.of({}, spike(SpikeKind.VIRAL_POST, 83551, 8, share=1.0)).negative() == ""


def test_an_incident_is_titled_by_the_kind_that_opened_it():
    viral = spike(SpikeKind.VIRAL_POST, 83551, 8)
    assert title(incident(viral)) == "Post going viral · Aurora Air · detected 09 Mar 08:05 UTC"


def test_the_peak_is_the_window_with_most_mentions_never_a_viral_posts_interactions():
    viral = spike(SpikeKind.VIRAL_POST, 83551, 8)
    short = spike(SpikeKind.VOLUME, 67, 10)
    long = spike(SpikeKind.VOLUME, 128, 16, minutes=30)
    assert peak_text(incident(viral, short, long)) == "128 mentions in 30 min (07:45–08:15 UTC)"
    assert peak_text(incident(viral)) == ""
    assert peak_text(incident(viral, spike(SpikeKind.NEGATIVE, 40, 4))).startswith("40 negative mentions in 15 min")


def test_uncertain_posts_are_shown_as_such_within_their_label():
    figures = Figures.of({"sentiment_split": {"negative": 200, "neutral": 80, "positive": 32},
                          "uncertain_split": {"negative": 12, "neutral": 30, "positive": 0}}, None)
    assert figures.sentiment() == "200 negative (12 uncertain) · 80 neutral (30 uncertain) · 32 positive"
    assert figures.negative() == "64% (200 of 312)"
    assert Figures.of({"sentiment_split": {"negative": 1, "neutral": 0, "positive": 0}}, None).sentiment() == (
        "1 negative · 0 neutral · 0 positive")


def _mention(n: int, label: str, uncertain: bool, minutes: int) -> Mention:
    probs = {name: 0.8 if name == label else 0.1 for name in ("negative", "neutral", "positive")}
    return Mention(id=f"x:{n}", brand="Aurora Air", source="twitter", text=f"flight {n} cancelled, no information",
                   created_at=T0 + timedelta(minutes=minutes), collected_at=T0, language="en",
                   author=Author(handle=f"user{n}"), url=f"https://example.org/{n}",
                   sentiment=Sentiment(label=label, score=0.8, probabilities=probs, uncertain=uncertain))


def test_slack_the_outbox_email_and_the_cli_say_the_same_split_and_share_as_the_rule(tmp_path):
    labels = ["negative"] * 7 + ["neutral"] * 3 + ["positive"] * 2
    rule = spike(SpikeKind.VOLUME, 12, 2, share=7 / 12)
    opened = incident(rule)
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions([_mention(k, label, k % 3 == 0, k) for k, label in enumerate(labels)])
        summary = summarise(store, rule, {"aurora", "air"}, T0 - timedelta(days=1))
        message = AlertMessage(kind="alert", channel="#alerts", incident=opened, headline="h", summary=summary)
        store.save_incident(opened, [Notification(key=f"{opened.id}:alert", incident_id=opened.id, kind="alert",
                                                  channel="#alerts", payload={"headline": "h", "summary": summary},
                                                  created_at=opened.opened_at)])
        OutboxNotifier(tmp_path / "outbox.jsonl").send(message)
        record = json.loads((tmp_path / "outbox.jsonl").read_text(encoding="utf-8"))
        cli = [line.strip() for line in show_lines(opened, store, {}, zone(None))]
    figures = Figures.of(summary, rule)
    split = "7 negative (3 uncertain) · 3 neutral (1 uncertain) · 2 positive"
    assert figures.sentiment() == split and figures.negative_share == rule.negative_share
    fields = [f["text"] for b in record["blocks"] for f in b.get("fields", [])]
    assert f"*Mentions in 15 min*\n{figures.sentiment(SENTIMENT_ICON)}" in fields
    assert "*Negative share in 15 min*\n58% (7 of 12) vs 0% usual (+58 pts)" in fields
    email = render_email(message).text
    assert f"Mentions in 15 min: {split}" in email and "Negative share in 15 min: 58% (7 of 12)" in email
    assert "negative share in 15 min: 58% (7 of 12) vs 0% usual (+58 pts)" in cli
    assert f"mentions in 15 min: {split}" in cli
