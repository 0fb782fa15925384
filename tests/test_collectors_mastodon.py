"""The Mastodon collector against two fake instances on 127.0.0.1."""

from __future__ import annotations

import copy
import logging
from datetime import datetime, timezone
from typing import Any

import pytest

import collector_cases
from fake_api import NOW, FakeApi, Reply, context, drain, fixture, json_reply, fast_client
from monitor.collectors.mastodon import MastodonCollector, MastodonConfig, snowflake
from monitor.errors import CollectorError, ConfigError
from recordings import recorded

TAG = "/api/v1/timelines/tag/acmefail"
SEARCH = "/api/v2/search"


def newer_page(statuses: list[dict[str, Any]], min_id: str, limit: int) -> list[dict[str, Any]]:
    """What ``min_id`` returns: the ``limit`` statuses immediately newer than it, newest first."""
    newer = sorted((s for s in statuses if int(s["id"]) > int(min_id)), key=lambda s: int(s["id"]))
    return list(reversed(newer[:limit]))


class FakeInstance:
    def __init__(self, api: FakeApi):
        self.tagged = fixture("mastodon", "tag_timeline.json")
        self.searchable = fixture("mastodon", "search.json")["statuses"]
        self.favourites: dict[str, int] = {}
        api.route(TAG, lambda r: json_reply(newer_page(self.tagged, r.query["min_id"], int(r.query["limit"]))))
        api.route(SEARCH, self.search)
        api.route("/api/v1/statuses", self.statuses)
        api.route("/api/v1/accounts/lookup", self.lookup)
        api.route("/api/v1/accounts/109000000000000002/statuses",
                  lambda r: json_reply(newer_page(self.tagged[1:], r.query["min_id"], int(r.query["limit"]))))

    def lookup(self, request: Any) -> Reply:
        if request.query["acct"] != "dana":
            return json_reply({"error": "Record not found"}, 404)
        return json_reply(self.tagged[1]["account"])

    def search(self, request: Any) -> Reply:
        if request.headers.get("authorization") != "Bearer masto-token":
            return json_reply({"error": "The access token is invalid"}, 401)
        page = newer_page(self.searchable, request.query["min_id"], int(request.query["limit"]))
        return json_reply({"accounts": [], "hashtags": [], "statuses": page})

    def statuses(self, request: Any) -> Reply:
        wanted = [v for k, v in request.params if k == "id[]"]
        found = []
        for status in self.tagged:
            if status["id"] in wanted:
                status = copy.deepcopy(status)
                status["favourites_count"] = self.favourites.get(status["id"], status["favourites_count"])
                found.append(status)
        return json_reply(found)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MASTODON_TOKEN", "masto-token")
    server = FakeApi()
    yield server
    server.close()


@pytest.fixture
def fake(api: FakeApi) -> FakeInstance:
    return FakeInstance(api)


def make(api: FakeApi, *more: str, **options: Any):
    def build(client):
        return MastodonCollector(MastodonConfig(instances=[api.url, *more], **options), client)
    return build


def test_hashtag_timeline_maps_statuses(api: FakeApi, fake: FakeInstance) -> None:
    mentions, _ = drain(make(api)(fast_client([])).fetch(context("#acmefail"), None))
    by_id = {m.id: m for m in mentions}
    jo = by_id["mastodon:https://chaos.social/users/jo/statuses/112367000000000003"]
    assert jo.text == "Mein #acmefail Widget ist explodiert & keiner hilft"
    assert jo.author.handle == "jo@chaos.social" and jo.author.followers == 2300
    assert (jo.engagement.likes, jo.engagement.shares, jo.engagement.replies) == (19, 7, 2)
    assert jo.url == "https://chaos.social/@jo/112367000000000003" and jo.language_hint == "de"
    dana = by_id["mastodon:https://mastodon.social/users/dana/statuses/112366000000000002"]
    assert dana.text.startswith("product rant My Acme widget")
    assert api.hits(SEARCH) == []
    assert api.hits(TAG)[0].query["min_id"] == snowflake(context().now.timestamp() - 86400)


def test_search_needs_the_token_and_maps_reblogs(api: FakeApi, fake: FakeInstance,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    mentions, _ = drain(make(api, refresh_hours=0)(fast_client([])).fetch(context("acme"), None))
    boost, original = mentions
    assert boost.is_repost and boost.parent_id == original.id
    assert original.id == "mastodon:https://mastodon.social/users/dana/statuses/112366000000000002"
    assert boost.text == original.text == "My Acme widget exploded in the kitchen #acmefail"
    assert boost.author.handle == "sam" and original.author.handle == "dana"
    assert boost.engagement.total == 0 and original.engagement.shares == 46 and not original.is_repost
    request = api.hits(SEARCH)[0]
    assert request.query["type"] == "statuses" and request.query["q"] == "acme"
    monkeypatch.delenv("MASTODON_TOKEN")
    with pytest.raises(ConfigError, match="MASTODON_TOKEN"):
        drain(make(api)(fast_client([])).fetch(context("acme"), None))


def test_a_handle_reads_the_accounts_posts(api: FakeApi, fake: FakeInstance) -> None:
    collector = make(api, refresh_hours=0)(fast_client([]))
    mentions, _ = drain(collector.fetch(context("@dana"), None))
    assert "mastodon:https://mastodon.social/users/dana/statuses/112366000000000002" in {m.id for m in mentions}
    assert api.hits(SEARCH)[0].query["q"] == "dana"
    drain(collector.fetch(context("@dana"), None))
    assert len(api.hits("/api/v1/accounts/lookup")) == 1
    with pytest.raises(CollectorError, match="has no account 'nobody'"):
        drain(collector.fetch(context("@nobody"), None))


def test_several_instances_and_one_id_per_post(api: FakeApi, fake: FakeInstance) -> None:
    other = FakeApi()
    try:
        FakeInstance(other)
        mentions, cursor = drain(make(api, other.url)(fast_client([])).fetch(context("#acmefail"), None))
        assert other.hits(TAG) and len({m.id for m in mentions}) == 2
        assert api.url in cursor and other.url in cursor
    finally:
        other.close()


def test_pages_forward_bounded_and_restartable(api: FakeApi, fake: FakeInstance) -> None:
    base = dict(fake.tagged[1])
    fake.tagged = [dict(base, id=str(112366000000000000 + i), uri=f"https://m.example/s/{i}") for i in range(1, 8)]
    collector = make(api, page_size=2, max_pages=2, refresh_hours=0)(fast_client([]))
    batches = collector.fetch(context("#acmefail"), None)
    first = next(batches)
    batches.close()
    seen = [m.id for m in first.mentions]
    cursor = first.cursor
    for _ in range(3):
        more, cursor = drain(collector.fetch(context("#acmefail"), cursor))
        seen += [m.id for m in more]
    assert len(seen) == len(set(seen)) == 7
    assert drain(collector.fetch(context("#acmefail"), cursor))[0] == []


def test_engagement_refresh(api: FakeApi, fake: FakeInstance) -> None:
    collector = make(api)(fast_client([]))
    _, cursor = drain(collector.fetch(context("#acmefail"), None))
    fake.favourites["112366000000000002"] = 4000
    refreshed, _ = drain(collector.fetch(context("#acmefail"), cursor))
    assert 4000 in [m.engagement.likes for m in refreshed]


def test_refresh_failure_does_not_fail_the_run(api: FakeApi, fake: FakeInstance,
                                               caplog: pytest.LogCaptureFixture) -> None:
    collector = make(api)(fast_client([]))
    _, cursor = drain(collector.fetch(context("#acmefail"), None))
    api.queue("/api/v1/statuses", Reply(404, b'{"error": "Record not found"}'))
    with caplog.at_level(logging.WARNING):
        drain(collector.fetch(context("#acmefail"), cursor))
    assert "engagement refresh" in caplog.text


def test_empty_results(api: FakeApi, fake: FakeInstance) -> None:
    api.queue(TAG, json_reply(fixture("mastodon", "empty.json")))
    mentions, cursor = drain(make(api)(fast_client([])).fetch(context("#acmefail"), None))
    assert mentions == [] and cursor


def test_missing_fields(api: FakeApi, fake: FakeInstance, caplog: pytest.LogCaptureFixture) -> None:
    api.queue(TAG, json_reply(fixture("mastodon", "missing_fields.json")))
    with caplog.at_level(logging.WARNING):
        mentions, cursor = drain(make(api, refresh_hours=0)(fast_client([])).fetch(context("#acmefail"), None))
    assert [m.id for m in mentions] == ["mastodon:https://mastodon.social/users/x/statuses/112367000000000009"]
    assert "112367000000000009" in cursor and "skipped" in caplog.text


def test_error_object_instead_of_a_list(api: FakeApi, fake: FakeInstance) -> None:
    api.queue(TAG, json_reply({"error": "This method requires an authenticated user"}))
    with pytest.raises(CollectorError, match="without a list of statuses"):
        drain(make(api)(fast_client([])).fetch(context("#acmefail"), None))


def test_huge_page_is_refused(api: FakeApi, fake: FakeInstance) -> None:
    api.queue(TAG, json_reply(fake.tagged * 500))
    client = fast_client([])
    client.max_bytes = 100_000
    with pytest.raises(CollectorError, match="larger than"):
        drain(make(api, page_size=40)(client).fetch(context("#acmefail"), None))


@pytest.mark.parametrize("case", collector_cases.ALL, ids=lambda c: c.__name__)
def test_failure_behaviour(case, api: FakeApi, fake: FakeInstance) -> None:
    case(make(api), api, TAG, context("#acmefail"))


def _recorded_statuses() -> list[dict[str, Any]]:
    """A hashtag toot, a boost, a quote and the quoted toot, as recorded (newest first)."""
    found = [recorded("mastodon", name) for name in ("reblog/1.body", "quote/1.body", "quote/3.body")]
    found += recorded("mastodon", "hashtag/2.body")
    return sorted(found, key=lambda s: -int(s["id"]))


RECORDED_AT = datetime(2026, 8, 1, 14, tzinfo=timezone.utc)


def _replay(api: FakeApi, statuses: list[dict[str, Any]], now: datetime = RECORDED_AT):
    api.route(TAG, lambda r: json_reply(newer_page(statuses, r.query["min_id"], int(r.query["limit"]))))
    run = context("#acmefail", now=now)
    return (*drain(make(api, refresh_hours=0)(fast_client([])).fetch(run, None)), run)


def _check_status(status: dict[str, Any], mention: Any) -> None:
    shown = status["reblog"] or status
    account = status["account"]
    assert mention.created_at == datetime.fromisoformat(status["created_at"].replace("Z", "+00:00"))
    assert (mention.author.handle, mention.author.name) == (account["acct"], account["display_name"] or None)
    assert mention.author.followers == account["followers_count"] and mention.url == status["url"]
    assert mention.language_hint == shown["language"]
    assert mention.is_repost == (status["reblog"] is not None)
    assert mention.is_quote == bool(shown.get("quote")) and mention.reply_to is None
    assert mention.labels == (["sensitive"] if shown["sensitive"] else [])
    assert mention.text and "RE:" not in mention.text and "<" not in mention.text
    expected = (0, 0, 0) if status["reblog"] else (
        status["favourites_count"], status["reblogs_count"] + status["quotes_count"], status["replies_count"])
    assert (mention.engagement.likes, mention.engagement.shares, mention.engagement.replies) == expected


@pytest.mark.parametrize("name", [f"{folder}/{n}.body" for folder in ("hashtag", "quote", "reblog")
                                  for n in range(4)])
def test_replay_every_recorded_status_body(name: str, api: FakeApi, fake: FakeInstance) -> None:
    body = recorded("mastodon", name)
    statuses = [body] if "uri" in body else []
    mentions, _, run = _replay(api, statuses)
    assert len(mentions) == len(statuses) + bool(statuses and statuses[0]["reblog"]) and run.unreadable.count == 0
    for status, mention in zip(statuses, mentions):
        _check_status(status, mention)


@pytest.mark.parametrize("name", ["search/0.body", "search/1.body", "search/2.body"])
def test_replay_recorded_searches(name: str, api: FakeApi, fake: FakeInstance) -> None:
    body = recorded("mastodon", name)
    api.route(SEARCH, lambda r: json_reply(body))
    mentions, cursor = drain(make(api, refresh_hours=0)(fast_client([])).fetch(context("lennon"), None))
    assert len(mentions) == len(body["statuses"]) and cursor
    assert api.hits(SEARCH)[0].query["type"] == "statuses"


def test_replay_recorded_statuses_every_field(api: FakeApi, fake: FakeInstance) -> None:
    statuses = _recorded_statuses()
    mentions, cursor, run = _replay(api, statuses)
    by_id = {m.id: m for m in mentions}
    assert run.unreadable.count == 0
    for status in statuses:
        _check_status(status, by_id[f"mastodon:{status['uri']}"])
    hashtag, boosting, quoting, quoted = statuses
    quote = by_id[f"mastodon:{quoting['uri']}"]
    assert quote.text == "yoooooooo"
    assert quote.parent_id == f"mastodon:{quoting['quote']['quoted_status']['uri']}" == f"mastodon:{quoted['uri']}"
    assert by_id[f"mastodon:{quoted['uri']}"].engagement.shares == 1
    boost = by_id[f"mastodon:{boosting['uri']}"]
    original = by_id[f"mastodon:{boosting['reblog']['uri']}"]
    assert boost.parent_id == original.id and boost.text == original.text == "Toot!"
    assert original.created_at < boost.created_at and not original.is_repost
    assert by_id[f"mastodon:{hashtag['uri']}"].text == "#hoot (hashtag toot)"
    assert len(mentions) == len(by_id) == len(statuses) + 1
    assert statuses[0]["id"] in cursor


def test_replies_link_to_their_parents_uri_on_the_page_or_looked_up(api: FakeApi, fake: FakeInstance) -> None:
    newest, older = fake.tagged
    reply = dict(copy.deepcopy(newest), id="112368000000000005", uri="https://chaos.social/users/jo/statuses/5",
                 in_reply_to_id=older["id"])
    far = dict(copy.deepcopy(newest), id="112368000000000006", uri="https://chaos.social/users/jo/statuses/6",
               in_reply_to_id=newest["id"])
    mentions, _, _ = _replay(api, [far, reply, older], NOW)
    by_id = {m.id: m for m in mentions}
    assert by_id[f"mastodon:{reply['uri']}"].reply_to == f"mastodon:{older['uri']}"
    assert by_id[f"mastodon:{far['uri']}"].reply_to == f"mastodon:{newest['uri']}"
    assert by_id[f"mastodon:{older['uri']}"].reply_to is None
    assert [[v for k, v in r.params if k == "id[]"] for r in api.hits("/api/v1/statuses")] == [[newest["id"]]]
    api.queue("/api/v1/statuses", Reply(500), Reply(500), Reply(500))
    mentions, _, run = _replay(api, [far], NOW)
    assert mentions[0].reply_to is None and run.unreadable.count == 0


def test_inflected_forms_get_full_text_searches_of_their_own(api: FakeApi, fake: FakeInstance) -> None:
    from dataclasses import replace

    from monitor.collectors.mastodon import MAX_FORM_SEARCHES

    polish = replace(context("ryanair"), languages=("pl",), source="masto-forms")
    drain(make(api, refresh_hours=0)(fast_client([])).fetch(polish, None))
    searched = list(dict.fromkeys(r.query["q"] for r in api.hits(SEARCH)))
    assert searched == ["ryanair", "ryanaira", "ryanairu", "ryanairowi", "ryanairem"][:1 + MAX_FORM_SEARCHES]
