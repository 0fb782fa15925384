"""The bundled demo scenario: determinism, schema, rhythm, the crisis and the brand query."""

from __future__ import annotations

import collections
import json
import re
import statistics
from datetime import datetime, timedelta, timezone

import pytest

from monitor.collectors.base import FetchContext
from monitor.collectors.file import row_to_mention
from monitor.demo.scenario import (
    CRISIS_KINDS,
    DEFAULT_START,
    KINDS,
    Scenario,
    created_at,
    generate,
    index_at,
    iter_until,
    load_config,
    write_jsonl,
)
from monitor.query import Query

LANGS = {"en": 0.40, "pl": 0.15, "de": 0.12, "es": 0.10, "fr": 0.10, "hu": 0.06, "ru": 0.07}
SOURCES = {"twitter", "mastodon", "bluesky", "reddit", "news", "youtube"}
FIELDS = {"id": str, "text": str, "created_at": str, "source": str, "url": str, "author": str,
          "followers": int, "likes": int, "shares": int, "replies": int, "is_repost": bool,
          "is_quote": bool, "language": str}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _count(scenario: Scenario, since: datetime, until: datetime) -> int:
    """Rows created in ``[since, until)``."""
    second = timedelta(seconds=1)
    return index_at(scenario.rows, until - second) - index_at(scenario.rows, since - second)


def _quiet_rows(scenario: Scenario) -> list[dict]:
    return scenario.rows[: index_at(scenario.rows, scenario.start + timedelta(days=21) - timedelta(seconds=1))]


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{\w+\\\}", ".+?", re.escape(template.strip())))


def test_deterministic_for_a_seed():
    first, again = generate(quiet_days=7, seed=3), generate(quiet_days=7, seed=3)
    other = generate(quiet_days=7, seed=4)
    assert first.rows == again.rows and first.viral_post_id == again.viral_post_id
    assert first.rows != other.rows


def test_size_sorted_unique_and_moments(scenario):
    assert 7000 <= len(scenario.rows) <= 12000
    stamps = [created_at(r) for r in scenario.rows]
    assert stamps == sorted(stamps)
    assert len({r["id"] for r in scenario.rows}) == len(scenario.rows)
    assert scenario.start == DEFAULT_START and scenario.start.weekday() == 0
    assert scenario.crisis_start == datetime(2026, 3, 23, 7, 30, tzinfo=timezone.utc)
    assert scenario.end == scenario.crisis_start + timedelta(hours=12)
    assert scenario.start <= stamps[0] and stamps[-1] < scenario.end
    assert set(scenario.kinds) == {r["id"] for r in scenario.rows} and set(scenario.kinds.values()) == set(KINDS)


def test_crisis_starts_on_a_weekday_morning():
    weekend = generate(quiet_days=5)  # Monday + 5 days is a Saturday
    assert weekend.crisis_start == datetime(2026, 3, 9, 7, 30, tzinfo=timezone.utc)
    shifted = generate(datetime(2026, 1, 7, 15, 0), quiet_days=7, crisis_hours=3)
    assert shifted.crisis_start == datetime(2026, 1, 14, 7, 30, tzinfo=timezone.utc)
    assert shifted.end - shifted.crisis_start == timedelta(hours=3)


def test_scale_multiplies_volume():
    small, big = generate(quiet_days=7, crisis_hours=3), generate(quiet_days=7, crisis_hours=3, scale=2.0)
    assert 1.8 <= len(big.rows) / len(small.rows) <= 2.2


def test_rows_follow_the_import_schema(scenario):
    for row in scenario.rows:
        assert set(row) - {"title", "parent_id"} == set(FIELDS), row
        for name, kind in FIELDS.items():
            assert type(row[name]) is kind, (name, row)
        assert row["text"].strip() and row["author"].strip()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["created_at"])
        assert row["source"] in SOURCES and row["language"] in LANGS
        assert re.match(r"https://[\w.-]+\.example\.org/", row["url"]), row["url"]
        assert min(row["followers"], row["likes"], row["shares"], row["replies"]) >= 0
        assert (row["parent_id"] is not None) == (row["is_repost"] or row["is_quote"])
        assert not (row["is_repost"] and row["is_quote"])
        assert isinstance(row["title"], str) if row["source"] == "news" else "title" not in row
    context = FetchContext(scenario.brand, "import", Query.parse(scenario.query), (), scenario.end)
    mentions = [row_to_mention(row, context, "import") for row in scenario.rows[::7]]
    assert all(m.created_at.tzinfo is not None and m.language_hint for m in mentions)


def test_platform_mix_and_heavy_tails(scenario):
    sources = collections.Counter(r["source"] for r in scenario.rows)
    assert 0.35 <= sources["twitter"] / len(scenario.rows) <= 0.47
    assert all(sources[s] > 200 for s in SOURCES - {"news"}) and sources["news"] > 10
    news = [r for r in scenario.rows if r["source"] == "news"]
    assert all(created_at(r) >= scenario.crisis_start + timedelta(hours=1) for r in news)
    followers = sorted(r["followers"] for r in scenario.rows)
    assert followers[-1] > 200 * statistics.median(followers)
    ordinary = [r["likes"] for r in scenario.rows if scenario.kinds[r["id"]] == "ordinary"]
    assert statistics.median(ordinary) <= 3 and max(ordinary) > 30


def test_language_shares(scenario):
    counts = collections.Counter(r["language"] for r in scenario.rows)
    for lang, share in LANGS.items():
        assert abs(counts[lang] / len(scenario.rows) - share) <= 0.035, (lang, counts[lang])


def test_daily_and_weekly_rhythm(scenario):
    quiet = _quiet_rows(scenario)
    by_hour = collections.Counter(created_at(r).hour for r in quiet)
    night = statistics.mean(by_hour[h] for h in (0, 1, 2, 3))
    day = statistics.mean(by_hour[h] for h in (7, 8, 17, 18, 19))
    assert night < 0.15 * day
    bump_day = (scenario.start + timedelta(days=load_config()["bump"]["day"])).date()
    by_day = collections.Counter(created_at(r).date() for r in quiet)
    weekdays = [n for d, n in by_day.items() if d.weekday() < 5 and d != bump_day]
    weekends = [n for d, n in by_day.items() if d.weekday() >= 5]
    assert len(weekdays) == 14 and len(weekends) == 6
    assert 0.5 <= statistics.mean(weekends) / statistics.mean(weekdays) <= 0.8
    assert 1.15 <= by_day[bump_day] / statistics.mean(weekdays) <= 2.3


def test_bump_is_good_news_not_a_crisis(scenario):
    bump_day = scenario.start + timedelta(days=load_config()["bump"]["day"])
    rows = list(iter_until(scenario.rows, bump_day + timedelta(days=1), since=bump_day))
    kinds = collections.Counter(scenario.kinds[r["id"]] for r in rows)
    assert 0.25 <= kinds["bump"] / len(rows) <= 0.5
    assert not any(scenario.kinds[r["id"]] in CRISIS_KINDS for r in _quiet_rows(scenario))


def test_crisis_volume_dwarfs_the_same_hours_of_previous_weeks(scenario):
    crisis = _count(scenario, scenario.crisis_start, scenario.end)
    previous = [_count(scenario, scenario.crisis_start - timedelta(days=7 * w), scenario.end - timedelta(days=7 * w))
                for w in (1, 2, 3)]
    assert crisis >= 5 * statistics.mean(previous)

    def ratio(hour: int) -> float:
        since = scenario.crisis_start + timedelta(hours=hour)
        before = [_count(scenario, since - timedelta(days=7 * w), since - timedelta(days=7 * w, hours=-1))
                  for w in (1, 2, 3)]
        return _count(scenario, since, since + timedelta(hours=1)) / statistics.mean(before)

    ratios = [ratio(h) for h in range(12)]
    assert ratios[0] < 3 and max(ratios) >= 8 and ratios[-1] >= 3


def test_crisis_posts_are_mostly_negative_templates(scenario):
    rows = list(iter_until(scenario.rows, scenario.end, since=scenario.crisis_start))
    kinds = collections.Counter(scenario.kinds[r["id"]] for r in rows)
    assert 0.75 <= sum(kinds[k] for k in CRISIS_KINDS) / len(rows) <= 0.9
    assert kinds["ordinary"] > 0 and kinds["crisis"] > kinds["repost"] > kinds["quote"] > 0


def test_every_text_comes_from_its_kind_of_template(scenario):
    config = load_config()
    patterns = {(lang, kind): [_pattern(t["text"] if kind == "news" else t) for t in items]
                for lang, families in config["templates"].items() for kind, items in families.items()}
    for row in scenario.rows:
        kind = scenario.kinds[row["id"]]
        if kind in ("viral", "repost"):
            assert row["text"] == config["viral"]["text"]
        else:
            assert any(p.fullmatch(row["text"]) for p in patterns[row["language"], kind]), (kind, row["text"])


def test_templates_per_language(scenario):
    templates = load_config()["templates"]
    assert set(templates) == set(LANGS)
    for lang, families in templates.items():
        assert len(set(families["ordinary"])) >= 15 and len(set(families["crisis"])) >= 15, lang
        assert families["decoy"] and families["quote"] and families["bump"] and families["news"], lang
        plain = ("ordinary", "crisis", "quote", "bump", "decoy")
        assert all(isinstance(t, str) for kind in plain for t in families[kind]), lang
    texts = {r["text"] for r in scenario.rows if scenario.kinds[r["id"]] == "ordinary"}
    assert len(texts) > 1000


def test_viral_post_and_its_reposts(scenario):
    rows = {r["id"]: r for r in scenario.rows}
    viral = rows[scenario.viral_post_id]
    assert scenario.kinds[viral["id"]] == "viral" and not viral["is_repost"] and not viral["is_quote"]
    assert viral["shares"] > 5 * max(r["shares"] for r in scenario.rows if r is not viral)
    assert viral["followers"] >= 100_000
    assert created_at(viral) - scenario.crisis_start == timedelta(minutes=20)
    reposts = [r for r in scenario.rows if r["is_repost"]]
    assert len(reposts) >= 200
    for row in reposts:
        assert row["parent_id"] == viral["id"] and row["source"] == viral["source"]
        assert created_at(row) > created_at(viral)
    assert all(r["text"] == viral["text"] for r in reposts)
    quotes = [r for r in scenario.rows if r["is_quote"]]
    assert len(quotes) >= 50 and all(scenario.kinds[r["id"]] == "quote" for r in quotes)
    assert all(r["parent_id"] == viral["id"] and r["text"] != viral["text"] for r in quotes)


def test_brand_query_matches_every_brand_post_and_no_decoy(scenario):
    query = Query.parse(scenario.query)
    assert scenario.decoy_ids and len(scenario.decoy_ids) < 0.05 * len(scenario.rows)
    for row in scenario.rows:
        matched = query.match(row["text"], row["author"])
        if row["id"] in scenario.decoy_ids:
            assert not matched and "aurora" in row["text"].casefold(), row["text"]
        else:
            assert matched, row["text"]


def test_slicing_and_jsonl(scenario, tmp_path):
    rows = scenario.rows
    moment = scenario.crisis_start
    cut = index_at(rows, moment)
    assert created_at(rows[cut - 1]) <= moment < created_at(rows[cut])
    window = list(iter_until(rows, moment + timedelta(hours=1), since=moment))
    assert window == rows[cut:index_at(rows, moment + timedelta(hours=1))]
    assert all(moment < created_at(r) <= moment + timedelta(hours=1) for r in window)
    assert list(iter_until(rows, scenario.start - timedelta(days=1))) == []
    path = tmp_path / "mentions.jsonl"
    assert write_jsonl(window, path) == len(window)
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == window
