"""``monitor incident list`` / ``show`` lines: every time in the brand's zone, the zone named."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS, load_playbooks
from monitor.incident_cli import list_line, show_lines
from monitor.localtime import zone
from monitor.models import IncidentState, Severity, Spike, SpikeKind, StepDone, Transition
from monitor.store.sqlite import SqliteStore
from test_lifecycle import incident

OPENED = datetime(2026, 10, 25, 0, 40, tzinfo=timezone.utc)  # 02:40 CEST, twenty minutes before the clocks go back
PRAGUE = zone("Europe/Prague")


def spiked():
    spike = Spike(brand="Aurora Air", kind=SpikeKind.VOLUME, window_start=OPENED - timedelta(minutes=40),
                  window_end=OPENED - timedelta(minutes=10), observed=128, expected=10, score=9, severity=Severity.HIGH)
    return incident(opened_at=OPENED, spikes=[spike], playbook_id="outage", transitions=[
        Transition(state=IncidentState.OPEN, at=OPENED),
        Transition(state=IncidentState.ACKNOWLEDGED, at=OPENED + timedelta(minutes=30), by="dana")],
        steps_done=[StepDone(number=1, title="Confirm scope", by="dana", at=OPENED + timedelta(minutes=35),
                             due_at=OPENED + timedelta(minutes=10))])


def test_the_list_line_shows_detection_in_the_brands_zone():
    line = list_line(spiked(), PRAGUE)
    assert line.startswith("25 Oct 02:40 CEST  open")
    assert "128 mentions in 30 min (02:00–02:30 CEST)" in line and line.endswith("[aurora-air-1]")
    assert list_line(spiked(), zone(None)).startswith("25 Oct 00:40 UTC  ")


def test_show_names_the_zone_of_every_time_across_the_clock_change(tmp_path):
    playbooks = {p.id: p for p in load_playbooks(BUILT_IN_PLAYBOOKS)}
    with SqliteStore(tmp_path / "m.db") as store:
        lines = show_lines(spiked(), store, playbooks, PRAGUE)
    text = "\n".join(lines)
    assert "detected 25 Oct 02:40 CEST" in lines[0]
    assert "  25 Oct 02:40 CEST  open" in text and "  25 Oct 02:10 CET  acknowledged by dana" in text
    assert "done by dana at 02:15 CET" in text and "UTC" not in text
