"""The dashboard's Altair chart builders, checked through their Vega-Lite specs."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.dashboard import charts  # noqa: E402
from monitor.dashboard.incident_data import EVENT_TYPES  # noqa: E402

HOUR = timedelta(hours=1)


@pytest.fixture
def series() -> pd.DataFrame:
    buckets = pd.to_datetime(["2025-11-03T00:00Z", "2025-11-03T01:00Z"], utc=True)
    return pd.DataFrame(
        [{"bucket": b, "sentiment": s, "count": n}
         for b in buckets for s, n in zip(charts.SENTIMENT_COLOURS, (5, 3, 2, 1))]
    )


@pytest.fixture
def incidents() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["aurora-air-1"], "opened_at": pd.to_datetime(["2025-11-03T00:30Z"], utc=True),
        "severity": ["high"], "state": ["open"], "playbook": ["service-disruption"],
    })


def test_sentiment_colours_are_fixed():
    scale = charts.sentiment_scale().to_dict()
    assert dict(zip(scale["domain"], scale["range"])) == {
        "negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c", "unknown": "#d9d9d9",
    }


def test_volume_area_stacks_counts_by_sentiment(series):
    spec = charts.volume_area(series, HOUR).to_dict()
    assert spec["mark"]["type"] == "area"
    enc = spec["encoding"]
    assert (enc["x"]["field"], enc["x"]["type"], enc["x"]["scale"]["type"]) == ("bucket", "temporal", "utc")
    assert (enc["y"]["field"], enc["y"]["stack"]) == ("count", "zero")
    assert enc["y"]["title"] == "mentions per 1 h"
    assert enc["color"]["field"] == "sentiment"
    assert enc["color"]["scale"]["range"] == list(charts.SENTIMENT_COLOURS.values())
    assert enc["order"]["field"] == "stack_order"
    assert "indexof(['negative', 'neutral', 'positive', 'unknown']" in spec["transform"][0]["calculate"]
    assert [t["field"] for t in enc["tooltip"]] == ["bucket", "sentiment", "count"]


def test_volume_chart_marks_incidents_with_rule_and_tooltip(series, incidents):
    spec = charts.volume_chart(series, incidents, HOUR).to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["area", "rule", "point"]
    rule = spec["layer"][1]
    assert rule["encoding"]["x"]["field"] == "opened_at"
    assert rule["mark"]["color"] == charts.INCIDENT_COLOUR
    assert "color" not in rule["encoding"]  # must not join the sentiment colour scale
    assert [t["field"] for t in rule["encoding"]["tooltip"]] == ["id", "opened_at", "severity", "state", "playbook"]
    rows = next(d for d in spec["datasets"].values() if d and "opened_at" in d[0])
    assert rows[0]["id"] == "aurora-air-1" and rows[0]["playbook"] == "service-disruption"


def test_volume_chart_without_incidents_has_only_the_area(series):
    spec = charts.volume_chart(series, incidents=pd.DataFrame(columns=["id", "opened_at"]), bucket=HOUR).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["area"]


@pytest.mark.parametrize(("bucket", "label"), [
    (timedelta(minutes=15), "15 min"), (HOUR, "1 h"), (timedelta(hours=6), "6 h"),
    (timedelta(days=1), "1 day"), (timedelta(days=7), "7 days"),
])
def test_bucket_label(bucket, label):
    assert charts.bucket_label(bucket) == label


def test_share_bar_highlights_the_brand():
    shares = pd.DataFrame({"brand": ["Aurora Air", "SkyLark"], "mentions": [300, 100], "share": [0.75, 0.25]})
    spec = charts.share_bar(shares, "Aurora Air").to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["field"] == "share" and spec["encoding"]["x"]["axis"]["format"] == "%"
    colour = spec["encoding"]["color"]
    assert colour["condition"]["value"] == charts.HIGHLIGHT_COLOUR and colour["value"] == charts.OTHER_COLOUR
    assert "Aurora Air" in colour["condition"]["test"]


def test_top_bar_keeps_the_largest_values_split_by_sentiment():
    counts = pd.DataFrame({"source": ["x", "x", "news", "rss"], "sentiment": ["negative", "neutral", "negative",
                                                                              "positive"], "count": [5, 4, 3, 1]})
    spec = charts.top_bar(counts, "source", top=2).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert {r["source"] for r in rows} == {"x", "news"}
    assert spec["encoding"]["y"]["sort"] == ["x", "news"]
    assert spec["encoding"]["color"]["scale"]["range"] == list(charts.SENTIMENT_COLOURS.values())


def test_charts_draw_the_wall_clock_of_the_configured_zone_and_name_it(series, incidents):
    spec = charts.volume_chart(series, incidents, HOUR, "pick", zone_name="Europe/Prague").to_dict()
    assert spec["layer"][0]["encoding"]["x"]["title"] == "time (Europe/Prague)"
    rows = [r for data in spec["datasets"].values() for r in data]
    assert {r["bucket"][:19] for r in rows if "sentiment" in r} == {"2025-11-03T01:00:00", "2025-11-03T02:00:00"}
    assert {r["opened_at"][:19] for r in rows if "opened_at" in r} == {"2025-11-03T01:30:00"}
    picker = spec["layer"][-1]
    assert picker["encoding"]["x"]["field"] == "at" and spec["params"][0]["select"]["fields"] == ["bucket"]
    picked = [r for r in rows if "at" in r]  # drawn at the local time, picked by the UTC start of the bucket
    assert [(r["at"][:19], r["bucket"][:19]) for r in picked] == [("2025-11-03T01:00:00", "2025-11-03T00:00:00"),
                                                                   ("2025-11-03T02:00:00", "2025-11-03T01:00:00")]
    assert charts.wall_clock(series, ("bucket",), "UTC") is series
    cells = pd.DataFrame({"weekday": ["Mon"], "hour": [9], "mentions": [3.0]})
    assert charts.hour_of_week_heatmap(cells, "Asia/Tokyo").to_dict()["encoding"]["x"]["title"] == \
        "hour of day (Asia/Tokyo)"


def test_heatmap_orders_weekdays_monday_first():
    cells = pd.DataFrame({"weekday": ["Mon", "Sun"], "hour": [9, 20], "mentions": [3.0, 1.5]})
    spec = charts.hour_of_week_heatmap(cells).to_dict()
    assert spec["mark"]["type"] == "rect"
    assert spec["encoding"]["y"]["sort"] == list(charts.WEEKDAYS)
    assert (spec["encoding"]["x"]["field"], spec["encoding"]["color"]["field"]) == ("hour", "mentions")


def test_incident_timeline_layers_spikes_volume_and_events(series):
    spikes = pd.DataFrame({"window_start": pd.to_datetime(["2025-11-03T00:15Z"], utc=True),
                           "window_end": pd.to_datetime(["2025-11-03T00:30Z"], utc=True), "observed": [40]})
    events = pd.DataFrame({"at": pd.to_datetime(["2025-11-03T00:31Z"], utc=True), "type": ["Slack message"],
                           "event": ["Slack alert (sent)"], "detail": ["#alerts: spike"]})
    spec = charts.incident_timeline(series, spikes, events, HOUR).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect", "area", "rule"]
    assert spec["layer"][0]["mark"]["color"] == charts.SPIKE_COLOUR
    colour = spec["layer"][2]["encoding"]["color"]
    assert colour["field"] == "type"  # one colour per kind of event, never shared by unrelated ones
    assert dict(zip(colour["scale"]["domain"], colour["scale"]["range"])) == charts.EVENT_COLOURS
    assert set(charts.EVENT_COLOURS) == set(EVENT_TYPES) and len(set(charts.EVENT_COLOURS.values())) == 3
    assert spec["resolve"]["scale"]["color"] == "independent"  # events do not join the sentiment colours
    empty = charts.incident_timeline(series, spikes.iloc[0:0], events.iloc[0:0], HOUR).to_dict()
    assert [layer["mark"]["type"] for layer in empty["layer"]] == ["area"]


def test_source_rate_bars_mark_failing_sources_red():
    rates = pd.DataFrame({"source": ["x", "news"], "per_hour": [12.0, 0.0], "healthy": [True, False]})
    colour = charts.source_rate_bars(rates).to_dict()["encoding"]["color"]
    assert colour["value"] == charts.SENTIMENT_COLOURS["negative"] and colour["condition"]["test"] == "datum.healthy"


def test_the_volume_chart_picks_the_nearest_bucket_on_click(series):
    spec = charts.volume_chart(series, pd.DataFrame(columns=["id", "opened_at"]), HOUR, pick="pick").to_dict()
    (param,) = spec["params"]
    assert param["name"] == "pick" and param["select"] == {"type": "point", "fields": ["bucket"], "nearest": True,
                                                           "on": "click"}
    picker = spec["layer"][-1]
    assert picker["mark"]["type"] == "point" and picker["encoding"]["opacity"] == {"value": 0}
    totals = spec["datasets"][picker["data"]["name"]]
    assert [row["count"] for row in totals] == [11, 11]  # one point per bucket, on its stacked total
    assert "params" not in charts.volume_chart(series, pd.DataFrame(columns=["id", "opened_at"]), HOUR).to_dict()
