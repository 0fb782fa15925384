import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from fake_slack import FakeSlack
from monitor.alerts.notify.delivery import deliver_due
from monitor.alerts.notify.slack.interactive import ActionHandler, InteractiveServer
from monitor.alerts.notify.slack.notifier import SlackNotifier
from monitor.errors import ConfigError
from monitor.models import IncidentState
from monitor.store.base import Notification
from monitor.store.sqlite import SqliteStore
from test_lifecycle import incident
from test_reminders import PLAYBOOK

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def setup(tmp_path):
    store = SqliteStore(tmp_path / "m.db")
    now = datetime.now(timezone.utc)
    opened = incident(opened_at=now - timedelta(minutes=12), slack_ts=None, playbook_id="outage")
    store.save_incident(opened, [Notification(key=f"{opened.id}:alert", incident_id=opened.id, kind="alert",
                                              channel="#alerts", payload={"headline": "Negative surge"},
                                              created_at=opened.opened_at)])
    server = InteractiveServer(ActionHandler(store, SECRET, playbooks=[PLAYBOOK])).start()
    with FakeSlack() as slack:
        notifier = SlackNotifier(token=slack.token, base_url=slack.base_url)
        deliver_due(store, notifier, [PLAYBOOK], now, "")
        yield store, slack, server, notifier
    server.stop()
    store.close()


def test_a_button_press_changes_the_incident_and_is_answered_in_the_thread(setup, tmp_path):
    store, slack, server, notifier = setup
    [alert] = slack.messages
    assert slack.press(alert, "incident_ack", server.url, SECRET, user="dana") == 200
    acknowledged = store.get_incident("aurora-air-1")
    assert acknowledged.state is IncidentState.ACKNOWLEDGED and acknowledged.transitions[-1].by == "dana"

    deliver_due(store, notifier, [PLAYBOOK], datetime.now(timezone.utc), "")
    reply = slack.messages[-1]
    assert reply["thread_ts"] == alert["ts"] and "dana acknowledged the incident" in reply["text"]

    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump({"storage": {"path": str(tmp_path / "m.db")},
                                      "brands": [{"name": "Aurora Air", "query": "aurora"}]}))
    report = subprocess.run([sys.executable, "-m", "monitor", "report", "incidents", str(config)],
                            capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    assert "Aurora Air: acknowledged" in report.stdout and "acknowledged after 12 min" in report.stdout


def test_choosing_a_step_in_the_menu_marks_it_done_once_and_the_thread_shows_the_checklist(setup):
    store, slack, server, notifier = setup
    [alert] = slack.messages
    assert slack.press(alert, "incident_step", server.url, SECRET, user="lee", option=1) == 200
    done = store.get_incident("aurora-air-1").step_done(2)
    assert done is not None and done.by == "lee" and done.title == "Publish the holding statement"
    assert slack.press(alert, "incident_step", server.url, SECRET, user="dana", option=1) == 200
    assert [d.by for d in store.get_incident("aurora-air-1").steps_done] == ["lee"]

    deliver_due(store, notifier, [PLAYBOOK], datetime.now(timezone.utc), "")
    [reply] = slack.messages[1:]
    assert reply["thread_ts"] == alert["ts"]
    assert "lee completed step 2 “Publish the holding statement” (on time)" in reply["text"]
    checklist = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "✅ ~2. Publish the holding statement~" in checklist and "1. *Confirm scope*" in checklist


@pytest.mark.parametrize("how", ["tampered", "expired", "wrong secret"])
def test_unverified_presses_are_refused_and_change_nothing(setup, how):
    store, slack, server, _ = setup
    [alert] = slack.messages
    status = slack.press(alert, "incident_resolve", server.url, "not-the-secret" if how == "wrong secret" else SECRET,
                         timestamp=time.time() - 360 if how == "expired" else None, tamper=how == "tampered")
    assert status == 401
    assert store.get_incident("aurora-air-1").state is IncidentState.OPEN


def test_missing_signature_and_bad_bodies(setup):
    store, _, server, _ = setup
    request = urllib.request.Request(server.url, data=b"payload=%7B%7D", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    handler = ActionHandler(store, SECRET)
    stamp = str(int(time.time()))
    signature = handler._verifier.generate_signature(timestamp=stamp, body=b"garbage")
    assert handler.handle(b"garbage", {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}).status == 400
    assert store.get_incident("aurora-air-1").state is IncidentState.OPEN


def test_a_press_on_an_unknown_incident_is_harmless(setup):
    store, slack, server, _ = setup
    alert = dict(slack.messages[0])
    alert["blocks"] = [{"type": "actions", "block_id": "x", "elements": [
        {"type": "button", "action_id": "incident_ack", "value": "gone-incident", "text": {"type": "plain_text", "text": "Ack"}}]}]
    assert slack.press(alert, "incident_ack", server.url, SECRET) == 200
    assert store.get_incident("aurora-air-1").state is IncidentState.OPEN


def test_without_a_signing_secret_the_endpoint_refuses_to_start(tmp_path):
    with SqliteStore(tmp_path / "m.db") as store, pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        ActionHandler(store, None)


@pytest.mark.parametrize("button", ["incident_escalate", "incident_silence"])
def test_a_replayed_or_retried_press_changes_nothing_a_second_time(setup, button):
    store, slack, server, notifier = setup
    [alert] = slack.messages
    pressed_at = time.time()
    before = store.get_incident("aurora-air-1")
    for _ in range(3):  # the press, a replay of the same signed body, Slack's retry of it
        assert slack.press(alert, button, server.url, SECRET, user="dana", timestamp=pressed_at) == 200
    after = store.get_incident("aurora-air-1")
    queued = [n.key for n in store.notifications("aurora-air-1") if n.kind != "alert"]
    assert len(queued) == 1
    if button == "incident_escalate":
        assert after.severity == before.severity + 1
        assert [t.by for t in after.transitions if t.note == "escalated"] == ["dana"]
    else:
        assert len(store.silences()) == 1
    assert slack.press(alert, button, server.url, SECRET, user="dana", timestamp=pressed_at + 1) == 200
    if button == "incident_escalate":  # a new press is a new request
        assert store.get_incident("aurora-air-1").severity == before.severity + 2
    else:
        assert len(store.silences()) == 2
