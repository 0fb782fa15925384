import threading
import time

import pytest

from monitor.collectors import x_connection
from monitor.collectors.x_connection import Refused, Waits
from monitor.collectors.x_stream import XStreamConfig
from monitor.errors import CollectorError, RateLimited
from tests.test_x_stream import brexit, context, fast, read, wait_for
from tests.x_stream_fake import TOKEN, FakeXStream, Plan


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)


class Reading:
    """One brand's stream on a thread of its own, its batches collected."""

    def __init__(self, server: FakeXStream, brand: str, query: str):
        self.stop, self.batches = threading.Event(), []
        ctx = context(query, brand=brand, peers=("Acme", "Globex"))
        stream = fast(server).stream(ctx, None, self.stop)
        self.thread = threading.Thread(target=lambda: self.batches.extend(stream))
        self.thread.start()

    def end(self) -> None:
        self.stop.set()
        self.thread.join(5)
        assert not self.thread.is_alive()


def test_the_brands_of_a_process_share_one_connection_which_the_last_one_closes():
    sent = brexit()
    with FakeXStream() as server:
        acme, globex = Reading(server, "Acme", "brexit"), Reading(server, "Globex", "labour")
        try:
            wait_for(lambda: len(server.rules) == 2 and server.connections)
            time.sleep(0.3)
            for message in sent[:10]:
                server.publish(message)
            wait_for(lambda: read(acme.batches) == read(globex.batches) == 10)
            acme.end()
            for message in sent[10:20]:
                server.publish(message)
            wait_for(lambda: read(globex.batches) == 20)
        finally:
            acme.end()
            globex.end()
        assert len(server.connections) == 1 and read(acme.batches) == 10
        assert {r["tag"] for r in server.rules} == {"monitor:Acme", "monitor:Globex"}
        assert not x_connection._OPEN, "the last brand to leave closed the connection"
        again = Reading(server, "Acme", "brexit")
        wait_for(lambda: len(server.connections) == 2)
        again.end()


def test_a_drop_is_told_to_every_brand_and_the_connection_reopens_once():
    sent = brexit()
    with FakeXStream(plans=[Plan(cut_after=2)]) as server:
        acme, globex = Reading(server, "Acme", "brexit"), Reading(server, "Globex", "labour")
        try:
            wait_for(lambda: len(server.rules) == 2 and server.connections)
            time.sleep(0.3)
            for message in sent[:3]:
                server.publish(message)
            wait_for(lambda: len(server.connections) == 2)
            time.sleep(0.3)
            server.publish(sent[3])
            wait_for(lambda: read(acme.batches) == read(globex.batches) == 3)
        finally:
            acme.end()
            globex.end()
        assert len(server.connections) == 2
        for reading in (acme, globex):
            assert [b.error.split(":")[0] for b in reading.batches if b.error] == ["x_stream"]
            assert "RemoteProtocolError" in next(b.error for b in reading.batches if b.error)


def test_join_and_leave_are_safe_to_repeat():
    config = XStreamConfig(base_url="http://127.0.0.1:9", backoff_initial=5, network_step=5)
    inbox = x_connection.join(config, "http://127.0.0.1:9/stream", "t")
    x_connection.leave("http://127.0.0.1:9/stream", "t", inbox)
    x_connection.leave("http://127.0.0.1:9/stream", "t", inbox)
    assert not x_connection._OPEN


def test_waits_are_exponential_after_http_errors_and_linear_after_network_errors():
    waits = Waits(XStreamConfig(backoff_initial=5, rate_limit_backoff=60, backoff_max=320, network_step=0.25,
                                network_max=1.0))
    limited = [waits.after(Refused(429, "")) for _ in range(4)]
    assert [30 <= w <= 60 for w in limited[:1]] == [True] and 160 <= limited[3] <= 320
    assert [waits.after(RateLimited("429")) for _ in range(2)][1] == pytest.approx(320, rel=0.5)
    assert 2.5 <= waits.after(Refused(503, "")) <= 5 and 5 <= waits.after(CollectorError("500")) <= 10
    assert [waits.after(OSError()) for _ in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    waits.reset()
    assert waits.after(OSError()) == 0.25 and 2.5 <= waits.after(Refused(500, "")) <= 5


