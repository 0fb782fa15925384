"""Reaching and authenticating to Elasticsearch: API key, basic auth, Cloud ID, several nodes, TLS.

The dev server has security off, so each way in is checked twice: what the client is configured
with, and what it really sends, seen by a recording proxy (tests/es_proxy.py) in front of the real
server, which answers. TLS runs through the proxy speaking HTTPS with a CA made for the test.
"""

from __future__ import annotations

import base64
import logging

import pytest

from monitor.errors import ConfigError, StoreError
from monitor.models import Mention
from monitor.store.base import MentionFilter
from monitor.store.elastic import ElasticsearchStore
from monitor.store.elastic_auth import Connection, connection_from_config
from monitor.store.elastic_client import connect
from monitor.store.settings import ElasticsearchConfig
from tests.es_proxy import EsProxy

KEY = "a2V5aWQ6c2VjcmV0LWFwaS1rZXk="
PASSWORD = "hunter2-not-in-logs"


def storage(**options) -> ElasticsearchConfig:
    return ElasticsearchStore.Config(**options)


@pytest.fixture
def proxy(es_server):
    opened = EsProxy(es_server)
    yield opened
    opened.close()


@pytest.fixture
def prefix(es_server):
    import uuid

    from elasticsearch import Elasticsearch

    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    admin = Elasticsearch(es_server)
    admin.indices.delete(index=f"{name}-*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
    admin.options(ignore_status=404).indices.delete_index_template(name=f"{name}-mentions")
    admin.close()


def one_mention() -> Mention:
    from datetime import datetime, timezone

    now = datetime(2026, 3, 2, tzinfo=timezone.utc)
    return Mention(id="feed:1", brand="Aurora Air", source="feed", text="hello", created_at=now, collected_at=now)


def open_via(connection: Connection, prefix: str) -> ElasticsearchStore:
    store = ElasticsearchStore(connection, index_prefix=prefix, retry_for=5)
    assert store.add_mentions([one_mention()]) == 1
    assert store.count(MentionFilter()) == 1
    return store


# -- what the client is configured with --------------------------------------------------------


def test_credentials_come_from_the_variables_the_config_names():
    env = {"MONITOR_ES_API_KEY": KEY}
    assert connection_from_config(storage(url="https://es:9200"), env).api_key == KEY
    named = storage(url="https://es:9200", username_env="ES_USER", password_env="ES_PW")
    connection = connection_from_config(named, {"ES_USER": "monitor", "ES_PW": PASSWORD})
    assert connection.basic_auth == ("monitor", PASSWORD) and connection.api_key is None
    assert PASSWORD not in repr(connection) and KEY not in repr(connection_from_config(storage(), env))
    assert connection_from_config(storage(), {}).api_key is None


@pytest.mark.parametrize("env, message", [
    ({"MONITOR_ES_PASSWORD": PASSWORD}, "MONITOR_ES_USERNAME"),
    ({"MONITOR_ES_USERNAME": "monitor"}, "MONITOR_ES_PASSWORD"),
    ({"MONITOR_ES_USERNAME": "u", "MONITOR_ES_PASSWORD": PASSWORD, "MONITOR_ES_API_KEY": KEY}, "keep one"),
])
def test_half_or_double_credentials_are_refused_without_showing_them(env, message):
    with pytest.raises(ConfigError, match=message) as raised:
        connection_from_config(storage(), env)
    assert PASSWORD not in str(raised.value) and KEY not in str(raised.value)


def test_client_options_for_each_way_in():
    cloud = "prod:" + base64.b64encode(b"es.example.com:9243$abc123$kib456").decode()
    options = Connection(cloud_id=cloud, api_key=KEY, ca_fingerprint="ab" * 32).client_options()
    assert options["cloud_id"] == cloud and "hosts" not in options
    assert options["ssl_assert_fingerprint"] == "ab" * 32 and options["api_key"] == KEY
    client = connect(Connection(cloud_id=cloud))
    assert [(n.config.scheme, n.config.host, n.config.port) for n in client.transport.node_pool.all()] == [
        ("https", "abc123.es.example.com", 9243)]
    two = connect(Connection(hosts=("https://a:9200", "https://b:9200"), basic_auth=("u", PASSWORD)))
    nodes = [n.config for n in two.transport.node_pool.all()]
    assert sorted(n.host for n in nodes) == ["a", "b"] and all(n.ssl_context.check_hostname for n in nodes)
    assert two._headers["authorization"] == "Basic " + base64.b64encode(f"u:{PASSWORD}".encode()).decode()
    assert Connection(cloud_id=cloud).where == "cloud deployment 'prod'"


def test_tls_options_on_plain_http_are_refused():
    with pytest.raises(ConfigError, match="need https"):
        Connection(hosts=("http://127.0.0.1:9200",), ca_fingerprint="ab" * 32).client_options()


# -- what it sends, against the real server ----------------------------------------------------


def test_api_key_header_is_sent(proxy, prefix):
    store = open_via(Connection(hosts=(proxy.url,), api_key=KEY), prefix)
    store.close()
    assert proxy.seen and {s.headers.get("authorization") for s in proxy.seen} == {f"ApiKey {KEY}"}


def test_basic_auth_header_is_sent_and_never_logged(proxy, prefix, caplog):
    caplog.set_level(logging.DEBUG)
    env = {"MONITOR_ES_USERNAME": "monitor", "MONITOR_ES_PASSWORD": PASSWORD}
    store = open_via(connection_from_config(storage(url=proxy.url), env), prefix)
    store.close()
    expected = "Basic " + base64.b64encode(f"monitor:{PASSWORD}".encode()).decode()
    assert {s.headers.get("authorization") for s in proxy.seen} == {expected}
    assert PASSWORD not in caplog.text and expected not in caplog.text


def test_several_nodes_share_the_requests_and_cover_for_a_dead_one(es_server, prefix):
    first, second = EsProxy(es_server), EsProxy(es_server)
    try:
        store = open_via(Connection(hosts=(first.url, second.url)), prefix)
        for _ in range(6):
            store.count(MentionFilter())
        assert first.seen and second.seen
        first.close()
        assert store.count(MentionFilter()) == 1  # the dead node is left out, the other answers
        store.close()
    finally:
        second.close()


def test_an_unreachable_cluster_is_named_without_credentials(prefix):
    env = {"MONITOR_ES_USERNAME": "monitor", "MONITOR_ES_PASSWORD": PASSWORD}
    connection = connection_from_config(storage(urls=["http://127.0.0.1:9", "http://127.0.0.1:10"],
                                                request_timeout=1), env)
    with pytest.raises(StoreError) as raised:
        ElasticsearchStore(connection, index_prefix=prefix, retry_for=0.5)
    assert "http://127.0.0.1:9, http://127.0.0.1:10" in str(raised.value) and PASSWORD not in str(raised.value)


# -- TLS: a CA fingerprint, a CA bundle, a client certificate ---------------------------------


@pytest.fixture
def pki(tmp_path):
    try:
        from tests.tls_certs import make_pki
    except ImportError as exc:
        pytest.skip(f"TLS tests need the cryptography package (a dev dependency) to make certificates: {exc}")
    return make_pki(tmp_path)


@pytest.fixture
def tls_proxy(es_server, pki):
    opened = EsProxy(es_server, tls=(pki.server_chain, pki.server_key), client_ca=pki.ca)
    yield opened
    opened.close()


def test_ca_fingerprint_and_client_certificate_over_real_tls(tls_proxy, pki, prefix):
    pinned = Connection(hosts=(tls_proxy.url,), ca_fingerprint=pki.ca_fingerprint,
                        client_cert=str(pki.client_cert), client_key=str(pki.client_key))
    open_via(pinned, prefix).close()
    assert tls_proxy.seen
    assert {dict(x[0] for x in s.peer_cert["subject"])["commonName"] for s in tls_proxy.seen} == {"monitor-client"}


def test_ca_bundle_trusts_the_server(tls_proxy, pki, prefix):
    open_via(Connection(hosts=(tls_proxy.url,), ca_certs=str(pki.ca), client_cert=str(pki.client_cert),
                        client_key=str(pki.client_key)), prefix).close()


def test_a_wrong_fingerprint_is_refused(tls_proxy, pki, prefix):
    wrong = Connection(hosts=(tls_proxy.url,), ca_fingerprint="00" * 32, client_cert=str(pki.client_cert),
                       client_key=str(pki.client_key), request_timeout=2)
    with pytest.raises(StoreError):
        ElasticsearchStore(wrong, index_prefix=prefix, retry_for=0.5)
    assert not tls_proxy.seen


def test_no_client_certificate_no_entry(tls_proxy, pki, prefix):
    with pytest.raises(StoreError):
        ElasticsearchStore(Connection(hosts=(tls_proxy.url,), ca_certs=str(pki.ca), request_timeout=2),
                           index_prefix=prefix, retry_for=0.5)
    assert not tls_proxy.seen
