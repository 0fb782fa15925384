"""The Slack care digest: one message per care channel once posts wait past the alert share; quiet otherwise."""

from __future__ import annotations

import json
from datetime import timedelta

from monitor import config as config_lib
from monitor.alerts.notify.slack.outbox import OutboxNotifier
from monitor.care.digest import send_digests, slot_of
from monitor.store.sqlite import SqliteStore
from tests.care_posts import T0, answer, post


def _setup(tmp_path, answered: bool = False):
    config = config_lib.parse("""
slack: {channel: "#alerts"}
care: {target: 2h, targets: {reddit: 1h}, alert_share: 0.75, digest_every: 15m}
brands:
  - {name: Aurora Air, handles: [AuroraAir], competitors: [Nordwind Airways], slack_channel: "#aurora-care"}
  - {name: Nordwind Airways, handles: [NordwindAir]}
""")
    store = SqliteStore(tmp_path / "digest.db")
    mentions = [post("1", "@AuroraAir booking ref X7K9PQ cancelled, where is my refund?", 0, author="dana"),
                post("2", "@AuroraAir rebook?", 10, author="erin", source="reddit", sentiment="neutral"),
                post("3", "@NordwindAir lost bag?", 0, author="ola", brand="Nordwind Airways")]
    store.add_mentions(mentions + ([answer("a1", "1", 80), answer("a2", "2", 40, source="reddit")] if answered else []))
    return config, store, OutboxNotifier(tmp_path / "outbox.jsonl")


def _records(tmp_path):
    path = tmp_path / "outbox.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_the_digest_waits_for_the_alert_share_of_each_target(tmp_path) -> None:
    config, store, outbox = _setup(tmp_path)
    assert send_digests(store, config, outbox, T0 + timedelta(minutes=54)) == []  # reddit 44 min < 45
    [early] = send_digests(store, config, outbox, T0 + timedelta(minutes=56))  # reddit 46 min > 75% of 1 h
    assert early.channel == "#aurora-care" and [i.id for _, i in early.items] == ["reddit:2"]
    [later] = send_digests(store, config, outbox, T0 + timedelta(minutes=91))  # twitter 91 min > 90
    assert [i.id for _, i in later.items] == ["twitter:1", "reddit:2"]  # oldest first, one message
    assert [r["kind"] for r in _records(tmp_path)] == ["care_digest", "care_digest"]


def test_one_digest_per_slot_and_competitors_are_left_out(tmp_path) -> None:
    config, store, outbox = _setup(tmp_path)
    now = T0 + timedelta(minutes=100)
    assert len(send_digests(store, config, outbox, now)) == 1
    assert send_digests(store, config, outbox, now + timedelta(minutes=1)) == []  # same 15-minute slot
    assert slot_of(now, timedelta(minutes=15)) == T0 + timedelta(minutes=90)
    [record] = _records(tmp_path)
    text = json.dumps(record["blocks"], ensure_ascii=False)
    assert "@ola" not in text and "NordwindAir" not in text


def test_the_digest_masks_personal_data(tmp_path) -> None:
    config, store, outbox = _setup(tmp_path)
    send_digests(store, config, outbox, T0 + timedelta(minutes=100))
    text = json.dumps(_records(tmp_path)[0]["blocks"], ensure_ascii=False)
    assert "X7K9PQ" not in text and "[booking ref]" in text and "0h 20m left" in text and "0h 30m late" in text


def test_the_digest_is_quiet_when_every_post_is_answered(tmp_path) -> None:
    config, store, outbox = _setup(tmp_path, answered=True)
    assert send_digests(store, config, outbox, T0 + timedelta(hours=3)) == []
    assert _records(tmp_path) == []
