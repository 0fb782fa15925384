"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from monitor.config import NlpConfig
from monitor.nlp.annotate import Annotator, build_scorer


@pytest.fixture(scope="session")
def offline_annotator() -> Annotator:
    """The bundled offline scorer, built once; its text cache makes repeated replays cheap."""
    return Annotator(build_scorer(NlpConfig(backend="offline")))


# -- Elasticsearch ---------------------------------------------------------------------------------
# The Elasticsearch tests use MONITOR_ES_URL when set; otherwise, when MONITOR_ES_AUTOSTART=1 (as
# `make test` sets), they start scripts/elasticsearch.sh for the session (and stop it again unless it
# was already running). When no server can be had they skip, or fail if MONITOR_REQUIRE_ES=1 (CI).

_ROOT = Path(__file__).resolve().parents[1]
_SCRIPT = _ROOT / "scripts" / "elasticsearch.sh"


def _no_es(reason: str) -> None:
    if os.environ.get("MONITOR_REQUIRE_ES") == "1":
        pytest.fail(f"Elasticsearch is required (MONITOR_REQUIRE_ES=1) but {reason}", pytrace=False)
    pytest.skip(f"Elasticsearch tests skipped: {reason}")


@pytest.fixture(scope="session")
def es_server() -> str:
    """The URL of a live Elasticsearch 8.x server (skips, or fails under MONITOR_REQUIRE_ES=1)."""
    url = os.environ.get("MONITOR_ES_URL")
    if url:
        yield url.rstrip("/")
        return
    if os.environ.get("MONITOR_ES_AUTOSTART") != "1" and os.environ.get("MONITOR_REQUIRE_ES") != "1":
        _no_es("set MONITOR_ES_URL, or MONITOR_ES_AUTOSTART=1 to start scripts/elasticsearch.sh (`make test` does)")
    was_running = subprocess.run([str(_SCRIPT), "url"], capture_output=True, text=True).returncode == 0
    try:
        started = subprocess.run([str(_SCRIPT), "start"], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _no_es(f"scripts/elasticsearch.sh start failed: {exc}")
    if started.returncode != 0:
        _no_es(f"scripts/elasticsearch.sh start failed:\n{started.stderr[-2000:]}")
    yield started.stdout.strip().splitlines()[-1]
    if not was_running and os.environ.get("MONITOR_ES_KEEP") != "1":
        subprocess.run([str(_SCRIPT), "stop"], capture_output=True, timeout=120)


@pytest.fixture
def es_store_factory(es_server, request):
    """Open ``ElasticsearchStore`` instances on a fresh index prefix; their indices go afterwards."""
    import uuid

    from monitor.store.elastic import ElasticsearchStore

    prefix = f"test-{uuid.uuid4().hex[:10]}"
    opened = []

    def factory(**options):
        store = ElasticsearchStore(es_server, index_prefix=options.pop("index_prefix", prefix), **options)
        opened.append(store)
        return store

    yield factory
    if opened:
        opened[0].drop_all()
    for store in opened:
        store.close()
