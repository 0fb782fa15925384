"""``monitor backfill`` and ``monitor collect --once`` end to end against a fake Algolia API."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fake_api import FakeApi
from monitor import config as config_lib
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.store import open_store
from monitor.store.base import MentionFilter
from test_collectors_hackernews import FakeAlgolia

REPO = Path(__file__).resolve().parent.parent
HOUR = 3600


def monitor(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.fixture
def setup(tmp_path: Path):
    api = FakeApi()
    fake = FakeAlgolia(api)
    now = int(time.time())
    story = fake.hits[2]
    fake.hits = [dict(story, objectID=str(i), title=f"Acme story {i}", created_at_i=now - hours * HOUR)
                 for i, hours in ((1, 1), (2, 30), (3, 60))]
    config = {
        "storage": {"path": "m.db"}, "nlp": {"backend": "offline"},
        "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS), "outbox": "out.jsonl"},
        "brands": [{"name": "Acme", "query": "acme",
                    "sources": [{"type": "hackernews", "name": "hn", "base_url": api.url, "page_size": 1,
                                 "max_pages": 1}]}],
    }
    (tmp_path / "monitor.yaml").write_text(json.dumps(config))
    yield tmp_path, api
    api.close()


def stored_ids(tmp_path: Path) -> set[str]:
    store = open_store(config_lib.load(tmp_path / "monitor.yaml").storage)
    try:
        return {m.id for m in store.search(MentionFilter(brands=["Acme"]))}
    finally:
        store.close()


def test_backfill_reaches_back_without_page_bound_or_cursor(setup) -> None:
    tmp_path, api = setup
    result = monitor("backfill", "--config", "monitor.yaml", "--since", "2d", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Acme/hn: fetched 2, matched 2, stored 2 new" in result.stdout
    assert "h back" in result.stderr and "100%" in result.stderr
    assert stored_ids(tmp_path) == {"hackernews:1", "hackernews:2"}
    assert len(api.hits("/search_by_date")) > 1
    once = monitor("collect", "--config", "monitor.yaml", "--brand", "Acme", "--source", "hn", cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    assert "Acme/hn: fetched 1, matched 1, stored 0 new" in once.stdout


def test_backfill_rejects_a_bad_duration(setup) -> None:
    tmp_path, _ = setup
    result = monitor("backfill", "--config", "monitor.yaml", "--since", "lots", cwd=tmp_path)
    assert result.returncode == 2 and "--since" in result.stderr and "not a duration" in result.stderr


def test_backfill_skips_streaming_sources_which_are_read_live(setup) -> None:
    tmp_path, _ = setup
    config = json.loads((tmp_path / "monitor.yaml").read_text())
    config["brands"][0]["sources"].append({"type": "jetstream", "url": "ws://127.0.0.1:9/subscribe"})
    (tmp_path / "monitor.yaml").write_text(json.dumps(config))
    result = monitor("backfill", "--config", "monitor.yaml", "--since", "2d", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Acme/jetstream: a stream, read live by `monitor run`; skipped" in result.stdout
    assert "Acme/hn: fetched 2, matched 2, stored 2 new" in result.stdout
