"""Presses over Socket Mode: slack_sdk's client against a loopback fake of Slack's WebSocket protocol."""

import time
from datetime import datetime, timezone

import pytest

from fake_slack import FakeSlack
from fake_socket_mode import FakeSocketMode
from monitor.alerts.notify.delivery import deliver_due
from monitor.alerts.notify.slack.interactive import ActionHandler
from monitor.alerts.notify.slack.notifier import SlackNotifier
from monitor.alerts.notify.slack.socket_mode import SocketModeListener
from monitor.config import parse
from monitor.errors import ConfigError
from monitor.models import IncidentState
from monitor.runtime import build_interactive
from monitor.store.sqlite import SqliteStore
from test_interactive import open_incident
from test_reminders import PLAYBOOK


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """The listener ``monitor run`` builds when only the app-level token is set, connected to the fakes."""
    store = SqliteStore(tmp_path / "m.db")
    open_incident(store)
    with FakeSlack() as slack, FakeSocketMode(slack) as socket:
        notifier = SlackNotifier(token=slack.token, base_url=slack.base_url)
        deliver_due(store, notifier, [PLAYBOOK], datetime.now(timezone.utc), "")
        monkeypatch.setenv("SLACK_APP_TOKEN", slack.app_token)
        monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
        config = parse(f"brands: [{{name: Acme, query: acme}}]\nslack: {{base_url: '{slack.base_url}'}}\n")
        listener = build_interactive(config, store, [PLAYBOOK])
        assert isinstance(listener, SocketModeListener)
        listener.start()
        yield store, slack, socket, notifier
        listener.stop()
    store.close()


def wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.02)


def test_a_press_arrives_over_the_websocket_and_is_acknowledged_after_it_is_applied(setup):
    store, slack, socket, notifier = setup
    [opened] = slack.calls("apps.connections.open")
    assert opened.headers["authorization"] == f"Bearer {slack.app_token}" and socket.opened == 1
    [alert] = slack.messages
    envelope = socket.send(slack.action_payload(alert, "incident_ack", user="dana", stamp="1733450000.000100"))
    assert socket.acknowledgement(envelope) == {"envelope_id": envelope}
    acknowledged = store.get_incident("aurora-air-1")
    assert acknowledged.state is IncidentState.ACKNOWLEDGED and acknowledged.transitions[-1].by == "dana"
    deliver_due(store, notifier, [PLAYBOOK], datetime.now(timezone.utc), "")
    assert slack.messages[-1]["thread_ts"] == alert["ts"]
    assert "dana acknowledged the incident" in slack.messages[-1]["text"]


def test_the_steps_menu_works_over_socket_mode(setup):
    store, slack, socket, _ = setup
    envelope = socket.send(slack.action_payload(slack.messages[0], "incident_step", user="lee", option=1))
    socket.acknowledgement(envelope)
    assert store.get_incident("aurora-air-1").step_done(2).by == "lee"


def test_a_redelivered_press_changes_nothing_a_second_time(setup):
    store, slack, socket, _ = setup
    payload = slack.action_payload(slack.messages[0], "incident_escalate", user="dana", stamp="1733450000.000100")
    before = store.get_incident("aurora-air-1").severity
    for _ in range(3):
        socket.acknowledgement(socket.send(payload))
    assert store.get_incident("aurora-air-1").severity == before + 1
    socket.acknowledgement(socket.send({**payload, "actions": [{**payload["actions"][0], "action_ts": "1733450009.1"}]}))
    assert store.get_incident("aurora-air-1").severity == before + 2


def test_slack_asking_to_reconnect_opens_a_new_connection_that_carries_presses(setup):
    store, slack, socket, _ = setup
    socket.disconnect()
    assert socket.opened == 2 and len(slack.calls("apps.connections.open")) == 2 and socket.refused == 0
    envelope = socket.send(slack.action_payload(slack.messages[0], "incident_resolve", user="dana"))
    socket.acknowledgement(envelope)
    assert store.get_incident("aurora-air-1").state is IncidentState.RESOLVED


@pytest.mark.parametrize("payload", [[1, 2, 3], {"type": "block_actions", "actions": "x"}, "garbage"])
def test_malformed_envelopes_are_acknowledged_and_change_nothing(setup, payload):
    store, slack, socket, _ = setup
    assert socket.acknowledgement(socket.send(payload)) is not None
    assert socket.acknowledgement(socket.send({"event": {"type": "app_mention"}}, kind="events_api"))
    assert store.get_incident("aurora-air-1").state is IncidentState.OPEN
    socket.acknowledgement(socket.send(slack.action_payload(slack.messages[0], "incident_ack")))
    assert store.get_incident("aurora-air-1").state is IncidentState.ACKNOWLEDGED


def test_a_press_the_store_cannot_take_is_left_unacknowledged(setup):
    store, slack, socket, _ = setup
    store.close()
    envelope = socket.send(slack.action_payload(slack.messages[0], "incident_ack"))
    with pytest.raises(TimeoutError):
        socket.acknowledgement(envelope, timeout=1)


def test_a_wrong_or_missing_app_token_is_a_config_error(tmp_path, monkeypatch):
    with SqliteStore(tmp_path / "m.db") as store, FakeSlack() as slack, FakeSocketMode(slack):
        with pytest.raises(ConfigError, match="invalid_auth"):
            SocketModeListener(ActionHandler(store), "xapp-1-wrong", slack.base_url).start()
        with pytest.raises(ConfigError, match="not_allowed_token_type"):
            SocketModeListener(ActionHandler(store), slack.token, slack.base_url).start()
        monkeypatch.setenv("MY_APP_TOKEN", "")
        config = parse("brands: [{name: Acme, query: acme}]\nslack: {interactivity: socket, app_token_env: MY_APP_TOKEN}\n")
        with pytest.raises(ConfigError, match="set MY_APP_TOKEN"):
            build_interactive(config, store)


def test_while_slack_is_out_of_reach_the_worker_starts_and_keeps_trying(tmp_path, caplog):
    with SqliteStore(tmp_path / "m.db") as store, FakeSlack() as slack, FakeSocketMode(slack) as socket:
        slack.fail_next(times=1, status=503, error="service_unavailable", method="apps.connections.open")
        listener = SocketModeListener(ActionHandler(store), slack.app_token, slack.base_url).start()
        assert socket.opened == 0 and "out of reach (service_unavailable)" in caplog.text
        socket.wait(lambda: socket.opened == 1)  # the next try, a second later
        listener.stop()

        slack.fail_next(times=100, status=500, method="apps.connections.open")
        waiting = SocketModeListener(ActionHandler(store), slack.app_token, slack.base_url).start()
        started = time.monotonic()
        waiting.stop()
        assert time.monotonic() - started < 5 and socket.opened == 1
