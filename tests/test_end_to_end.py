"""The demo scenario through the real pipeline, Slack included, and a crash in the middle of it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from fake_slack import FakeSlack
from monitor.alerts.notify.base import AlertMessage
from monitor.alerts.notify.slack.notifier import SlackNotifier
from monitor.demo.run import Replay, demo_config
from monitor.demo.scenario import Scenario, generate
from monitor.models import IncidentState
from monitor.nlp.annotate import Annotator
from monitor.store.base import MentionFilter, NotificationStatus

pytestmark = pytest.mark.slow

BUCKET = timedelta(minutes=15)


@pytest.fixture
def annotator(offline_annotator: Annotator) -> Annotator:
    return offline_annotator


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    """Eleven quiet days (the good-news bump on day ten included), then six hours of crisis."""
    return generate(quiet_days=11, crisis_hours=6)


def _replay(scenario: Scenario, workdir: Path, slack: FakeSlack, annotator: Annotator, ticks=None):
    replay = Replay(scenario, workdir)
    pipeline = replay.pipeline(notifier=SlackNotifier(token=slack.token, base_url=slack.base_url),
                               annotator=annotator)
    for now in ticks if ticks is not None else replay.ticks():
        replay.step(pipeline, now)
    return replay, pipeline


def test_the_crisis_opens_one_incident_and_one_threaded_slack_alert(tmp_path, scenario, annotator):
    with FakeSlack() as slack:
        replay, pipeline = _replay(scenario, tmp_path, slack, annotator)

    incidents = pipeline.store.incidents()
    assert [i.opened_at < scenario.crisis_start for i in incidents] == [False], "quiet weeks must stay quiet"
    incident = incidents[0]
    assert incident.opened_at - scenario.crisis_start <= 6 * BUCKET
    assert incident.playbook_id == "outage"

    top_level = [m for m in slack.messages if not m.get("thread_ts")]
    threaded = [m for m in slack.messages if m.get("thread_ts")]
    assert len(top_level) == 1
    assert threaded and all(m["thread_ts"] == top_level[0]["ts"] for m in threaded)
    assert incident.slack_ts == top_level[0]["ts"]
    assert "Aurora Air" in top_level[0]["text"]
    notes = pipeline.store.notifications()
    sent = [n for n in notes if n.status is NotificationStatus.SENT]
    # a reminder queued in the tick the team acted in is dropped when sent, never posted
    assert all(n.kind == "reminder" and n.status is NotificationStatus.SKIPPED for n in notes if n not in sent)
    assert len(sent) == len(slack.messages)
    acknowledged = incident.time_in(IncidentState.ACKNOWLEDGED)
    assert all(n.sent_at < acknowledged for n in sent if n.kind == "reminder")

    assert incident.time_in(IncidentState.ACKNOWLEDGED) - incident.opened_at == timedelta(minutes=12)
    assert [d.number for d in incident.steps_done] == [1, 2, 3, 4]
    assert any("maria.duty acknowledged the incident" in m["text"] for m in threaded)
    assert any("anna.comms completed step 3" in m["text"] for m in threaded)


class Crash(BaseException):
    """A hard stop (the process killed), not an error the pipeline may handle."""


class CrashingAnnotator:
    """Dies in the middle of a collect run, after some batches of that run were stored."""

    def __init__(self, inner: Annotator, after_calls: int):
        self.inner, self.left = inner, after_calls
        self.scorer_name = inner.scorer_name

    def annotate(self, mentions, languages=None):
        self.left -= 1
        if self.left < 0:
            raise Crash
        return self.inner.annotate(mentions, languages)


class CrashingNotifier(SlackNotifier):
    """Dies before its ``n``-th message leaves."""

    def __init__(self, *args, crash_before: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.left = crash_before

    def send(self, message: AlertMessage) -> str | None:
        self.left -= 1
        if self.left == 0:
            raise Crash
        return super().send(message)


def test_a_crash_mid_collect_and_mid_delivery_loses_and_repeats_nothing(tmp_path, scenario, annotator):
    reference_dir, crash_dir = tmp_path / "reference", tmp_path / "crash"
    with FakeSlack() as slack:
        _, finished = _replay(scenario, reference_dir, slack, annotator)
        expected_messages = [(m.get("thread_ts") is None, m["text"]) for m in slack.messages]
    expected_ids = {m.id for m in finished.store.search(MentionFilter(limit=100_000))}

    config = demo_config(crash_dir, scenario)
    config["brands"][0]["sources"][0]["max_batch"] = 3
    crash_dir.mkdir()
    (crash_dir / "monitor.yaml").write_text(yaml.safe_dump(config))
    with FakeSlack() as slack:
        replay = Replay(scenario, crash_dir)
        ticks = list(replay.ticks())
        crisis = next(i for i, t in enumerate(ticks) if t > scenario.crisis_start)
        first = replay.pipeline(notifier=SlackNotifier(token=slack.token, base_url=slack.base_url),
                                annotator=annotator)
        for now in ticks[:crisis]:
            replay.step(first, now)
        before = first.store.count(MentionFilter())
        first.annotator = CrashingAnnotator(annotator, after_calls=1)
        with pytest.raises(Crash):
            replay.step(first, ticks[crisis])
        assert first.store.count(MentionFilter()) == before + 3, "the batch before the crash is kept"

        second = replay.pipeline(
            notifier=CrashingNotifier(token=slack.token, base_url=slack.base_url, crash_before=2),
            annotator=annotator,
        )
        resumed_at = crisis
        for index, now in enumerate(ticks[crisis:], start=crisis):
            try:
                replay.step(second, now)
            except Crash:
                resumed_at = index
                break
        else:
            pytest.fail("the second message never went out")
        assert len(slack.messages) == 1

        third = replay.pipeline(notifier=SlackNotifier(token=slack.token, base_url=slack.base_url),
                                annotator=annotator)
        for now in ticks[resumed_at:]:
            replay.step(third, now)

        stored = third.store.search(MentionFilter(limit=100_000))
        keys_stored = [(m.brand, m.id) for m in stored]  # a post naming two airlines is stored for each
        assert len(keys_stored) == len(set(keys_stored)) == third.store.count(MentionFilter())
        assert {m.id for m in stored} == expected_ids
        keys = [n.key for n in third.store.notifications()]
        assert len(keys) == len(set(keys))
        sent_top_level = Counter(m.get("thread_ts") is None for m in slack.messages)
        assert sent_top_level[True] == 1
        # every message of the uninterrupted run, once; replies due in the same pass may go out in another order
        assert sorted((m.get("thread_ts") is None, m["text"]) for m in slack.messages) == sorted(expected_messages)
