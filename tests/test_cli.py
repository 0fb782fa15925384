import os
import subprocess
import sys
from pathlib import Path

import yaml

from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS

REPO = Path(__file__).resolve().parent.parent


def monitor(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_help_lists_the_commands_and_exit_codes():
    result = monitor("--help")
    assert result.returncode == 0
    for command in ("init", "check-config", "run", "collect", "detect", "demo", "dashboard", "playbooks", "nlp", "report",
                    "step"):
        assert command in result.stdout
    assert "2 bad config" in result.stdout
    listed = result.stdout.split("Commands:")[1].splitlines()
    assert listed and not [line for line in listed if line.rstrip().endswith("...")]  # no help line cut off
    assert "incident" in result.stdout and "bucket" not in result.stdout


def test_init_writes_a_config_that_checks_out(tmp_path):
    assert monitor("init", "--config", "m.yaml", cwd=tmp_path).returncode == 0
    shipped = sorted(p.name for p in BUILT_IN_PLAYBOOKS.glob("*.yaml"))
    assert len(shipped) == 7 and sorted(p.name for p in (tmp_path / "playbooks").glob("*.yaml")) == shipped
    checked = monitor("check-config", "--config", "m.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "OK (1 brand(s), 2 source(s))" in checked.stdout
    again = monitor("init", "--config", "m.yaml", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_init_then_run_works_with_no_edits_and_no_network(tmp_path):
    """Every request goes to a closed port on 127.0.0.1 (as on a machine without a network): the service
    starts, each source says it cannot reach its server, and SIGTERM stops it cleanly."""
    import os
    import signal
    import time

    assert monitor("init", cwd=tmp_path).returncode == 0
    offline = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
               "NO_PROXY": "", "HF_HUB_OFFLINE": "1"}
    log = tmp_path / "run.log"
    with log.open("w") as sink:
        service = subprocess.Popen([sys.executable, "-m", "monitor", "run"], cwd=tmp_path,
                                   env=offline, stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and service.poll() is None and "collect:Aurora Air:news failed" \
                not in log.read_text():
            time.sleep(0.5)
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=60) == 0
    out = log.read_text()
    # two sources, detect and reminders for the brand, the care digest, delivery and the heartbeat
    assert "running 7 jobs from monitor.yaml" in out and out.rstrip().endswith("stopped")
    assert "news.example.org" in out and "Connection refused" in out
    assert "mentions.jsonl does not exist" in out
    assert "Traceback" not in out and "playbook folder" not in out


def test_broken_config_exits_2_naming_the_field_without_a_traceback(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"brands": [{"name": "Aurora Air", "sources": [{"type": "rss", "every": "often"}]}]}))
    result = monitor("check-config", "--config", str(config))
    assert result.returncode == 2
    assert "brands[0].sources[0].every" in result.stderr
    assert "brands[0].sources[0].url" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_and_bad_usage_are_exit_2(tmp_path):
    assert monitor("check-config", "--config", str(tmp_path / "none.yaml")).returncode == 2
    missing = monitor("check-config", cwd=tmp_path)  # the default: monitor.yaml here
    assert missing.returncode == 2 and "monitor.yaml" in missing.stderr
    assert monitor("collect").returncode == 2


def test_the_config_comes_from_the_option_the_environment_or_the_first_argument_with_a_warning(tmp_path):
    import os

    config = str(file_config(tmp_path))
    given = monitor("detect", "--config", config, cwd=tmp_path)
    assert given.returncode == 0 and "no spikes" in given.stdout and "deprecated" not in given.stderr
    from_env = monitor("detect", cwd=tmp_path, env={**os.environ, "MONITOR_CONFIG": config})
    assert from_env.returncode == 0 and "no spikes" in from_env.stdout and "deprecated" not in from_env.stderr
    old = monitor("silence", "add", config, "--brand", "Acme", "--for", "1h", cwd=tmp_path)
    assert old.returncode == 0, old.stderr
    assert "the config as the first argument is deprecated" in old.stderr and f"--config {config}" in old.stderr
    twice = monitor("silence", "list", config, "--config", config, cwd=tmp_path)
    assert twice.returncode == 2 and "unexpected extra argument" in twice.stderr


def test_collect_needs_no_playbooks_and_takes_no_ignored_options(tmp_path):
    (tmp_path / "feed.jsonl").write_text('{"id": 1, "text": "Acme rocks", "created_at": "2026-03-02T10:00:00Z"}\n')
    config = file_config(tmp_path)
    settings = yaml.safe_load(config.read_text())
    settings["alerts"]["playbooks_dir"] = str(tmp_path / "no-playbooks-here")
    config.write_text(yaml.safe_dump(settings))
    collected = monitor("collect", "--config", str(config), "--brand", "Acme", "--source", "export", cwd=tmp_path)
    assert collected.returncode == 0, collected.stderr
    assert "stored 1 new" in collected.stdout
    once = monitor("collect", "--config", str(config), "--brand", "Acme", "--source", "export", "--once",
                   cwd=tmp_path)
    assert once.returncode == 2 and "--once" in once.stderr


def test_check_config_warns_of_a_source_whose_token_is_not_set_and_still_passes(tmp_path):
    config = tmp_path / "m.yaml"
    config.write_text(yaml.safe_dump({"storage": {"path": "m.db"}, "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS)},
                                      "brands": [{"name": "Acme", "sources": [{"type": "x", "token_env": "ACME_X"}]}]}))
    env = {k: v for k, v in os.environ.items() if k != "ACME_X"}
    checked = monitor("check-config", "--config", str(config), env=env)
    assert checked.returncode == 0 and "OK (1 brand(s), 1 source(s))" in checked.stdout
    assert "warning: brands[0].sources[0] (line 6): Acme/x: environment variable ACME_X is not set" in checked.stderr
    assert "warning" not in monitor("check-config", "--config", str(config), env={**env, "ACME_X": "t"}).stderr


def test_playbooks_validate_checks_the_shipped_playbooks():
    result = monitor("playbooks", "validate", str(BUILT_IN_PLAYBOOKS))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok  ") >= 7


def test_broken_playbook_exits_2(tmp_path):
    (tmp_path / "bad.yaml").write_text("id: x\ntitle: broken\n")
    result = monitor("playbooks", "validate", str(tmp_path))
    assert result.returncode == 2
    assert "bad.yaml" in result.stderr


def file_config(tmp_path: Path, path: str = "feed.jsonl") -> Path:
    config = tmp_path / "m.yaml"
    config.write_text(yaml.safe_dump({
        "storage": {"path": "m.db"},
        "nlp": {"backend": "offline"},
        "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS)},
        "brands": [{"name": "Acme", "query": "acme", "sources": [{"type": "file", "name": "export", "path": path}]}],
    }))
    return config


def test_collect_detect_and_report_on_a_file_source(tmp_path):
    (tmp_path / "feed.jsonl").write_text(
        '{"id": 1, "text": "Acme support never answers", "created_at": "2026-03-02T10:00:00Z"}\n'
        '{"id": 2, "text": "unrelated chatter", "created_at": "2026-03-02T10:01:00Z"}\n'
    )
    config = str(file_config(tmp_path))
    collected = monitor("collect", "--config", config, "--brand", "Acme", "--source", "export", cwd=tmp_path)
    assert collected.returncode == 0, collected.stderr
    assert "Acme/export: fetched 2, matched 1, stored 1 new" in collected.stdout
    detected = monitor("detect", "--config", config, cwd=tmp_path)
    assert detected.returncode == 0 and "no spikes" in detected.stdout
    reported = monitor("report", "incidents", "--config", config, "--csv", "out.csv", cwd=tmp_path)
    assert reported.returncode == 0 and "no incidents yet" in reported.stdout
    assert (tmp_path / "out.csv").read_text().startswith("id")


def test_a_missing_import_file_is_exit_3_naming_it(tmp_path):
    result = monitor("collect", "--config", str(file_config(tmp_path, "gone.jsonl")), "--brand", "Acme", "--source", "export",
                     cwd=tmp_path)
    assert result.returncode == 3
    assert "gone.jsonl" in result.stderr and "Traceback" not in result.stderr


def test_nlp_score_writes_one_label_per_line(tmp_path):
    (tmp_path / "in.txt").write_text("I love it, best airline ever\nworst service, never again\n")
    config = str(file_config(tmp_path))
    result = monitor("nlp", "score", "--input", "in.txt", "--output", "out.txt", "--config", config, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.txt").read_text().split() == ["2", "0"]


def test_playbook_steps_are_marked_done_and_undone_from_the_cli(tmp_path):
    from datetime import datetime, timezone

    from monitor.store.sqlite import SqliteStore
    from test_lifecycle import incident

    config = str(file_config(tmp_path))
    with SqliteStore(tmp_path / "m.db") as store:
        store.save_incident(incident(brand="Acme", playbook_id="outage", opened_at=datetime.now(timezone.utc)))
    done = monitor("step", "--config", config, "aurora-air-1", "2", "--by", "dana", "--note", "ads paused", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "aurora-air-1: step 2 done; steps done: 2"
    with SqliteStore(tmp_path / "m.db") as store:
        record = store.get_incident("aurora-air-1").step_done(2)
        assert record.by == "dana" and record.note == "ads paused" and record.title.startswith("Pause scheduled")
    undone = monitor("step", "--config", config, "aurora-air-1", "2", "--undo", cwd=tmp_path)
    assert undone.stdout.strip() == "aurora-air-1: step 2 not done; steps done: none"
    missing = monitor("step", "--config", config, "aurora-air-1", "99", cwd=tmp_path)
    assert missing.returncode == 2 and "there is no step 99" in missing.stderr and "Traceback" not in missing.stderr


def test_an_action_on_replayed_data_is_timed_on_its_own_clock(tmp_path):
    from datetime import datetime, timezone

    from monitor.store.sqlite import SqliteStore
    from test_lifecycle import incident

    config = str(file_config(tmp_path))
    opened = datetime(2026, 3, 9, 8, 5, tzinfo=timezone.utc)
    with SqliteStore(tmp_path / "m.db") as store:
        store.save_incident(incident(brand="Acme", opened_at=opened))
    closed = monitor("incident", "resolve", "--config", config, "aurora-air-1", "--at", "2026-03-09T19:45", cwd=tmp_path)
    assert closed.returncode == 0, closed.stderr
    shown = monitor("incident", "show", "--config", config, "aurora-air-1", cwd=tmp_path)
    assert "resolved after 11 h 40 min" in shown.stdout
    bad = monitor("incident", "resolve", "--config", config, "aurora-air-1", "--at", "yesterday", cwd=tmp_path)
    assert bad.returncode == 2 and "not a time" in bad.stderr


def test_incident_actions_from_the_cli(tmp_path):
    from datetime import datetime, timezone

    from monitor.store.sqlite import SqliteStore
    from test_lifecycle import incident

    config = str(file_config(tmp_path))
    with SqliteStore(tmp_path / "m.db") as store:
        store.save_incident(incident(brand="Acme", opened_at=datetime.now(timezone.utc)))
    acked = monitor("incident", "acknowledge", "--config", config, "aurora-air-1", "--by", "dana", cwd=tmp_path)
    assert acked.returncode == 0, acked.stderr
    assert "aurora-air-1: acknowledged" in acked.stdout
    listed = monitor("incident", "list", "--config", config, cwd=tmp_path)
    assert listed.returncode == 0 and "aurora-air-1" in listed.stdout and "acknowledged" in listed.stdout
    shown = monitor("incident", "show", "--config", config, "aurora-air-1", cwd=tmp_path)
    assert shown.returncode == 0 and "acknowledged by dana" in shown.stdout and "None" not in shown.stdout
    assert monitor("incident", "show", "--config", config, "nope", cwd=tmp_path).returncode == 2
    closed = monitor("incident", "resolve", "--config", config, "aurora-air-1", cwd=tmp_path)
    assert "resolved" in closed.stdout and "next delivery" in closed.stdout
    assert "no active incidents" in monitor("incident", "list", "--config", config, cwd=tmp_path).stdout
    assert "aurora-air-1" in monitor("incident", "list", "--config", config, "--all", cwd=tmp_path).stdout
    refused = monitor("incident", "acknowledge", "--config", config, "aurora-air-1", cwd=tmp_path)
    assert refused.returncode == 2 and "is resolved" in refused.stderr


def test_run_receives_presses_over_socket_mode_and_stops_cleanly(tmp_path):
    """With only the app-level token set, `monitor run` connects over Socket Mode (no port opened);
    SIGTERM closes the connection; a token Slack refuses is exit 2."""
    import os
    import signal

    from fake_slack import FakeSlack
    from fake_socket_mode import FakeSocketMode

    with FakeSlack() as slack, FakeSocketMode(slack) as socket:
        (tmp_path / "monitor.yaml").write_text(yaml.safe_dump({
            "storage": {"path": "m.db"}, "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS), "notifier": "outbox"},
            "slack": {"base_url": slack.base_url}, "brands": [{"name": "Acme", "query": "acme"}]}))
        env = {**os.environ, "SLACK_APP_TOKEN": slack.app_token}
        env.pop("SLACK_SIGNING_SECRET", None)
        log = tmp_path / "run.log"
        with log.open("w") as sink:
            service = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", "monitor.yaml"], cwd=tmp_path,
                                       env=env, stdout=sink, stderr=subprocess.STDOUT)
            try:
                socket.wait(lambda: socket.opened == 1, timeout=120)
                assert socket.acknowledgement(socket.send({"type": "block_actions", "actions": []}))
            finally:
                service.send_signal(signal.SIGTERM)
                assert service.wait(timeout=60) == 0, log.read_text()
        socket.wait(lambda: not socket.connected(), timeout=10)
        assert log.read_text().rstrip().endswith("stopped") and slack.app_token not in log.read_text()

        refused = monitor("run", "--config", "monitor.yaml", cwd=tmp_path, env={**env, "SLACK_APP_TOKEN": "xapp-1-revoked"})
    assert refused.returncode == 2 and "invalid_auth" in refused.stderr and "Traceback" not in refused.stderr
