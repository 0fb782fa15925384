"""The file import collector: schema, incremental reads, bad rows, restarts, HTTP paths."""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_collectors_http import LocalServer, Reply, Sleeps

from monitor import registry
from monitor.collectors.base import Batch, Collector, FetchContext
from monitor.collectors.file import BadRow, FileCollector, FileConfig, parse_time, row_to_mention
from monitor.collectors.http import PoliteClient
from monitor.errors import CollectorError
from monitor.query import Query
from monitor.store.sqlite import SqliteStore

FIXTURES = Path(__file__).parent / "fixtures" / "file"
NOW = datetime(2024, 5, 3, 12, 0, tzinfo=timezone.utc)
CONTEXT = FetchContext("acme", "import", Query.parse("acme"), (), NOW)
UTC = timezone.utc


def collector(path: Path | str, **options: object) -> FileCollector:
    return FileCollector(FileConfig(path=str(path), **options))


def run(c: FileCollector, cursor: str | None = None) -> list[Batch]:
    return list(c.fetch(CONTEXT, cursor))


def ids(batches: list[Batch]) -> list[str]:
    return [m.id for b in batches for m in b.mentions]


def row(i: int, text: str = "Acme row") -> str:
    return json.dumps({"id": f"r{i}", "text": f"{text} {i}", "created_at": "2024-05-01T10:00:00Z"}) + "\n"


def test_is_registered_and_follows_the_protocol() -> None:
    assert registry.load(registry.COLLECTORS, "file") is FileCollector
    assert isinstance(collector("x.jsonl"), Collector)
    config = FileCollector.Config.model_validate({"path": "x.csv"})
    assert (config.format, config.max_batch, config.source_field_default) == ("auto", 500, "file")
    with pytest.raises(ValueError):
        FileCollector.Config.model_validate({"path": "x.csv", "formt": "csv"})


def test_jsonl_fixture_maps_every_field() -> None:
    [batch] = run(collector(FIXTURES / "mentions.jsonl"))
    tweet, retweet, post, line = batch.mentions
    assert tweet.id == "twitter:1790000000000000001" and tweet.source == "twitter"
    assert tweet.brand == "acme" and tweet.collected_at == NOW and tweet.matched_terms == []
    assert tweet.created_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert tweet.url == "https://x.com/dana/status/1790000000000000001"
    assert (tweet.author.handle, tweet.author.name, tweet.author.followers) == ("dana", "Dana K", 15200)
    assert (tweet.engagement.likes, tweet.engagement.shares, tweet.engagement.replies) == (120, 45, 12)
    assert tweet.language_hint == "en" and not tweet.is_repost
    assert retweet.is_repost and retweet.parent_id == "twitter:1790000000000000001"
    assert retweet.created_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert post.id == "file:r-42" and post.title == "Acme support?"
    assert post.created_at == datetime(2024, 5, 1, 11, 30, tzinfo=UTC)
    assert post.engagement.likes == 7 and not post.is_repost and post.author.handle is None
    assert line.id == "line:99" and line.text == "Acme の新製品、最高です！"
    assert line.created_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC) and line.language_hint == "ja"
    assert json.loads(batch.cursor)["offset"] == (FIXTURES / "mentions.jsonl").stat().st_size


def test_quotes_and_bad_flags_are_read_by_name() -> None:
    row = {"id": "q1", "text": "This! Acme never answers", "created_at": 1714557600, "source": "twitter",
           "is_quote": "yes", "parent_id": "1790000000000000001"}
    quote = row_to_mention(row, CONTEXT, "file")
    assert quote.is_quote and not quote.is_repost and quote.parent_id == "twitter:1790000000000000001"
    with pytest.raises(BadRow, match="is_quote must be true/false/1/0, got 'maybe'"):
        row_to_mention({**row, "is_quote": "maybe"}, CONTEXT, "file")


def test_csv_fixture_with_quotes_and_multiline_fields() -> None:
    c = collector(FIXTURES / "mentions.csv", source_field_default="export")
    [batch] = run(c)
    first, second, third = batch.mentions
    assert first.text == 'Acme, why is my order late? "Soon" they said'
    assert first.author.followers == 300 and first.engagement.replies == 1 and not first.is_repost
    assert first.title is None and first.language_hint == "en"
    assert second.text == "Multi-line post:\nAcme broke my phone.\nNever again"
    assert second.is_repost and second.parent_id == "twitter:t1" and second.url is None
    assert second.created_at == datetime(2024, 5, 1, 7, 0, tzinfo=UTC)
    assert third.id == "export:f3" and third.source == "export"
    assert third.created_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC) and third.language_hint == "es"
    assert c.bad_rows == 0
    assert json.loads(batch.cursor)["line"] == 6


@pytest.mark.parametrize("name", ["semicolon.csv", "bom.csv"])
def test_csv_dialects(name: str) -> None:
    [batch] = run(collector(FIXTURES / name))
    assert batch.mentions and all(m.id.startswith("file:s") for m in batch.mentions)
    assert all(m.created_at.tzinfo is not None for m in batch.mentions)
    if name == "semicolon.csv":
        assert [m.text for m in batch.mentions] == ["Acme mit Semikolon", "Zeile; mit Trenner"]


def test_format_is_detected_from_content_or_forced(tmp_path: Path) -> None:
    jsonl = tmp_path / "export.txt"
    shutil.copy(FIXTURES / "mentions.jsonl", jsonl)
    assert len(ids(run(collector(jsonl)))) == 4
    as_csv = tmp_path / "export.dat"
    shutil.copy(FIXTURES / "mentions.csv", as_csv)
    assert len(ids(run(collector(as_csv)))) == 3
    forced = tmp_path / "rows.log"
    shutil.copy(FIXTURES / "mentions.csv", forced)
    assert len(ids(run(collector(forced, format="csv")))) == 3


def test_bad_rows_are_skipped_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    path = FIXTURES / "bad_rows.jsonl"
    c = collector(path)
    context = FetchContext("acme", "import", Query.parse("acme"), (), NOW)
    with caplog.at_level(logging.WARNING):
        batches = list(c.fetch(context, None))
    assert ids(batches) == ["file:ok-1", "file:ok-2"]
    assert c.bad_rows == 6 and context.unreadable.count == 6
    for number, why in [(2, "broken JSON"), (3, "id"), (4, "created_at"), (5, "bad created_at"),
                        (6, "JSON object"), (8, "likes")]:
        assert f"import: skipped row {path}:{number}: " in caplog.text and why in caplog.text
    assert "skipped 6 bad row(s)" in caplog.text


HOSTILE_ROWS = {
    "nested": '{"id": "deep", "text": "Acme", "created_at": "2024-05-01T10:00:00Z", "x": ' + "[" * 1000
              + "]" * 1000 + "}",
    "huge id": '{"id": ' + "7" * 5000 + ', "text": "Acme", "created_at": "2024-05-01T10:00:00Z"}',
    "long id": json.dumps({"id": "7" * 4000, "text": "Acme", "created_at": "2024-05-01T10:00:00Z"}),
    "float likes": '{"id": "f", "text": "Acme", "created_at": "2024-05-01T10:00:00Z", "likes": 1e300}',
    "int64 likes": '{"id": "i", "text": "Acme", "created_at": "2024-05-01T10:00:00Z", "likes": 9223372036854775808}',
    "inf followers": '{"id": "n", "text": "Acme", "created_at": "2024-05-01T10:00:00Z", "followers": "inf"}',
    "huge time": '{"id": "t", "text": "Acme", "created_at": 1e300}',
}


@pytest.mark.parametrize("name", HOSTILE_ROWS)
def test_a_hostile_row_is_skipped_and_the_rest_stored(name: str, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(row(1) + HOSTILE_ROWS[name] + "\n" + row(2))
    context = FetchContext("acme", "import", Query.parse("acme"), (), NOW)
    with caplog.at_level(logging.WARNING):
        batches = list(collector(path).fetch(context, None))
    assert ids(batches) == ["file:r1", "file:r2"]
    assert context.unreadable.count == 1 and f"{path}:2: " in caplog.text
    store = SqliteStore(tmp_path / "m.db")
    assert store.add_mentions([m for b in batches for m in b.mentions]) == 2


def test_only_bad_rows_still_advance_the_cursor(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("{oops\n[1]\n")
    c = collector(path)
    [batch] = run(c)
    assert batch.mentions == [] and json.loads(batch.cursor)["offset"] == path.stat().st_size
    assert run(c, batch.cursor) == [] and c.bad_rows == 0


def test_missing_file_raises_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match="nowhere.jsonl"):
        run(collector(tmp_path / "nowhere.jsonl"))
    with pytest.raises(CollectorError, match="directory"):
        run(collector(tmp_path))


def test_batches_are_bounded_and_carry_the_cursor_after_each(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    lines = [row(i) for i in range(7)]
    path.write_text("".join(lines))
    batches = run(collector(path, max_batch=3))
    assert [len(b.mentions) for b in batches] == [3, 3, 1]
    offsets = [json.loads(b.cursor)["offset"] for b in batches]
    assert offsets == [len("".join(lines[:3]).encode()), len("".join(lines[:6]).encode()), path.stat().st_size]


def test_incremental_reads_after_append(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(row(0) + row(1))
    c = collector(path)
    [first] = run(c)
    assert run(c, first.cursor) == []
    with path.open("a") as f:
        f.write(row(2) + row(3))
    [second] = run(c, first.cursor)
    assert ids([second]) == ["file:r2", "file:r3"]
    assert json.loads(second.cursor)["line"] == 4


def test_partial_last_line_is_left_for_later(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    whole = row(1)
    path.write_text(row(0) + whole[:15])
    c = collector(path)
    [first] = run(c)
    assert ids([first]) == ["file:r0"] and json.loads(first.cursor)["offset"] == len(row(0))
    assert run(c, first.cursor) == []
    with path.open("a") as f:
        f.write(whole[15:])
    assert ids(run(c, first.cursor)) == ["file:r1"]


def test_partial_multiline_csv_record_is_left_for_later(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text('id,text,created_at\na,Acme one,2024-05-01\nb,"Acme\nstill writing')
    c = collector(path)
    [first] = run(c)
    assert ids([first]) == ["file:a"]
    with path.open("a") as f:
        f.write(' this",2024-05-02\n')
    [second] = run(c, first.cursor)
    assert [m.text for m in second.mentions] == ["Acme\nstill writing this"]


def test_truncated_file_restarts_from_zero(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(row(0) + row(1) + row(2))
    c = collector(path)
    [first] = run(c)
    path.write_text(row(9))
    with caplog.at_level(logging.WARNING):
        assert ids(run(c, first.cursor)) == ["file:r9"]
    assert "truncated or replaced" in caplog.text


def test_replaced_file_of_same_or_larger_size_restarts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(row(0) + row(1))
    c = collector(path)
    [first] = run(c)
    path.write_text(row(0, "Other") + row(1, "Other") + row(2, "Other"))
    with caplog.at_level(logging.WARNING):
        assert ids(run(c, first.cursor)) == ["file:r0", "file:r1", "file:r2"]
    assert "truncated or replaced" in caplog.text


def test_csv_resume_in_the_middle_keeps_the_header(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("text;id;created_at\nAcme a;a;2024-05-01\nAcme b;b;2024-05-01\n")
    c = collector(path, max_batch=1)
    first = next(iter(c.fetch(CONTEXT, None)))
    assert ids([first]) == ["file:a"]
    assert [m.text for m in collector(path).fetch(CONTEXT, first.cursor).__next__().mentions] == ["Acme b"]


def test_crash_mid_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text("".join(row(i) for i in range(10)))
    stored: list[str] = []
    batches = collector(path, max_batch=4).fetch(CONTEXT, None)
    saved = next(batches)
    stored += [m.id for m in saved.mentions]
    next(batches)  # fetched but not stored: the process dies here
    with path.open("a") as f:
        f.write(row(10))
    for batch in collector(path, max_batch=4).fetch(CONTEXT, saved.cursor):
        stored += [m.id for m in batch.mentions]
    assert stored == [f"file:r{i}" for i in range(11)]


def test_unreadable_cursor_reads_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(row(0))
    assert ids(run(collector(path), "garbage")) == ["file:r0"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
     ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
     ("2024-05-01 10:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
     (1714557600, datetime(2024, 5, 1, 10, tzinfo=UTC)),
     ("1714557600.5", datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC))],
)
def test_parse_time(value: object, expected: datetime) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "", True, None, "2024-13-01", 10**20])
def test_parse_time_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_time(value)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


def http_collector(url: str, sleeps: Sleeps, **options: object) -> FileCollector:
    return FileCollector(FileConfig(path=url, **options), PoliteClient(sleep=sleeps, max_attempts=2))


def test_http_path_with_etag_and_growth(server: LocalServer) -> None:
    body = (FIXTURES / "mentions.jsonl").read_bytes()
    grown = body + row(5).encode()
    url = server.script(
        "/export.jsonl",
        Reply(200, body, {"ETag": '"e1"'}),
        lambda headers: Reply(304) if headers.get("If-None-Match") == '"e1"' else Reply(200, body),
        Reply(200, grown, {"ETag": '"e2"'}),
    )
    c = http_collector(url + "?token=SECRET", Sleeps())
    [first] = run(c)
    assert len(first.mentions) == 4
    cursor = json.loads(first.cursor)
    assert cursor["etag"] == '"e1"' and cursor["offset"] == len(body)
    assert run(c, first.cursor) == []
    assert server.hits("/export.jsonl")[1]["If-None-Match"] == '"e1"'
    [third] = run(c, first.cursor)
    assert ids([third]) == ["file:r5"] and json.loads(third.cursor)["etag"] == '"e2"'


def test_http_body_last_line_without_newline_is_complete(server: LocalServer) -> None:
    url = server.script("/rows", Reply(200, (row(0) + row(1)).rstrip("\n").encode()))
    assert ids(run(http_collector(url, Sleeps(), format="jsonl"))) == ["file:r0", "file:r1"]


def test_http_crash_mid_body_refetches_without_validator(server: LocalServer) -> None:
    body = "".join(row(i) for i in range(4)).encode()
    url = server.script("/rows.jsonl", Reply(200, body, {"ETag": '"e1"'}))
    first = next(iter(http_collector(url, Sleeps(), max_batch=2).fetch(CONTEXT, None)))
    rest = run(http_collector(url, Sleeps(), max_batch=2), first.cursor)
    assert ids(rest) == ["file:r2", "file:r3"]
    assert "If-None-Match" not in server.hits("/rows.jsonl")[1]


def test_http_errors_become_collector_errors(server: LocalServer) -> None:
    url = server.script("/missing.csv", Reply(404))
    with pytest.raises(CollectorError, match=r"/missing.csv.*404"):
        run(http_collector(url, Sleeps()))


def serialise(rows: list[tuple[str, str]], fmt: str) -> bytes:
    if fmt == "jsonl":
        return "".join(
            json.dumps({"id": i, "text": t, "created_at": 1714557600}, ensure_ascii=False) + "\n" for i, t in rows
        ).encode()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "text", "created_at"])
    writer.writerows([i, t, "2024-05-01T10:00:00"] for i, t in rows)
    return out.getvalue().encode()


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"))
    | st.sampled_from(['"', ",", ";", "\n", "{", "}", "\\"]),
    min_size=1,
    max_size=30,
).filter(lambda t: t.strip() != "")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(texts, min_size=1, max_size=25),
    fmt=st.sampled_from(["jsonl", "csv"]),
    cuts=st.lists(st.floats(0, 1), max_size=6),
    max_batch=st.integers(1, 5),
    crash_after=st.lists(st.integers(0, 3), max_size=6),
)
def test_incremental_reads_yield_each_row_exactly_once(
    texts: list[str], fmt: str, cuts: list[float], max_batch: int, crash_after: list[int]
) -> None:
    rows = [(f"id{n}", t.strip()) for n, t in enumerate(texts)]
    data = serialise(rows, fmt)
    points = sorted({int(c * len(data)) for c in cuts} | {len(data)})
    seen: list[tuple[str, str]] = []
    cursor = None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"rows.{fmt}"
        written = 0
        for step, point in enumerate(points):
            with path.open("ab") as f:
                f.write(data[written:point])
            written = point
            limit = crash_after[step] if step < len(crash_after) and point < len(data) else None
            c = collector(path, max_batch=max_batch)
            for taken, batch in enumerate(c.fetch(CONTEXT, cursor)):
                if limit is not None and taken >= limit:
                    break
                seen += [(m.id, m.text) for m in batch.mentions]
                cursor = batch.cursor
            assert c.bad_rows == 0
        for batch in collector(path, max_batch=max_batch).fetch(CONTEXT, cursor):
            seen += [(m.id, m.text) for m in batch.mentions]
    assert seen == [(f"file:{i}", t) for i, t in rows]


def test_replies_conversations_and_reach_are_imported(tmp_path: Path) -> None:
    path = tmp_path / "thread.csv"
    path.write_text("id,source,text,created_at,is_reply,parent_id,conversation_id,reach\n"
                    "t1,twitter,Acme root,1714557600,,,t1,900\n"
                    "t2,twitter,Acme answer,1714557700,true,t1,t1,\n"
                    "t3,twitter,RT Acme root,1714557800,false,t1,,\n")
    root, answer, repost = [m for b in run(collector(path)) for m in b.mentions]
    assert (root.conversation, root.reach, root.reply_to) == ("twitter:t1", 900, None)
    assert (answer.reply_to, answer.parent_id, answer.conversation) == ("twitter:t1", None, "twitter:t1")
    assert (repost.parent_id, repost.reply_to) == ("twitter:t1", None)
