"""The Hacker News collector against a fake Algolia search API on 127.0.0.1."""

from __future__ import annotations

import copy
import json
import logging
import re
from datetime import datetime, timezone
from typing import Any

import pytest

import collector_cases
from fake_api import FakeApi, Reply, context, drain, fixture, json_reply, fast_client
from monitor.collectors.hackernews import HackerNewsCollector, HackerNewsConfig
from monitor.errors import CollectorError
from monitor.query import Query
from recordings import js_object, recorded_path

SEARCH = "/search_by_date"


class FakeAlgolia:
    """``search_by_date``: hits newest first, filtered by query words and ``created_at_i`` bounds."""

    def __init__(self, api: FakeApi):
        self.hits = fixture("hackernews", "search_by_date.json")["hits"]
        self.points: dict[str, int] = {}
        api.route(SEARCH, self.search)
        api.route("/search", self.lookup)

    @staticmethod
    def _text(hit: dict[str, Any]) -> str:
        return f"{hit.get('title') or ''} {hit.get('comment_text') or ''}".lower()

    def search(self, request: Any) -> Reply:
        words = [w.strip('"').lower() for w in request.query["query"].split()]
        hits = [h for h in self.hits if all(w in self._text(h) for w in words)]
        hits = [h for h in hits if all(t in h["_tags"] for t in re.findall(r"author_\w+", request.query["tags"]))]
        for op, value in re.findall(r"created_at_i(>=|<=)(\d+)", request.query.get("numericFilters", "")):
            bound = int(value)
            hits = [h for h in hits if (h["created_at_i"] >= bound if op == ">=" else h["created_at_i"] <= bound)]
        size, page = int(request.query["hitsPerPage"]), int(request.query.get("page", "0"))
        pages = -(-len(hits) // size)
        return json_reply({"hits": hits[page * size:(page + 1) * size], "nbHits": len(hits), "page": page,
                           "nbPages": pages, "hitsPerPage": size})

    def lookup(self, request: Any) -> Reply:
        wanted = set(re.findall(r"story_(\d+)", request.query["tags"]))
        found = []
        for hit in self.hits:
            if hit["objectID"] in wanted and "story" in hit["_tags"]:
                hit = copy.deepcopy(hit)
                hit["points"] = self.points.get(hit["objectID"], hit["points"])
                found.append(hit)
        return json_reply({"hits": found, "nbHits": len(found), "page": 0, "nbPages": 1})


@pytest.fixture
def api():
    server = FakeApi()
    yield server
    server.close()


@pytest.fixture
def fake(api: FakeApi) -> FakeAlgolia:
    return FakeAlgolia(api)


def make(api: FakeApi, **options: Any):
    def build(client):
        return HackerNewsCollector(HackerNewsConfig(base_url=api.url, **options), client)
    return build


def test_maps_stories_and_comments(api: FakeApi, fake: FakeAlgolia) -> None:
    mentions, _ = drain(make(api)(fast_client([])).fetch(context(), None))
    by_id = {m.id: m for m in mentions}
    story = by_id["hackernews:40200001"]
    assert story.title == "Acme widgets are catching fire" and story.author.handle == "dana"
    assert (story.engagement.likes, story.engagement.replies) == (340, 215)
    assert story.url == "https://news.ycombinator.com/item?id=40200001"
    comment = by_id["hackernews:40200003"]
    assert comment.text == "I had the same thing happen with my Acme widget. Customer support was useless. Never again."
    assert comment.reply_to == "hackernews:40200001" and comment.title is None and comment.parent_id is None
    assert comment.conversation == "hackernews:40200001" and comment.thread_title == "Acme widgets are catching fire"
    assert by_id["hackernews:40200002"].text.endswith("I'm looking for something else.")


def test_one_search_per_term_group_with_time_filters(api: FakeApi, fake: FakeAlgolia) -> None:
    drain(make(api)(fast_client([])).fetch(context('"acme widget" OR acmecorp -recall'), None))
    queries = [r.query["query"] for r in api.hits(SEARCH)]
    assert queries == ['"acme widget"', "acmecorp"]
    assert api.hits(SEARCH)[0].query["numericFilters"] == f"created_at_i>={int(context().now.timestamp()) - 86400}"
    assert api.hits(SEARCH)[0].query["tags"] == "(story,comment)"


def test_a_handle_also_searches_the_authors_items(api: FakeApi, fake: FakeAlgolia) -> None:
    mentions, _ = drain(make(api, refresh_hours=0)(fast_client([])).fetch(context("@kim"), None))
    searches = [(r.query["query"], r.query["tags"]) for r in api.hits(SEARCH)]
    assert searches == [("kim", "(story,comment)"), ("", "(story,comment),author_kim")]
    assert [m.id for m in mentions] == ["hackernews:40200002"]


def test_incremental_with_overlap_and_restart(api: FakeApi, fake: FakeAlgolia) -> None:
    collector = make(api, page_size=1, max_pages=2, refresh_hours=0, overlap_seconds=0)(fast_client([]))
    batches = collector.fetch(context(), None)
    first = next(batches)
    batches.close()
    rest, cursor = drain(collector.fetch(context(), first.cursor))
    more, cursor = drain(collector.fetch(context(), cursor))
    ids = {m.id for m in first.mentions + rest + more}
    assert ids == {"hackernews:40200001", "hackernews:40200002", "hackernews:40200003"}
    fake.hits.insert(0, dict(fake.hits[1], objectID="40200009", created_at_i=1714564000))
    newer, cursor = drain(collector.fetch(context(), cursor))
    assert "hackernews:40200009" in {m.id for m in newer}
    assert "created_at_i>=1714563000" in api.hits(SEARCH)[-1].query["numericFilters"]


def test_engagement_refresh_of_recent_stories(api: FakeApi, fake: FakeAlgolia) -> None:
    collector = make(api)(fast_client([]))
    _, cursor = drain(collector.fetch(context(), None))
    fake.points["40200001"] = 2000
    refreshed, _ = drain(collector.fetch(context(), cursor))
    assert [m.engagement.likes for m in refreshed if m.id == "hackernews:40200001" and m.engagement.likes == 2000]
    assert "story_40200001" in api.hits("/search")[-1].query["tags"]


def test_empty_results(api: FakeApi, fake: FakeAlgolia) -> None:
    api.queue(SEARCH, json_reply(fixture("hackernews", "empty.json")))
    mentions, cursor = drain(make(api)(fast_client([])).fetch(context(), None))
    assert mentions == [] and cursor


def test_missing_fields(api: FakeApi, fake: FakeAlgolia, caplog: pytest.LogCaptureFixture) -> None:
    api.queue(SEARCH, json_reply(fixture("hackernews", "missing_fields.json")))
    with caplog.at_level(logging.WARNING):
        mentions, _ = drain(make(api, refresh_hours=0)(fast_client([])).fetch(context(), None))
    assert [m.id for m in mentions] == ["hackernews:40200010"] and "skipped" in caplog.text


def test_response_without_hits(api: FakeApi, fake: FakeAlgolia) -> None:
    api.queue(SEARCH, json_reply({"message": "Invalid syntax", "status": 200}))
    with pytest.raises(CollectorError, match="no 'hits'"):
        drain(make(api)(fast_client([])).fetch(context(), None))


def test_huge_page_is_refused(api: FakeApi, fake: FakeAlgolia) -> None:
    api.queue(SEARCH, json_reply({"hits": [fake.hits[0]] * 5000, "nbPages": 1}))
    client = fast_client([])
    client.max_bytes = 100_000
    with pytest.raises(CollectorError, match="larger than"):
        drain(make(api)(client).fetch(context(), None))


@pytest.mark.parametrize("case", collector_cases.ALL, ids=lambda c: c.__name__)
def test_failure_behaviour(case, api: FakeApi, fake: FakeAlgolia) -> None:
    case(make(api), api, SEARCH, context())


def test_more_hits_than_algolia_pages_through_restart_below_the_oldest(api: FakeApi, fake: FakeAlgolia) -> None:
    base = fake.hits[2]
    fake.hits = [dict(base, objectID=str(50_000_000 + i), created_at_i=1714557600 - i * 10) for i in range(1200)]
    real_search = fake.search

    def capped(request: Any) -> Reply:
        if (int(request.query.get("page", "0")) + 1) * int(request.query["hitsPerPage"]) > 1000:
            return json_reply({"hits": [], "nbHits": 1000, "nbPages": 10})
        return real_search(request)

    api.route(SEARCH, capped)
    collector = make(api, max_pages=20, refresh_hours=0, lookback_hours=48)(fast_client([]))
    mentions, cursor = drain(collector.fetch(context(), None))
    assert len({m.id for m in mentions}) == 1200
    assert [r.query["page"] for r in api.hits(SEARCH)][9:12] == ["9", "0", "1"]
    assert '"until":null' in cursor


def test_replay_a_recorded_search_page(api: FakeApi, fake: FakeAlgolia) -> None:
    page = js_object(recorded_path("hackernews", "algolia_fixture_data.js").read_text(encoding="utf-8"))
    api.route(SEARCH, lambda r: json_reply({**page, "hits": []} if r.query["page"] != "0" else page))
    run = context("tim cook", now=datetime(2017, 7, 1, tzinfo=timezone.utc))
    collector = make(api, page_size=page["hitsPerPage"], lookback_hours=24 * 365 * 7, refresh_hours=0)
    mentions, cursor = drain(collector(fast_client([])).fetch(run, None))
    by_id = {m.id: m for m in mentions}
    assert len(by_id) == len(mentions) == len(page["hits"]) and run.unreadable.count == 0
    for hit in page["hits"]:
        mention = by_id[f"hackernews:{hit['objectID']}"]
        assert mention.title == hit["title"] and mention.text == hit["title"] + (
            f"\n{hit['story_text']}" if hit["story_text"] else "")
        assert mention.created_at == datetime.fromtimestamp(hit["created_at_i"], tz=timezone.utc)
        assert mention.author.handle == hit["author"]
        assert (mention.engagement.likes, mention.engagement.replies) == (hit["points"], hit["num_comments"] or 0)
        assert mention.url == f"https://news.ycombinator.com/item?id={hit['objectID']}"
        assert mention.reply_to is None and mention.conversation == mention.id
    assert [r.query["page"] for r in api.hits(SEARCH)] == ["0", "1"]
    assert json.loads(cursor)["sweeps"]["tim cook"]["since"] == str(max(h["created_at_i"] for h in page["hits"]))
    query = Query.parse("tim cook")
    kept = [bool(query.match(f"{m.title} {m.text}")) for m in mentions]
    assert kept == [bool(query.match(f"{h['title']} {h['story_text']}")) for h in page["hits"]] and any(kept)
