"""Through the real pipeline and store: a source failing mid-paging loses and repeats nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fake_api import FakeApi, Reply
from monitor import config as config_lib
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.alerts.notify.slack.outbox import OutboxNotifier
from monitor.errors import CollectorError
from monitor.runtime import build_pipeline
from monitor.store.base import MentionFilter
from test_collectors_hackernews import SEARCH, FakeAlgolia

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def api():
    server = FakeApi()
    yield server
    server.close()


def test_failure_mid_paging_then_restart_stores_each_mention_once(tmp_path: Path, api: FakeApi,
                                                                 offline_annotator) -> None:
    fake = FakeAlgolia(api)
    now = int(time.time())
    story = fake.hits[2]
    fake.hits = [dict(story, objectID=str(i), title=f"Acme story {i}", created_at_i=now - i * 60) for i in range(1, 6)]
    config = {
        "storage": {"path": "m.db"}, "nlp": {"backend": "offline"},
        "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS), "outbox": "out.jsonl"},
        "brands": [{"name": "Acme", "query": "acme",
                    "sources": [{"type": "hackernews", "name": "hn", "base_url": api.url, "page_size": 2,
                                 "max_attempts": 1, "refresh_hours": 0, "overlap_seconds": 0}]}],
    }
    (tmp_path / "monitor.yaml").write_text(json.dumps(config))
    pipeline = build_pipeline(config_lib.load(tmp_path / "monitor.yaml"), annotator=offline_annotator,
                              notifier=OutboxNotifier(tmp_path / "out.jsonl"))
    real = fake.search
    calls = []

    def flaky(request):
        calls.append(request)
        return Reply(500, b"down") if len(calls) == 2 else real(request)

    api.route(SEARCH, flaky)
    with pytest.raises(CollectorError, match="HTTP 500"):
        pipeline.collect("Acme", "hn")
    stored = pipeline.store.search(MentionFilter(brands=["Acme"]))
    assert {m.id for m in stored} == {"hackernews:1", "hackernews:2"}
    resumed = pipeline.collect("Acme", "hn")
    assert resumed.stored == 3
    assert "created_at_i<=" in calls[-2].query["numericFilters"]
    ids = [m.id for m in pipeline.store.search(MentionFilter(brands=["Acme"]))]
    assert sorted(ids) == [f"hackernews:{i}" for i in range(1, 6)]
    assert [r.ok for r in pipeline.store.runs()] == [True, False]
    fake.hits.insert(0, dict(story, objectID="9", title="Acme story 9", created_at_i=now))
    assert pipeline.collect("Acme", "hn").stored == 1
