"""The Streamlit dashboard, driven headless through ``streamlit.testing`` on a temporary SQLite store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import streamlit as st
import yaml
from streamlit.testing.v1 import AppTest

from monitor.models import (
    Author, Engagement, Incident, IncidentState, Mention, Sentiment, Severity, Spike, SpikeKind, Transition,
)
from monitor.store.base import Notification
from monitor.store.sqlite import SqliteStore

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
BRAND = "Aurora Air"
T0 = datetime(2025, 11, 3, 0, 0, tzinfo=timezone.utc)
COUNT = 300
LABELS = ("negative", "neutral", "neutral", "positive", "negative", "neutral", "positive", "neutral", None, "negative")
OPENED = T0 + timedelta(days=2, hours=3)
HEADLINE = "Negative sentiment surge for Aurora Air: 40 mentions vs 10 expected (4.0×), 70% negative"


def make_mention(n: int) -> Mention:
    label = LABELS[n % len(LABELS)]
    sentiment = None
    if label:
        probs = {"negative": 0.1, "neutral": 0.1, "positive": 0.1, label: 0.8}
        sentiment = Sentiment(label=label, score=0.8, probabilities=probs)
    created = T0 + timedelta(minutes=14 * n)
    return Mention(
        id=f"x:{n}", brand=BRAND, source="x" if n % 3 else "news", language="de" if n % 4 == 0 else "en",
        text=f"flight {n} {'delayed again' if label == 'negative' else 'was fine'}",
        created_at=created, collected_at=created, url=f"https://example.com/{n}",
        author=Author(handle=f"@user{n % 7}"), engagement=Engagement(likes=n % 5), sentiment=sentiment,
    )


MENTIONS = [make_mention(n) for n in range(COUNT)]


def make_incident() -> Incident:
    spike = Spike(
        brand=BRAND, kind=SpikeKind.NEGATIVE, window_start=OPENED - timedelta(minutes=15), window_end=OPENED,
        observed=40, expected=10, score=6.5, severity=Severity.HIGH, negative_share=0.7, top_terms=["delayed"],
    )
    return Incident(
        id="aurora-air-20251105-0245-abc123", fingerprint=Incident.fingerprint_of(BRAND, SpikeKind.VOLUME),
        brand=BRAND, kind=SpikeKind.VOLUME, severity=Severity.HIGH, opened_at=OPENED, updated_at=OPENED,
        last_spike_at=OPENED, spikes=[spike], playbook_id="service-disruption",
        transitions=[Transition(state=IncidentState.OPEN, at=OPENED)],
    )


def write_config(folder: Path, db: Path, brands: list[dict] | None = None) -> Path:
    path = folder / "monitor.yaml"
    brands = [{"name": BRAND}] if brands is None else brands
    path.write_text(yaml.safe_dump({"brands": brands, "storage": {"path": str(db)}}))
    return path


@pytest.fixture(autouse=True)
def fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    db = tmp_path / "monitor.db"
    with SqliteStore(db) as store:
        store.add_mentions(MENTIONS)
        incident = make_incident()
        alert = Notification(key=f"{incident.id}:alert", incident_id=incident.id, kind="alert", channel="#alerts",
                             payload={"headline": HEADLINE}, created_at=OPENED)
        store.save_incident(incident, [alert])
    path = write_config(tmp_path, db)
    monkeypatch.setenv("MONITOR_CONFIG", str(path))
    return path


def run_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def widget(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def test_overview_shows_metrics_and_chart(config):
    at = run_app()
    negative = sum(1 for m in MENTIONS if m.sentiment and m.sentiment.label == "negative")
    scored = sum(1 for m in MENTIONS if m.sentiment)
    assert metric(at, "Mentions in range") == str(COUNT)
    assert metric(at, "Negative share") == f"{negative / scored:.0%}"
    assert metric(at, "Open incidents") == "1"
    assert at.sidebar.selectbox[0].options == [BRAND]
    assert len(at.get("vega_lite_chart")) == 1
    assert at.radio[0].value == "1 h"  # a 7-day range defaults to hourly buckets
    assert "1 incident(s)" in at.main.caption[-1].value


def test_default_range_ends_at_the_newest_mention_not_today(config):
    at = run_app()
    start, end = at.sidebar.date_input[0].value
    newest = MENTIONS[-1].created_at.date()
    assert end == newest and (end - start).days == 6


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


def test_mentions_text_and_source_filters(config):
    at = run_app("views/mentions.py")
    widget(at.text_input, "Search text").set_value("delayed").run()
    assert len(at.dataframe[0].value) == sum(1 for m in MENTIONS if "delayed" in m.text)
    widget(at.multiselect, "Source").set_value(["news"]).run()
    expected = sum(1 for m in MENTIONS if "delayed" in m.text and m.source == "news")
    assert len(at.dataframe[0].value) == expected


def test_mentions_filter_without_matches_says_what_to_do(config):
    at = run_app("views/mentions.py")
    widget(at.text_input, "Search text").set_value("zeppelin").run()
    assert not at.exception
    assert not at.dataframe
    assert "No mentions match" in at.info[0].value


def test_incidents_table_and_detail(config):
    at = run_app("views/incidents.py")
    table = at.dataframe[0].value
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["state"], row["severity"], row["playbook"], row["spikes"], row["peak"]) == (
        "open", "high", "service-disruption", 1, 40)
    assert at.main.selectbox[0].value == make_incident().id
    assert any(HEADLINE in m.value for m in at.markdown)
    spikes = at.dataframe[1].value
    assert len(spikes) == 1 and spikes["observed"].iloc[0] == 40


def test_mentions_without_incidents(tmp_path, monkeypatch):
    db = tmp_path / "quiet.db"
    with SqliteStore(db) as store:
        store.add_mentions(MENTIONS[:50])
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, db)))
    at = run_app()
    assert metric(at, "Mentions in range") == "50"
    assert metric(at, "Open incidents") == "0"
    assert len(at.get("vega_lite_chart")) == 1
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
