import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from monitor.backtest.budget import _Grouper, budget_from_config, budget_from_demo, format_budget
from monitor.config import AlertsConfig, load
from monitor.demo.scenario import generate
from monitor.models import Author, Engagement, Mention, Sentiment, Severity, Spike, SpikeKind
from monitor.store import open_store

BUCKET = timedelta(minutes=15)
T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo_report():
    return budget_from_demo(quiet_days=7)


def test_the_demo_crisis_is_caught_early_and_the_quiet_days_stay_quiet(demo_report):
    crisis = generate(quiet_days=7).crisis_start
    [brand] = demo_report.brands
    assert brand.truth == crisis
    assert all(i.opened_at >= crisis for i in demo_report.incidents)
    [incident] = demo_report.incidents  # the viral post opens it; the surge that follows joins it
    assert incident.kind is SpikeKind.VOLUME and incident.spikes > 1
    # the viral post appears at +20 min, exactly on a tick: read (as live) at the next one, +35 min
    assert incident.opened_at - crisis == timedelta(minutes=35)
    assert incident.severity is Severity.CRITICAL


def test_the_report_gives_alerts_per_week_and_a_delay_per_incident(demo_report):
    lines = format_budget(demo_report)
    assert "per week" in lines[1] and "0 before the crisis" in lines[1]
    assert sum("after the crisis began" in line for line in lines) == len(demo_report.incidents)


def spike(minute: int, kind=SpikeKind.VOLUME, severity=Severity.LOW) -> Spike:
    start = T0 + timedelta(minutes=minute)
    return Spike(brand="Aurora Air", kind=kind, window_start=start, window_end=start + BUCKET, observed=50,
                 expected=10, score=5, severity=severity)


def test_grouping_follows_the_incident_engine_rules():
    alerts = AlertsConfig()
    grouper = _Grouper(alerts)
    for minute in range(0, 4 * 60, 15):  # a four-hour plateau: one incident
        grouper.add(spike(minute), T0 + timedelta(minutes=minute + 20))
    grouper.add(spike(30, SpikeKind.NEGATIVE, Severity.HIGH), T0 + timedelta(minutes=50))
    assert len(grouper.incidents) == 1 and grouper.incidents[0].severity is Severity.HIGH
    quiet = alerts.resolve_after + timedelta(minutes=4 * 60 + 30)
    grouper.add(spike(int(quiet.total_seconds() // 60)), T0 + quiet)  # within the cooldown: reopened
    assert len(grouper.incidents) == 1 and grouper.incidents[0].reopened == 1
    later = quiet + alerts.resolve_after + alerts.cooldown + timedelta(hours=1)
    grouper.add(spike(int(later.total_seconds() // 60)), T0 + later)
    assert len(grouper.incidents) == 2


def test_the_stored_history_of_a_config_is_replayed(tmp_path):
    config_path = tmp_path / "monitor.yaml"
    config_path.write_text(yaml.safe_dump({
        "storage": {"backend": "sqlite", "path": "m.db"},
        "detection": {"warmup": "2d"},
        "brands": [{"name": "Aurora Air", "terms": ["aurora air"]}],
    }))
    config = load(config_path)
    negative = Sentiment(label="negative", score=0.9, probabilities={"negative": 0.9})
    neutral = Sentiment(label="neutral", score=0.9, probabilities={"neutral": 0.9})
    mentions = []
    for minute in range(0, 6 * 24 * 60, 6):  # ten posts an hour for six days
        mentions.append((minute, neutral))
    burst = 5 * 24 * 60 + 12 * 60
    mentions += [(burst + k % 30, negative) for k in range(150)]
    store = open_store(config.storage)
    store.add_mentions([
        Mention(id=f"tw:{k}", brand="Aurora Air", source="twitter", text="aurora air", sentiment=sentiment,
                created_at=T0 + timedelta(minutes=minute), collected_at=T0 + timedelta(minutes=minute),
                author=Author(handle="x", followers=10), engagement=Engagement(likes=1))
        for k, (minute, sentiment) in enumerate(mentions)
    ])
    store.close()
    report = budget_from_config(config_path, weeks=1, now=T0 + timedelta(days=6))
    [incident] = report.incidents
    assert incident.kind is SpikeKind.VOLUME
    assert T0 + timedelta(minutes=burst) <= incident.opened_at <= T0 + timedelta(minutes=burst + 60)
    assert "1 alert(s)" in format_budget(report)[1]
    by_default = budget_from_config(config_path, weeks=1)  # months after the data: replays up to the newest post
    assert [i.opened_at for i in by_default.incidents] == [incident.opened_at]
    assert by_default.end - timedelta(days=6) <= T0 + timedelta(days=6) <= by_default.end + timedelta(minutes=30)


def test_the_cli_reports_the_demo_budget():
    result = subprocess.run([sys.executable, "-m", "monitor", "backtest", "--demo", "--days", "7"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "alert budget for the demo scenario" in result.stdout and "per week" in result.stdout
