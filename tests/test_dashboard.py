"""The Streamlit dashboard, driven headless through ``streamlit.testing`` on a temporary SQLite store."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dashboard_seed import (  # noqa: F401 (pytest fixtures)
    BRAND, COMPETITOR, COMPETITOR_COUNT, COUNT, MENTIONS, SILENT_COMPETITOR, T0, THREAD, chart_data, config_fixture,
    fresh_caches_fixture, metric, run_app, seed, widget, write_config,
)
from monitor.dashboard import data
from monitor.store.sqlite import SqliteStore


def test_overview_shows_metrics_and_charts(config):
    at = run_app()
    negative = sum(1 for m in MENTIONS if m.sentiment and m.sentiment.label == "negative")
    scored = sum(1 for m in MENTIONS if m.sentiment)
    assert metric(at, "Mentions in range") == str(COUNT)
    assert metric(at, "Negative share") == f"{negative / scored:.0%}"
    assert metric(at, "Open incidents") == "1"
    assert at.sidebar.selectbox[0].options == [BRAND, COMPETITOR]
    assert len(at.get("vega_lite_chart")) == 4  # volume, share of voice, top sources, top languages
    assert at.radio[0].value == "1 h"  # a 7-day range defaults to hourly buckets
    assert any("2 incident(s) opened in this range" in c.value for c in at.main.caption)
    assert [s.value for s in at.subheader] == ["Top posts", "Top authors", "Share of voice", "Top sources",
                                               "Top languages"]


def test_overview_level_against_baseline(config):
    at = run_app()
    newest = MENTIONS[-1].created_at
    until = newest.replace(minute=0, second=0) + timedelta(hours=1)  # counted in whole hours
    last_day = sum(1 for m in MENTIONS if until - timedelta(days=1) <= m.created_at < until)
    assert metric(at, "Last 24 h") == str(last_day)
    history = sum(1 for m in MENTIONS if m.created_at < until - timedelta(days=1))
    days = (until - timedelta(days=1) - T0) / timedelta(days=1)
    delta = next(m for m in at.metric if m.label == "Last 24 h").delta
    assert delta == f"{round(100 * (last_day / (history / days) - 1)):+d}% vs {history / days:,.0f}/day"


def test_share_of_voice_names_competitors_without_data(config):
    at = run_app()
    assert "share of voice" in at.get("vega_lite_chart")[1].proto.spec
    (shares,) = chart_data(at, 1)
    assert dict(zip(shares["brand"], shares["mentions"])) == {BRAND: COUNT, COMPETITOR: COMPETITOR_COUNT}
    assert shares["share"].sum() == pytest.approx(1.0)
    note = " ".join(c.value for c in at.main.caption)
    assert f"No mentions stored for {SILENT_COMPETITOR}" in note and "configured as brands" in note


def test_share_of_voice_when_no_competitor_has_data(tmp_path, monkeypatch):
    db = tmp_path / "alone.db"
    with SqliteStore(db) as store:
        store.add_mentions(MENTIONS[:50])
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, db)))
    at = run_app()
    message = next(i.value for i in at.info)
    assert f"No mentions stored for the competitors ({COMPETITOR}, {SILENT_COMPETITOR})" in message
    assert "configured as brands too" in message
    assert len(at.get("vega_lite_chart")) == 3  # no share-of-voice chart


def test_share_of_voice_without_competitors_says_how_to_add_them(tmp_path, monkeypatch):
    db = tmp_path / "solo.db"
    with SqliteStore(db) as store:
        store.add_mentions(MENTIONS[:50])
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, db, brands=[{"name": BRAND}])))
    at = run_app()
    assert any("No competitors configured" in i.value and "competitors:" in i.value for i in at.info)


def test_default_range_ends_at_the_newest_mention_not_today(config):
    at = run_app()
    start, end = at.sidebar.date_input[0].value
    newest = MENTIONS[-1].created_at.date()
    assert end == newest and (end - start).days == 6


def test_a_brands_zone_sets_the_days_and_names_itself(tmp_path, monkeypatch):
    db = tmp_path / "monitor.db"
    seed(db)
    brands = [{"name": BRAND, "timezone": "Asia/Tokyo", "competitors": [COMPETITOR]}, {"name": COMPETITOR}]
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, db, brands=brands)))
    at = run_app()
    picker = at.sidebar.date_input[0]
    tokyo = ZoneInfo("Asia/Tokyo")
    newest = MENTIONS[-1].created_at.astimezone(tokyo)
    assert picker.label == "Date range (Asia/Tokyo)" and picker.value[1] == newest.date()
    assert any(c.value == f"Newest mention: {newest:%d %b %Y %H:%M} JST" for c in at.sidebar.caption)
    first = datetime.combine(picker.value[0], time.min, tzinfo=tokyo)
    after = datetime.combine(picker.value[1] + timedelta(days=1), time.min, tzinfo=tokyo)
    assert metric(at, "Mentions in range") == str(sum(1 for m in MENTIONS if first <= m.created_at < after))


def test_narrower_range_changes_counts_and_bucket(config):
    at = run_app()
    day = T0.date()
    at.sidebar.date_input[0].set_value((day, day)).run()
    assert not at.exception
    expected = sum(1 for m in MENTIONS if m.created_at.date() == day)
    assert metric(at, "Mentions in range") == str(expected)
    assert at.radio[0].value == "15 min"
    assert metric(at, "Open incidents") == "1"


def test_bucket_choice_rerenders(config):
    at = run_app()
    at.radio[0].set_value("1 day").run()
    assert not at.exception
    assert metric(at, "Mentions in range") == str(COUNT)


def test_mentions_table_and_sentiment_filter(config):
    at = run_app("views/mentions.py")
    table = at.dataframe[0].value
    assert len(table) == COUNT
    assert {"time", "source", "language", "sentiment", "confidence", "author", "engagement", "text", "link"} <= set(
        table.columns)
    assert table["link"].iloc[0] == MENTIONS[-1].url  # newest first
    assert widget(at.multiselect, "Source").options == ["news", "x"]
    assert widget(at.multiselect, "Language").options == ["de", "en"]
    assert len(at.download_button) == 1

    widget(at.multiselect, "Sentiment").set_value(["negative"]).run()
    assert not at.exception
    negatives = [m for m in MENTIONS if m.sentiment and m.sentiment.label == "negative"]
    narrowed = at.dataframe[0].value
    assert len(narrowed) == len(negatives)
    assert set(narrowed["sentiment"]) == {"negative"}
    assert f"{len(negatives)} mention(s) match" in at.caption[0].value
    assert at.sidebar.selectbox[0].value == BRAND  # the entry script ran again, not just the page


def test_a_posts_thread_is_shown_in_reply_order(config):
    at = run_app("views/mentions.py")
    choice = widget(at.selectbox, "Show the conversation of")
    assert choice.options[0].startswith(MENTIONS[THREAD[2]].author.handle) and len(choice.options) == 2
    choice.set_value(MENTIONS[THREAD[2]].id).run()
    assert not at.exception
    thread = at.dataframe[1].value
    assert thread["id"].tolist() == [MENTIONS[n].id for n in THREAD]
    assert thread["depth"].tolist() == [0, 1, 2]
    assert thread["answers"].tolist() == ["", MENTIONS[THREAD[0]].author.handle, MENTIONS[THREAD[1]].author.handle]


def test_mentions_text_and_source_filters(config):
    at = run_app("views/mentions.py")
    widget(at.text_input, "Search text").set_value("delayed").run()
    assert len(at.dataframe[0].value) == sum(1 for m in MENTIONS if "delayed" in m.text)
    widget(at.multiselect, "Source").set_value(["news"]).run()
    expected = sum(1 for m in MENTIONS if "delayed" in m.text and m.source == "news")
    assert len(at.dataframe[0].value) == expected


def test_the_most_interacted_with_post_comes_first_over_the_whole_range_and_prefix_search(config):
    at = run_app("views/mentions.py")
    widget(at.radio, "Sort").set_value("Most interactions").run()
    assert not at.exception
    table = at.dataframe[0].value
    most = max(MENTIONS, key=lambda m: (m.engagement.total, m.created_at))
    assert table["id"].iloc[0] == most.id
    assert table["engagement"].is_monotonic_decreasing
    widget(at.text_input, "Search text").set_value("delay*").run()
    assert len(at.dataframe[0].value) == sum(1 for m in MENTIONS if "delayed" in m.text)
    widget(at.text_input, "Search text").set_value("delay").run()
    assert "try delay*" in at.info[0].value


def test_the_text_comes_second_and_the_csv_is_named_by_the_range_shown(config):
    at = run_app("views/mentions.py")
    assert at.dataframe[0].proto.column_order[:2] == ["time", "text"]
    start, end = at.sidebar.date_input[0].value
    first = datetime.combine(start, time.min, tzinfo=timezone.utc)
    after = datetime.combine(end + timedelta(days=1), time.min, tzinfo=timezone.utc)
    assert data.export_name(BRAND, first, after) == f"aurora-air-mentions-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    prague = ZoneInfo("Europe/Prague")  # local days begin at 23:00 or 22:00 UTC the day before
    local_first, local_after = (datetime.combine(day, time.min, tzinfo=prague)
                                for day in (start, end + timedelta(days=1)))
    assert data.export_name(BRAND, local_first.astimezone(timezone.utc), local_after.astimezone(timezone.utc),
                            "Europe/Prague") == f"aurora-air-mentions-{start:%Y%m%d}-{end:%Y%m%d}.csv"


def test_mentions_filter_without_matches_says_what_to_do(config):
    at = run_app("views/mentions.py")
    widget(at.text_input, "Search text").set_value("zeppelin").run()
    assert not at.exception
    assert not at.dataframe
    assert "No mentions match" in at.info[0].value


def test_mentions_without_incidents(tmp_path, monkeypatch):
    db = tmp_path / "quiet.db"
    with SqliteStore(db) as store:
        store.add_mentions(MENTIONS[:50])
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, db)))
    at = run_app()
    assert metric(at, "Mentions in range") == "50"
    assert metric(at, "Open incidents") == "0"
    assert len(at.get("vega_lite_chart")) == 3
    at.switch_page("views/incidents.py").run()
    assert not at.exception
    assert "No incidents opened" in at.info[0].value


def test_empty_database_says_how_to_get_data(tmp_path, monkeypatch):
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, tmp_path / "empty.db")))
    at = run_app()
    message = at.info[0].value
    assert "No mentions stored for **Aurora Air**" in message
    assert "monitor run" in message and "monitor demo" in message
    assert not at.metric


def test_unreadable_database_points_at_storage(tmp_path, monkeypatch):
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, tmp_path)))  # a folder, not a database
    at = run_app()
    assert "database cannot be read" in at.error[0].value
    assert any("storage:" in m.value for m in at.markdown)


def test_missing_config_explains_how_to_start(monkeypatch):
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    at = run_app()
    assert "No configuration given" in at.error[0].value
    assert any("monitor dashboard --config monitor.yaml" in m.value for m in at.markdown)


def test_unreadable_config_file_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("MONITOR_CONFIG", str(tmp_path / "nowhere.yaml"))
    at = run_app()
    assert "cannot be used" in at.error[0].value
    body = " ".join(m.value for m in at.markdown)
    assert "cannot read config" in body and "monitor dashboard --config monitor.yaml" in body


def test_invalid_config_names_the_problem(tmp_path, monkeypatch):
    path = tmp_path / "monitor.yaml"
    path.write_text("brands: [{name: Aurora Air, colour: blue}]\n")
    monkeypatch.setenv("MONITOR_CONFIG", str(path))
    at = run_app()
    assert "cannot be used" in at.error[0].value
    body = " ".join(m.value for m in at.markdown)
    assert "colour" in body and "monitor dashboard --config monitor.yaml" in body


def test_no_brands_configured(tmp_path, monkeypatch):
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, tmp_path / "m.db", brands=[])))
    at = run_app()
    assert "No brands configured" in at.error[0].value
    assert any("brands:" in m.value for m in at.markdown)


def test_a_post_deleted_by_its_author_stays_listed_with_when_it_was_deleted(tmp_path, monkeypatch):
    db = tmp_path / "deleted.db"
    gone = MENTIONS[-1].model_copy(update={"deleted_at": MENTIONS[-1].created_at + timedelta(minutes=7)})
    with SqliteStore(db) as store:
        store.add_mentions(MENTIONS[:10] + [gone])
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, db)))
    table = run_app("views/mentions.py").dataframe[0].value.set_index("id")
    assert len(table) == 11
    assert table.loc[gone.id, "deleted"] == gone.deleted_at
    assert table.drop(gone.id)["deleted"].isna().all()
