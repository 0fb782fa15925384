"""``monitor check-config`` refuses every broken config that ``monitor run`` would, naming the
YAML path and line."""

import copy
import re

import pytest
import yaml

from monitor import config as config_lib
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.config_checks import expanded_size, secret_warnings, url_secret
from monitor.errors import ConfigError

BASE = {
    "storage": {"path": "m.db"},
    "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS)},
    "brands": [{"name": "Acme", "query": "acme", "sources": [{"type": "file", "path": "feed.jsonl"}]}],
}


def changed(*edits):
    """BASE with each ``(path, value)`` set (a path of keys and indexes; value None deletes)."""
    data = copy.deepcopy(BASE)
    for path, value in edits:
        node = data
        for key in path[:-1]:
            node = node[key]
        if value is None:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


SOURCE = ("brands", 0, "sources", 0)
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) + "brands: []\n"

BROKEN = [
    ("brands: [", "not valid YAML at line 1", None),
    ("- just\n- a list\n", "expected a mapping", None),
    (changed((("brands",), None)), "Field required", "brands"),
    (changed((("brands",), [])), "at least 1 item", "brands (line"),
    (changed(((*SOURCE[:2], "name"), None)), "Field required", "brands[0].name"),
    (changed((("brands", 0, "query"), "(acme OR")), "expected a term but found the end", "brands[0] (line"),
    (changed((("brands", 0, "query"), "acme OR")), "expected a term", "brands[0] (line"),
    (changed((("brands", 0, "query"), '"unclosed')), "unclosed quote", "brands[0] (line"),
    (changed((("brands", 0, "query"), "acme )")), "unexpected ')'", "brands[0] (line"),
    (changed((("brands", 0, "query"), "acme OR -refund"), (SOURCE, {"type": "x"})), "cannot be searched on x",
     "brands[0].sources[0].type (line"),
    (changed((("brands", 0, "query"), "-acme"), (SOURCE, {"type": "bluesky"})), "cannot be searched on bluesky",
     "brands[0].sources[0].type (line"),
    (changed(((*SOURCE, "type"), "pager")), "unknown collector 'pager'", "brands[0].sources[0].type (line"),
    (changed((("storage", "backend"), "postgres")), "unknown store 'postgres' (known: elasticsearch, sqlite)",
     "storage.backend (line"),
    (changed((("alerts", "notifier"), "pager")), "unknown notifier 'pager'", "alerts.notifier (line"),
    (changed(((*SOURCE, "every"), "0s")), "must be longer than 0s", "brands[0].sources[0].every (line"),
    (changed(((*SOURCE, "every"), -5)), "must be longer than 0s", "brands[0].sources[0].every (line"),
    (changed(((*SOURCE, "every"), "soon")), "is not a duration", "brands[0].sources[0].every (line"),
    (changed((("detection",), {"bucket": "0s"})), "must be longer than 0s", "detection.bucket (line"),
    (changed((("detection",), {"lag": -60})), "cannot be negative", "detection.lag (line"),
    (changed((("detection",), {"window": 0})), "greater than or equal to 1", "detection.window (line"),
    (changed((("detection",), {"surge": {"windows": []}})), "at least 1 item", "detection.surge.windows (line"),
    (changed((("detection",), {"viral": {"lookback": "0m"}})), "must be longer than 0s",
     "detection.viral.lookback (line"),
    (changed((("nlp",), {"backend": "gpt"})), "Input should be 'auto'", "nlp.backend (line"),
    (changed((("nlp",), {"dtype": "float16", "quantize": True})), "int8 quantization", "nlp.quantize (line"),
    (changed((("alerts", "playbooks_dir"), "no-such-folder")), "playbook folder does not exist",
     "alerts.playbooks_dir (line"),
    (changed((("storage", "path"), "/proc/nope/t.db")), "/proc/nope/t.db cannot be created", "storage.path (line"),
    (changed((("slack",), {"token": "xoxb-123-456"})), "secrets are read from the environment only",
     "slack.token (line"),
    (changed((("storage",), {"backend": "elasticsearch", "url": "https://elastic:hunter2@es.example.com:9200"})),
     "a URL with a user name or password", "storage.url (line"),
    (changed((SOURCE, {"type": "rss", "url": "https://example.com/feed?token=abc123"})),
     "a URL with a secret parameter", "brands[0].sources[0].url (line"),
    (changed((("slack",), {"base_url": "https://hooks.slack.com/services/T000/B000/XXXX"})), "a Slack webhook URL",
     "slack.base_url (line"),
    (changed((("alert",), {"cooldown": "1h"})), "unknown section 'alert' (settings: timezone, storage, workers,", "alert (line"),
    (changed((("brands", 0, "sources"), [{"type": "file", "path": "a"}, {"type": "file", "path": "b"}])),
     "two sources share the name 'file'", "brands[0].sources (line"),
    (changed((SOURCE, {"type": "rss"})), "Field required", "brands[0].sources[0].url (line"),
    (changed((("slack",), {"interactive_port": 70000})), "less than or equal to 65535",
     "slack.interactive_port (line"),
    (changed((("care",), {"templates_dir": "no-such-folder"})), "answer template folder", "care.templates_dir (line"),
    (changed((("care",), {"rules": [{"name": "q", "action": "escalate"}]})), "Input should be 'reply' or 'ignore'",
     "care.rules[0].action (line"),
    (BOMB, "aliases expand to", None),
    (changed((("slack",), {"interactivity": "socket", "app_token_env": "MONITOR_TEST_UNSET_APP_TOKEN"})),
     "Socket Mode needs the app-level token (xapp-…); set MONITOR_TEST_UNSET_APP_TOKEN", "slack.interactivity"),
    (changed((("slack",), {"interactive_port": 3000, "signing_secret_env": "MONITOR_TEST_UNSET_SECRET"})),
     "HTTP endpoint needs the signing secret; set MONITOR_TEST_UNSET_SECRET", "slack.interactivity"),
]


@pytest.mark.parametrize(("text", "message", "where"), BROKEN, ids=[f"case{i}" for i in range(len(BROKEN))])
def test_each_broken_config_is_refused_with_its_path_and_line(tmp_path, text, message, where):
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config_lib.check(path)
    assert caught.value.exit_code == 2
    assert message in str(caught.value)
    if where:
        assert where in str(caught.value)


def test_the_table_is_large_enough_and_the_base_config_is_valid(tmp_path):
    assert len(BROKEN) >= 30
    path = tmp_path / "monitor.yaml"
    path.write_text(changed(), encoding="utf-8")
    assert config_lib.check(path).brands[0].name == "Acme"


def test_the_alias_bomb_is_refused_quickly(tmp_path):
    path = tmp_path / "monitor.yaml"
    path.write_text(BOMB, encoding="utf-8")
    assert expanded_size(yaml.compose(BOMB, Loader=yaml.SafeLoader)) > 9 ** 9
    with pytest.raises(ConfigError, match=re.escape("more than 50,000")):
        config_lib.load(path)


def test_a_few_shared_anchors_are_fine(tmp_path):
    text = changed().replace("brands:", "defaults: &src {type: file, path: feed.jsonl}\nbrands:")
    assert "&src" in text
    assert expanded_size(yaml.compose(text, Loader=yaml.SafeLoader)) < 100


@pytest.mark.parametrize(("value", "secret"), [
    ("https://es.example.com:9200", False),
    ("http://127.0.0.1:9250/", False),
    ("https://user:pw@es.example.com", True),
    ("https://token@host.example/x", True),
    ("see https://example.com/rss?q=acme&key=abc", True),
    ("https://example.com/rss?q=acme", False),
    ("https://hooks.slack.com/services/T0/B0/XYZ", True),
    ("not a url at all", False),
])
def test_urls_with_credentials_are_recognised(value, secret):
    assert (url_secret(value) is not None) is secret


SOURCES_NEEDING_SECRETS = """
brands:
  - name: Aurora Air
    sources:
      - type: x_stream
      - {type: bluesky, login: true}
      - {type: bluesky, name: public}
      - {type: youtube, enabled: false}
      - {type: reddit, client_id_env: AURORA_REDDIT_ID, client_secret_env: AURORA_REDDIT_SECRET}
      - type: jetstream
"""


def test_sources_whose_credentials_are_not_in_the_environment_are_named_with_their_line(tmp_path, monkeypatch):
    for variable in ("X_BEARER_TOKEN", "BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD", "AURORA_REDDIT_ID",
                     "AURORA_REDDIT_SECRET", "YOUTUBE_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AURORA_REDDIT_ID", "id")
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "  ")
    file = tmp_path / "monitor.yaml"
    file.write_text(SOURCES_NEEDING_SECRETS)
    warnings = secret_warnings(config_lib.parse(SOURCES_NEEDING_SECRETS), file)
    assert warnings == [
        "brands[0].sources[0] (line 5): Aurora Air/x_stream: environment variable X_BEARER_TOKEN is not set; "
        "this source fails on every run until it is",
        "brands[0].sources[1] (line 6): Aurora Air/bluesky: environment variable BLUESKY_HANDLE is not set; "
        "this source fails on every run until it is",
        "brands[0].sources[1] (line 6): Aurora Air/bluesky: environment variable BLUESKY_APP_PASSWORD is not set; "
        "this source fails on every run until it is",
        "brands[0].sources[4] (line 9): Aurora Air/reddit: environment variable AURORA_REDDIT_SECRET is not set; "
        "this source fails on every run until it is",
    ]
    monkeypatch.setenv("X_BEARER_TOKEN", "t")
    monkeypatch.setenv("BLUESKY_HANDLE", "h")
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "p")
    monkeypatch.setenv("AURORA_REDDIT_SECRET", "s")
    assert secret_warnings(config_lib.parse(SOURCES_NEEDING_SECRETS), file) == []
