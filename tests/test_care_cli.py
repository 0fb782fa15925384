"""``monitor care queue`` and ``monitor report care`` on a seeded store."""

from __future__ import annotations

import csv
import subprocess
import sys

from click.testing import CliRunner

from monitor.care.kpis import CSV_COLUMNS
from monitor.cli import cli
from tests.care_posts import BRAND, RIVAL, seeded_config


def test_report_care_writes_the_issues_columns(tmp_path) -> None:
    path = seeded_config(tmp_path)
    out = tmp_path / "care.csv"
    result = CliRunner().invoke(cli, ["report", "care", "--config", str(path), "--since", "2026-03-02", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["brand"], r["source"], r["needing_reply"], r["replied"], r["response_rate"]) for r in rows] == [
        (BRAND, "", "5", "4", "0.8"), (BRAND, "reddit", "1", "1", "1.0"), (BRAND, "twitter", "4", "3", "0.75"),
        (RIVAL, "", "2", "1", "0.5"), (RIVAL, "twitter", "2", "1", "0.5")]
    assert rows[0]["median_first_response_minutes"] == "60.0" and rows[0]["within_target_share"] == "0.6"
    assert "brand=Aurora Air  source=  needing_reply=5" in result.output


def test_care_queue_lists_unanswered_posts_with_a_suggestion(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["care", "queue", "--config", str(seeded_config(tmp_path)), "--brand", BRAND])
    assert result.exit_code == 0, result.output
    assert "as of 2026-03-02 11:51 UTC" in result.output
    assert "Aurora Air: 1 post(s) awaiting an answer" in result.output
    assert "@carl" in result.output and "0h 31m late" in result.output  # 09:20 + 2 h target, clock 11:51
    assert "suggested: Hi @carl, thanks for asking!" in result.output


def test_an_unknown_brand_exits_with_the_config_error_code(tmp_path) -> None:
    path = seeded_config(tmp_path)
    result = subprocess.run([sys.executable, "-m", "monitor", "care", "queue", "--config", str(path), "--brand", "Nobody"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "no brand named 'Nobody'" in result.stderr
