"""Playbook outcomes and customer care: response times, negative share around incidents, volume per hour of week."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.dashboard import outcome_data  # noqa: E402
from monitor.alerts.incidents.outcomes import hour_ceiling  # noqa: E402
from dashboard_seed import (  # noqa: E402, F401 (pytest fixtures)
    BRAND, MENTIONS, OPENED, RESOLVED, T0, chart_data, config_fixture, fresh_caches_fixture, make_incident,
    make_open_incident, metric, run_app, write_config,
)
from monitor.models import IncidentState, Transition  # noqa: E402
from monitor.store.sqlite import SqliteStore  # noqa: E402

OUTCOMES = "views/outcomes.py"
CARE = "views/care.py"
DAY = timedelta(hours=24)


def negative_share(start: datetime, end: datetime) -> float:
    scored = [m for m in MENTIONS if m.sentiment and start <= m.created_at < end]
    return sum(1 for m in scored if m.sentiment.label == "negative") / len(scored)


def test_outcome_frame_measures_response_and_negative_share(tmp_path):
    spike = make_incident().spikes[0].model_copy(update={"window_start": OPENED - timedelta(minutes=45)})
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions(MENTIONS)
        frame = outcome_data.outcome_frame(store, [make_open_incident(), make_incident().model_copy(
            update={"spikes": [spike]})])
    resolved, still_open = frame.iloc[0], frame.iloc[1]  # oldest first
    assert (resolved["minutes_to_acknowledge"], resolved["minutes_to_resolve"]) == (12, 180)
    assert (resolved["acknowledged_by"], resolved["resolved_by"]) == ("maria", "maria")
    assert (resolved["steps_done"], resolved["steps_on_time"]) == (2, 1)
    assert resolved["negative_before"] == pytest.approx(negative_share(OPENED - DAY, OPENED))
    assert resolved["negative_at_alert"] == pytest.approx(negative_share(spike.window_start, spike.window_end))
    closed = hour_ceiling(RESOLVED)
    assert resolved["negative_at_close"] == pytest.approx(negative_share(closed - timedelta(hours=2), closed))
    assert resolved["negative_after"] == pytest.approx(negative_share(RESOLVED, RESOLVED + DAY))
    assert pd.isna(still_open["minutes_to_acknowledge"]) and pd.isna(still_open["negative_after"])


def test_playbook_summary_groups_and_takes_medians():
    frame = pd.DataFrame({
        "id": ["a", "b", "c"], "playbook": ["outage", "outage", ""],
        "minutes_to_acknowledge": [10.0, 30.0, None], "minutes_to_resolve": [100.0, 300.0, None],
        "steps_done": [4, 2, 0], "steps_on_time": [3, 0, 0],
        "negative_before": [0.2, 0.4, 0.3], "negative_at_alert": [0.7, 0.9, 0.5], "negative_at_close": [0.5, 0.3, None],
        "negative_after": [0.2, 0.2, None],
    })
    summary = outcome_data.playbook_summary(frame)
    assert summary["playbook"].tolist() == ["outage", "none"]
    outage = summary.iloc[0]
    assert (outage["incidents"], outage["median_minutes_to_acknowledge"], outage["median_minutes_to_resolve"]) == (
        2, 20.0, 200.0)
    assert outage["negative_before"] == pytest.approx(0.3) and outage["negative_after"] == pytest.approx(0.2)
    assert outage["median_steps_done"] == 3 and outage["steps_on_time"] == pytest.approx(0.5)
    assert pd.isna(summary.iloc[1]["steps_on_time"])  # no step done: no share
    assert summary["recovered"].tolist() == ["yes", "not yet known"]
    worse = frame.assign(negative_after=[0.5, 0.5, None])
    assert outcome_data.playbook_summary(worse)["recovered"].tolist() == ["no", "not yet known"]
    assert outcome_data.playbook_summary(frame.iloc[0:0]).empty


def test_hour_of_week_averages_hours_and_counts_silent_ones_as_zero():
    monday = pd.Timestamp("2025-11-03T09:00Z")
    series = pd.DataFrame({
        "bucket": [monday, monday, monday + pd.Timedelta(weeks=1)],
        "sentiment": ["negative", "neutral", "neutral"], "count": [3, 1, 2],
    })
    cells = outcome_data.hour_of_week(series)
    nine = cells[(cells["weekday"] == "Mon") & (cells["hour"] == 9)]["mentions"].item()
    assert nine == pytest.approx(3.0)  # (4 + 2) / 2 weeks
    assert cells[(cells["weekday"] == "Tue") & (cells["hour"] == 9)]["mentions"].item() == 0
    assert len(cells) == 7 * 24
    assert outcome_data.hour_of_week(series.iloc[0:0]).empty


def test_hour_of_week_counts_in_local_hours_across_the_clock_change():
    """Europe/Prague leaves summer time on Sun 26 Oct 2025: 07:00 UTC is 09:00 the Saturday before, 08:00 after."""
    saturday, monday = pd.Timestamp("2025-10-25T07:00Z"), pd.Timestamp("2025-10-27T07:00Z")
    series = pd.DataFrame({"bucket": [saturday, monday], "sentiment": ["neutral", "neutral"], "count": [4, 6]})
    cells = outcome_data.hour_of_week(series, "Europe/Prague")
    local = {(row.weekday, row.hour): row.mentions for row in cells.itertuples() if row.mentions}
    assert local == {("Sat", 9): 4, ("Mon", 8): 6}
    repeated = cells[(cells["weekday"] == "Sun") & (cells["hour"] == 2)]
    assert len(repeated) == 1  # the hour lived twice that night is one cell, averaged over both


def test_outcomes_page_lists_playbooks(config):
    at = run_app(OUTCOMES)
    summary = at.dataframe[0].value
    assert summary["playbook"].tolist() == ["none", "outage"]
    assert summary["incidents"].tolist() == [1, 1]
    outage = summary.set_index("playbook").loc["outage"]
    assert (outage["median_minutes_to_acknowledge"], outage["median_minutes_to_resolve"]) == (12, 180)
    assert outage["median_steps_done"] == 2 and outage["steps_on_time"] == pytest.approx(0.5)
    before, after = negative_share(OPENED - DAY, OPENED), negative_share(RESOLVED, RESOLVED + DAY)
    assert outage["recovered"] == ("yes" if after <= before + outcome_data.RECOVERY_MARGIN else "no")
    assert summary.set_index("playbook").loc["none", "recovered"] == "not yet known"  # still open
    assert len(at.dataframe[1].value) == 2


def test_care_page_shows_response_times_and_heatmap(config):
    at = run_app(CARE)
    assert metric(at, "Median first response") == "12 min"
    assert metric(at, "Median resolution") == "180 min"
    assert metric(at, "Acknowledged") == "1 of 2"
    (cells,) = chart_data(at, 0)
    hourly = pd.Series([m.created_at for m in MENTIONS]).dt.floor("h").value_counts()
    monday_nine = hourly[[t for t in hourly.index if t.day_of_week == 0 and t.hour == 9]].sum()
    row = cells[(cells["weekday"] == "Mon") & (cells["hour"] == 9)]
    assert row["mentions"].item() == monday_nine  # one Monday in the data


def test_care_without_people_responding_says_no_replies_are_tracked(tmp_path, monkeypatch):
    db = tmp_path / "auto.db"
    incident = make_open_incident()
    incident.state = IncidentState.RESOLVED
    incident.transitions.append(Transition(state=IncidentState.RESOLVED, at=incident.opened_at + timedelta(hours=6),
                                           note="quiet period: auto-resolved"))
    with SqliteStore(db) as store:
        store.add_mentions(MENTIONS)
        store.save_incident(incident)
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, db)))
    at = run_app(CARE)
    message = at.info[0].value
    assert "no replies are tracked yet" in message and "1 were resolved automatically" in message
    assert len(at.get("vega_lite_chart")) == 1  # the heatmap still shows


def test_empty_states_without_incidents(tmp_path, monkeypatch):
    db = tmp_path / "quiet.db"
    with SqliteStore(db) as store:
        store.add_mentions(MENTIONS[:50])
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, db)))
    outcomes = run_app(OUTCOMES)
    assert "nothing to compare yet" in outcomes.info[0].value and not outcomes.dataframe
    care = run_app(CARE)
    assert "Response times appear here" in care.info[0].value
    assert len(care.get("vega_lite_chart")) == 1
