"""Retries of the Elasticsearch store's client: what is transient, what fails at once (no server needed)."""

from __future__ import annotations

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, ConnectionError, NotFoundError

from monitor.errors import StoreError
from monitor.store.elastic_auth import Connection
from monitor.store import elastic_client
from monitor.store.elastic_client import connect, retry, transient


def api_error(status: int, cls: type[ApiError] = ApiError) -> ApiError:
    meta = ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                           node=NodeConfig("http", "127.0.0.1", 9200))
    return cls(f"status {status}", meta=meta, body={})


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(elastic_client.time, "sleep", slept.append)
    return slept


def failing(*errors: BaseException):
    """A call that raises ``errors`` in turn, then returns ``"done"``."""
    pending = list(errors)

    def call() -> str:
        if pending:
            raise pending.pop(0)
        return "done"

    return call


@pytest.mark.parametrize(("error", "expected"), [
    (api_error(429), True), (api_error(503), True), (ConnectionError("refused"), True),
    (api_error(400), False), (api_error(404, NotFoundError), False), (ValueError("bug"), False),
])
def test_what_is_worth_retrying(error, expected):
    assert transient(error) is expected


def test_transient_failures_are_retried_with_growing_delays(sleeps):
    call = failing(ConnectionError("refused"), api_error(503), api_error(429))
    assert retry(call, "search", where="http://es", retry_for=60) == "done"
    assert sleeps == [0.5, 1.0, 2.0]


def test_a_refusal_fails_at_once(sleeps):
    with pytest.raises(StoreError, match="refused to search") as caught:
        retry(failing(api_error(404, NotFoundError)), "search", where="http://es", retry_for=60)
    assert isinstance(caught.value.__cause__, NotFoundError)  # callers tell "missing" from the cause
    assert sleeps == []


def test_an_outage_longer_than_retry_for_is_a_store_error(sleeps):
    call = failing(*[ConnectionError("refused")] * 10)
    with pytest.raises(StoreError, match="http://es unavailable; could not store mentions"):
        retry(call, "store mentions", where="http://es", retry_for=0.1)


def test_other_errors_pass_through_unchanged(sleeps):
    with pytest.raises(ValueError, match="bug"):
        retry(failing(ValueError("bug")), "search", where="http://es", retry_for=60)
    with pytest.raises(StoreError, match="mine"):
        retry(failing(StoreError("mine")), "search", where="http://es", retry_for=60)
    assert sleeps == []


def test_connecting_does_not_talk_to_the_server():
    es = connect(Connection(hosts=("http://127.0.0.1:9",), request_timeout=1))
    es.close()
