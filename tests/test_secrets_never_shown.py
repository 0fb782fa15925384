"""No credential appears in logs, errors, the outbox, the database or the runs table, even when a
hostile server echoes every credential it is sent back in its error bodies."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fake_api import FakeApi, Reply, Request
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS

pytestmark = pytest.mark.slow

SECRETS = {
    "X_BEARER_TOKEN": "xbearer-0c1d2e3f4a5b",
    "REDDIT_CLIENT_ID": "redditid-77aa88bb",
    "REDDIT_CLIENT_SECRET": "redditsecret-99cc00dd",
    "YOUTUBE_API_KEY": "ytkey-5566778899",
    "MASTODON_TOKEN": "mastotoken-1122334455",
    "BLUESKY_HANDLE": "secret-handle.example",
    "BLUESKY_APP_PASSWORD": "bskypw-aabb-ccdd-eeff",
    "SLACK_BOT_TOKEN": "xoxb-000111222-333444555-slacktoken",
    "SLACK_SIGNING_SECRET": "signingsecret-abcdef0123",
    "MONITOR_ES_API_KEY": "esapikey-4455667788",
    "MONITOR_DASHBOARD_PASSWORD": "dashpw-13579",
}
SOURCES = ["x", "reddit", "youtube", "mastodon", "bluesky"]


def forms(value: str) -> set[str]:
    """A secret as it could leak: as is, base64-encoded inside a Basic header, URL-quoted."""
    return {value, base64.b64encode(value.encode()).decode()[:16], value.replace("-", "%2D")}


class EchoingApi(FakeApi):
    """A hostile server: every answer echoes the request's headers, query and body."""

    def _reply(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
        echo = {"headers": request.headers, "query": request.query, "body": request.body.decode(errors="replace")}
        text = json.dumps(echo)
        if request.path.endswith("access_token") or request.path.endswith("createSession"):
            return Reply(200, json.dumps({"error": text, "message": text}).encode(),
                         {"Content-Type": "application/json"})
        if request.path.startswith("/api/") and "chat." in request.path:
            return Reply(200, json.dumps({"ok": False, "error": "invalid_auth", "echo": text}).encode(),
                         {"Content-Type": "application/json"})
        return Reply(401, json.dumps({"error": text, "detail": text, "title": text}).encode(),
                     {"Content-Type": "application/json", "WWW-Authenticate": text[:200]})


@pytest.fixture
def server():
    api = EchoingApi()
    yield api
    api.close()


def write_config(folder: Path, url: str) -> Path:
    sources = [
        {"type": "x", "base_url": url},
        {"type": "reddit", "base_url": url, "auth_url": f"{url}/api/v1/access_token", "user_agent": "test/1.0"},
        {"type": "youtube", "base_url": url},
        {"type": "mastodon", "instances": [url]},
        {"type": "bluesky", "login": True, "pds_url": url, "base_url": url},
    ]
    config = {
        "storage": {"path": "m.db"},
        "nlp": {"backend": "offline"},
        "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS), "outbox": "out.jsonl", "notifier": "slack"},
        "slack": {"base_url": f"{url}/api/"},
        "brands": [{"name": "Acme", "query": "acme", "sources": sources}],
    }
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def monitor(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS} | SECRETS
    return subprocess.run([sys.executable, "-m", "monitor", "-v", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if any(form in text for form in forms(value))]


def test_no_credential_is_shown_after_every_source_fails_against_an_echoing_server(tmp_path, server):
    config = write_config(tmp_path, server.url)
    outputs = []
    for source in SOURCES:
        result = monitor("collect", "--config", str(config), "--brand", "Acme", "--source", source, cwd=tmp_path)
        assert result.returncode == 3, (source, result.stderr)
        outputs.append(result.stdout + result.stderr)
    assert any("HTTP 401" in output for output in outputs)
    requested = " ".join(json.dumps(r.headers) + json.dumps(r.query) + r.body.decode() for r in server.requests)
    assert {"X_BEARER_TOKEN", "YOUTUBE_API_KEY", "REDDIT_CLIENT_SECRET"} <= set(leaks(requested))
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("m.db*"))
    assert stored, "the runs were recorded"
    for output in outputs:
        assert leaks(output) == [], output
    assert leaks(stored.decode("utf-8", errors="replace")) == []


def test_no_credential_is_shown_after_a_full_demo_run(tmp_path):
    workdir = tmp_path / "demo"
    result = monitor("demo", "--days", "1", "--workdir", str(workdir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "incident" in result.stdout.lower()
    files = [p for p in workdir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files)
    assert "Alerts:" in result.stdout, "the demo reached delivery (to Slack, with the token set)"
    everything = result.stdout + result.stderr + "".join(p.read_bytes().decode("utf-8", errors="replace")
                                                         for p in files)
    assert leaks(everything) == []
