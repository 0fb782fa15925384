"""The RSS/Atom collector against fixture feeds served on 127.0.0.1."""

from __future__ import annotations

import calendar
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import feedparser
import pytest
from recordings import recorded_path
from test_collectors_http import LocalServer, Reply, Sleeps

from monitor import registry
from monitor.collectors.base import Batch, Collector, FetchContext
from monitor.collectors.http import PoliteClient
from monitor.collectors.rss import RssCollector, RssConfig, author_name, strip_html
from monitor.errors import CollectorError, RateLimited
from monitor.query import Query

FIXTURES = Path(__file__).parent / "fixtures" / "rss"
NOW = datetime(2024, 5, 3, 12, 0, tzinfo=timezone.utc)
CONTEXT = FetchContext("acme", "news", Query.parse("acme"), ("en",), NOW)
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def feed(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def collector(url: str, sleeps: Sleeps, **options: object) -> RssCollector:
    config = RssConfig(url=url, **options)
    return RssCollector(config, PoliteClient(timeout=config.timeout, sleep=sleeps, max_attempts=3))


def run(c: RssCollector, cursor: str | None = None, context: FetchContext = CONTEXT) -> list[Batch]:
    return list(c.fetch(context, cursor))


def test_is_registered_and_follows_the_protocol() -> None:
    cls = registry.load(registry.COLLECTORS, "rss")
    assert cls is RssCollector
    assert isinstance(RssCollector(RssConfig(url="http://127.0.0.1/")), Collector)
    config = cls.Config.model_validate({"url": "https://example.org/feed"})
    assert (config.timeout, config.max_items) == (10, 500) and "monitor" in config.user_agent


def test_unknown_option_is_rejected() -> None:
    with pytest.raises(ValueError):
        RssConfig.model_validate({"url": "https://example.org/feed", "max_itemz": 3})


def test_rss20_entries_become_mentions(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/news", Reply(200, feed("news.xml"), RSS))
    [batch] = run(collector(url, sleeps))
    by_url = {m.url: m for m in batch.mentions}
    assert len(batch.mentions) == 3
    recall = by_url["https://example.com/news/acme-recall"]
    assert recall.id == "rss:CBMiK2h0dHBzOi8vZXhhbXBsZS5jb20vbmV3cy9hY21lLXJlY2FsbA"
    assert recall.source == "rss" and recall.brand == "acme"
    assert recall.title == "Acme recalls exploding widgets"
    assert recall.text == "Acme recalls exploding widgets\n\nAcme recalls exploding widgets Example Times"
    assert "<" not in recall.text and "&nbsp;" not in recall.text
    assert recall.author.name == "Jane Reporter"
    assert recall.created_at == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    assert recall.collected_at == NOW and recall.matched_terms == []
    assert recall.language_hint == "en"
    japanese = by_url["https://example.jp/acme-shinseihin"]
    assert japanese.text.startswith("アクメ社、新製品を発表\n\nアクメ社は本日")
    assert japanese.created_at == datetime(2024, 5, 1, 3, 30, tzinfo=timezone.utc)
    spanish = by_url["https://example.es/acme-retraso"]
    assert "se quejan & exigen" in spanish.text
    assert [m.created_at for m in batch.mentions] == sorted(m.created_at for m in batch.mentions)


def test_atom_entries_with_languages(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/atom", Reply(200, feed("atom.xml"), {"Content-Type": "application/atom+xml"}))
    [batch] = run(collector(url, sleeps))
    german, french = sorted(batch.mentions, key=lambda m: m.url or "")
    assert german.id == "rss:urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"
    assert german.text == "Acme-Rückruf: Kunden verärgert\n\nViele Kunden sind sehr unzufrieden mit Acme."
    assert german.created_at == datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
    assert german.language_hint == "de" and german.author.name == "Max Mustermann"
    assert french.language_hint == "fr" and french.url == "https://example.fr/acme-colere"
    assert french.created_at == datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


def test_conditional_get_304_yields_nothing_and_sends_validators(server: LocalServer, sleeps: Sleeps) -> None:
    validators = {"ETag": '"abc123"', "Last-Modified": "Wed, 01 May 2024 12:00:00 GMT"}
    url = server.script("/news", Reply(200, feed("news.xml"), RSS | validators), Reply(304))
    c = collector(url, sleeps)
    [first] = run(c)
    cursor = json.loads(first.cursor)
    assert cursor["etag"] == '"abc123"' and cursor["modified"] == validators["Last-Modified"]
    assert run(c, first.cursor) == []
    sent = server.hits("/news")
    assert "If-None-Match" not in sent[0]
    assert sent[1]["If-None-Match"] == '"abc123"'
    assert sent[1]["If-Modified-Since"] == validators["Last-Modified"]


def test_second_fetch_emits_only_new_items(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script(
        "/news",
        Reply(200, feed("news.xml"), RSS | {"ETag": '"v1"'}),
        Reply(200, feed("news_updated.xml"), RSS | {"ETag": '"v2"'}),
        Reply(200, feed("news_updated.xml"), RSS | {"ETag": '"v2"'}),
    )
    c = collector(url, sleeps)
    [first] = run(c)
    [second] = run(c, first.cursor)
    assert [m.id for m in second.mentions] == ["rss:acme-apology-2024-05-02"]
    assert json.loads(second.cursor)["etag"] == '"v2"'
    assert run(c, second.cursor) == []
    seen = json.loads(second.cursor)["seen"]
    assert len(seen) == 4 and seen[0] == "rss:acme-apology-2024-05-02"


def test_changed_feed_without_new_items_still_saves_validators(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script(
        "/news",
        Reply(200, feed("news.xml"), RSS | {"ETag": '"v1"'}),
        Reply(200, feed("news.xml"), RSS | {"ETag": '"v1b"'}),
    )
    c = collector(url, sleeps)
    [first] = run(c)
    [second] = run(c, first.cursor)
    assert second.mentions == [] and json.loads(second.cursor)["etag"] == '"v1b"'


def test_empty_feed_yields_no_mentions(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/empty", Reply(200, feed("empty.xml"), RSS))
    batches = run(collector(url, sleeps))
    assert [m for b in batches for m in b.mentions] == []


def test_malformed_xml_without_entries_raises_naming_url(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/broken", Reply(200, feed("malformed.xml"), RSS))
    with pytest.raises(CollectorError, match=r"/broken.*no element found"):
        run(collector(url, sleeps))


def test_html_page_is_not_a_feed(server: LocalServer, sleeps: Sleeps) -> None:
    page = b"<html><body><p>Hi</p></body></html>"
    url = server.script("/page", Reply(200, page, {"Content-Type": "text/html"}))
    with pytest.raises(CollectorError, match=r"/page: cannot parse feed: text/html"):
        run(collector(url, sleeps))
    url = server.script("/xml", Reply(200, b"<note><to>Acme</to></note>", {"Content-Type": "application/xml"}))
    with pytest.raises(CollectorError, match="not an RSS or Atom"):
        run(collector(url, sleeps))


def test_malformed_xml_with_entries_warns_and_keeps_them(
    server: LocalServer, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.script("/sloppy", Reply(200, feed("bozo_with_entries.xml"), RSS))
    with caplog.at_level(logging.WARNING, logger="monitor.collectors.rss"):
        [batch] = run(collector(url, sleeps))
    assert [m.id for m in batch.mentions] == ["rss:sloppy-1", "rss:sloppy-2"]
    assert "malformed" in caplog.text and "/sloppy" in caplog.text


def test_missing_fields_fall_back(server: LocalServer, sleeps: Sleeps, caplog: pytest.LogCaptureFixture) -> None:
    url = server.script("/odd", Reply(200, feed("missing_fields.xml"), RSS))
    with caplog.at_level(logging.WARNING):
        [batch] = run(collector(url, sleeps))
    by_text = {m.text.split("\n")[0]: m for m in batch.mentions}
    assert len(batch.mentions) == 3
    undated = by_text["No date here, only a guid"]
    assert undated.id == "rss:odd-1" and undated.created_at == NOW and undated.url is None
    linked = by_text["No guid, only a link"]
    assert linked.id == "rss:https://example.org/posts/2"
    bare = by_text["Neither guid, link, title nor date: just Acme text."]
    assert bare.id.startswith("rss:sha1:") and bare.title is None
    assert "no id" in caplog.text
    [again] = run(collector(url, sleeps))
    assert {m.id for m in again.mentions} == {m.id for m in batch.mentions}


def test_huge_feed_is_bounded_by_max_items(server: LocalServer, sleeps: Sleeps) -> None:
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    items = "".join(
        f"<item><title>Acme item {i}</title><guid>big-{i}</guid>"
        f"<pubDate>{(start + timedelta(minutes=i)).strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate></item>"
        for i in range(2000)
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>{items}</channel></rss>'
    url = server.script("/big", Reply(200, body.encode(), RSS))
    [batch] = run(collector(url, sleeps, max_items=100))
    assert len(batch.mentions) == 100
    assert [m.id for m in batch.mentions] == [f"rss:big-{i}" for i in range(1900, 2000)]
    assert len(json.loads(batch.cursor)["seen"]) == 100


def test_seen_ids_are_bounded(server: LocalServer, sleeps: Sleeps) -> None:
    def page(first: int) -> bytes:
        items = "".join(f"<item><title>n{i}</title><guid>g-{i}</guid></item>" for i in range(first, first + 600))
        return f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()

    url = server.script("/many", Reply(200, page(0), RSS), Reply(200, page(600), RSS))
    c = collector(url, sleeps, max_items=600)
    [first] = run(c)
    [second] = run(c, first.cursor)
    assert len(second.mentions) == 600
    seen = json.loads(second.cursor)["seen"]
    assert len(seen) == 1200 and seen[0] == "rss:g-600"


def test_stale_unseen_items_are_not_reemitted(server: LocalServer, sleeps: Sleeps) -> None:
    old = b"""<rss version="2.0"><channel><title>t</title>
      <item><title>Old</title><guid>old-1</guid><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>
      <item><title>Fresh</title><guid>fresh-1</guid><pubDate>Fri, 03 May 2024 10:00:00 GMT</pubDate></item>
    </channel></rss>"""
    url = server.script("/s", Reply(200, old, RSS))
    cursor = json.dumps({"seen": ["rss:x"], "newest": "2024-05-03T09:00:00Z"})
    [batch] = run(collector(url, sleeps), cursor)
    assert [m.id for m in batch.mentions] == ["rss:fresh-1"]


def test_future_dates_do_not_move_the_newest_mark_past_now(server: LocalServer, sleeps: Sleeps) -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
      <item><title>Typo</title><guid>f-1</guid><pubDate>Fri, 01 Jan 2099 00:00:00 GMT</pubDate></item>
    </channel></rss>"""
    url = server.script("/f", Reply(200, body, RSS))
    [batch] = run(collector(url, sleeps))
    assert json.loads(batch.cursor)["newest"].startswith("2024-05-03T12:00:00")


def test_429_with_retry_after_then_success(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/news", Reply(429, headers={"Retry-After": "5"}), Reply(200, feed("news.xml"), RSS))
    [batch] = run(collector(url, sleeps))
    assert len(batch.mentions) == 3 and sleeps == [5.0]


def test_long_rate_limit_raises(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/news", Reply(429, headers={"Retry-After": "900"}))
    with pytest.raises(RateLimited) as caught:
        run(collector(url, sleeps))
    assert caught.value.retry_after == 900


def test_500_twice_then_success(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/news", Reply(500), Reply(500), Reply(200, feed("news.xml"), RSS))
    [batch] = run(collector(url, sleeps))
    assert len(batch.mentions) == 3 and len(sleeps) == 2


def test_500_forever_raises_collector_error(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/news", Reply(500))
    with pytest.raises(CollectorError, match=r"/news.*HTTP 500"):
        run(collector(url, sleeps))
    assert len(server.hits("/news")) == 3


def test_timeout_is_retried_then_collector_error(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/slow", Reply(200, feed("news.xml"), RSS, delay=0.5))
    with pytest.raises(CollectorError, match="timed out"):
        run(collector(url, sleeps, timeout=0.1))
    assert len(server.hits("/slow")) == 3 and len(sleeps) == 2


def test_unreadable_cursor_starts_afresh(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/news", Reply(200, feed("news.xml"), RSS))
    [batch] = run(collector(url, sleeps), "not json")
    assert len(batch.mentions) == 3
    assert "If-None-Match" not in server.hits("/news")[0]


def test_strip_html() -> None:
    assert strip_html("<p>Hello&nbsp;<b>world</b></p><p>again &amp; again</p>") == "Hello world again & again"
    assert strip_html("plain  text\n here") == "plain text here"


def test_relative_links_are_resolved_and_guids_kept_verbatim(server: LocalServer, sleeps: Sleeps) -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
      <item><title>Rel</title><link>/posts/rel</link><guid isPermaLink="false">rel-1</guid></item>
      <item><title>Perma</title><guid>plain-guid</guid></item>
    </channel></rss>"""
    url = server.script("/dir/feed", Reply(200, body, RSS))
    [batch] = run(collector(url, sleeps))
    by_title = {m.title: m for m in batch.mentions}
    assert by_title["Rel"].url == server.url("/posts/rel") and by_title["Rel"].id == "rss:rel-1"
    assert by_title["Perma"].url is None and by_title["Perma"].id == "rss:plain-guid"


def test_an_empty_200_body_is_a_collector_error(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/blank", Reply(200, b"", RSS))
    with pytest.raises(CollectorError, match=r"/blank: the server answered HTTP 200 with an empty body"):
        run(collector(url, sleeps))


def test_a_redirect_loop_is_a_collector_error(server: LocalServer, sleeps: Sleeps) -> None:
    url = server.script("/loop", Reply(301, headers={"Location": server.url("/loop")}))
    with pytest.raises(CollectorError, match="too many redirects"):
        run(collector(url, sleeps))


def test_a_feed_without_content_type_is_read_without_warning(
    server: LocalServer, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.script("/bare", Reply(200, feed("news.xml")))
    with caplog.at_level(logging.WARNING, logger="monitor.collectors.rss"):
        [batch] = run(collector(url, sleeps))
    assert len(batch.mentions) == 3 and "malformed" not in caplog.text


def test_author_e_mail_addresses_are_dropped() -> None:
    assert author_name({"author": "noreply@blogger.com (Jane Doe)"}) == "Jane Doe"
    assert author_name({"author": "Jane Doe (jane@example.com)"}) == "Jane Doe"
    assert author_name({"author_detail": {"name": "Jane Doe", "email": "j@x.org"}, "author": "j@x.org (Jane Doe)"}) \
        == "Jane Doe"
    assert author_name({"author": "(Acme) Newsroom"}) == "(Acme) Newsroom"
    assert author_name({"author": "jane@example.com"}) is None


@pytest.mark.parametrize("name, kind", [("guardian.rss", "application/rss+xml"), ("heise.atom", "application/atom+xml"),
                                        ("reddit.rss", "application/rss+xml")])
def test_replay_recorded_feeds_every_entry(name: str, kind: str, server: LocalServer, sleeps: Sleeps,
                                          caplog: pytest.LogCaptureFixture) -> None:
    body = recorded_path("rss", name).read_bytes()
    url = server.script(f"/{name}", Reply(200, body, {"Content-Type": kind, "ETag": '"v1"'}))
    run_context = FetchContext("acme", "news", Query.parse("trump OR java OR reddit"), (), NOW)
    with caplog.at_level(logging.WARNING):
        [batch] = run(collector(url, sleeps), context=run_context)
    parsed = feedparser.parse(body)
    by_id = {m.id: m for m in batch.mentions}
    assert len(by_id) == len(batch.mentions) == len(parsed.entries) and run_context.unreadable.count == 0
    assert "malformed" not in caplog.text
    for entry in parsed.entries:
        mention = by_id[f"rss:{entry.id}"]
        assert mention.title == strip_html(entry.title) and mention.text.startswith(mention.title)
        assert strip_html(entry.get("summary", "")) in mention.text and "<" not in mention.text
        assert mention.url == entry.link and mention.author.name == author_name(entry)
        assert "@" not in (mention.author.name or "")
        published = entry.get("published_parsed") or entry.get("updated_parsed")
        assert mention.created_at == datetime.fromtimestamp(calendar.timegm(published), tz=timezone.utc)
        assert mention.language_hint == ((parsed.feed.get("language") or "").split("-")[0] or None)
    assert json.loads(batch.cursor)["etag"] == '"v1"'
    query = run_context.query
    assert any(query.match(f"{m.title} {m.text}") for m in batch.mentions)
