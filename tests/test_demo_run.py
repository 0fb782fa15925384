import csv
import json
import re

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.demo.competitors import COMPETITORS
from monitor.demo.run import run_demo
from monitor.models import IncidentState
from monitor.store.base import MentionFilter, NotificationStatus
from monitor.demo.scenario import generate

pytestmark = pytest.mark.slow


def test_the_demo_prints_the_crisis_its_detection_playbook_and_alert(tmp_path, offline_annotator):
    lines: list[str] = []
    pipeline = run_demo(tmp_path, quiet_days=4, echo=lines.append, annotator=offline_annotator)
    out = "\n".join(lines)
    crisis = generate(quiet_days=4).crisis_start
    assert f"Crisis started:  {crisis:%a %Y-%m-%d %H:%M} UTC" in out
    [incident] = pipeline.store.incidents()
    assert out.count("Incident detected at") == 1
    assert f"Incident detected at {incident.opened_at:%a %Y-%m-%d %H:%M} UTC" in out
    assert "min after the crisis started" in out
    assert incident.state.value == "resolved" and ", resolved it after " in out
    rivals = {name: pipeline.store.count(MentionFilter(brands=[name])) for name in COMPETITORS}
    assert all(rivals.values()) and f"{list(COMPETITORS)[0]} {list(rivals.values())[0]:,}" in out
    assert "mentions/15 min" not in out and " mentions in " in out
    assert "playbook: Service outage / travel disruption" in out
    assert "holding statement:" in out and "{brand}" not in out and "Aurora Air services" in out
    assert "Slack alert to #aurora-air-alerts:" in out
    assert f"spike chart: {tmp_path}" in out
    assert f"monitor dashboard --config {tmp_path / 'monitor.yaml'}" in out
    outbox = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert outbox and outbox[0]["kind"] == "alert"
    notifications = pipeline.store.notifications()
    assert len(outbox) == sum(n.status is NotificationStatus.SENT for n in notifications)
    skipped = [n for n in notifications if n.status is not NotificationStatus.SENT]
    assert all(n.kind == "reminder" and n.status is NotificationStatus.SKIPPED for n in skipped)
    acknowledged = incident.time_in(IncidentState.ACKNOWLEDGED)
    assert all(n.sent_at < acknowledged for n in notifications if n.kind == "reminder" and n.sent_at)


def test_after_the_demo_care_figures_and_queue_are_real(tmp_path, offline_annotator):
    lines: list[str] = []
    run_demo(tmp_path, quiet_days=2, echo=lines.append, annotator=offline_annotator)
    printed = {m[1]: (int(m[2]), int(m[3])) for m in
               (re.match(r"  (.+): (\d+) of (\d+) posts answered", line) for line in lines) if m}
    assert set(printed) == {"Aurora Air", "Nordwind Airways", "SkyLark"}
    assert all(replied > 0 for replied, _ in printed.values())
    assert 0 < printed["Aurora Air"][0] < printed["Aurora Air"][1]  # Aurora's team leaves some unanswered
    config = str(tmp_path / "monitor.yaml")
    report = CliRunner().invoke(cli, ["report", "care", "--config", config, "--csv", str(tmp_path / "care.csv")])
    assert report.exit_code == 0, report.output
    with (tmp_path / "care.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if not r["source"]]
    assert {r["brand"]: (int(r["replied"]), int(r["needing_reply"])) for r in rows} == printed
    aurora = next(r for r in rows if r["brand"] == "Aurora Air")
    assert float(aurora["within_target_share"]) < float(aurora["response_rate"])  # some answers came late
    queue = CliRunner().invoke(cli, ["care", "queue", "--config", config, "--brand", "Aurora Air"])
    assert queue.exit_code == 0 and "[booking ref]" in queue.output
    assert "direct message" in queue.output and "late" in queue.output
