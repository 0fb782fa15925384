import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def monitor(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_help_lists_the_commands_and_exit_codes():
    result = monitor("--help")
    assert result.returncode == 0
    for command in ("init", "check-config", "run", "collect", "detect", "demo", "dashboard", "playbooks", "nlp", "report"):
        assert command in result.stdout
    assert "2 bad config" in result.stdout


def test_init_writes_a_config_that_checks_out(tmp_path):
    assert monitor("init", "m.yaml", cwd=tmp_path).returncode == 0
    checked = monitor("check-config", "m.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "OK (1 brand(s), 2 source(s))" in checked.stdout
    again = monitor("init", "m.yaml", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_broken_config_exits_2_naming_the_field_without_a_traceback(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"brands": [{"name": "Aurora Air", "sources": [{"type": "rss", "every": "often"}]}]}))
    result = monitor("check-config", str(config))
    assert result.returncode == 2
    assert "brands[0].sources[0].every" in result.stderr
    assert "brands[0].sources[0].url" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_and_bad_usage_are_exit_2(tmp_path):
    assert monitor("check-config", str(tmp_path / "none.yaml")).returncode == 2
    assert monitor("collect").returncode == 2


def test_playbooks_validate_checks_the_shipped_playbooks():
    result = monitor("playbooks", "validate", str(REPO / "playbooks"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok  ") >= 7


def test_broken_playbook_exits_2(tmp_path):
    (tmp_path / "bad.yaml").write_text("id: x\ntitle: broken\n")
    result = monitor("playbooks", "validate", str(tmp_path))
    assert result.returncode == 2
    assert "bad.yaml" in result.stderr
