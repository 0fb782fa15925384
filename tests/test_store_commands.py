"""``monitor store setup`` and ``monitor store prune`` on SQLite and on a real Elasticsearch."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli
from monitor.errors import ConfigError
from monitor.models import Mention
from monitor.store.base import MentionFilter
from monitor.store.sqlite import SqliteStore

NOW = datetime.now(timezone.utc)


def mention(n: int, days_ago: float) -> Mention:
    at = NOW - timedelta(days=days_ago)
    return Mention(id=f"feed:{n}", brand="Aurora Air", source="feed", text=f"post {n}", created_at=at, collected_at=at)


def write_config(folder: Path, storage: str) -> Path:
    path = folder / "monitor.yaml"
    path.write_text(f"""storage: {storage}
brands:
  - name: Aurora Air
    sources: [{{type: rss, name: news, url: "http://127.0.0.1:9/feed"}}]
""", encoding="utf-8")
    return path


def test_prune_on_sqlite_deletes_rows_before_the_cutoff(tmp_path):
    config = write_config(tmp_path, "{path: m.db}")
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions([mention(1, 500), mention(2, 401), mention(3, 399)])
    result = CliRunner().invoke(cli, ["store", "prune", "--config", str(config), "--before", "400d"])
    assert result.exit_code == 0, result.output
    assert "deleted 2 mentions created before" in result.output
    with SqliteStore(tmp_path / "m.db") as store:
        assert [m.id for m in store.search(MentionFilter())] == ["feed:3"]


def test_prune_defaults_to_the_configured_retention_and_needs_one(tmp_path):
    config = write_config(tmp_path, "{path: m.db, retention: 450d}")
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions([mention(1, 500), mention(2, 401)])
    result = CliRunner().invoke(cli, ["store", "prune", "--config", str(config)])
    assert "deleted 1 mentions" in result.output
    bare = write_config(tmp_path, "{path: m.db}")
    result = CliRunner().invoke(cli, ["store", "prune", "--config", str(bare)])
    assert isinstance(result.exception, ConfigError) and "storage.retention" in str(result.exception)


def test_setup_on_sqlite_says_there_is_nothing_to_do(tmp_path):
    result = CliRunner().invoke(cli, ["store", "setup", "--config", str(write_config(tmp_path, "{path: m.db}"))])
    assert result.exit_code == 0 and "needs no setup" in result.output


def test_setup_and_prune_on_elasticsearch(es_server, es_store_factory, tmp_path):
    store = es_store_factory()
    store.add_mentions([mention(1, 500), mention(2, 40), mention(3, 0)])
    config = write_config(tmp_path, f"{{backend: elasticsearch, url: '{es_server}', index_prefix: {store.prefix}, "
                                    "replicas: 0, refresh_interval: 20s, shards: 2}")
    result = CliRunner().invoke(cli, ["store", "setup", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "2 shards, replicas 0, refresh every 20s" in result.output and "3 existing monthly indices" in result.output
    template = store.es.indices.get_index_template(name=store.mentions_alias)["index_templates"][0]
    assert template["index_template"]["template"]["settings"]["index"]["refresh_interval"] == "20000ms"
    result = CliRunner().invoke(cli, ["store", "prune", "--config", str(config), "--before", "400d"])
    assert result.exit_code == 0, result.output
    assert f"deleted index {store.month_index(NOW - timedelta(days=500))}" in result.output
    assert "deleted 1 mentions" in result.output
    assert store.count(MentionFilter()) == 2
