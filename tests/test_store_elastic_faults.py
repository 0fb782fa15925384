"""Elasticsearch faults (a server restart mid-ingest, rejected documents, no server) and retention."""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.models import Engagement, Mention
from monitor.store.base import CursorUpdate, MentionFilter
from monitor.store.elastic_mapping import MENTION_MAPPING, THREAD_FIELDS
from monitor.store.elastic_setup import month_indices

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "elasticsearch.sh"
T0 = datetime(2026, 1, 30, 12, 0, tzinfo=timezone.utc)  # batches cross into February's index


def mention(n: int, likes: int = 0) -> Mention:
    created = T0 + timedelta(minutes=n)
    return Mention(id=f"feed:{n}", brand="Aurora Air", source="feed", text=f"mention {n} about the delay",
                   created_at=created, collected_at=created, language="en", engagement=Engagement(likes=likes))


@pytest.mark.slow
def test_restart_mid_ingest_loses_and_duplicates_nothing(es_server, es_store_factory):
    managed = subprocess.run([str(SCRIPT), "url"], capture_output=True, text=True)
    if managed.returncode != 0 or managed.stdout.strip() != es_server:
        pytest.skip("the server is not managed by scripts/elasticsearch.sh, so this test cannot restart it")
    store = es_store_factory(retry_for=240, request_timeout=10)
    batches, size = 60, 100
    errors: list[BaseException] = []
    added: list[int] = []
    restarted = threading.Event()

    def ingest() -> None:
        try:
            for b in range(batches):
                batch = [mention(b * size + i) for i in range(size)]
                # Every batch also re-sends part of the previous one, as a collector does after a crash.
                if b:
                    batch += [mention((b - 1) * size + i, likes=b) for i in range(0, size, 10)]
                added.append(store.add_mentions(batch, CursorUpdate(brand="Aurora Air", source="feed",
                                                                    value=str(b))))
                if b == 5:
                    restarted.wait(timeout=5)  # make sure the restart lands mid-ingest
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writer = threading.Thread(target=ingest)
    writer.start()
    time.sleep(0.5)
    subprocess.run([str(SCRIPT), "stop"], check=True, capture_output=True, timeout=120)
    restarted.set()
    time.sleep(2)  # the writer now hits a dead server and must keep its batch
    subprocess.run([str(SCRIPT), "start"], check=True, capture_output=True, timeout=300)
    writer.join(timeout=600)
    assert not writer.is_alive()
    assert not errors, errors
    total = batches * size
    assert store.count(MentionFilter()) == total
    assert sum(added) <= total  # a batch re-sent after a lost response counts its mentions as known
    assert store.get_cursor("Aurora Air", "feed") == str(batches - 1)
    # No duplicates: every id is stored exactly once, across both monthly indices.
    seen = store.es.search(index=store.mentions_alias, size=0, aggs={
        "dupes": {"terms": {"field": "mention_id", "min_doc_count": 2, "size": 10}}})
    assert seen["aggregations"]["dupes"]["buckets"] == []
    assert len(month_indices(store.es, store.prefix)) == 2
    # Engagement refreshes sent around the restart were applied, and only upwards.
    last = store.search(MentionFilter(ids=[f"feed:{(batches - 2) * size}"]))[0]
    assert last.engagement.likes == batches - 1


def test_rejected_document_is_reported_and_does_not_block_the_batch(es_store_factory, caplog):
    store = es_store_factory()
    build = store._document

    def sabotage(m: Mention, seq: int, raw=None):
        doc = build(m, seq, raw)
        if m.id == "feed:2":
            doc["seq"] = "not a number"  # a mapping conflict
        if m.id == "feed:4":
            doc["surprise"] = {"nested": True}  # not in the strict mapping
        return doc

    store._document = sabotage
    batch = [mention(n) for n in range(6)]
    assert store.add_mentions(batch, CursorUpdate(brand="Aurora Air", source="feed", value="6")) == 4
    assert sorted(mention_id for mention_id, _ in store.last_rejected) == ["feed:2", "feed:4"]
    assert "feed:2" in caplog.text and "feed:4" in caplog.text
    assert store.get_cursor("Aurora Air", "feed") == "6"
    assert store.count(MentionFilter()) == 4
    recorded = {r["mention_id"]: r["reason"] for r in store.rejected()}
    assert set(recorded) == {"feed:2", "feed:4"}
    assert "surprise" in recorded["feed:4"]
    # Once fixed, the same mentions go in without touching the others.
    store._document = build
    assert store.add_mentions(batch) == 2
    assert store.count(MentionFilter()) == 6


def test_unreachable_server_is_a_store_error_and_keeps_the_cursor(es_store_factory):
    from monitor.errors import StoreError
    from monitor.store.elastic import ElasticsearchStore

    store = es_store_factory()
    store.add_mentions([mention(1)], CursorUpdate(brand="Aurora Air", source="feed", value="1"))
    dead = ElasticsearchStore.__new__(ElasticsearchStore)
    dead.__dict__.update(store.__dict__)
    from elasticsearch import Elasticsearch

    dead.es = Elasticsearch("http://127.0.0.1:9", request_timeout=1, max_retries=0)
    dead.retry_for = 1
    with pytest.raises(StoreError, match="unavailable"):
        dead.add_mentions([mention(2)], CursorUpdate(brand="Aurora Air", source="feed", value="2"))
    assert store.get_cursor("Aurora Air", "feed") == "1"
    with pytest.raises(StoreError, match="unavailable"):
        ElasticsearchStore("http://127.0.0.1:9", index_prefix="never", retry_for=0.5, request_timeout=1)


def test_months_indexed_before_threads_get_their_fields(es_store_factory):
    store = es_store_factory()
    old_mapping = {**MENTION_MAPPING, "properties": {
        k: v for k, v in MENTION_MAPPING["properties"].items() if k not in THREAD_FIELDS}}
    store.es.indices.delete_index_template(name=store.mentions_alias)
    store.es.indices.create(index=store.month_index(T0), mappings=old_mapping, aliases={store.mentions_alias: {}})
    reopened = es_store_factory()
    reply = mention(1).model_copy(update={"reply_to": "feed:0", "conversation": "feed:0"})
    assert reopened.add_mentions([mention(0).model_copy(update={"conversation": "feed:0"}), reply]) == 2
    assert reopened.count(MentionFilter(conversations=["feed:0"])) == 2
    assert reopened.search(MentionFilter(ids=["feed:1"])) == [reply]
