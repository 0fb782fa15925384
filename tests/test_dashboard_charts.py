"""The dashboard's Altair chart builders, checked through their Vega-Lite specs."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard import charts  # noqa: E402

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
    assert "indexOf(['negative', 'neutral', 'positive', 'unknown']" in spec["transform"][0]["calculate"]
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
