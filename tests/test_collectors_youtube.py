"""The YouTube collector against a fake Data API v3 on 127.0.0.1."""

from __future__ import annotations

import copy
import json
import logging
from datetime import datetime, timezone
from typing import Any

import pytest

import collector_cases
from fake_api import FakeApi, Reply, context, drain, fixture, json_reply, fast_client
from monitor.collectors.youtube import YouTubeCollector, YouTubeConfig
from monitor.errors import CollectorError
from recordings import recorded

SEARCH = "/search"
KEY = "yt-key-123"


def _at(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class FakeYouTube:
    def __init__(self, api: FakeApi):
        self.results = fixture("youtube", "search.json")["items"]
        self.videos = {v["id"]: v for v in fixture("youtube", "videos.json")["items"]}
        self.threads = fixture("youtube", "comment_threads.json")["items"]
        api.route(SEARCH, self.search)
        api.route("/videos", self.list_videos)
        api.route("/commentThreads", self.comment_threads)
        api.route("/channels", self.channels)

    def channels(self, request: Any) -> Reply:
        wanted = request.query["id"].split(",")
        items = [c for c in fixture("youtube", "channels.json")["items"] if c["id"] in wanted]
        return json_reply({"kind": "youtube#channelListResponse", "items": items})

    def _keyed(self, request: Any) -> Reply | None:
        if request.query.get("key") != KEY:
            return json_reply({"error": {"code": 400, "message": "API key not valid."}}, 400)
        return None

    def search(self, request: Any) -> Reply:
        if refused := self._keyed(request):
            return refused
        q = request.query
        items = [i for i in self.results if _at(i["snippet"]["publishedAt"]) >= _at(q["publishedAfter"])]
        if "publishedBefore" in q:
            items = [i for i in items if _at(i["snippet"]["publishedAt"]) < _at(q["publishedBefore"])]
        size, offset = int(q["maxResults"]), int(q.get("pageToken", "0"))
        body: dict[str, Any] = {"kind": "youtube#searchListResponse", "items": items[offset:offset + size],
                                "pageInfo": {"totalResults": len(items), "resultsPerPage": size}}
        if offset + size < len(items):
            body["nextPageToken"] = str(offset + size)
        return json_reply(body)

    def list_videos(self, request: Any) -> Reply:
        if refused := self._keyed(request):
            return refused
        items = [copy.deepcopy(self.videos[i]) for i in request.query["id"].split(",") if i in self.videos]
        return json_reply({"kind": "youtube#videoListResponse", "items": items})

    def comment_threads(self, request: Any) -> Reply:
        items = [t for t in self.threads if t["snippet"]["videoId"] == request.query["videoId"]]
        return json_reply({"kind": "youtube#commentThreadListResponse", "items": items})


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
    server = FakeApi()
    yield server
    server.close()


@pytest.fixture
def fake(api: FakeApi) -> FakeYouTube:
    return FakeYouTube(api)


def make(api: FakeApi, **options: Any):
    def build(client):
        return YouTubeCollector(YouTubeConfig(base_url=api.url, **options), client)
    return build


def test_maps_videos_with_statistics_and_comments(api: FakeApi, fake: FakeYouTube) -> None:
    mentions, _ = drain(make(api)(fast_client([])).fetch(context(), None))
    by_id = {m.id: m for m in mentions}
    video = by_id["youtube:vidB000002"]
    assert video.title == "Acme widget teardown: why it burns"
    assert video.text.endswith("measured the battery temperature.")
    assert (video.engagement.likes, video.engagement.replies) == (3100, 420)
    assert video.url == "https://www.youtube.com/watch?v=vidB000002" and video.language_hint == "en"
    assert video.author.name == "Gadget Reviews" and video.author.handle == "UCreviewer"
    assert video.author.followers == 250000
    assert by_id["youtube:vidA000001"].language_hint == "de" and by_id["youtube:vidA000001"].author.followers is None
    comment = by_id["youtube:UgwComment2"]
    assert comment.text == "Same happened to mine. Acme won't answer."
    assert (comment.author.handle, comment.author.name) == ("UCpat", "@pat")
    assert comment.reply_to == comment.conversation == "youtube:vidA000001" and comment.engagement.replies == 4
    assert video.reach == int(fake.videos["vidB000002"]["statistics"]["viewCount"])
    assert video.conversation == "youtube:vidB000002" and video.reply_to is None
    assert comment.url == "https://www.youtube.com/watch?v=vidA000001&lc=UgwComment2"


def test_key_is_sent_and_never_logged(api: FakeApi, fake: FakeYouTube, caplog: pytest.LogCaptureFixture) -> None:
    api.queue(SEARCH, Reply(500))
    with caplog.at_level(logging.DEBUG):
        drain(make(api)(fast_client([])).fetch(context('"acme widget" OR acmecorp'), None))
    assert [r.query["q"] for r in api.hits(SEARCH)] == ['"acme widget"', '"acme widget"', "acmecorp"]
    assert api.hits(SEARCH)[0].query["order"] == "date"
    assert KEY not in caplog.text and "key=***" in caplog.text


def test_new_comments_only_once(api: FakeApi, fake: FakeYouTube) -> None:
    collector = make(api)(fast_client([]))
    first, cursor = drain(collector.fetch(context(), None))
    again, _ = drain(collector.fetch(context(), cursor))
    assert {m.id for m in first} >= {"youtube:UgwComment1", "youtube:UgwComment2"}
    assert not {m.id for m in again} & {"youtube:UgwComment1", "youtube:UgwComment2"}


def test_comments_are_read_when_the_searches_spend_every_page(api: FakeApi, fake: FakeYouTube) -> None:
    thread = copy.deepcopy(fake.threads[0])
    thread["snippet"]["videoId"] = "vidB000002"
    fake.threads.append(thread)
    mentions, _ = drain(make(api, page_size=1, max_pages=1)(fast_client([])).fetch(context(), None))
    assert len(api.hits(SEARCH)) == 1 and len(fake.results) > 1
    assert [m.id for m in mentions if m.reply_to] == ["youtube:UgwComment2"]
    assert api.hits("/commentThreads")[0].query["videoId"] == "vidB000002"


def test_replies_in_a_thread_answer_their_parent_comment(api: FakeApi, fake: FakeYouTube) -> None:
    top = fake.threads[0]
    reply = {"kind": "youtube#comment", "id": "UgwComment2.reply1", "snippet": {
        "videoId": "vidA000001", "parentId": "UgwComment2", "textOriginal": "Acme answered me by mail",
        "authorDisplayName": "@lee", "authorChannelId": {"value": "UClee"}, "likeCount": 3,
        "publishedAt": "2024-05-01T11:50:00Z"}}
    top["replies"] = {"comments": [reply]}
    mentions, _ = drain(make(api)(fast_client([])).fetch(context(), None))
    answer = {m.id: m for m in mentions}["youtube:UgwComment2.reply1"]
    assert answer.reply_to == "youtube:UgwComment2" and answer.conversation == "youtube:vidA000001"
    assert answer.author.handle == "UClee" and answer.engagement.likes == 3
    assert api.hits("/commentThreads")[0].query["part"] == "snippet,replies"


def test_paging_restart_and_refresh(api: FakeApi, fake: FakeYouTube) -> None:
    collector = make(api, page_size=1, max_pages=2, comments=False)(fast_client([]))
    batches = collector.fetch(context(), None)
    first = next(batches)
    batches.close()
    second, cursor = drain(collector.fetch(context(), first.cursor))
    assert api.hits(SEARCH)[-1].query["publishedBefore"] == "2024-05-01T11:30:01Z"
    assert api.hits(SEARCH)[-1].query["pageToken"] == "1"
    assert {m.id for m in first.mentions + second} == {"youtube:vidA000001", "youtube:vidB000002"}
    fake.videos["vidB000002"]["statistics"]["likeCount"] = "90000"
    refreshed, _ = drain(collector.fetch(context(), cursor))
    assert 90000 in [m.engagement.likes for m in refreshed]


def test_quota_exceeded_fails_clearly(api: FakeApi, fake: FakeYouTube) -> None:
    api.queue(SEARCH, json_reply(fixture("youtube", "quota_exceeded.json"), 403))
    with pytest.raises(CollectorError, match="HTTP 403"):
        drain(make(api)(fast_client([])).fetch(context(), None))


def test_empty_results(api: FakeApi, fake: FakeYouTube) -> None:
    api.queue(SEARCH, json_reply(fixture("youtube", "empty.json")))
    mentions, cursor = drain(make(api, refresh_hours=0)(fast_client([])).fetch(context(), None))
    assert mentions == [] and cursor


def test_missing_fields(api: FakeApi, fake: FakeYouTube, caplog: pytest.LogCaptureFixture) -> None:
    api.queue("/videos", json_reply(fixture("youtube", "missing_fields.json")))
    with caplog.at_level(logging.WARNING):
        mentions, _ = drain(make(api, refresh_hours=0)(fast_client([])).fetch(context(), None))
    assert [m.id for m in mentions] == ["youtube:vidC000003"] and "skipped" in caplog.text


def test_response_without_items(api: FakeApi, fake: FakeYouTube) -> None:
    api.queue(SEARCH, json_reply({"kind": "youtube#searchListResponse"}))
    with pytest.raises(CollectorError, match="no 'items'"):
        drain(make(api)(fast_client([])).fetch(context(), None))


def test_huge_page_is_refused(api: FakeApi, fake: FakeYouTube) -> None:
    api.queue(SEARCH, json_reply({"items": fake.results * 2000}))
    client = fast_client([])
    client.max_bytes = 100_000
    with pytest.raises(CollectorError, match="larger than"):
        drain(make(api)(client).fetch(context(), None))


@pytest.mark.parametrize("case", collector_cases.ALL, ids=lambda c: c.__name__)
def test_failure_behaviour(case, api: FakeApi, fake: FakeYouTube) -> None:
    case(make(api), api, SEARCH, context())


def test_videos_are_kept_when_channels_fail(api: FakeApi, fake: FakeYouTube, caplog: pytest.LogCaptureFixture) -> None:
    api.queue("/channels", json_reply(fixture("youtube", "quota_exceeded.json"), 403))
    with caplog.at_level(logging.WARNING):
        mentions, _ = drain(make(api, refresh_hours=0)(fast_client([])).fetch(context(), None))
    assert len(mentions) == 2 and all(m.author.followers is None for m in mentions)
    assert "subscriber counts unavailable" in caplog.text


def test_replay_recorded_search_videos_channels_and_comment_threads(api: FakeApi, fake: FakeYouTube) -> None:
    search, videos = recorded("youtube", "search_by_keywords_p1.json"), recorded("youtube", "video_api_response.json")
    threads = recorded("youtube", "comment_threads_by_video_paged_1.json")
    api.route(SEARCH, lambda r: json_reply({"items": []} if "pageToken" in r.query else search))
    api.route("/videos", lambda r: json_reply(videos))
    api.route("/channels", lambda r: json_reply(recorded("youtube", "channel_info_multi.json")))
    api.route("/commentThreads", lambda r: json_reply(threads))
    run = context("google", now=datetime(2019, 3, 22, tzinfo=timezone.utc))
    mentions, cursor = drain(make(api, refresh_hours=24 * 365)(fast_client([])).fetch(run, None))
    by_id = {m.id: m for m in mentions}
    assert run.unreadable.count == 0
    assert api.hits("/videos")[0].query["id"].split(",") == [i["id"]["videoId"] for i in search["items"]]
    assert api.hits(SEARCH)[1].query["pageToken"] == search["nextPageToken"]
    for item in videos["items"]:
        video, snippet, stats = by_id[f"youtube:{item['id']}"], item["snippet"], item["statistics"]
        assert video.title == snippet["title"] and video.text == f"{snippet['title']}\n{snippet['description']}".strip()
        assert (video.author.handle, video.author.name) == (snippet["channelId"], snippet["channelTitle"])
        assert video.author.followers is None, "the recorded channels hide their statistics"
        assert (video.engagement.likes, video.engagement.replies, video.reach) == (
            int(stats["likeCount"]), int(stats["commentCount"]), int(stats["viewCount"]))
        assert video.created_at == datetime.fromisoformat(snippet["publishedAt"].replace("Z", "+00:00"))
        assert video.language_hint == snippet["defaultAudioLanguage"].split("-")[0]
        assert video.conversation == video.id and api.hits("/commentThreads")[0].query["videoId"] == item["id"]
    for thread in threads["items"]:
        top = thread["snippet"]["topLevelComment"]
        comment, snippet = by_id[f"youtube:{top['id']}"], top["snippet"]
        assert comment.text == snippet["textOriginal"]
        assert (comment.author.handle, comment.author.name) == (
            snippet["authorChannelId"]["value"], snippet["authorDisplayName"])
        assert comment.reply_to == comment.conversation == f"youtube:{thread['snippet']['videoId']}"
        assert (comment.engagement.likes, comment.engagement.replies) == (
            snippet["likeCount"], thread["snippet"]["totalReplyCount"])
        assert comment.created_at == datetime.fromisoformat(snippet["publishedAt"].replace("Z", "+00:00"))
    assert len(by_id) == len(videos["items"]) + len(threads["items"])
    assert json.loads(cursor)["sweeps"]["comments"]["extra"]


def test_an_age_restricted_video_is_labelled(api: FakeApi, fake: FakeYouTube) -> None:
    fake.videos["vidB000002"]["contentDetails"] = {"contentRating": {"ytRating": "ytAgeRestricted"}}
    mentions, _ = drain(make(api, comments=False)(fast_client([])).fetch(context(), None))
    labels = {m.id: m.labels for m in mentions}
    assert labels["youtube:vidB000002"] == ["age restricted"] and labels["youtube:vidA000001"] == []
    assert "contentDetails" in api.hits("/videos")[0].query["part"].split(",")


def test_a_lone_name_is_searched_with_its_inflected_forms_in_the_brand_languages(api: FakeApi, fake: FakeYouTube):
    from dataclasses import replace

    polish = replace(context("ryanair"), languages=("pl",))
    drain(make(api)(fast_client([])).fetch(polish, None))
    searched = {r.query["q"] for r in api.hits(SEARCH)}
    assert searched and all(q.startswith("ryanair|") and "ryanairem" in q.split("|") for q in searched)
    assert all(len(q) <= 200 for q in searched)
