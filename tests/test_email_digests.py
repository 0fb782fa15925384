"""The care and daily digests as e-mail text and HTML: what Slack shows, personal data masked, text escaped."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from monitor import config as config_lib
from monitor.alerts.notify.email.digests import SHOWN, care_digest, daily_digest
from monitor.care.digest import digests
from monitor.daily.digest import DailyDigest
from monitor.models import Author, Engagement, Incident, IncidentState, Mention, Sentiment, Severity, SpikeKind
from monitor.store.sqlite import SqliteStore
from tests.care_posts import T0, post

CONFIG = config_lib.parse("""
slack: {channel: "#alerts"}
care: {target: 2h, alert_share: 0.75, digest_every: 15m}
brands:
  - {name: Aurora Air, handles: [AuroraAir], slack_channel: "#aurora-care"}
""")


def _care(tmp_path, count: int, spacing: float = 0):
    now = T0 + timedelta(minutes=135)
    with SqliteStore(tmp_path / "care.db") as store:
        store.add_mentions([post(str(n), f"@AuroraAir booking ref X7K9PQ <b>lost</b> bag {n}?", n * spacing,
                                 author=f"u{n}") for n in range(count)])
        [digest] = digests(store, CONFIG, now, now)
    return digest


def test_the_care_digest_lists_waiting_posts_masked_with_their_time_left(tmp_path) -> None:
    digest = _care(tmp_path, 2, spacing=40)
    mail = care_digest(digest)
    assert mail.subject == digest.text() == "Customer care: 2 post(s) waiting for an answer, 1 past the target"
    assert "X7K9PQ" not in mail.text and "[booking ref]" in mail.text
    assert "Aurora Air · twitter · 0h 15m late" in mail.text and "0h 25m left" in mail.text
    assert "<https://x.example.org/u0/0>" in mail.text
    assert "&lt;b&gt;lost&lt;/b&gt;" in mail.html and "<b>lost</b>" not in mail.html


def test_a_long_care_digest_counts_what_it_does_not_list(tmp_path) -> None:
    mail = care_digest(_care(tmp_path, SHOWN + 3))
    assert mail.text.count("“@AuroraAir") == SHOWN
    assert "and 3 more: `monitor care queue`" in mail.text


def _daily(**changes) -> DailyDigest:
    utc, zone = timezone.utc, ZoneInfo("Europe/Warsaw")
    at = datetime(2026, 3, 29, 8, 0, tzinfo=utc)
    top = Mention(id="x:1", brand="Aurora Air", source="x", text="Call me at +48 601 234 567, bag lost",
                  created_at=at, collected_at=at, url="javascript:alert(1)", author=Author(handle="ola"),
                  engagement=Engagement(likes=1200), language="pl",
                  sentiment=Sentiment(label="negative", score=0.9, probabilities={"negative": 0.9}))
    incident = Incident(id="aurora-air-1", fingerprint="fp", brand="Aurora Air", kind=SpikeKind.VOLUME,
                        severity=Severity.HIGH, state=IncidentState.ACKNOWLEDGED, opened_at=at, updated_at=at,
                        last_spike_at=at)
    data = dict(brand="Aurora Air", channel="#aurora", day=date(2026, 3, 29), zone=zone,
                start=datetime(2026, 3, 28, 23, 0, tzinfo=utc), end=datetime(2026, 3, 29, 22, 0, tzinfo=utc),
                mentions=40, sentiment={"negative": 30, "neutral": 6, "positive": 4}, top_posts=(top,),
                open_incidents=(incident,), dashboard_url="https://dash.example/")
    return replace(DailyDigest(**data), **changes)


def test_the_daily_digest_gives_the_day_its_posts_and_open_incidents() -> None:
    mail = daily_digest(_daily())
    assert mail.subject == "Aurora Air: daily digest for Sun 29 Mar 2026"
    assert "40 mentions (Europe/Warsaw, 00:00 CET to 00:00 CEST)" in mail.text
    assert "30 negative (75%) · 6 neutral (15%) · 4 positive (10%)" in mail.text
    assert "601 234 567" not in mail.text and "1,200 interactions · x · ola · pl · negative" in mail.text
    assert "javascript:" not in mail.text + mail.html
    assert "<https://dash.example/?incident=aurora-air-1>" in mail.text and "acknowledged" in mail.text


def test_a_quiet_day_says_so() -> None:
    mail = daily_digest(_daily(mentions=0, sentiment={}, top_posts=(), open_incidents=()))
    assert "No sentiment scored yet." in mail.text and "Top posts" not in mail.text
    assert "Open incidents (0)\n------------------\nnone" in mail.text
