"""The stores' own options: one way in, certificates in pairs, fingerprints, sizes, retention, paths, checks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor import config as config_lib
from monitor.config import StorageConfig
from monitor.config_plugins import resolve_paths
from monitor.errors import ConfigError
from monitor.store.settings import ElasticsearchConfig, SqliteConfig

FINGERPRINT = "AB:" * 31 + "AB"


def test_defaults_keep_the_old_behaviour():
    storage = ElasticsearchConfig()
    assert storage.hosts == ["http://127.0.0.1:9200"] and storage.retention is None
    assert (storage.bulk_size, int(storage.bulk_bytes), storage.shards, storage.replicas) == (1000, 10_000_000, 1, None)
    assert storage.refresh_interval == timedelta(seconds=1)


def test_values_are_parsed():
    storage = ElasticsearchConfig(urls=["https://a:9200", "https://b:9200"], retention="400d", bulk_bytes="5MiB",
                                  refresh_interval="30s", ca_fingerprint=FINGERPRINT)
    assert storage.hosts == ["https://a:9200", "https://b:9200"]
    assert storage.retention == timedelta(days=400) and int(storage.bulk_bytes) == 5 * 1024 * 1024
    assert storage.ca_fingerprint == "ab" * 32
    assert ElasticsearchConfig(cloud_id="prod:abc").hosts == []


@pytest.mark.parametrize("options, message", [
    ({"url": "https://a:9200", "urls": ["https://b:9200"]}, "one of url, urls and cloud_id"),
    ({"url": "https://a:9200", "cloud_id": "prod:abc"}, "one of url, urls and cloud_id"),
    ({"client_cert": "c.pem"}, "client_cert and client_key go together"),
    ({"ca_fingerprint": "abc"}, "64 hex digits"),
    ({"retention": "0d"}, "longer than 0s"),
    ({"refresh_interval": "-1"}, "duration"),
    ({"bulk_size": 0}, "greater than or equal to 1"),
    ({"bulk_bytes": "1kb"}, "greater than or equal to 10000"),
    ({"password": "hunter2"}, "Extra inputs"),
])
def test_bad_elasticsearch_options_are_refused(options, message):
    with pytest.raises(ValidationError, match=message):
        StorageConfig(backend="elasticsearch", **options)


def test_retention_is_each_stores_option():
    assert SqliteConfig(retention="30d").retention == timedelta(days=30)
    assert StorageConfig(path="x.db", retention="2w").retention == timedelta(weeks=2)
    assert StorageConfig().retention is None
    with pytest.raises(ValidationError, match="Extra inputs"):
        StorageConfig(backend="sqlite", url="http://127.0.0.1:9200")


def test_a_dumped_section_validates_again():
    storage = StorageConfig(backend="elasticsearch", urls=["https://a:9200"], retention="400d", refresh_interval="30s",
                            bulk_bytes="5MB", ca_fingerprint=FINGERPRINT)
    again = StorageConfig.model_validate_json(storage.model_dump_json())
    assert (again.backend, again.settings) == (storage.backend, storage.settings)


def test_file_paths_are_relative_to_the_config(tmp_path):
    options = ElasticsearchConfig(ca_certs="certs/ca.pem", client_cert="certs/c.pem", client_key="/abs/k.pem")
    storage = resolve_paths(options, tmp_path)
    assert options.ca_certs == Path("certs/ca.pem")
    assert (storage.ca_certs, storage.client_cert, storage.client_key) == (
        tmp_path / "certs/ca.pem", tmp_path / "certs/c.pem", Path("/abs/k.pem"))


def write(tmp_path: Path, storage: str) -> Path:
    (tmp_path / "playbooks").mkdir(exist_ok=True)
    path = tmp_path / "monitor.yaml"
    path.write_text(f"""storage: {storage}
alerts: {{playbooks_dir: playbooks}}
brands:
  - name: Aurora Air
    sources: [{{type: rss, name: news, url: "http://127.0.0.1:9/feed"}}]
""", encoding="utf-8")
    return path


def test_check_config_refuses_missing_certificate_files_and_tls_on_http(tmp_path):
    missing = write(tmp_path, "{backend: elasticsearch, url: 'https://es:9200', client_cert: c.pem, client_key: k.pem}")
    with pytest.raises(ConfigError, match="cannot load the TLS files"):
        config_lib.check(missing)
    plain = write(tmp_path, f"{{backend: elasticsearch, url: 'http://es:9200', ca_fingerprint: '{FINGERPRINT}'}}")
    with pytest.raises(ConfigError, match="need https"):
        config_lib.check(plain)


def test_check_config_refuses_a_password_in_a_node_url(tmp_path):
    leaky = write(tmp_path, "{backend: elasticsearch, urls: ['https://a:9200', 'https://u:hunter2@b:9200']}")
    with pytest.raises(ConfigError) as raised:
        config_lib.check(leaky)
    assert "storage.urls[1]" in str(raised.value) and "hunter2" not in str(raised.value)
