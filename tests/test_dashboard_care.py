"""The customer-care page: answer KPIs, the queue (masked) and the competitor ranking, as `report care` says."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard_seed import fresh_caches_fixture, metric, run_app  # noqa: E402, F401 (pytest fixture)
from monitor.cli import cli  # noqa: E402
from monitor.store.sqlite import SqliteStore  # noqa: E402
from tests.care_posts import BRAND, RIVAL, post, seeded_config  # noqa: E402

CARE = "views/care.py"


@pytest.fixture(name="care_config")
def care_config_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = seeded_config(tmp_path)
    with SqliteStore(tmp_path / "care.db") as store:
        store.add_mentions([post("pd", "@AuroraAir booking ref X7K9PQ cancelled, help!", 60, author="jo")])
    monkeypatch.setenv("MONITOR_CONFIG", str(path))
    return path


def test_care_page_shows_kpis_queue_and_ranking(care_config: Path) -> None:
    at = run_app(CARE)
    assert metric(at, "Needing a reply") == "6"
    assert metric(at, "Response rate") == "67%"  # 4 of 6
    assert metric(at, "Median first answer") == "60 min"
    assert metric(at, "Within target") == "50%"
    waiting = at.dataframe[1].value
    assert waiting["author"].tolist() == ["carl", "jo"]  # oldest first
    masked = waiting.set_index("author").loc["jo"]
    assert "X7K9PQ" not in masked["text"] and "[booking ref]" in masked["text"]
    assert "direct message" in masked["suggested_answer"]
    ranked = at.dataframe[2].value
    assert ranked["brand"].tolist() == [BRAND, RIVAL]
    assert any("Ghost Air" in c.value for c in at.caption)


def test_report_care_agrees_with_the_page(care_config: Path, tmp_path: Path) -> None:
    at = run_app(CARE)
    command = next(c.value for c in at.caption if "monitor report care" in c.value)
    since, until = command.split('--since "')[1].split('"')[0], command.split('--until "')[1].split('"')[0]
    out = tmp_path / "care.csv"
    result = CliRunner().invoke(cli, ["report", "care", "--config", str(care_config), "--brand", BRAND, "--since", since,
                                      "--until", until, "--csv", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        report = list(csv.DictReader(handle))
    page = at.dataframe[0].value
    assert [r["source"] or "all" for r in report] == page["source"].tolist()
    assert [int(r["needing_reply"]) for r in report] == page["needing_reply"].tolist()
    assert [float(r["response_rate"]) for r in report] == pytest.approx(page["response_rate"].tolist())
