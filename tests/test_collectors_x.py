"""The X collector against a fake API v2 on 127.0.0.1 serving documented response shapes."""

from __future__ import annotations

import copy
import html
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import collector_cases
from fake_api import FakeApi, Reply, context, drain, fixture, json_reply, fast_client
from monitor.collectors.x import XCollector, XConfig, posted_at
from monitor.errors import ConfigError
from monitor.query import Query
from recordings import recorded

SEARCH = "/2/tweets/search/recent"
TOKEN = "secret-bearer-123"


class FakeX:
    """Recent search over a list of tweets, newest first, honouring since_id/until_id/next_token."""

    def __init__(self, api: FakeApi, response: dict[str, Any]):
        self.tweets = list(response["data"])
        self.users = response["includes"]["users"]
        self.counts: dict[str, dict[str, int]] = {}
        api.route(SEARCH, self.search)
        api.route("/2/tweets", self.lookup)

    def search(self, request: Any) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return json_reply({"title": "Unauthorized", "status": 401}, 401)
        q = request.query
        tweets = [t for t in self.tweets
                  if int(t["id"]) > int(q.get("since_id", 0)) and int(t["id"]) < int(q.get("until_id", 10**20))]
        size = int(q["max_results"])
        offset = int(q.get("next_token", "0"))
        page = tweets[offset:offset + size]
        if not page:
            return json_reply({"meta": {"result_count": 0}})
        meta = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": len(page)}
        if offset + size < len(tweets):
            meta["next_token"] = str(offset + size)
        return json_reply({"data": page, "includes": {"users": self.users}, "meta": meta})

    def lookup(self, request: Any) -> Reply:
        found = []
        for tweet_id in request.query["ids"].split(","):
            for tweet in self.tweets:
                if tweet["id"] == tweet_id:
                    tweet = copy.deepcopy(tweet)
                    tweet["public_metrics"].update(self.counts.get(tweet_id, {}))
                    found.append(tweet)
        return json_reply({"data": found, "includes": {"users": self.users}})


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    server = FakeApi()
    yield server
    server.close()


@pytest.fixture
def fake(api: FakeApi) -> FakeX:
    return FakeX(api, fixture("x", "search_recent.json"))


def make(api: FakeApi, **options: Any):
    def build(client):
        return XCollector(XConfig(base_url=api.url, **options), client)
    return build


def test_maps_posts_with_author_engagement_flags_and_language(api: FakeApi, fake: FakeX) -> None:
    mentions, _ = drain(make(api)(fast_client([])).fetch(context(), None))
    by_id = {m.id: m for m in mentions}
    assert len(by_id) == 5
    original = by_id["x:1785000000000000001"]
    assert original.author.handle == "dana" and original.author.followers == 15200
    assert (original.engagement.likes, original.engagement.shares, original.engagement.replies) == (120, 48, 12)
    assert original.url == "https://x.com/dana/status/1785000000000000001"
    assert original.language_hint == "en" and original.brand == "acme" and original.source == "x"
    repost = by_id["x:1785000000000000005"]
    assert repost.is_repost and not repost.is_quote and repost.parent_id == "x:1785000000000000001"
    quote = by_id["x:1785000000000000004"]
    assert quote.is_quote and not quote.is_repost and quote.parent_id == "x:1785000000000000001"
    assert by_id["x:1785000000000000003"].language_hint == "ja"
    assert by_id["x:1785000000000000002"].language_hint is None


def test_sends_the_compiled_query_and_the_bearer_token(api: FakeApi, fake: FakeX) -> None:
    drain(make(api)(fast_client([])).fetch(context('(acme OR "acme corp") -refund'), None))
    request = api.hits(SEARCH)[0]
    assert request.query["query"] == '((acme OR #acme) OR "acme corp") -refund'
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "public_metrics" in request.query["tweet.fields"]


def test_missing_token_names_the_variable(api: FakeApi, fake: FakeX, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN")
    with pytest.raises(ConfigError, match="X_BEARER_TOKEN"):
        drain(make(api)(fast_client([])).fetch(context(), None))


def test_pages_until_caught_up_then_only_asks_for_newer(api: FakeApi, fake: FakeX) -> None:
    collector = make(api, page_size=10, refresh_hours=0)(fast_client([]))
    fake.tweets = fake.tweets * 1  # five tweets, page size 10 is the minimum of the API
    mentions, cursor = drain(collector.fetch(context(), None))
    assert len(mentions) == 5
    fake.tweets.insert(0, dict(fake.tweets[0], id="1785000000000000006", text="acme again"))
    newer, cursor = drain(collector.fetch(context(), cursor))
    assert [m.id for m in newer] == ["x:1785000000000000006"]
    assert api.hits(SEARCH)[-1].query["since_id"] == "1785000000000000005"
    nothing, _ = drain(collector.fetch(context(), cursor))
    assert nothing == []


def many_tweets(n: int) -> list[dict[str, Any]]:
    return [{"id": str(1785000000000001000 + i), "text": f"acme post {i}", "created_at": "2024-05-01T11:00:00.000Z",
             "author_id": "10", "public_metrics": {"like_count": i}} for i in range(n, 0, -1)]


def test_bounded_per_run_and_resumed_without_loss(api: FakeApi, fake: FakeX) -> None:
    fake.tweets = many_tweets(35)
    collector = make(api, page_size=10, max_pages=2, refresh_hours=0)(fast_client([]))
    first, cursor = drain(collector.fetch(context(), None))
    assert len(first) == 20
    fake.tweets.insert(0, {"id": "1785000000000002000", "text": "acme newest", "author_id": "10"})
    second, cursor = drain(collector.fetch(context(), cursor))
    third, cursor = drain(collector.fetch(context(), cursor))
    ids = [m.id for m in first + second + third]
    assert len(ids) == len(set(ids)) == 36


def test_restart_in_the_middle_of_paging_loses_nothing(api: FakeApi, fake: FakeX) -> None:
    fake.tweets = many_tweets(30)
    collector = make(api, page_size=10, refresh_hours=0)(fast_client([]))
    batches = collector.fetch(context(), None)
    stored = next(batches)
    batches.close()
    rest, cursor = drain(collector.fetch(context(), stored.cursor))
    assert api.hits(SEARCH)[-1].query["until_id"] == stored.mentions[-1].id.split(":")[1]
    ids = {m.id for m in stored.mentions + rest}
    assert len(ids) == 30
    again, _ = drain(collector.fetch(context(), cursor))
    assert again == []


def test_engagement_of_recent_posts_is_refreshed(api: FakeApi, fake: FakeX) -> None:
    collector = make(api)(fast_client([]))
    _, cursor = drain(collector.fetch(context(), None))
    fake.counts["1785000000000000001"] = {"like_count": 5000, "retweet_count": 900}
    refreshed, _ = drain(collector.fetch(context(), cursor))
    viral = [m for m in refreshed if m.id == "x:1785000000000000001"]
    assert viral and viral[0].engagement.likes == 5000 and viral[0].engagement.shares == 903
    assert api.hits("/2/tweets")


def test_empty_results(api: FakeApi, fake: FakeX) -> None:
    api.queue(SEARCH, json_reply(fixture("x", "empty.json")))
    mentions, cursor = drain(make(api)(fast_client([])).fetch(context(), None))
    assert mentions == [] and cursor is not None


def test_refresh_of_deleted_posts_yields_nothing(api: FakeApi, fake: FakeX) -> None:
    collector = make(api)(fast_client([]))
    _, cursor = drain(collector.fetch(context(), None))
    fake.tweets = []
    api.queue("/2/tweets", json_reply(fixture("x", "errors_only.json")))
    assert drain(collector.fetch(context(), cursor))[0] == []
    assert len(api.hits("/2/tweets")) == 2


def test_missing_fields_skip_only_the_broken_posts(api: FakeApi, caplog: pytest.LogCaptureFixture) -> None:
    api.route(SEARCH, lambda r: json_reply(fixture("x", "missing_fields.json")))
    run = context()
    with caplog.at_level(logging.WARNING):
        mentions, _ = drain(make(api, refresh_hours=0)(fast_client([])).fetch(run, None))
    assert {m.id for m in mentions} == {"x:1785000000000000009", "x:1785000000000000007"}
    lone = next(m for m in mentions if m.id == "x:1785000000000000009")
    assert lone.author.handle is None and lone.created_at == posted_at("1785000000000000009")
    assert run.unreadable.count == 2
    assert f"skipped {SEARCH} item 1785000000000000008: missing 'text'" in caplog.text


def test_huge_page_is_refused_with_a_clear_error(api: FakeApi, fake: FakeX) -> None:
    client = fast_client([])
    client.max_bytes = 2000
    with pytest.raises(Exception, match="larger than 2000 bytes"):
        drain(make(api)(client).fetch(context(), None))


def test_token_never_reaches_logs(api: FakeApi, fake: FakeX, caplog: pytest.LogCaptureFixture) -> None:
    api.queue(SEARCH, Reply(500))
    with caplog.at_level(logging.DEBUG):
        drain(make(api)(fast_client([])).fetch(context(), None))
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("case", collector_cases.ALL, ids=lambda c: c.__name__)
def test_failure_behaviour(case, api: FakeApi, fake: FakeX) -> None:
    case(make(api), api, SEARCH, context())


def test_rate_limit_reset_header_is_honoured(api: FakeApi, fake: FakeX) -> None:
    sleeps: list[float] = []
    client = fast_client(sleeps)
    client.clock = lambda: 1714564800.0
    api.queue(SEARCH, json_reply({"title": "Too Many Requests"}, 429, {"x-rate-limit-reset": "1714564830"}))
    mentions, _ = drain(make(api)(client).fetch(context(), None))
    assert sleeps == [30.0] and mentions


def test_query_too_long_for_the_tier(api: FakeApi, fake: FakeX) -> None:
    with pytest.raises(ConfigError, match="max_query_length"):
        drain(make(api, max_query_length=20)(fast_client([])).fetch(context('"acme corp" OR acmefail'), None))


def test_a_cursor_older_than_the_search_window_starts_again(api: FakeApi, fake: FakeX,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    stale = json.dumps({"since": "1780000000000000000", "until": None, "newest": None})
    assert posted_at("1780000000000000000") < context().now - timedelta(days=7)
    with caplog.at_level(logging.WARNING):
        mentions, cursor = drain(make(api, refresh_hours=0)(fast_client([])).fetch(context(), stale))
    request = api.hits(SEARCH)[0]
    assert "since_id" not in request.query and request.query["start_time"] == "2024-04-30T12:00:00Z"
    assert len(mentions) == 5 and "older than the 7-day search window" in caplog.text
    assert json.loads(cursor)["since"] == "1785000000000000005"


def _replay(api: FakeApi, page: dict[str, Any], query: str = "brexit", **options: Any):
    """The recorded page served as the first search page, an empty one after it; returns mentions, cursor."""
    body = {k: v for k, v in page.items() if k != "__twarc"}
    api.route(SEARCH, lambda r: json_reply({"meta": {"result_count": 0}} if "next_token" in r.query else body))
    return drain(make(api, refresh_hours=0, **options)(fast_client([])).fetch(context(query, now=NOW_2021), None))


NOW_2021 = datetime(2021, 9, 22, 17, 0, tzinfo=timezone.utc)


def _full(tweet: dict[str, Any]) -> str:
    return html.unescape((tweet.get("note_tweet") or {}).get("text") or tweet["text"])


def test_replay_a_recorded_search_page_every_field(api: FakeApi) -> None:
    page = recorded("x", "twarc_brexit.jsonl")
    mentions, cursor = _replay(api, page)
    users = {u["id"]: u for u in page["includes"]["users"]}
    originals = {t["id"]: t for t in page["includes"]["tweets"]}
    by_id = {m.id: m for m in mentions}
    for tweet in page["data"]:
        mention = by_id[f"x:{tweet['id']}"]
        refs = {r["type"]: r["id"] for r in tweet.get("referenced_tweets", [])}
        author = users[tweet["author_id"]]
        metrics = tweet["public_metrics"]
        assert mention.text == _full(originals[refs["retweeted"]] if "retweeted" in refs else tweet)
        assert not mention.text.startswith("RT @") and "&amp;" not in mention.text
        assert mention.created_at == datetime.fromisoformat(tweet["created_at"].replace("Z", "+00:00"))
        assert (mention.author.handle, mention.author.name) == (author["username"], author["name"])
        assert mention.author.followers == author["public_metrics"]["followers_count"]
        assert mention.url == f"https://x.com/{author['username']}/status/{tweet['id']}"
        assert mention.is_repost == ("retweeted" in refs) and mention.is_quote == ("quoted" in refs)
        parent = refs.get("retweeted") or refs.get("quoted")
        assert mention.parent_id == (f"x:{parent}" if parent else None)
        assert mention.reply_to == (f"x:{refs['replied_to']}" if "replied_to" in refs else None)
        assert mention.conversation == f"x:{tweet['conversation_id']}"
        assert mention.language_hint == (None if tweet["lang"] in ("und", "qme", "zxx", "qht") else tweet["lang"])
        assert mention.labels == (["sensitive"] if tweet["possibly_sensitive"] else [])
        expected = (0, 0, 0) if "retweeted" in refs else (
            metrics["like_count"], metrics["retweet_count"] + metrics["quote_count"], metrics["reply_count"])
        assert (mention.engagement.likes, mention.engagement.shares, mention.engagement.replies) == expected
    reposted = {r["id"] for t in page["data"] for r in t.get("referenced_tweets", []) if r["type"] == "retweeted"}
    on_page = {t["id"] for t in page["data"]}
    assert set(by_id) == {f"x:{i}" for i in on_page | reposted}
    for original_id in reposted - on_page:
        original = by_id[f"x:{original_id}"]
        assert original.text == _full(originals[original_id]) and not original.is_repost
        assert original.engagement.shares == (originals[original_id]["public_metrics"]["retweet_count"]
                                              + originals[original_id]["public_metrics"]["quote_count"])
        assert original.author.handle == users[originals[original_id]["author_id"]]["username"]
    assert len(mentions) == len(by_id)
    first, second = api.hits(SEARCH)
    assert "referenced_tweets.id" in first.query["expansions"].split(",")
    assert "referenced_tweets.id.author_id" in first.query["expansions"].split(",")
    assert second.query["next_token"] == page["meta"]["next_token"]
    assert json.loads(cursor)["since"] == page["meta"]["newest_id"]


def test_replay_no_recorded_post_is_lost_to_a_cut_retweet(api: FakeApi) -> None:
    page = recorded("x", "twarc_brexit.jsonl")
    query = Query.parse("brexit")
    mentions, _ = _replay(api, page)
    by_id = {m.id: m for m in mentions}
    originals = {t["id"]: t for t in page["includes"]["tweets"]}
    lost = []
    for tweet in page["data"]:
        refs = {r["type"]: r["id"] for r in tweet.get("referenced_tweets", [])}
        whole = _full(originals[refs["retweeted"]]) if "retweeted" in refs else _full(tweet)
        if query.match(whole) and not query.match(by_id[f"x:{tweet['id']}"].text):
            lost.append(tweet["id"])
    cut = [t for t in page["data"] if not query.match(html.unescape(t["text"]))]
    assert lost == [] and cut, "the recorded page has retweets whose cut text misses the term"
    assert sum(bool(query.match(by_id[f"x:{t['id']}"].text)) for t in page["data"]) > len(page["data"]) - len(cut)


def test_replay_a_repost_counts_once_as_a_share_of_its_original(api: FakeApi) -> None:
    page = recorded("x", "twarc_brexit.jsonl")
    mentions, _ = _replay(api, page)
    reposts = [m for m in mentions if m.is_repost]
    assert reposts and all(m.engagement.total == 0 and m.reach is None for m in reposts)
    shares = sum(m.engagement.shares for m in mentions)
    counted = {t["id"]: t for t in page["includes"]["tweets"]} | {
        t["id"]: t for t in page["data"] if not any(r["type"] == "retweeted" for r in t.get("referenced_tweets", []))}
    assert shares == sum(t["public_metrics"]["retweet_count"] + t["public_metrics"]["quote_count"]
                         for i, t in counted.items() if f"x:{i}" in {m.id for m in mentions})


def test_replay_an_edited_quote_reply_and_impressions(api: FakeApi) -> None:
    quote = recorded("x", "twarc_quoted_edit.jsonl")
    [mention], _ = _replay(api, quote, query="test")
    tweet = quote["data"][0]
    assert mention.id == f"x:{tweet['edit_history_tweet_ids'][0]}"
    assert mention.is_quote and mention.parent_id == "x:1576994746135764992"
    assert mention.reply_to == mention.conversation == "x:1576994789110992896"
    viewed = recorded("x", "twarc_verified_type.jsonl")
    [seen], _ = _replay(api, viewed, query="twitter")
    assert seen.reach == viewed["data"][0]["public_metrics"]["impression_count"]
    assert seen.created_at == datetime.fromisoformat(viewed["data"][0]["created_at"].replace("Z", "+00:00"))


def test_replay_a_search_with_no_fields_requested(api: FakeApi) -> None:
    page = recorded("x", "tweepy_search_recent_tweets.json")
    mentions, _ = _replay(api, page, query="tweepy")
    assert [m.id for m in mentions] == [f"x:{t['id']}" for t in page["data"]]
    for mention, tweet in zip(mentions, page["data"]):
        assert mention.text == tweet["text"] and mention.created_at == posted_at(tweet["id"])
        assert mention.author.handle is None and mention.url == f"https://x.com/i/web/status/{tweet['id']}"
