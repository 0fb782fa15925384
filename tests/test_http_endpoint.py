"""Slack's HTTP endpoint on uvicorn, over real sockets on 127.0.0.1: signatures, limits, deadlines."""

import hashlib
import hmac
import json
import select
import socket
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest

from fake_slack import FakeSlack
from monitor.alerts.notify.delivery import deliver_due
from monitor.alerts.notify.slack.http_endpoint import MAX_BODY, HttpEndpoint
from monitor.alerts.notify.slack.interactive import ActionHandler
from monitor.alerts.notify.slack.notifier import SlackNotifier
from monitor.errors import ConfigError
from monitor.models import IncidentState
from monitor.store.sqlite import SqliteStore
from test_interactive import open_incident
from test_reminders import PLAYBOOK

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DEADLINE = timedelta(seconds=1)


@pytest.fixture
def setup(tmp_path):
    store = SqliteStore(tmp_path / "m.db")
    open_incident(store)
    endpoint = HttpEndpoint(ActionHandler(store, [PLAYBOOK]), SECRET, max_connections=3,
                            body_timeout=DEADLINE, header_timeout=DEADLINE).start()
    with FakeSlack() as slack:
        deliver_due(store, SlackNotifier(token=slack.token, base_url=slack.base_url), [PLAYBOOK],
                    datetime.now(timezone.utc), "")
        yield store, slack, endpoint
    endpoint.stop()
    store.close()


def state(store):
    return store.get_incident("aurora-air-1").state


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()))
    signature = "v0=" + hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def raw(endpoint: HttpEndpoint, request: bytes, wait: float = 5) -> bytes:
    """Send bytes as they are; what the server answers before it closes (or ``wait`` passes)."""
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=wait) as sock:
        sock.sendall(request)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
    return answer


def post(endpoint: HttpEndpoint, body: bytes, headers: dict[str, str], content_length: str | None = None) -> bytes:
    lines = ["POST /slack/actions HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
             "Content-Type: application/x-www-form-urlencoded",
             f"Content-Length: {len(body) if content_length is None else content_length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return raw(endpoint, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer else 0


def test_a_signed_press_is_applied(setup):
    store, slack, endpoint = setup
    assert slack.press(slack.messages[0], "incident_ack", endpoint.url, SECRET, user="dana") == 200
    assert state(store) is IncidentState.ACKNOWLEDGED
    with urllib.request.urlopen(endpoint.url.replace("/slack/actions", "/healthz"), timeout=5) as health:
        assert health.read() == b"ok"


@pytest.mark.parametrize("how", ["tampered", "expired", "wrong secret"])
def test_unverified_presses_are_refused_and_change_nothing(setup, how):
    store, slack, endpoint = setup
    assert slack.press(slack.messages[0], "incident_resolve", endpoint.url,
                       "not-the-secret" if how == "wrong secret" else SECRET,
                       timestamp=time.time() - 360 if how == "expired" else None, tamper=how == "tampered") == 401
    assert state(store) is IncidentState.OPEN


def test_a_request_without_a_signature_or_with_a_garbled_one_is_refused(setup):
    store, _, endpoint = setup
    assert status(post(endpoint, b"payload=%7B%7D", {})) == 401
    garbled = {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}
    assert status(post(endpoint, b"payload=%7B%7D", garbled)) == 401
    assert state(store) is IncidentState.OPEN


def test_a_retried_or_replayed_press_changes_nothing_a_second_time(setup):
    store, slack, endpoint = setup
    pressed_at = time.time()
    for retry in (None, 1, 2, None):  # the press, Slack's two retries of it, a replay of the signed body
        assert slack.press(slack.messages[0], "incident_escalate", endpoint.url, SECRET, timestamp=pressed_at,
                           retry=retry) == 200
    escalated = store.get_incident("aurora-air-1")
    assert [t.note for t in escalated.transitions].count("escalated") == 1
    assert len([n for n in store.notifications("aurora-air-1") if n.kind != "alert"]) == 1


@pytest.mark.parametrize("payload", [[1, 2, 3], {"type": "block_actions", "actions": "x"}])
def test_signed_but_malformed_payloads_are_answered_400(setup, payload):
    store, _, endpoint = setup
    body = urlencode({"payload": json.dumps(payload)}).encode()
    answer = post(endpoint, body, signed(body))
    assert status(answer) == 400 and answer.endswith(b"not a JSON object" if payload == [1, 2, 3]
                                                     else b"'actions' is not a list of objects")
    assert status(post(endpoint, b"garbage", signed(b"garbage"))) == 400
    assert state(store) is IncidentState.OPEN


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "12, 13"])
def test_a_malformed_content_length_is_answered_400(setup, length):
    store, _, endpoint = setup
    body = b"payload=%7B%7D"
    started = time.monotonic()
    assert status(post(endpoint, body, signed(body), content_length=length)) == 400
    assert time.monotonic() - started < 2
    assert state(store) is IncidentState.OPEN


def test_a_body_shorter_than_its_content_length_is_answered_400_at_the_deadline(setup):
    store, slack, endpoint = setup
    body = b"payload=%7B%7D"
    started = time.monotonic()
    assert status(post(endpoint, body, signed(body), content_length=str(len(body) + 100))) == 400
    assert DEADLINE.total_seconds() <= time.monotonic() - started < 4
    assert slack.press(slack.messages[0], "incident_ack", endpoint.url, SECRET) == 200


def test_a_large_body_is_refused_before_it_is_read_or_its_signature_checked(setup):
    store, _, endpoint = setup
    declared = post(endpoint, b"", {}, content_length=str(MAX_BODY + 1))  # nothing sent: answered at once
    assert status(declared) == 413
    chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=5) as sock:
        sock.sendall(b"POST /slack/actions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        sent = 0
        while not select.select([sock], [], [], 0)[0]:  # chunks until the server answers
            sock.sendall(chunk)
            sent += 65536
        assert status(sock.recv(65536)) == 413 and sent > MAX_BODY
    assert state(store) is IncidentState.OPEN


def test_connections_are_bounded_and_slow_headers_are_cut_off(setup):
    store, slack, endpoint = setup
    stalled = [socket.create_connection(("127.0.0.1", endpoint.port), timeout=5) for _ in range(3)]
    for sock in stalled:
        sock.sendall(b"POST /slack/actions HTTP/1.1\r\nHost: x\r\n")  # and the rest never comes
    time.sleep(0.1)
    assert slack.press(slack.messages[0], "incident_ack", endpoint.url, SECRET) == 503
    assert state(store) is IncidentState.OPEN
    for sock in stalled:  # closed by the server at the header deadline
        assert sock.recv(100) == b""
        sock.close()
    assert slack.press(slack.messages[0], "incident_ack", endpoint.url, SECRET) == 200
    assert state(store) is IncidentState.ACKNOWLEDGED


def test_stop_closes_the_port_and_a_port_in_use_is_a_config_error(setup):
    store, _, endpoint = setup
    with pytest.raises(ConfigError, match=f"127.0.0.1:{endpoint.port}"):
        HttpEndpoint(ActionHandler(store), SECRET, port=endpoint.port).start()
    endpoint.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(endpoint.url.replace("/slack/actions", "/healthz"), timeout=2)
