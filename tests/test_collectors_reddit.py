"""The Reddit collector against a fake OAuth + search API on 127.0.0.1."""

from __future__ import annotations

import base64
import copy
import json
import logging
from datetime import datetime, timezone
from typing import Any

import pytest

import collector_cases
from fake_api import FakeApi, Reply, context, drain, fixture, json_reply, fast_client
from monitor.collectors.reddit import RedditCollector, RedditConfig
from monitor.errors import CollectorError
from monitor.query import Query
from recordings import recorded

SEARCH = "/search"
TOKEN_PATH = "/api/v1/access_token"


class FakeReddit:
    """``sort=new`` search over a list of posts, newest first, paged with ``after``."""

    def __init__(self, api: FakeApi):
        self.posts = [c["data"] for c in fixture("reddit", "search_new.json")["data"]["children"]]
        self.scores: dict[str, int] = {}
        api.route(TOKEN_PATH, self.token, method="POST")
        api.route(SEARCH, self.search)
        api.route("/r/gadgets+news/search", self.search)
        api.route("/api/info", self.info)

    def token(self, request: Any) -> Reply:
        expected = base64.b64encode(b"client-1:shh").decode()
        form_ok = request.form() == {"grant_type": "client_credentials"}
        if request.headers.get("authorization") != f"Basic {expected}" or not form_ok:
            return json_reply({"error": "invalid_grant"}, 401)
        return json_reply(fixture("reddit", "token.json"))

    def _authorised(self, request: Any) -> bool:
        return request.headers.get("authorization") == "Bearer app-token-abc"

    def search(self, request: Any) -> Reply:
        if not self._authorised(request):
            return json_reply({"message": "Unauthorized", "error": 401}, 401)
        posts = self.posts
        if "after" in request.query:
            names = [f"t3_{p['id']}" for p in posts]
            posts = posts[names.index(request.query["after"]) + 1:] if request.query["after"] in names else []
        size = int(request.query["limit"])
        page = posts[:size]
        after = f"t3_{page[-1]['id']}" if len(posts) > size else None
        return json_reply({"kind": "Listing", "data": {"after": after, "before": None,
                                                       "children": [{"kind": "t3", "data": p} for p in page]}})

    def info(self, request: Any) -> Reply:
        wanted = request.query["id"].split(",")
        found = []
        for post in self.posts:
            if f"t3_{post['id']}" in wanted:
                post = copy.deepcopy(post)
                post["score"] = self.scores.get(post["id"], post.get("score", 0))
                found.append({"kind": "t3", "data": post})
        return json_reply({"kind": "Listing", "data": {"after": None, "children": found}})


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REDDIT_CLIENT_ID", "client-1")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "shh")
    server = FakeApi()
    yield server
    server.close()


@pytest.fixture
def fake(api: FakeApi) -> FakeReddit:
    return FakeReddit(api)


def make(api: FakeApi, **options: Any):
    def build(client):
        return RedditCollector(RedditConfig(base_url=api.url, auth_url=api.url + TOKEN_PATH, **options), client)
    return build


def test_maps_posts(api: FakeApi, fake: FakeReddit) -> None:
    mentions, _ = drain(make(api)(fast_client([])).fetch(context(), None))
    by_id = {m.id: m for m in mentions}
    assert set(by_id) == {"reddit:1cfz0d4", "reddit:1cfz0c3", "reddit:1cfz0b2", "reddit:1cfz0a1"}
    post = by_id["reddit:1cfz0a1"]
    assert post.title == "My Acme widget exploded in the kitchen"
    assert post.text == "My Acme widget exploded in the kitchen\nPhotos in the comments. Nobody hurt."
    assert post.url == "https://www.reddit.com/r/gadgets/comments/1cfz0a1/my_acme_widget_exploded/"
    assert post.author.handle == "dana"
    assert (post.engagement.likes, post.engagement.shares, post.engagement.replies) == (1200, 4, 310)
    assert post.created_at.isoformat() == "2024-05-01T10:40:00+00:00"
    crosspost = by_id["reddit:1cfz0c3"]
    assert crosspost.is_repost and crosspost.parent_id == "reddit:1cfz0a1" and crosspost.author.handle is None


def test_token_is_fetched_once_and_used(api: FakeApi, fake: FakeReddit) -> None:
    collector = make(api)(fast_client([]))
    _, cursor = drain(collector.fetch(context("acme -refund"), None))
    drain(collector.fetch(context("acme -refund"), cursor))
    assert len(api.hits(TOKEN_PATH)) == 1
    search = api.hits(SEARCH)[0]
    assert search.query["q"] == "acme" and search.query["sort"] == "new" and search.query["raw_json"] == "1"


def test_subreddits_restrict_the_search(api: FakeApi, fake: FakeReddit) -> None:
    mentions, _ = drain(make(api, subreddits=["gadgets", "r/news"])(fast_client([])).fetch(context(), None))
    assert mentions and api.hits("/r/gadgets+news/search")[0].query["restrict_sr"] == "1"


def test_bad_credentials_fail_clearly(api: FakeApi, fake: FakeReddit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "wrong")
    with pytest.raises(CollectorError, match="HTTP 401"):
        drain(make(api)(fast_client([])).fetch(context(), None))


def test_incremental_paging_bounded_and_restartable(api: FakeApi, fake: FakeReddit) -> None:
    collector = make(api, page_size=1, max_pages=2, refresh_hours=0)(fast_client([]))
    batches = collector.fetch(context(), None)
    first = next(batches)
    batches.close()
    rest, cursor = drain(collector.fetch(context(), first.cursor))
    assert len(rest) == 2
    fake.posts.insert(0, dict(fake.posts[0], id="1cfz0f9", title="acme is back"))
    more, cursor = drain(collector.fetch(context(), cursor))
    newest, cursor = drain(collector.fetch(context(), cursor))
    ids = [m.id for m in first.mentions + rest + more + newest]
    assert len(ids) == len(set(ids)) == 5
    assert drain(collector.fetch(context(), cursor))[0] == []


def test_engagement_refresh(api: FakeApi, fake: FakeReddit) -> None:
    collector = make(api)(fast_client([]))
    _, cursor = drain(collector.fetch(context(), None))
    fake.scores["1cfz0a1"] = 9000
    refreshed, _ = drain(collector.fetch(context(), cursor))
    assert [m.engagement.likes for m in refreshed if m.id == "reddit:1cfz0a1"] == [9000]


def test_empty_results(api: FakeApi, fake: FakeReddit) -> None:
    fake.posts = []
    assert drain(make(api)(fast_client([])).fetch(context(), None))[0] == []


def test_missing_fields(api: FakeApi, fake: FakeReddit, caplog: pytest.LogCaptureFixture) -> None:
    api.queue(SEARCH, json_reply(fixture("reddit", "missing_fields.json")))
    with caplog.at_level(logging.WARNING):
        mentions, _ = drain(make(api, refresh_hours=0)(fast_client([])).fetch(context(), None))
    assert [m.id for m in mentions] == ["reddit:1cfz0e5"] and "skipped" in caplog.text


def test_not_a_listing(api: FakeApi, fake: FakeReddit) -> None:
    api.queue(SEARCH, json_reply({"kind": "t2", "data": {}}))
    with pytest.raises(CollectorError, match="expected a Listing"):
        drain(make(api)(fast_client([])).fetch(context(), None))


def test_huge_page_is_refused(api: FakeApi, fake: FakeReddit) -> None:
    client = fast_client([])
    client.max_bytes = 1000
    with pytest.raises(CollectorError, match="larger than"):
        drain(make(api)(client).fetch(context(), None))


@pytest.mark.parametrize("case", collector_cases.ALL, ids=lambda c: c.__name__)
def test_failure_behaviour(case, api: FakeApi, fake: FakeReddit) -> None:
    case(make(api), api, SEARCH, context())


def test_first_run_stops_at_the_lookback(api: FakeApi, fake: FakeReddit) -> None:
    fake.posts[-1]["created_utc"] = 1714400000.0
    fake.posts[-2]["created_utc"] = 1714400000.0
    collector = make(api, page_size=1, refresh_hours=0)(fast_client([]))
    mentions, _ = drain(collector.fetch(context(), None))
    assert [m.id for m in mentions] == ["reddit:1cfz0d4", "reddit:1cfz0c3"]
    assert len(api.hits(SEARCH)) == 3


def _check_post(post: dict[str, Any], mention: Any) -> None:
    body = post.get("selftext") or ""
    assert mention.title == post["title"]
    assert mention.text == (f"{post['title']}\n{body}".strip() if body else post["title"])
    assert mention.created_at == datetime.fromtimestamp(post["created_utc"], tz=timezone.utc)
    assert mention.url == f"https://www.reddit.com{post['permalink']}"
    assert mention.author.handle == (None if post["author"] == "[deleted]" else post["author"])
    assert (mention.engagement.likes, mention.engagement.shares, mention.engagement.replies) == (
        max(0, post["score"]), post.get("num_crossposts", 0), post["num_comments"])
    assert mention.is_repost == bool(post.get("crosspost_parent"))
    assert mention.parent_id == (f"reddit:{post['crosspost_parent'][3:]}" if post.get("crosspost_parent") else None)
    assert mention.conversation == f"reddit:{post['id']}" and mention.reply_to is None
    assert mention.community == (post.get("subreddit_name_prefixed") or None)
    assert mention.labels == ["nsfw"] * post["over_18"] + ["spoiler"] * bool(post.get("spoiler"))
    assert mention.reach == post.get("view_count")


def test_replay_a_recorded_search_page(api: FakeApi, fake: FakeReddit) -> None:
    listing, token = recorded("reddit", "search_2016.json"), recorded("reddit", "token.json")
    api.route(TOKEN_PATH, lambda r: json_reply(token), method="POST")
    api.route(SEARCH, lambda r: json_reply({"kind": "Listing", "data": {"children": [], "after": None}}
                                           if "after" in r.query else listing))
    run = context("praw", now=datetime(2016, 4, 1, tzinfo=timezone.utc))
    mentions, cursor = drain(make(api, lookback_hours=24 * 3650, refresh_hours=0)(fast_client([])).fetch(run, None))
    posts = [c["data"] for c in listing["data"]["children"]]
    assert [m.id for m in mentions] == [f"reddit:{p['id']}" for p in posts] and run.unreadable.count == 0
    for post, mention in zip(posts, mentions):
        _check_post(post, mention)
    after = listing["data"]["after"]
    assert [r.query.get("after") for r in api.hits(SEARCH)] == [None, *([after] if after else [])]
    assert api.hits(SEARCH)[0].headers["authorization"] == f"Bearer {token['access_token']}"
    assert json.loads(cursor)["since"] == max((p["id"] for p in posts), key=lambda i: int(i, 36))
    query = Query.parse("praw")
    assert [bool(query.match(f"{m.title} {m.text}")) for m in mentions] == [
        bool(query.match(f"{p['title']} {p['selftext']}")) for p in posts]


def test_replay_recorded_comments_and_crossposts(api: FakeApi, fake: FakeReddit) -> None:
    listing = recorded("reddit", "overview_new_crosspost.json")
    run = context("reddit")
    mentions = make(api)(fast_client([]))._mentions(listing["data"]["children"], run)
    assert len(mentions) == len(listing["data"]["children"]) and run.unreadable.count == 0
    for child, mention in zip(listing["data"]["children"], mentions):
        item = child["data"]
        if child["kind"] == "t3":
            _check_post(item, mention)
            continue
        assert mention.id == f"reddit:{item['name']}" and mention.text == item["body"].strip()
        parent = item["parent_id"]
        assert mention.reply_to == f"reddit:{parent if parent.startswith('t1_') else parent[3:]}"
        assert mention.conversation == f"reddit:{item['link_id'][3:]}"
        assert mention.thread_title == item["link_title"] and mention.community == item["subreddit_name_prefixed"]
        assert mention.url == f"https://www.reddit.com{item['permalink']}" and mention.author.handle == item["author"]
        assert mention.engagement.likes == max(0, item["score"])
        assert mention.created_at == datetime.fromtimestamp(item["created_utc"], tz=timezone.utc)
    assert any(m.is_repost for m in mentions) and any(m.reply_to for m in mentions)
