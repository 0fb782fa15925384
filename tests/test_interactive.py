"""The action handler both transports share: what a press does, once, and which payloads it refuses."""

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
import yaml

from fake_slack import FakeSlack
from monitor.alerts.notify.delivery import deliver_due
from monitor.alerts.notify.slack.interactive import ActionHandler, BadPayload, form_payload
from monitor.alerts.notify.slack.notifier import SlackNotifier
from monitor.models import IncidentState
from monitor.store.base import Notification
from monitor.store.sqlite import SqliteStore
from test_lifecycle import DiesAfterQueueing, Killed, incident
from test_reminders import PLAYBOOK


def open_incident(store: SqliteStore) -> None:
    now = datetime.now(timezone.utc)
    opened = incident(opened_at=now - timedelta(minutes=12), slack_ts=None, playbook_id="outage")
    store.save_incident(opened, [Notification(key=f"{opened.id}:alert", incident_id=opened.id, kind="alert",
                                              channel="#alerts", payload={"headline": "Negative surge"},
                                              created_at=opened.opened_at)])


@pytest.fixture
def setup(tmp_path):
    """A store with an open incident whose alert is posted to a fake Slack; the handler for it."""
    store = SqliteStore(tmp_path / "m.db")
    open_incident(store)
    with FakeSlack() as slack:
        notifier = SlackNotifier(token=slack.token, base_url=slack.base_url)
        deliver_due(store, notifier, [PLAYBOOK], datetime.now(timezone.utc), "")
        yield store, slack, ActionHandler(store, [PLAYBOOK]), notifier
    store.close()


def test_a_press_changes_the_incident_and_is_answered_in_the_thread(setup, tmp_path):
    store, slack, handler, notifier = setup
    [alert] = slack.messages
    handler.handle(slack.action_payload(alert, "incident_ack", user="dana"))
    acknowledged = store.get_incident("aurora-air-1")
    assert acknowledged.state is IncidentState.ACKNOWLEDGED and acknowledged.transitions[-1].by == "dana"

    deliver_due(store, notifier, [PLAYBOOK], datetime.now(timezone.utc), "")
    reply = slack.messages[-1]
    assert reply["thread_ts"] == alert["ts"] and "dana acknowledged the incident" in reply["text"]

    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump({"storage": {"path": str(tmp_path / "m.db")},
                                      "brands": [{"name": "Aurora Air", "query": "aurora"}]}))
    report = subprocess.run([sys.executable, "-m", "monitor", "report", "incidents", "--config", str(config)],
                            capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    assert "Aurora Air: acknowledged" in report.stdout and "acknowledged after 12 min" in report.stdout


def test_choosing_a_step_in_the_menu_marks_it_done_once_and_the_thread_shows_the_checklist(setup):
    store, slack, handler, notifier = setup
    [alert] = slack.messages
    handler.handle(slack.action_payload(alert, "incident_step", user="lee", option=1))
    done = store.get_incident("aurora-air-1").step_done(2)
    assert done is not None and done.by == "lee" and done.title == "Publish the holding statement"
    handler.handle(slack.action_payload(alert, "incident_step", user="dana", option=1))
    assert [d.by for d in store.get_incident("aurora-air-1").steps_done] == ["lee"]

    deliver_due(store, notifier, [PLAYBOOK], datetime.now(timezone.utc), "")
    [reply] = slack.messages[1:]
    assert reply["thread_ts"] == alert["ts"]
    assert "lee completed step 2 “Publish the holding statement” (on time)" in reply["text"]
    checklist = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "✅ ~2. Publish the holding statement~" in checklist and "1. *Confirm scope*" in checklist


def test_a_step_press_retried_after_its_worker_died_mid_change_is_answered_once(setup):
    store, slack, _, _ = setup
    [alert] = slack.messages
    press = slack.action_payload(alert, "incident_step", user="lee", stamp="1733450000.000100", option=1)
    with pytest.raises(Killed):
        ActionHandler(DiesAfterQueueing(store), [PLAYBOOK]).handle(press)
    later = datetime.now(timezone.utc) + timedelta(seconds=5)
    ActionHandler(store, [PLAYBOOK], clock=lambda: later).handle(press)
    assert [d.by for d in store.get_incident("aurora-air-1").steps_done] == ["lee"]
    assert len([n for n in store.notifications("aurora-air-1") if n.kind == "step"]) == 1


@pytest.mark.parametrize("button", ["incident_escalate", "incident_silence"])
def test_the_same_press_delivered_again_changes_nothing_a_second_time(setup, button):
    store, slack, handler, _ = setup
    [alert] = slack.messages
    before = store.get_incident("aurora-air-1")
    for _ in range(3):
        handler.handle(slack.action_payload(alert, button, user="dana", stamp="1733450000.000100"))
    after = store.get_incident("aurora-air-1")
    assert len([n for n in store.notifications("aurora-air-1") if n.kind != "alert"]) == 1
    if button == "incident_escalate":
        assert after.severity == before.severity + 1
        assert [t.by for t in after.transitions if t.note == "escalated"] == ["dana"]
    else:
        assert len(store.silences()) == 1
    handler.handle(slack.action_payload(alert, button, user="dana", stamp="1733450001.000100"))
    if button == "incident_escalate":  # a new press is a new request
        assert store.get_incident("aurora-air-1").severity == before.severity + 2
    else:
        assert len(store.silences()) == 2


def test_a_press_on_an_unknown_incident_or_another_payload_type_is_harmless(setup):
    store, slack, handler, _ = setup
    alert = dict(slack.messages[0])
    alert["blocks"] = [{"type": "actions", "block_id": "x", "elements": [
        {"type": "button", "action_id": "incident_ack", "value": "gone-incident", "text": {"type": "plain_text", "text": "Ack"}}]}]
    handler.handle(slack.action_payload(alert, "incident_ack"))
    handler.handle({"type": "view_submission", "view": {"id": "V1"}})
    handler.handle({**slack.action_payload(slack.messages[0], "incident_ack"), "actions": [
        {"action_id": "incident_ack", "value": 7}, {"action_id": "incident_step", "selected_option": "x"}]})
    assert store.get_incident("aurora-air-1").state is IncidentState.OPEN


@pytest.mark.parametrize("payload", [[1, 2, 3], "block_actions", None,
                                     {"type": "block_actions", "actions": "x"},
                                     {"type": "block_actions", "actions": [1]},
                                     {"type": "block_actions", "user": "dana", "actions": []}])
def test_payloads_not_shaped_as_slack_sends_them_are_refused(setup, payload):
    store, _, handler, _ = setup
    with pytest.raises(BadPayload):
        handler.handle(payload)
    assert store.get_incident("aurora-air-1").state is IncidentState.OPEN


def test_the_form_body_holds_the_payload_as_json():
    assert form_payload(urlencode({"payload": json.dumps({"type": "block_actions"})}).encode()) == {"type": "block_actions"}
    for body in [b"garbage", b"payload=%7Bnot-json", b"other=1", b"\xff\xfe", b""]:
        with pytest.raises(BadPayload):
            form_payload(body)
