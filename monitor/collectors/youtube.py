"""YouTube videos (Data API v3 search) and their comment threads, with an API key."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Iterator
from urllib.parse import urlencode

from pydantic import Field

from monitor.collectors import native_query
from monitor.collectors.api import (
    ApiConfig, Sweep, count, dump_sweeps, env_secret, json_list, json_object, language, load_sweeps,
    make_client, oldest_wanted, parse_time, read_items, with_followers,
)
from monitor.collectors.base import Batch, FetchContext
from monitor.collectors.http import PoliteClient
from monitor.collectors.paging import Page, Pager
from monitor.errors import CollectorError
from monitor.models import Author, Engagement, Mention

log = logging.getLogger(__name__)

SOURCE = "youtube"
MAX_SEARCH_LENGTH = 200
"""Characters of one search's ``q`` spent on a name and its inflected forms (``a|b|c``)."""
COMMENTS = "comments"


class YouTubeConfig(ApiConfig):
    """Options of a ``youtube`` source (a search costs 100 quota units, a list call 1)."""

    base_url: str = "https://www.googleapis.com/youtube/v3"
    api_key_env: str = "YOUTUBE_API_KEY"
    max_pages: int = Field(default=2, ge=1)
    page_size: int = Field(default=50, ge=1, le=50)
    overlap_seconds: int = Field(default=900, ge=0, description="re-read this much before the watermark (indexing lag)")
    comments: bool = Field(default=True, description="also read new comment threads of recent videos")
    comment_videos: int = Field(default=10, ge=0, description="recent videos whose comments are read per run")
    subscribers: bool = Field(default=True, description="channels' subscriber counts as followers (1 unit a call)")

    def secrets_needed(self) -> list[str]:
        return [self.api_key_env]


def _rfc3339(seconds: float) -> str:
    return parse_time(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]


class YouTubeCollector:
    """``search?order=date`` per term group between ``publishedAfter``/``publishedBefore``.

    Each search page is followed by one ``videos`` call for statistics and full snippets;
    recent videos get their new comment threads and refreshed counts.
    """

    Config = YouTubeConfig

    def __init__(self, config: YouTubeConfig, client: PoliteClient | None = None):
        self.config = config
        self.client = make_client(config, client)

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        query = urlencode({**params, "key": env_secret(self.config.api_key_env, SOURCE)})
        return json_object(self.client.get(f"{self.config.base_url.rstrip('/')}{path}?{query}"), SOURCE)

    def fetch(self, context: FetchContext, cursor: str | None) -> Iterator[Batch]:
        stored = load_sweeps(cursor, SOURCE)
        searches = [native_query.alternatives(g, context.languages, MAX_SEARCH_LENGTH)
                    for g in native_query.clauses(context.query, SOURCE)]
        sweeps = {key: stored.get(key, Sweep()) for key in searches}
        sweeps[COMMENTS] = stored.get(COMMENTS, Sweep())
        floor = oldest_wanted(context, self.config).timestamp()
        pager = Pager(self.config, context, lambda: dump_sweeps(sweeps))
        for key in searches:
            yield from pager.sweep(sweeps[key], self._pages(key, sweeps[key], floor, context), recent=sweeps[COMMENTS])
        if pager.left > 0:
            yield from pager.refresh(sweeps[COMMENTS].recent_ids(), 50, lambda group: self._videos(group, context))
        if self.config.comments:
            yield from self._comments(context, sweeps)

    def _pages(self, key: str, sweep: Sweep, floor: float, context: FetchContext) -> Iterator[Page]:
        upper, token = sweep.until, None
        while True:
            lower = float(sweep.since) - self.config.overlap_seconds if sweep.since else floor
            params = {"part": "snippet", "type": "video", "order": "date", "q": key,
                      "maxResults": str(self.config.page_size), "publishedAfter": _rfc3339(lower)}
            params.update({"publishedBefore": _rfc3339(float(upper) + 1)} if upper else {})
            params.update({"pageToken": token} if token else {})
            data = self._get("/search", params)
            ids = [i["id"]["videoId"] for i in json_list(data, "items", SOURCE)
                   if isinstance(i, dict) and isinstance(i.get("id"), dict) and i["id"].get("videoId")]
            mentions = self._videos(ids, context)
            token = data.get("nextPageToken") if isinstance(data.get("nextPageToken"), str) else None
            times = sorted(m.created_at.timestamp() for m in mentions)
            yield Page(mentions, [str(t) for t in times], not token or not ids)

    def _videos(self, ids: list[str], context: FetchContext) -> list[Mention]:
        if not ids:
            return []
        data = self._get("/videos", {"part": "snippet,statistics,contentDetails", "id": ",".join(ids), "maxResults": "50"})
        mentions = read_items(json_list(data, "items", SOURCE), lambda item: _video(item, context), context, "videos")
        return self._with_subscribers(mentions) if self.config.subscribers else mentions

    def _with_subscribers(self, mentions: list[Mention]) -> list[Mention]:
        """Channels' subscriber counts (``channels`` call) as followers; kept without them on failure."""
        channels = sorted({m.author.handle for m in mentions if m.author.handle})
        subscribers: dict[str, int] = {}
        try:
            data = self._get("/channels", {"part": "statistics", "id": ",".join(channels), "maxResults": "50"})
            for item in json_list(data, "items", SOURCE):
                stats = item.get("statistics") if isinstance(item, dict) else None
                if isinstance(stats, dict) and not stats.get("hiddenSubscriberCount"):
                    subscribers[str(item.get("id"))] = count(stats.get("subscriberCount"))
        except CollectorError as exc:
            log.warning("%s: subscriber counts unavailable (%s)", SOURCE, exc)
        return with_followers(mentions, subscribers)

    def _comments(self, context: FetchContext, sweeps: dict[str, Sweep]) -> Iterator[Batch]:
        seen = sweeps[COMMENTS].extra
        for video in sweeps[COMMENTS].recent_ids()[: self.config.comment_videos]:
            try:
                data = self._get("/commentThreads", {"part": "snippet,replies", "videoId": video, "order": "time",
                                                     "maxResults": "100", "textFormat": "plainText"})
            except CollectorError as exc:
                if "HTTP 403" not in str(exc):
                    raise
                log.info("%s: comments of %s are not readable (%s)", SOURCE, video, exc)
                continue
            watermark = parse_time(seen.get(video)) or datetime.min.replace(tzinfo=context.now.tzinfo)
            threads = json_list(data, "items", SOURCE)
            read = read_items(threads, lambda item: _comment(item, context), context, f"commentThreads of {video}")
            replies = [(reply, item) for item in threads if isinstance(item, dict)
                       for reply in (item.get("replies") or {}).get("comments") or []]
            read += read_items(replies, lambda pair: _reply(*pair, context), context, f"replies on {video}")
            mentions = [m for m in read if m.created_at > watermark]
            if mentions:
                seen[video] = max(m.created_at for m in mentions).isoformat()
            yield Batch(mentions, dump_sweeps(sweeps))


def _video(item: dict[str, Any], context: FetchContext) -> Mention:
    video_id, snippet = item["id"], item["snippet"]
    if not isinstance(video_id, str):
        raise ValueError("an id")
    title = snippet["title"]
    stats = item.get("statistics") or {}
    description = snippet.get("description") or ""
    return Mention(
        id=Mention.make_id(SOURCE, video_id), brand=context.brand, source=SOURCE, title=title,
        text=f"{title}\n{description}".strip(), url=f"https://www.youtube.com/watch?v={video_id}",
        created_at=parse_time(snippet.get("publishedAt")) or context.now, collected_at=context.now,
        author=Author(handle=snippet.get("channelId"), name=snippet.get("channelTitle")),
        engagement=Engagement(likes=count(stats.get("likeCount")), replies=count(stats.get("commentCount"))),
        reach=count(stats["viewCount"]) if "viewCount" in stats else None,
        conversation=Mention.make_id(SOURCE, video_id),
        labels=["age restricted"] if _rating(item).get("ytRating") == "ytAgeRestricted" else [],
        language_hint=language(snippet.get("defaultAudioLanguage") or snippet.get("defaultLanguage")),
    )


def _rating(item: dict[str, Any]) -> dict[str, Any]:
    """A video's ``contentDetails.contentRating`` (empty when absent)."""
    details = item.get("contentDetails") if isinstance(item.get("contentDetails"), dict) else {}
    return details.get("contentRating") if isinstance(details.get("contentRating"), dict) else {}


def _comment(item: dict[str, Any], context: FetchContext) -> Mention:
    """A thread's top-level comment: a reply to its video."""
    thread = item["snippet"]
    top = thread["topLevelComment"]
    video_id = thread.get("videoId") or top["snippet"].get("videoId")
    return _comment_mention(top, video_id, video_id, count(thread.get("totalReplyCount")), context)


def _reply(reply: dict[str, Any], thread: dict[str, Any], context: FetchContext) -> Mention:
    """An answer in a thread (``replies.comments``): a reply to the comment in ``parentId``."""
    video_id = thread["snippet"].get("videoId") or reply["snippet"].get("videoId")
    parent = reply["snippet"].get("parentId") or thread["snippet"]["topLevelComment"]["id"]
    return _comment_mention(reply, video_id, parent, 0, context)


def _comment_mention(comment: dict[str, Any], video_id: str, parent: str, replies: int,
                     context: FetchContext) -> Mention:
    comment_id, snippet = comment["id"], comment["snippet"]
    text = snippet.get("textOriginal") or snippet["textDisplay"]
    if not isinstance(video_id, str) or not isinstance(comment_id, str):
        raise ValueError("a videoId and a comment id")
    channel = snippet.get("authorChannelId") if isinstance(snippet.get("authorChannelId"), dict) else {}
    name = snippet.get("authorDisplayName") or None
    return Mention(
        id=Mention.make_id(SOURCE, comment_id), brand=context.brand, source=SOURCE, text=text,
        url=f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}",
        created_at=parse_time(snippet.get("publishedAt")) or context.now, collected_at=context.now,
        author=Author(handle=channel.get("value") or name, name=name),
        engagement=Engagement(likes=count(snippet.get("likeCount")), replies=replies),
        reply_to=Mention.make_id(SOURCE, parent), conversation=Mention.make_id(SOURCE, video_id),
    )
