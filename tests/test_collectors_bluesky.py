"""The Bluesky collector against a fake XRPC server on 127.0.0.1."""

from __future__ import annotations

import copy
import json
import logging
from datetime import datetime, timezone
from typing import Any

import pytest

import collector_cases
from fake_api import FakeApi, Reply, context, drain, fixture, json_reply, fast_client
from monitor.collectors.bluesky import BlueskyCollector, BlueskyConfig, search_strings
from monitor.collectors.native_query import clauses
from monitor.errors import CollectorError
from monitor.query import Query
from recordings import recorded

SEARCH = "/xrpc/app.bsky.feed.searchPosts"
SESSION = "/xrpc/com.atproto.server.createSession"


def _at(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class FakeBluesky:
    """searchPosts (latest first, since inclusive, until exclusive, numeric cursor) and getPosts."""

    def __init__(self, api: FakeApi):
        self.posts = fixture("bluesky", "search_posts.json")["posts"]
        self.likes: dict[str, int] = {}
        self.require_auth = False
        api.route(SEARCH, self.search)
        api.route("/xrpc/app.bsky.feed.getPosts", self.get_posts)
        api.route("/xrpc/app.bsky.actor.getProfiles", self.get_profiles)
        api.route(SESSION, self.session, method="POST")

    def session(self, request: Any) -> Reply:
        body = json.loads(request.body)
        if body != {"identifier": "brandteam.bsky.social", "password": "app-pass-1"}:
            return json_reply({"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, 401)
        return json_reply(fixture("bluesky", "session.json"))

    def search(self, request: Any) -> Reply:
        if self.require_auth and request.headers.get("authorization") != "Bearer jwt-access-abc":
            return json_reply({"error": "AuthMissing", "message": "Authentication Required"}, 403)
        q = request.query
        words = [w.lower() for w in q["q"].split()]
        posts = [p for p in self.posts if all(w in p["record"]["text"].lower() for w in words)]
        posts = [p for p in posts if _at(p["record"]["createdAt"]) >= _at(q["since"])]
        if "until" in q:
            posts = [p for p in posts if _at(p["record"]["createdAt"]) < _at(q["until"])]
        size, offset = int(q["limit"]), int(q.get("cursor", "0"))
        page = posts[offset:offset + size]
        more = offset + size < len(posts)
        return json_reply({"posts": page, "hitsTotal": len(posts), **({"cursor": str(offset + size)} if more else {})})

    def get_profiles(self, request: Any) -> Reply:
        counts = {"dana.bsky.social": 15200, "lee.bsky.social": 80}
        wanted = [v for k, v in request.params if k == "actors"]
        return json_reply({"profiles": [{"did": f"did:plc:{h}", "handle": h, "followersCount": counts[h]}
                                        for h in wanted if h in counts]})

    def get_posts(self, request: Any) -> Reply:
        wanted = [v for k, v in request.params if k == "uris"]
        found = []
        for post in self.posts:
            if post["uri"] in wanted:
                post = copy.deepcopy(post)
                post["likeCount"] = self.likes.get(post["uri"], post["likeCount"])
                found.append(post)
        return json_reply({"posts": found})


@pytest.fixture
def api():
    server = FakeApi()
    yield server
    server.close()


@pytest.fixture
def fake(api: FakeApi) -> FakeBluesky:
    return FakeBluesky(api)


def make(api: FakeApi, **options: Any):
    def build(client):
        return BlueskyCollector(BlueskyConfig(base_url=api.url, pds_url=api.url, **options), client)
    return build


def test_maps_posts_with_quotes_and_languages(api: FakeApi, fake: FakeBluesky) -> None:
    mentions, _ = drain(make(api)(fast_client([])).fetch(context(), None))
    by_id = {m.id: m for m in mentions}
    assert len(by_id) == 3
    dana = by_id["bluesky:at://did:plc:dana111/app.bsky.feed.post/3ksq3dana001"]
    assert dana.author.handle == "dana.bsky.social" and dana.author.name == "Dana"
    assert (dana.engagement.likes, dana.engagement.shares, dana.engagement.replies) == (120, 48, 12)
    assert dana.url == "https://bsky.app/profile/dana.bsky.social/post/3ksq3dana001"
    assert dana.language_hint == "en" and dana.author.followers == 15200
    quote = by_id["bluesky:at://did:plc:lee111/app.bsky.feed.post/3ksq3lee0003"]
    assert quote.is_quote and quote.parent_id == dana.id
    ana = by_id["bluesky:at://did:plc:ana222/app.bsky.feed.post/3ksq3ana0002"]
    assert ana.language_hint == "pt" and ana.author.followers is None
    assert len(api.hits("/xrpc/app.bsky.actor.getProfiles")[0].params) == 3


def test_posts_are_kept_when_profiles_fail(api: FakeApi, fake: FakeBluesky, caplog: pytest.LogCaptureFixture) -> None:
    api.queue("/xrpc/app.bsky.actor.getProfiles", *[Reply(500)] * 3)
    with caplog.at_level(logging.WARNING):
        mentions, _ = drain(make(api, refresh_hours=0)(fast_client([])).fetch(context(), None))
    assert len(mentions) == 3 and all(m.author.followers is None for m in mentions)
    assert "follower counts unavailable" in caplog.text


def test_handles_become_from_and_mentions_searches() -> None:
    groups = clauses(Query.parse("@acme.com OR (acme #fail)"), "bluesky")
    assert search_strings(groups) == ["from:acme.com", "mentions:acme.com", "acme #fail"]


def test_searches_latest_since_the_lookback(api: FakeApi, fake: FakeBluesky) -> None:
    drain(make(api)(fast_client([])).fetch(context(), None))
    request = api.hits(SEARCH)[0]
    assert request.query["sort"] == "latest" and request.query["since"] == "2024-04-30T12:00:00Z"
    assert "until" not in request.query


def test_login_with_app_password(api: FakeApi, fake: FakeBluesky, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUESKY_HANDLE", "brandteam.bsky.social")
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "app-pass-1")
    fake.require_auth = True
    with pytest.raises(CollectorError, match="HTTP 403"):
        drain(make(api)(fast_client([])).fetch(context(), None))
    collector = make(api, login=True)(fast_client([]))
    mentions, cursor = drain(collector.fetch(context(), None))
    drain(collector.fetch(context(), cursor))
    assert len({m.id for m in mentions}) == 3 and len(api.hits(SESSION)) == 1


def test_expired_session_logs_in_again(api: FakeApi, fake: FakeBluesky, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUESKY_HANDLE", "brandteam.bsky.social")
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "app-pass-1")
    collector = make(api, login=True, refresh_hours=0)(fast_client([]))
    _, cursor = drain(collector.fetch(context(), None))
    api.queue(SEARCH, json_reply({"error": "ExpiredToken", "message": "Token has expired"}, 400))
    drain(collector.fetch(context(), cursor))
    assert len(api.hits(SESSION)) == 2


def test_paging_restart_and_incremental(api: FakeApi, fake: FakeBluesky) -> None:
    collector = make(api, page_size=1, max_pages=2, refresh_hours=0, overlap_seconds=0)(fast_client([]))
    batches = collector.fetch(context(), None)
    first = next(batches)
    batches.close()
    rest, cursor = drain(collector.fetch(context(), first.cursor))
    assert api.hits(SEARCH)[-2].query["until"] == "2024-05-01T11:40:01Z"
    more, cursor = drain(collector.fetch(context(), cursor))
    assert {m.id for m in first.mentions + rest + more} == {f"bluesky:{p['uri']}" for p in fake.posts}
    fake.posts.insert(0, dict(fake.posts[0], uri="at://did:plc:lee111/app.bsky.feed.post/3ksq3lee0004",
                              record=dict(fake.posts[0]["record"], createdAt="2024-05-01T11:55:00.000Z")))
    newer, _ = drain(collector.fetch(context(), cursor))
    assert "bluesky:at://did:plc:lee111/app.bsky.feed.post/3ksq3lee0004" in {m.id for m in newer}


def test_engagement_refresh(api: FakeApi, fake: FakeBluesky) -> None:
    collector = make(api)(fast_client([]))
    _, cursor = drain(collector.fetch(context(), None))
    uri = "at://did:plc:dana111/app.bsky.feed.post/3ksq3dana001"
    fake.likes[uri] = 7000
    refreshed, _ = drain(collector.fetch(context(), cursor))
    assert 7000 in [m.engagement.likes for m in refreshed if m.id == f"bluesky:{uri}"]
    assert api.hits("/xrpc/app.bsky.feed.getPosts")


def test_empty_results(api: FakeApi, fake: FakeBluesky) -> None:
    api.queue(SEARCH, json_reply(fixture("bluesky", "empty.json")))
    mentions, cursor = drain(make(api, refresh_hours=0)(fast_client([])).fetch(context(), None))
    assert mentions == [] and cursor


def test_missing_fields(api: FakeApi, fake: FakeBluesky, caplog: pytest.LogCaptureFixture) -> None:
    api.queue(SEARCH, json_reply(fixture("bluesky", "missing_fields.json")))
    with caplog.at_level(logging.WARNING):
        mentions, _ = drain(make(api, refresh_hours=0)(fast_client([])).fetch(context(), None))
    assert [m.id for m in mentions] == ["bluesky:at://did:plc:x/app.bsky.feed.post/3ksq3xxxx009"]
    assert mentions[0].created_at == context().now and "skipped" in caplog.text


def test_error_body_without_posts(api: FakeApi, fake: FakeBluesky) -> None:
    api.queue(SEARCH, json_reply({"error": "InvalidRequest", "message": "bad q"}))
    with pytest.raises(CollectorError, match="no 'posts'"):
        drain(make(api)(fast_client([])).fetch(context(), None))


def test_huge_page_is_refused(api: FakeApi, fake: FakeBluesky) -> None:
    fake.posts = fake.posts * 200
    client = fast_client([])
    client.max_bytes = 50_000
    with pytest.raises(CollectorError, match="larger than"):
        drain(make(api)(client).fetch(context(), None))


@pytest.mark.parametrize("case", collector_cases.ALL, ids=lambda c: c.__name__)
def test_failure_behaviour(case, api: FakeApi, fake: FakeBluesky) -> None:
    case(make(api), api, SEARCH, context())


def _replay(api: FakeApi, body: dict[str, Any], query: str):
    """The recorded body as the first search page, an empty page after its cursor."""
    api.route(SEARCH, lambda r: json_reply({"posts": []} if "cursor" in r.query else body))
    api.route("/xrpc/app.bsky.actor.getProfiles", lambda r: json_reply(recorded("bluesky", "getProfile.json")))
    run = context(query, now=datetime(2025, 5, 20, tzinfo=timezone.utc))
    return (*drain(make(api, refresh_hours=0, lookback_hours=24 * 365)(fast_client([])).fetch(run, None)), run)


def _check_every_field(post: dict[str, Any], mention: Any) -> None:
    record = post["record"]
    assert mention.text == record["text"] and mention.source == "bluesky"
    assert mention.created_at == datetime.fromisoformat(record["createdAt"].replace("Z", "+00:00"))
    assert mention.author.handle == post["author"]["handle"]
    assert mention.author.name == (post["author"].get("displayName") or None)
    assert mention.url == f"https://bsky.app/profile/{post['author']['handle']}/post/{post['uri'].rsplit('/', 1)[1]}"
    assert (mention.engagement.likes, mention.engagement.shares, mention.engagement.replies) == (
        post["likeCount"], post["repostCount"] + post["quoteCount"], post["replyCount"])
    assert mention.language_hint == (record["langs"][0] if record.get("langs") else None)
    reply = record.get("reply")
    assert mention.reply_to == (f"bluesky:{reply['parent']['uri']}" if reply else None)
    assert mention.conversation == f"bluesky:{reply['root']['uri'] if reply else post['uri']}"
    embed = record.get("embed") or {}
    quoted = {"app.bsky.embed.record": lambda e: e["record"]["uri"],
              "app.bsky.embed.recordWithMedia": lambda e: e["record"]["record"]["uri"]}.get(embed.get("$type"))
    assert mention.parent_id == (f"bluesky:{quoted(embed)}" if quoted else None)
    assert mention.is_quote == bool(quoted) and not mention.is_repost
    assert mention.labels == [label["val"] for label in post["labels"]]


def test_replay_a_recorded_search_every_field_and_the_query(api: FakeApi) -> None:
    body = recorded("bluesky", "searchPosts.json")
    mentions, cursor, run = _replay(api, body, "rstats")
    by_id = {m.id: m for m in mentions}
    assert len(by_id) == len(mentions) == len(body["posts"]) and run.unreadable.count == 0
    for post in body["posts"]:
        _check_every_field(post, by_id[f"bluesky:{post['uri']}"])
    assert sum(bool(m.reply_to) for m in mentions) == sum("reply" in p["record"] for p in body["posts"]) > 0
    first, second = api.hits(SEARCH)
    assert second.query["cursor"] == body["cursor"] and first.query["sort"] == "latest"
    assert json.loads(cursor)["sweeps"]["rstats"]["since"] is not None
    query = Query.parse("rstats")
    assert [bool(query.match(m.text, m.author.handle)) for m in mentions] == [
        bool(query.match(p["record"]["text"], p["author"]["handle"])) for p in body["posts"]]
    followers = {p["handle"]: p["followersCount"] for p in recorded("bluesky", "getProfile.json")["profiles"]}
    assert all(m.author.followers == followers.get(m.author.handle) for m in mentions)


def test_replay_recorded_quotes(api: FakeApi) -> None:
    body = recorded("bluesky", "getQuotes.json")
    mentions, _, _ = _replay(api, {"posts": body["posts"]}, "rstats")
    assert len(mentions) == len(body["posts"]) == 2
    for post, mention in zip(body["posts"], mentions):
        _check_every_field(post, mention)
        assert mention.is_quote and mention.parent_id == f"bluesky:{body['uri']}"


def test_inflected_forms_get_searches_of_their_own(api: FakeApi, fake: FakeBluesky,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    from dataclasses import replace

    from monitor.collectors.bluesky import MAX_FORM_SEARCHES

    polish = replace(context("ryanair"), languages=("pl", "hu"), source="bsky-forms")
    with caplog.at_level(logging.WARNING):
        drain(make(api)(fast_client([])).fetch(polish, None))
    searched = list(dict.fromkeys(r.query["q"] for r in api.hits(SEARCH)))
    assert searched[0] == "ryanair" and len(searched) == 1 + MAX_FORM_SEARCHES
    assert {"ryanaira", "ryanairral", "ryanairu"} <= set(searched)
    assert any("Left out:" in r.getMessage() and "ryanairnál" in r.getMessage() for r in caplog.records)
