import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.demo import live
from monitor.demo.live import run_live_demo
from monitor.errors import ConfigError
from monitor.store.base import MentionFilter

pytestmark = pytest.mark.slow


def test_the_live_demo_alerts_within_a_minute_of_the_post_going_viral_on_the_stream(tmp_path, offline_annotator):
    lines: list[str] = []
    run = run_live_demo(tmp_path, echo=lines.append, annotator=offline_annotator)
    out = "\n".join(lines)
    assert run.alert is not None and run.gap is not None
    assert timedelta(0) <= run.gap < timedelta(seconds=60)
    assert run.alert.sent_at >= run.viral_at
    [incident] = run.pipeline.store.incidents()
    assert incident.spikes[0].kind.value == "viral_post" and incident.id == run.alert.incident_id
    [viral] = run.pipeline.store.search(MentionFilter(ids=incident.spikes[0].sample_mention_ids))
    assert viral.source == "bluesky" and "Warsaw airport" in viral.text
    assert viral.engagement.likes + viral.engagement.shares >= run.threshold
    outbox = [json.loads(line) for line in (tmp_path / "live-outbox.jsonl").read_text().splitlines()]
    assert [m["kind"] for m in outbox] == ["alert"] and outbox[0]["channel"] == "#aurora-air-alerts"
    assert f"Time to alert:    {run.gap.total_seconds():.1f} s after the post went viral" in out
    assert "it went viral:" in out and "Alert delivered:" in out
    stored = run.pipeline.store.search(MentionFilter(brands=["Aurora Air"], since=run.viral_at - timedelta(minutes=5)))
    assert all("aurora" in m.text.lower() for m in stored)  # the stream's other posts and decoys were not stored


def test_a_folder_the_live_demo_ran_in_is_refused(tmp_path):
    (tmp_path / "live.db").write_bytes(b"")
    result = CliRunner().invoke(cli, ["demo", "--live", "--workdir", str(tmp_path)])
    assert isinstance(result.exception, ConfigError) and result.exception.exit_code == 2
    assert "live.db exists" in str(result.exception)


def test_the_cli_runs_the_live_demo(tmp_path, monkeypatch):
    seen = {}

    def fake_run(workdir, echo):
        seen["workdir"] = workdir
        echo("streamed")

    monkeypatch.setattr(live, "run_live_demo", fake_run)
    result = CliRunner().invoke(cli, ["demo", "--live", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert seen == {"workdir": tmp_path} and "streamed" in result.output
