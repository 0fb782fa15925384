"""The daily digest: posted once per brand and local day at the configured local hour, through the real
WebClient against the fake Slack; the day is counted in the brand's time zone, clock changes included."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from fake_slack import DEFAULT_TOKEN, FakeSlack

from monitor import config as config_lib
from monitor.alerts.notify.slack.notifier import SlackNotifier
from monitor.alerts.notify.slack.outbox import OutboxNotifier
from monitor.daily.digest import due_day, send_daily_digests
from monitor.models import (Author, Engagement, Incident, IncidentState, Mention, Sentiment, Severity, SpikeKind,
                            Transition)
from monitor.store.sqlite import SqliteStore

CONFIG = """
timezone: Europe/Prague
slack: {channel: "#alerts", dashboard_url: "http://dash.example"}
daily_digest: {enabled: true, hour: 9, top_posts: 2}
brands:
  - {name: Aurora Air, competitors: [Nordwind Airways], slack_channel: "#aurora"}
  - {name: Nordwind Airways}
"""
SPRING = date(2026, 3, 29)
"""Europe/Prague's clocks go from 02:00 CET to 03:00 CEST: the local day lasts 23 hours."""


def mention(n: int, at: datetime, sentiment: str = "negative", likes: int = 0, brand: str = "Aurora Air") -> Mention:
    return Mention(id=f"x:{n}", brand=brand, source="x", text=f"post {n} about the delays", created_at=at,
                   collected_at=at, url=f"https://x.example.org/p/{n}", author=Author(handle=f"user{n}"),
                   engagement=Engagement(likes=likes), language="en",
                   sentiment=Sentiment(label=sentiment, score=0.9, probabilities={sentiment: 0.9}))


def incident(n: int, state: IncidentState, opened: datetime) -> Incident:
    return Incident(id=f"aurora-air-{n}", fingerprint=f"fp{n}", brand="Aurora Air", kind=SpikeKind.VOLUME,
                    severity=Severity.HIGH, state=state, opened_at=opened, updated_at=opened, last_spike_at=opened,
                    transitions=[Transition(state=IncidentState.OPEN, at=opened)])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    utc = timezone.utc
    with SqliteStore(tmp_path / "daily.db") as opened:
        opened.add_mentions([
            mention(1, datetime(2026, 3, 28, 22, 59, tzinfo=utc), likes=9000),  # 23:59 CET on the 28th: before
            mention(2, datetime(2026, 3, 28, 23, 0, tzinfo=utc), likes=40),  # 00:00 CET on the 29th
            mention(3, datetime(2026, 3, 29, 1, 30, tzinfo=utc), "positive", likes=700),  # 03:30 CEST
            mention(4, datetime(2026, 3, 29, 21, 59, tzinfo=utc), "neutral"),  # 23:59 CEST
            mention(5, datetime(2026, 3, 29, 22, 0, tzinfo=utc), likes=5000),  # 00:00 CEST on the 30th: after
            mention(6, datetime(2026, 3, 29, 12, 0, tzinfo=utc), likes=99, brand="Nordwind Airways"),
        ])
        opened.save_incident(incident(1, IncidentState.ACKNOWLEDGED, datetime(2026, 3, 29, 7, 45, tzinfo=utc)))
        opened.save_incident(incident(2, IncidentState.RESOLVED, datetime(2026, 3, 27, 7, 45, tzinfo=utc)))
        yield opened


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def test_the_digest_of_the_local_day_is_posted_once_at_the_local_hour(store: SqliteStore,
                                                                       fake_slack: FakeSlack) -> None:
    config = config_lib.parse(CONFIG)
    slack = SlackNotifier(DEFAULT_TOKEN, base_url=fake_slack.base_url, timeout=3)
    before = datetime(2026, 3, 30, 6, 59, tzinfo=timezone.utc)  # 08:59 CEST
    assert send_daily_digests(store, config, slack, before) == [] and fake_slack.messages == []
    [digest] = send_daily_digests(store, config, slack, before + timedelta(minutes=1))
    assert digest.day == SPRING and digest.end - digest.start == timedelta(hours=23)
    assert digest.mentions == 3 and digest.sentiment == {"negative": 1, "neutral": 1, "positive": 1}
    assert [m.id for m in digest.top_posts] == ["x:3", "x:2"]
    assert [i.id for i in digest.open_incidents] == ["aurora-air-1"]
    assert send_daily_digests(store, config, slack, before + timedelta(hours=3)) == []  # found by its key
    [posted] = fake_slack.messages
    assert posted["text"] == "Aurora Air on Sun 29 Mar 2026 (Europe/Prague): 3 mentions, 33% negative; 1 open incident"
    assert posted["metadata"]["event_payload"]["key"] == "daily-digest:#aurora:Aurora Air:2026-03-29"
    shown = json.dumps(posted["blocks"], ensure_ascii=False)
    assert "daily digest for Sun 29 Mar 2026" in shown and "00:00 CET to 00:00 CEST" in shown
    assert "700 interactions" in shown and "9,000" not in shown and "5,000" not in shown
    assert "detected 29 Mar 09:45 CEST" in shown and "http://dash.example?incident=aurora-air-1" in shown
    assert "Nordwind" not in shown


def test_the_next_day_gets_its_own_digest_and_a_quiet_day_still_reports(store: SqliteStore, tmp_path: Path) -> None:
    config = config_lib.parse(CONFIG)
    outbox = OutboxNotifier(tmp_path / "outbox.jsonl")
    assert len(send_daily_digests(store, config, outbox, datetime(2026, 3, 30, 7, 0, tzinfo=timezone.utc))) == 1
    [quiet] = send_daily_digests(store, config, outbox, datetime(2026, 4, 1, 7, 0, tzinfo=timezone.utc))
    assert quiet.day == date(2026, 3, 31) and quiet.mentions == 0 and quiet.top_posts == ()
    records: list[dict[str, Any]] = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in records] == ["daily_digest", "daily_digest"]
    assert "No sentiment scored yet." in json.dumps(records[1]["blocks"])


def test_the_hour_follows_the_brands_own_zone_across_the_autumn_change() -> None:
    config = config_lib.parse(CONFIG.replace("slack_channel: \"#aurora\"}",
                                             "slack_channel: \"#aurora\", timezone: America/New_York}"))
    brand = config.brand("Aurora Air")
    # 1 Nov 2026: New York goes back from EDT (UTC-4) to EST (UTC-5); 09:00 EST is 14:00 UTC.
    assert due_day(config, brand, datetime(2026, 11, 1, 13, 59, tzinfo=timezone.utc)) is None
    assert due_day(config, brand, datetime(2026, 11, 1, 14, 0, tzinfo=timezone.utc)) == date(2026, 10, 31)
    # the day before, still EDT: 09:00 is 13:00 UTC
    assert due_day(config, brand, datetime(2026, 10, 31, 13, 0, tzinfo=timezone.utc)) == date(2026, 10, 30)


def test_nothing_is_posted_when_the_digest_is_off(store: SqliteStore, tmp_path: Path) -> None:
    config = config_lib.parse(CONFIG.replace("enabled: true", "enabled: false"))
    outbox = OutboxNotifier(tmp_path / "outbox.jsonl")
    assert send_daily_digests(store, config, outbox, datetime(2026, 3, 30, 9, 0, tzinfo=timezone.utc)) == []
