"""`monitor report incidents`, `monitor incident show`, the dashboard's data and the Slack resolution
say the same figures for the same incidents: resolved, closed as a false alarm and still open."""

from __future__ import annotations

import csv
import json
import re
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard_seed import (  # noqa: E402
    ACKNOWLEDGED, BRAND, PLAYBOOKS, RESOLVED, T0, alert_for, make_incident, make_open_incident, seed,
    write_config,
)
from monitor.alerts.incidents.lifecycle import apply  # noqa: E402
from monitor.alerts.incidents.playbooks import load_playbooks  # noqa: E402
from monitor.alerts.notify.delivery import deliver_due  # noqa: E402
from monitor.alerts.notify.slack.outbox import OutboxNotifier  # noqa: E402
from monitor.cli import cli  # noqa: E402
from monitor.dashboard.outcome_data import outcome_frame  # noqa: E402
from monitor.models import IncidentState, Transition  # noqa: E402
from monitor.store.sqlite import SqliteStore  # noqa: E402

FALSE_OPENED = T0 + timedelta(days=1, hours=10, minutes=20)
FALSE_CLOSED = FALSE_OPENED + timedelta(minutes=40)
DONE = RESOLVED + timedelta(hours=30)


def _prepare(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """The seeded store with the resolved incident resolved and a third one closed as a false alarm through
    the lifecycle (as the buttons do), and those resolutions delivered to the outbox."""
    db = tmp_path / "monitor.db"
    seed(db)
    resolved, still_open = make_incident(), make_open_incident()
    false_alarm = still_open.model_copy(update={
        "id": "aurora-air-20251104-1000-f00", "fingerprint": "false", "opened_at": FALSE_OPENED,
        "updated_at": FALSE_OPENED, "last_spike_at": FALSE_OPENED,
        "spikes": [s.model_copy(update={"window_start": FALSE_OPENED - timedelta(minutes=15),
                                        "window_end": FALSE_OPENED}) for s in still_open.spikes],
        "transitions": [Transition(state=IncidentState.OPEN, at=FALSE_OPENED)]})
    outbox = tmp_path / "outbox.jsonl"
    with SqliteStore(db) as store:
        stored = store.get_incident(resolved.id)
        store.save_incident(stored.model_copy(update={"state": IncidentState.ACKNOWLEDGED,
                                                      "transitions": resolved.transitions[:2],
                                                      "updated_at": ACKNOWLEDGED}), [])
        store.save_incident(false_alarm, [alert_for(false_alarm)])
        apply(store, resolved.id, "resolve", by="maria", now=RESOLVED)
        apply(store, false_alarm.id, "false_alarm", by="jonas", now=FALSE_CLOSED)
        deliver_due(store, OutboxNotifier(outbox), load_playbooks(PLAYBOOKS), DONE, "http://localhost:8501")
    return write_config(tmp_path, db), outbox, [false_alarm.id, resolved.id, still_open.id]


def _slack(outbox: Path) -> dict[str, str]:
    """The text of each incident's resolution message, as Slack shows it (blocks only)."""
    said = {}
    for line in outbox.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["kind"] == "resolved":
            said[record["incident_id"]] = " ".join(b["text"]["text"] for b in record["blocks"] if b["type"] == "section")
    return said


def _value(cell: str) -> float | None:
    return float(cell) if cell else None


def _same(a: float | None, b: float) -> bool:
    return (a is None and pd.isna(b)) or (a is not None and a == pytest.approx(b, abs=5e-4))


def test_cli_dashboard_and_slack_agree(tmp_path):
    config, outbox, ids = _prepare(tmp_path)
    runner = CliRunner()
    report = runner.invoke(cli, ["report", "incidents", "--config", str(config), "--csv", str(tmp_path / "o.csv")])
    assert report.exit_code == 0, report.output
    with (tmp_path / "o.csv").open(encoding="utf-8") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    with SqliteStore(tmp_path / "monitor.db") as store:
        incidents = store.incidents(brand=BRAND)
        frame = outcome_frame(store, incidents).set_index("id")
    slack = _slack(outbox)

    assert list(rows) == ids and sorted(frame.index) == sorted(ids) and sorted(slack) == sorted(ids[:2])
    false_alarm, resolved, still_open = (rows[i] for i in ids)
    assert (resolved["minutes_to_acknowledge"], resolved["minutes_to_resolve"]) == ("12.0", "180.0")
    assert (resolved["steps_done"], resolved["steps_on_time"]) == ("2", "1")
    assert (false_alarm["minutes_to_resolve"], false_alarm["minutes_to_close"]) == ("", "40.0")
    assert still_open["negative_share_after"] == "" and still_open["minutes_to_close"] == ""
    for incident_id, row in rows.items():
        dashboard = frame.loc[incident_id]
        for column in ("minutes_to_acknowledge", "minutes_to_resolve", "steps_done", "steps_on_time"):
            assert _same(_value(row[column]), dashboard[column]), (incident_id, column)
        assert _same(_value(row["negative_share_before"]), dashboard["negative_before"]), incident_id
        assert _same(_value(row["negative_share_after"]), dashboard["negative_after"]), incident_id
        assert float(row["negative_share_before"]) > 0

    for incident_id in ids:
        shown = runner.invoke(cli, ["incident", "show", "--config", str(config), incident_id])
        assert shown.exit_code == 0, shown.output
        times = next(line.strip() for line in shown.output.splitlines() if "step(s) done" in line)
        assert times in report.output, incident_id
        before = f"{frame.loc[incident_id, 'negative_before']:.0%}"
        assert f"negative share: {before} the day before it opened" in shown.output
        if incident_id in slack:
            said = slack[incident_id]
            assert times[:1].upper() + times[1:] + "." in said, said
            assert f"Negative share the day before it opened: {before}." in said
    assert "resolved after 3 h" in slack[ids[1]] and "closed as a false alarm after 40 min" in slack[ids[0]]
    assert re.search(r"not acknowledged yet · not resolved yet · 0 step\(s\) done", report.output)
