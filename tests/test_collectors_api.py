"""The pieces the API collectors share: sweeps as cursors, time, counts, JSON, credentials."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from pydantic import ValidationError

from monitor import config as config_lib
from monitor import registry
from monitor.collectors.api import (
    ApiConfig, Sweep, count, dump_sweeps, env_secret, json_list, json_object, language, load_sweeps, parse_time,
    read_json, with_followers,
)
from monitor.collectors.http import Response
from monitor.errors import CollectorError, ConfigError
from monitor.models import Author, Mention

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def response(body: bytes, url: str = "https://api.example/search?key=s3cret") -> Response:
    return Response(url, 200, httpx.Headers(), body)


def test_sweep_moves_its_watermark_only_when_finished() -> None:
    sweep = Sweep(since="100")
    sweep.page_stored("150", "140")
    sweep.page_stored("139", "120")
    assert (sweep.since, sweep.until, sweep.newest) == ("100", "120", "150")
    restored = Sweep.load(sweep.dump(), "test")
    assert restored == sweep
    restored.finish()
    assert (restored.since, restored.until, restored.newest) == ("150", None, None)


def test_finishing_an_empty_sweep_keeps_the_watermark() -> None:
    sweep = Sweep(since="100")
    sweep.finish()
    assert sweep.since == "100"


def test_recent_posts_are_bounded_by_age_and_number() -> None:
    sweep = Sweep()
    posts = [(str(i), NOW - timedelta(hours=i)) for i in range(10)]
    sweep.remember(posts, NOW, hours=5, limit=3)
    assert sweep.recent_ids() == ["0", "1", "2"]
    sweep.remember([], NOW + timedelta(hours=4), hours=5, limit=3)
    assert sweep.recent_ids() == ["0", "1"]
    sweep.remember(posts, NOW, hours=0, limit=3)
    assert sweep.recent == []


def test_unreadable_cursors_start_over_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert Sweep.load("{not json", "x") == Sweep()
        assert load_sweeps('{"other": 1}', "hackernews") == {}
    assert "unreadable cursor" in caplog.text and "hackernews" in caplog.text
    sweeps = {"acme": Sweep(since="5"), "#acmefail": Sweep()}
    assert load_sweeps(dump_sweeps(sweeps), "test") == sweeps
    assert load_sweeps(None, "test") == {}


def test_times_counts_and_languages() -> None:
    assert parse_time("2024-05-01T11:10:00.000Z") == datetime(2024, 5, 1, 11, 10, tzinfo=timezone.utc)
    assert parse_time("2024-05-01T13:10:00+02:00") == datetime(2024, 5, 1, 11, 10, tzinfo=timezone.utc)
    assert parse_time(1714561800) == datetime(2024, 5, 1, 11, 10, tzinfo=timezone.utc)
    assert parse_time("yesterday") is None and parse_time(None) is None and parse_time(True) is None
    assert (count("42"), count(None), count("n/a"), count(-3)) == (42, 0, 0, 0)
    assert (count(1e300), count(float("inf")), count(2**70)) == (10**12, 0, 10**12)
    assert parse_time(1e300) is None and parse_time(float("nan")) is None
    assert (language("pt-BR"), language("en_US"), language(""), language(None)) == ("pt", "en", None, None)


def test_json_errors_name_the_source_and_hide_secrets() -> None:
    assert json_object(response(b'{"a": 1}'), "x") == {"a": 1}
    with pytest.raises(CollectorError, match="malformed JSON") as caught:
        read_json(response(b"<html>busy</html>"), "youtube")
    assert "s3cret" not in str(caught.value) and "youtube" in str(caught.value)
    with pytest.raises(CollectorError, match="expected a JSON object"):
        json_object(response(b"[1, 2]"), "x")
    with pytest.raises(CollectorError, match="malformed JSON"):
        read_json(response(b"[" * 100_000 + b"]" * 100_000), "x")


def test_one_huge_number_leaves_the_rest_of_the_body_readable() -> None:
    body = read_json(response(b'{"items": [{"likes": ' + b"9" * 5000 + b'}, {"likes": 7}]}'), "x")
    assert [count(item["likes"]) for item in body["items"]] == [0, 7]


def test_lists_in_responses_are_checked() -> None:
    assert json_list({"items": [1, 2]}, "items", "youtube") == [1, 2]
    with pytest.raises(CollectorError, match="hackernews: the search response has no 'hits' list"):
        json_list({"hits": {"a": 1}}, "hits", "hackernews", "the search response")
    with pytest.raises(CollectorError, match="youtube: the response has no 'items' list"):
        json_list({}, "items", "youtube")


def test_follower_counts_are_set_only_for_known_authors() -> None:
    def mention(handle: str) -> Mention:
        return Mention(id=f"x:{handle}", brand="acme", source="x", text="hi", created_at=NOW, collected_at=NOW,
                       author=Author(handle=handle, followers=7))

    updated = with_followers([mention("ann"), mention("bob")], {"ann": 1200, "carl": 5})
    assert [(m.author.handle, m.author.followers) for m in updated] == [("ann", 1200), ("bob", 7)]
    assert updated[0].text == "hi" and updated[0].id == "x:ann"


def test_missing_credentials_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_TOKEN", " abc ")
    assert env_secret("SOME_TOKEN", "x") == "abc"
    monkeypatch.setenv("SOME_TOKEN", "")
    with pytest.raises(ConfigError, match="x: environment variable SOME_TOKEN is not set"):
        env_secret("SOME_TOKEN", "x")


@pytest.mark.parametrize(("kind", "options"), [
    ("mastodon", {"instances": ["https://mastodon.social"]}), ("bluesky", {}), ("reddit", {}),
    ("hackernews", {}), ("youtube", {}), ("x", {}),
])
def test_every_api_source_is_registered_and_checks_its_options(kind: str, options: dict) -> None:
    plugin = registry.load(registry.COLLECTORS, kind)
    config = plugin.Config.model_validate(options)
    assert isinstance(config, ApiConfig) and config.max_pages >= 1
    with pytest.raises(ValidationError, match="max_pagez"):
        plugin.Config.model_validate({**options, "max_pagez": 3})


def test_a_config_with_every_api_source_checks_out(tmp_path) -> None:
    sources = [{"type": "mastodon", "instances": ["https://mastodon.social"]}, {"type": "bluesky", "login": True},
               {"type": "reddit", "subreddits": ["gadgets"]}, {"type": "hackernews", "tags": "story"},
               {"type": "youtube", "comments": False}, {"type": "x", "every": "15m"}]
    path = tmp_path / "monitor.yaml"
    path.write_text(json.dumps({"brands": [{"name": "Acme", "query": "acme", "sources": sources}]}))
    loaded = config_lib.load(path)
    assert [s.type for s in loaded.brands[0].sources] == ["mastodon", "bluesky", "reddit", "hackernews", "youtube", "x"]
