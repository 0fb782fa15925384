"""The delivery worker on the real SQLite store, with the real WebClient against the fake Slack."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from fake_slack import DEFAULT_TOKEN, FakeSlack

from monitor.alerts.incidents.engine import IncidentEngine
from monitor.alerts.incidents.lifecycle import Action, apply
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS, load_playbooks, match
from monitor.alerts.incidents.reminders import queue_reminders
from monitor.alerts.incidents.steps import mark_step
from monitor.alerts.notify.base import AlertMessage
from monitor.alerts.notify.delivery import DeliveryReport, RetryPolicy, deliver_due, incident_link
from monitor.alerts.notify.slack.notifier import SlackNotifier
from monitor.config import AlertsConfig
from monitor.localtime import zone
from monitor.models import Incident, Playbook, Severity, Spike, SpikeKind
from monitor.store.base import Notification, NotificationStatus
from monitor.store.sqlite import SqliteStore
from monitor.workers import DEFAULT_LEASE

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
DASHBOARD = "http://localhost:8501"
PLAYBOOKS = load_playbooks(BUILT_IN_PLAYBOOKS)
SUMMARY = {"observed": 312, "expected": 40, "negative_share": 0.6, "baseline_negative_share": 0.1,
           "key_phrases": ["flight cancelled"], "sentiment_split": {"negative": 180, "neutral": 100, "positive": 32},
           "posts": [{"text": "Flight cancelled, app down", "url": "https://x.com/1", "author": "ola",
                      "language": "en", "sentiment": "negative"}]}


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "monitor.db") as opened:
        yield opened


@pytest.fixture
def slack(fake_slack: FakeSlack) -> SlackNotifier:
    return SlackNotifier(DEFAULT_TOKEN, base_url=fake_slack.base_url, timeout=3)


def make_incident(store: SqliteStore, *kinds: str, playbook_id: str | None = "outage",
                  incident_id: str = "acme-20240501-1145-abc123") -> Incident:
    incident = Incident(id=incident_id, fingerprint="abc123abc123abc1", brand="Acme", kind=SpikeKind.VOLUME,
                        severity=Severity.HIGH, opened_at=NOW, updated_at=NOW, last_spike_at=NOW,
                        playbook_id=playbook_id, slack_channel="#brand-alerts")
    store.save_incident(incident, [notification(incident.id, kind, i) for i, kind in enumerate(kinds)])
    return incident


def notification(incident_id: str, kind: str, seq: int = 0, **changes: Any) -> Notification:
    data: dict[str, Any] = dict(key=f"{incident_id}:{kind}:{seq}", incident_id=incident_id, kind=kind,
                                channel="#brand-alerts", created_at=NOW,
                                payload={"headline": f"{kind} about Acme", "summary": SUMMARY})
    return Notification(**{**data, **changes})


AFTER_LEASE = NOW + DEFAULT_LEASE + timedelta(minutes=1)  # when a dead worker's claims have lapsed


def run(store: SqliteStore, notifier: Any, now: datetime = NOW, **options: Any) -> DeliveryReport:
    return deliver_due(store, notifier, PLAYBOOKS, now, DASHBOARD, rng=random.Random(1), **options)


def by_kind(store: SqliteStore) -> dict[str, Notification]:
    return {n.kind: n for n in store.notifications()}


def test_alert_is_sent_and_its_ts_saved_on_the_incident(store: SqliteStore, slack: SlackNotifier,
                                                        fake_slack: FakeSlack) -> None:
    incident = make_incident(store, "alert")
    report = run(store, slack)
    assert report.sent == [f"{incident.id}:alert:0"] and str(report) == "1 sent"
    sent = by_kind(store)["alert"]
    posted = fake_slack.messages[0]
    assert sent.status == NotificationStatus.SENT and sent.sent_at == NOW and sent.attempts == 1
    assert sent.external_id == posted["ts"]
    saved = store.get_incident(incident.id)
    assert saved is not None and saved.slack_ts == posted["ts"] and saved.slack_channel == "#brand-alerts"
    actions = next(b for b in posted["blocks"] if b["type"] == "actions")
    assert actions["elements"][-1]["url"] == f"{DASHBOARD}?incident={incident.id}"
    assert "Service outage" in str(posted["blocks"])
    assert run(store, slack).sent == [] and len(fake_slack.messages) == 1


def test_messages_write_times_in_the_zone_of_the_incidents_brand(store: SqliteStore, slack: SlackNotifier,
                                                                  fake_slack: FakeSlack) -> None:
    make_incident(store, "alert")
    zones = {"Acme": zone("Asia/Tokyo")}
    assert len(run(store, slack, zones=zones.__getitem__).sent) == 1
    assert "|2024-05-01 21:00 JST>" in str(fake_slack.messages[0]["blocks"])  # opened 12:00 UTC


def test_replies_are_threaded_and_escalations_broadcast(store: SqliteStore, slack: SlackNotifier,
                                                        fake_slack: FakeSlack) -> None:
    make_incident(store, "alert", "update", "escalation", "resolved")
    assert len(run(store, slack).sent) == 4
    alert, update, escalation, resolved = fake_slack.messages
    assert "thread_ts" not in alert
    assert {update["thread_ts"], escalation["thread_ts"], resolved["thread_ts"]} == {alert["ts"]}
    assert escalation["reply_broadcast"] is True and update["reply_broadcast"] is False
    assert update["channel"] == alert["channel"]


def test_reply_waits_while_its_alert_is_retrying(store: SqliteStore, slack: SlackNotifier,
                                                 fake_slack: FakeSlack) -> None:
    incident = make_incident(store, "alert")
    fake_slack.fail_next(status=500)
    assert run(store, slack).retrying == [f"{incident.id}:alert:0"]
    store.enqueue(notification(incident.id, "update", 1, created_at=NOW + timedelta(seconds=1)))
    report = run(store, slack, NOW + timedelta(seconds=5))
    assert report.waiting == [f"{incident.id}:update:1"] and fake_slack.messages == []
    later = run(store, slack, NOW + timedelta(hours=1))
    assert len(later.sent) == 2
    alert, update = fake_slack.messages
    assert update["thread_ts"] == alert["ts"]


def test_reply_goes_to_the_channel_when_the_alert_failed_for_good(store: SqliteStore, slack: SlackNotifier,
                                                                  fake_slack: FakeSlack) -> None:
    incident = make_incident(store, "alert")
    fake_slack.fail_next(status=200, error="invalid_blocks", method="chat.postMessage")
    assert run(store, slack).failed == [f"{incident.id}:alert:0"]
    store.enqueue(notification(incident.id, "escalation", 1))
    assert len(run(store, slack).sent) == 1
    assert "thread_ts" not in fake_slack.messages[0]


def test_a_reminder_queued_before_the_acknowledgement_is_dropped_when_sent(store: SqliteStore, slack: SlackNotifier,
                                                                           fake_slack: FakeSlack) -> None:
    """The demo's case: reminder queued, incident acknowledged and the step done, then delivery runs."""
    incident = make_incident(store, "alert")
    run(store, slack)
    [reminder] = queue_reminders(store, PLAYBOOKS, "Acme", NOW + timedelta(minutes=15))
    apply(store, incident.id, Action.ACKNOWLEDGE, by="dana", now=NOW + timedelta(minutes=17))
    mark_step(store, PLAYBOOKS, incident.id, 2, by="dana", now=NOW + timedelta(minutes=19))
    report = run(store, slack, NOW + timedelta(minutes=20))
    assert report.skipped == [reminder.key] and len(report.sent) == 2
    assert not any("nobody has acknowledged" in str(m) for m in fake_slack.messages)
    dropped = next(n for n in store.notifications(incident.id) if n.key == reminder.key)
    assert dropped.status is NotificationStatus.SKIPPED and dropped.sent_at is None
    assert dropped.error == f"not sent: incident {incident.id} is acknowledged"


def test_a_reminder_whose_step_was_done_is_dropped_and_a_due_one_is_sent(store: SqliteStore, slack: SlackNotifier,
                                                                          fake_slack: FakeSlack) -> None:
    incident = make_incident(store, "alert")
    run(store, slack)
    [done_since] = queue_reminders(store, PLAYBOOKS, "Acme", NOW + timedelta(minutes=10))
    mark_step(store, PLAYBOOKS, incident.id, 1, by="ola", now=NOW + timedelta(minutes=11))
    [still_due] = queue_reminders(store, PLAYBOOKS, "Acme", NOW + timedelta(minutes=15))
    report = run(store, slack, NOW + timedelta(minutes=16))
    assert report.skipped == [done_since.key] and still_due.key in report.sent
    reminders = [m for m in fake_slack.messages if "nobody has acknowledged" in str(m)]
    assert len(reminders) == 1 and "step 2" in str(reminders[0]) and "step 1" not in str(reminders[0])
    dropped = next(n for n in store.notifications(incident.id) if n.key == done_since.key)
    assert dropped.error == "not sent: step 1 was done by ola at 2024-05-01 12:11 UTC"


def test_rate_limit_waits_retry_after_and_defers_the_rest(store: SqliteStore, slack: SlackNotifier,
                                                          fake_slack: FakeSlack) -> None:
    first = make_incident(store, "alert")
    second = make_incident(store, "alert", incident_id="acme-20240501-1145-def456")
    fake_slack.rate_limit_next(retry_after=40)
    report = run(store, slack)
    assert report.retrying == [f"{first.id}:alert:0"] and report.deferred == [f"{second.id}:alert:0"]
    pending = {n.incident_id: n for n in store.notifications()}
    assert pending[first.id].attempts == 1 and pending[first.id].status == NotificationStatus.PENDING
    assert pending[first.id].not_before is not None and pending[first.id].not_before >= NOW + timedelta(seconds=40)
    assert "rate limited" in (pending[first.id].error or "")
    assert pending[second.id].attempts == 0 and pending[second.id].not_before is None
    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert run(store, slack, NOW + timedelta(seconds=39)).sent == [f"{second.id}:alert:0"]
    assert run(store, slack, NOW + timedelta(seconds=41)).sent == [f"{first.id}:alert:0"]
    assert len(fake_slack.messages) == 2


def test_server_errors_back_off_exponentially_then_succeed(store: SqliteStore, slack: SlackNotifier,
                                                           fake_slack: FakeSlack) -> None:
    make_incident(store, "alert")
    fake_slack.fail_next(times=3, status=503)
    now, waits = NOW, []
    for _ in range(3):
        assert len(run(store, slack, now).retrying) == 1
        due = by_kind(store)["alert"].not_before
        assert due is not None
        waits.append((due - now).total_seconds())
        now = due + timedelta(seconds=1)
    assert waits[0] < waits[1] < waits[2] and 15 <= waits[0] <= 30 and waits[2] <= 120
    assert len(run(store, slack, now).sent) == 1
    sent = by_kind(store)["alert"]
    assert sent.attempts == 4 and sent.error is None and len(fake_slack.messages) == 1


def test_permanent_errors_fail_at_once(store: SqliteStore, fake_slack: FakeSlack) -> None:
    make_incident(store, "alert")
    wrong = SlackNotifier("xoxb-wrong", base_url=fake_slack.base_url)
    assert len(run(store, wrong).failed) == 1
    failed = by_kind(store)["alert"]
    assert failed.status == NotificationStatus.FAILED and failed.attempts == 1
    assert "invalid_auth" in (failed.error or "")
    assert run(store, wrong, NOW + timedelta(days=1)).failed == []


def test_retries_stop_after_max_attempts(store: SqliteStore, slack: SlackNotifier,
                                         fake_slack: FakeSlack) -> None:
    make_incident(store, "alert")
    fake_slack.fail_next(times=10, status=500)
    policy = RetryPolicy(max_attempts=3, base_delay=timedelta(seconds=1), max_delay=timedelta(seconds=5))
    outcomes = [run(store, slack, NOW + timedelta(minutes=i), policy=policy) for i in range(4)]
    assert [len(o.retrying) for o in outcomes] == [1, 1, 0, 0] and len(outcomes[2].failed) == 1
    failed = by_kind(store)["alert"]
    assert failed.status == NotificationStatus.FAILED and failed.attempts == 3 and "internal_error" in failed.error


def test_retry_policy_delay() -> None:
    policy = RetryPolicy(base_delay=timedelta(seconds=10), max_delay=timedelta(seconds=100))
    rng = random.Random(7)
    for attempts in range(1, 12):
        wait = policy.delay(attempts, None, rng).total_seconds()
        backoff = min(100, 10 * 2 ** (attempts - 1))
        assert backoff / 2 <= wait <= backoff
    assert policy.delay(1, 60, rng) == timedelta(seconds=60)
    assert policy.delay(1, 10**9, rng) == timedelta(seconds=100)


class Recording:
    """A notifier that checks, on each send, that earlier messages are already marked sent."""

    def __init__(self, store: SqliteStore, fail_on: str | None = None):
        self.store, self.fail_on, self.sent = store, fail_on, []

    def send(self, message: AlertMessage) -> str:
        assert all(n.status == NotificationStatus.SENT for n in self.store.notifications() if n.kind in self.sent)
        if message.kind == self.fail_on:
            raise RuntimeError("bug in a notifier")
        self.sent.append(message.kind)
        return f"ts-{len(self.sent)}"


def test_each_notification_is_marked_sent_before_the_next_send(store: SqliteStore) -> None:
    make_incident(store, "alert", "update", "resolved")
    notifier = Recording(store, fail_on="update")
    report = run(store, notifier)
    assert notifier.sent == ["alert", "resolved"] and len(report.failed) == 1
    assert by_kind(store)["update"].error == "RuntimeError: bug in a notifier"


def test_missing_incident_and_unknown_kind_fail(store: SqliteStore) -> None:
    store.enqueue(notification("ghost", "alert"))
    make_incident(store, "digest")
    report = run(store, Recording(store))
    assert sorted(report.failed) == ["acme-20240501-1145-abc123:digest:0", "ghost:alert:0"]
    errors = {n.kind: n.error for n in store.notifications()}
    assert errors == {"alert": "incident ghost not found", "digest": "unknown notification kind 'digest'"}


def test_playbook_is_matched_when_the_incident_has_none(store: SqliteStore) -> None:
    make_incident(store, "alert", playbook_id=None)
    seen: list[Playbook | None] = []

    class Capture:
        def send(self, message: AlertMessage) -> str:
            seen.append(message.playbook)
            return "1.0"

    run(store, Capture())
    assert seen[0] is not None and seen[0].id == "outage"


def test_no_fallback_means_no_playbook_rather_than_a_stuck_queue(store: SqliteStore) -> None:
    make_incident(store, "alert", playbook_id=None)
    seen: list[AlertMessage] = []

    class Capture:
        def send(self, message: AlertMessage) -> str:
            seen.append(message)
            return "1.0"

    without_fallback = [p for p in PLAYBOOKS if not p.fallback]
    report = deliver_due(store, Capture(), without_fallback, NOW, DASHBOARD, rng=random.Random(1))
    assert len(report.sent) == 1 and seen[0].playbook is not None
    store.enqueue(notification("acme-20240501-1145-abc123", "update", 5,
                               payload={"headline": "quiet", "summary": {"texts": [None, 3]}}))
    assert len(deliver_due(store, Capture(), without_fallback, NOW, DASHBOARD).sent) == 1
    assert seen[1].playbook is None


def test_incident_link_keeps_existing_query() -> None:
    assert incident_link("http://dash:8501", "a b") == "http://dash:8501?incident=a+b"
    assert incident_link("https://d.example/app?tab=x", "i1") == "https://d.example/app?tab=x&incident=i1"
    assert incident_link("", "i1") == ""


def test_engine_to_slack_end_to_end(store: SqliteStore, slack: SlackNotifier,
                                    fake_slack: FakeSlack) -> None:
    texts = ["Acme app is down, my flight was cancelled", "Lot odwołany, aplikacja Acme nie działa"]
    engine = IncidentEngine(
        store, AlertsConfig(), channel_for=lambda brand: "#brand-alerts",
        summarise=lambda spike: {**SUMMARY, "texts": texts, "observed": spike.observed},
        match_playbook=lambda incident, found: match(incident, PLAYBOOKS, found),
    )

    def spike(minutes: int, severity: Severity) -> Spike:
        start = NOW + timedelta(minutes=minutes)
        return Spike(brand="Acme", kind=SpikeKind.VOLUME, window_start=start, window_end=start + timedelta(minutes=15),
                     observed=312, expected=40, score=8.0, severity=severity, topic="outage")

    (incident,) = engine.handle([spike(0, Severity.MEDIUM)], NOW)
    engine.handle([spike(15, Severity.CRITICAL)], NOW + timedelta(minutes=15))
    report = run(store, slack, NOW + timedelta(minutes=16))
    assert len(report.sent) == 2
    alert, escalation = fake_slack.messages
    assert escalation["thread_ts"] == alert["ts"] and escalation["reply_broadcast"] is True
    assert "Service outage" in str(alert["blocks"]) and store.get_incident(incident.id).slack_ts == alert["ts"]



class Crash(BaseException):
    """The process dies (not an error the worker may catch)."""


class DiesAfterSending:
    def __init__(self, inner: Any):
        self.inner = inner

    def send(self, message: AlertMessage) -> str | None:
        self.inner.send(message)
        raise Crash


class DiesBeforeSending:
    def send(self, message: AlertMessage) -> str | None:
        raise Crash


@pytest.mark.parametrize("channel", ["slack", "outbox", "email"])
def test_a_crash_between_posting_and_recording_never_posts_twice(store: SqliteStore, fake_slack: FakeSlack,
                                                                 tmp_path: Path, channel: str) -> None:
    from fake_smtp import FakeSmtp

    from monitor.alerts.notify.email.notifier import EmailConfig, EmailNotifier
    from monitor.alerts.notify.slack.outbox import OutboxNotifier

    smtp = FakeSmtp().start()
    notifier = {
        "slack": lambda: SlackNotifier(DEFAULT_TOKEN, base_url=fake_slack.base_url, timeout=3),
        "outbox": lambda: OutboxNotifier(tmp_path / "out.jsonl"),
        "email": lambda: EmailNotifier(EmailConfig(host=smtp.host, port=smtp.port, starttls=False, sender="a@acme.example",
                                                   to=["pr@acme.example"], journal=tmp_path / "sent.jsonl")),
    }[channel]()
    make_incident(store, "alert", "update")
    try:
        with pytest.raises(Crash):
            run(store, DiesAfterSending(notifier))
        assert by_kind(store)["alert"].status is NotificationStatus.SENDING
        assert run(store, notifier, owner="other worker").sent == []  # the dead worker's claim holds until its lease ends
        report = run(store, notifier, now=AFTER_LEASE, owner="restarted")
    finally:
        smtp.stop()
    assert report.sent == ["acme-20240501-1145-abc123:alert:0", "acme-20240501-1145-abc123:update:1"]
    if channel == "slack":
        assert [m.get("thread_ts") is None for m in fake_slack.messages] == [True, False]
        assert by_kind(store)["alert"].external_id == fake_slack.messages[0]["ts"]
    elif channel == "email":
        alert, update = [r.message for r in smtp.received]
        assert by_kind(store)["alert"].external_id == alert["Message-ID"] == update["In-Reply-To"]
    else:
        lines = (tmp_path / "out.jsonl").read_text().splitlines()
        assert len(lines) == 2


def test_a_crash_before_posting_sends_it_exactly_once_on_restart(store: SqliteStore, slack: SlackNotifier,
                                                                 fake_slack: FakeSlack) -> None:
    make_incident(store, "alert")
    with pytest.raises(Crash):
        run(store, DiesBeforeSending())
    assert run(store, slack, now=AFTER_LEASE, owner="restarted").sent == ["acme-20240501-1145-abc123:alert:0"]
    assert len(fake_slack.messages) == 1
    assert fake_slack.messages[0]["metadata"]["event_payload"]["key"] == "acme-20240501-1145-abc123:alert:0"


def test_replies_thread_under_the_alert_even_when_its_id_never_reached_the_incident(
        store: SqliteStore, slack: SlackNotifier, fake_slack: FakeSlack) -> None:
    incident = make_incident(store, "alert")
    run(store, slack)
    stored = store.get_incident(incident.id)
    stored.slack_ts = None  # as if the worker died right after the sent mark
    store.save_incident(stored, [notification(incident.id, "update", 1)])
    assert run(store, slack).sent == [f"{incident.id}:update:1"]
    alert, update = fake_slack.messages
    assert update["thread_ts"] == alert["ts"]


def test_two_workers_on_one_store_post_every_notification_once(tmp_path: Path, fake_slack: FakeSlack) -> None:
    import threading

    path = tmp_path / "shared.db"
    with SqliteStore(path) as first:
        for n in range(12):
            make_incident(first, "alert", "update", incident_id=f"acme-20240501-1145-inc{n:02}")
    barrier = threading.Barrier(2)
    reports: list[DeliveryReport] = []

    def worker(owner: str) -> None:
        with SqliteStore(path) as own:
            notifier = SlackNotifier(DEFAULT_TOKEN, base_url=fake_slack.base_url, timeout=3)
            barrier.wait()
            for _ in range(4):
                reports.append(run(own, notifier, owner=owner, limit=5))

    threads = [threading.Thread(target=worker, args=(f"w{k}",)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = [m["metadata"]["event_payload"]["key"] for m in fake_slack.messages]
    assert len(keys) == len(set(keys)) == 24
    assert sorted(key for report in reports for key in report.sent) == sorted(keys)
    with SqliteStore(path) as check:
        assert {n.status for n in check.notifications()} == {NotificationStatus.SENT}
