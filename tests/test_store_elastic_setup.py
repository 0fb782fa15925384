"""The index template as operators run it, old months deleted whole, wait_for refreshes, bulk sizes.

Against the real server; a recording proxy (tests/es_proxy.py) shows what the store sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from monitor.models import Mention, Silence
from monitor.store.base import JobRun, MentionFilter
from monitor.store.elastic_setup import TemplateSettings, ensure_template
from tests.es_proxy import EsProxy

T0 = datetime(2026, 1, 10, 8, 0, tzinfo=timezone.utc)


def mention(n: int, *, days: float = 0, text: str = "post") -> Mention:
    at = T0 + timedelta(days=days)
    return Mention(id=f"feed:{n}", brand="Aurora Air", source="feed", text=f"{text} {n}", created_at=at,
                   collected_at=at)


def template_settings(store) -> dict:
    found = store.es.indices.get_index_template(name=store.mentions_alias)["index_templates"][0]
    return found["index_template"]["template"]["settings"]["index"]


def index_settings(store, name: str) -> dict:
    return store.es.indices.get_settings(index=name)[name]["settings"]["index"]


@pytest.fixture
def proxy(es_server):
    opened = EsProxy(es_server)
    yield opened
    opened.close()


def test_the_template_is_created_from_the_config_when_missing(es_store_factory):
    store = es_store_factory(template=TemplateSettings(shards=2, replicas=0, refresh_interval=timedelta(seconds=5)))
    settings = template_settings(store)
    assert (settings["number_of_shards"], settings["number_of_replicas"], settings["refresh_interval"]) == (
        "2", "0", "5000ms")
    store.add_mentions([mention(1)])
    month = index_settings(store, store.month_index(T0))
    assert (month["number_of_shards"], month["number_of_replicas"], month["refresh_interval"]) == ("2", "0", "5000ms")
    assert ensure_template(store.es, store.prefix, TemplateSettings(shards=5)) == "kept"
    assert template_settings(store)["number_of_shards"] == "2"
    store.es.indices.delete_index_template(name=store.mentions_alias)
    assert ensure_template(store.es, store.prefix, TemplateSettings(shards=5)) == "created"


def test_an_operators_template_survives_a_restart(es_store_factory):
    store = es_store_factory()
    template = store.es.indices.get_index_template(name=store.mentions_alias)["index_templates"][0]["index_template"]
    template["template"]["settings"]["index"].update(number_of_replicas="0", refresh_interval="42s",
                                                     auto_expand_replicas="false")
    store.es.indices.put_index_template(name=store.mentions_alias, **template)  # what an operator does
    reopened = es_store_factory(template=TemplateSettings(replicas=1, refresh_interval=timedelta(seconds=1)))
    settings = template_settings(reopened)
    assert (settings["number_of_replicas"], settings["refresh_interval"]) == ("0", "42s")
    reopened.add_mentions([mention(1)])  # a new month takes the operator's settings and still our mapping
    assert index_settings(reopened, reopened.month_index(T0))["refresh_interval"] == "42s"
    assert reopened.search(MentionFilter(text="post")) == [mention(1)]


def test_setup_applies_the_config_on_purpose(es_store_factory):
    store = es_store_factory()
    store.add_mentions([mention(1), mention(2, days=40)])
    changed = es_store_factory(template=TemplateSettings(shards=3, replicas=0, refresh_interval=timedelta(seconds=30)))
    assert changed.apply_template() == [changed.month_index(T0), changed.month_index(T0 + timedelta(days=40))]
    settings = template_settings(changed)
    assert (settings["number_of_shards"], settings["number_of_replicas"], settings["refresh_interval"]) == (
        "3", "0", "30000ms")
    existing = index_settings(changed, changed.month_index(T0))
    assert (existing["number_of_shards"], existing["number_of_replicas"], existing["refresh_interval"]) == (
        "1", "0", "30000ms")  # shards of an existing month cannot change


def test_a_key_without_template_privilege_still_opens_the_store(es_store_factory, proxy, caplog):
    import logging

    from monitor.store.elastic import ElasticsearchStore

    caplog.set_level(logging.INFO)
    prefix = es_store_factory().prefix  # the factory cleans up the indices
    proxy.refuse = ("/_index_template",)
    store = ElasticsearchStore(proxy.url, index_prefix=prefix, retry_for=5)
    assert "no privilege to check the index template" in caplog.text
    assert store.add_mentions([mention(1)]) == 1 and store.count(MentionFilter()) == 1
    assert not [s for s in proxy.seen if s.path.startswith("/_index_template") and s.method == "PUT"]
    store.close()


def test_old_months_are_deleted_whole(es_store_factory):
    store = es_store_factory()
    store.add_mentions([mention(0), mention(1, days=30), mention(2, days=31), mention(3, days=60)])  # Jan, Feb×2, Mar
    pruned = store.prune_mentions(datetime(2026, 2, 15, tzinfo=timezone.utc))
    assert pruned.indices == [f"{store.prefix}-mentions-2026.01"] and pruned.mentions == 1
    assert store.count(MentionFilter()) == 3  # February is kept whole: its month has not passed
    assert store.add_mentions([mention(1, days=30)]) == 0  # the rest is untouched and still deduplicated
    assert store.prune_mentions(datetime(2026, 2, 15, tzinfo=timezone.utc)).indices == []


def test_small_writes_wait_for_a_refresh_instead_of_forcing_one(es_server, proxy):
    from monitor.store.elastic import ElasticsearchStore

    import uuid

    store = ElasticsearchStore(proxy.url, index_prefix=f"test-{uuid.uuid4().hex[:10]}", retry_for=5)
    try:
        store.save_silence(Silence(id="s1", brand="Aurora Air", starts_at=T0, ends_at=T0 + timedelta(hours=1),
                                   reason="test", created_by="me"))
        assert [s.query.get("refresh") for s in proxy.seen if s.path == "/_bulk"] == ["wait_for"]
        store.record_run(JobRun(job="detect:x", started_at=T0, finished_at=T0, ok=True))
        run_writes = [s for s in proxy.seen if s.method == "POST" and s.path.endswith("-runs/_doc")]
        assert len(run_writes) == 1 and "refresh" not in run_writes[0].query  # written often, refreshed when read
        assert [s.id for s in store.silences()] == ["s1"] and len(store.runs()) == 1  # visible at once
        assert not [s for s in proxy.seen if s.query.get("refresh") in ("true", "")]
    finally:
        store.drop_all()
        store.close()


@pytest.mark.parametrize("options, expected", [
    ({"bulk_size": 10}, 4),  # 35 mentions, 10 a request
    ({"bulk_bytes": 20_000}, None),  # by size: each request under 20 kB
])
def test_bulk_requests_are_sized_by_count_and_bytes(es_server, proxy, options, expected):
    import uuid

    from monitor.store.elastic import ElasticsearchStore

    store = ElasticsearchStore(proxy.url, index_prefix=f"test-{uuid.uuid4().hex[:10]}", retry_for=5, **options)
    try:
        assert store.add_mentions([mention(n, text="word " * 300) for n in range(35)]) == 35
        bulks = [s for s in proxy.seen if s.path.endswith("/_bulk")]
        if expected is not None:
            assert len(bulks) == expected
        else:
            assert len(bulks) > 1 and all(s.size <= 20_000 for s in bulks)
        assert store.count(MentionFilter()) == 35
    finally:
        store.drop_all()
        store.close()
