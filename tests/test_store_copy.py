"""``monitor store copy``: SQLite to Elasticsearch (and to SQLite), complete and resumable."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.errors import ConfigError
from monitor.models import Engagement, Incident, IncidentState, Mention, Severity, Silence, SpikeKind
from monitor.store.base import CursorUpdate, ExportKind, JobRun, MentionFilter, Notification, NotificationStatus
from monitor.store.copy import PROGRESS_BRAND, copy_store
from monitor.store.sqlite import SqliteStore

T0 = datetime(2026, 2, 27, 12, 0, tzinfo=timezone.utc)
COUNT = 230


def fill(path) -> None:
    with SqliteStore(path) as db:
        for start in range(0, COUNT, 50):
            db.add_mentions([
                Mention(id=f"x:{n}", brand=("Aurora Air", "SkyLark")[n % 2], source="x", text=f"delay number {n}",
                        created_at=T0 + timedelta(hours=n), collected_at=T0, language="en",
                        engagement=Engagement(likes=n))
                for n in range(start, min(start + 50, COUNT))
            ], CursorUpdate(brand="Aurora Air", source="x", value=str(start)))
        db.add_mentions([Mention(id="x:1", brand="SkyLark", source="x", text="delay number 1", created_at=T0
                                 + timedelta(hours=1), collected_at=T0, engagement=Engagement(likes=99))])
        incident = Incident(id="inc-1", fingerprint="fp", brand="Aurora Air", kind=SpikeKind.VOLUME,
                            severity=Severity.HIGH, opened_at=T0, updated_at=T0, last_spike_at=T0,
                            state=IncidentState.ACKNOWLEDGED)
        notes = [Notification(key=f"inc-1:{k}", incident_id="inc-1", kind=k, channel="#a", payload={"k": k},
                              created_at=T0) for k in ("alert", "update", "resolved")]
        db.save_incident(incident, notes)
        notes[0].status, notes[0].external_id = NotificationStatus.SENT, "123.456"
        db.update_notification(notes[0])
        db.save_silence(Silence(id="s1", brand="SkyLark", starts_at=T0, ends_at=T0 + timedelta(days=1)))
        db.correct_sentiment("Aurora Air", "x:4", "negative", "maria", T0 + timedelta(days=1))
        for n in range(5):
            db.record_run(JobRun(job=f"collect-{n}", started_at=T0, finished_at=T0, ok=True, fetched=n))


def same_contents(source: SqliteStore, target) -> None:
    everything = MentionFilter(limit=1000)
    assert target.count(everything) == source.count(everything) == COUNT
    assert target.search(everything) == source.search(everything)
    assert target.search(MentionFilter(text="number 17")) == source.search(MentionFilter(text="number 17"))
    args = ("Aurora Air", T0 - timedelta(days=1), T0 + timedelta(days=30), timedelta(days=1), ("sentiment",))
    assert target.series(*args) == source.series(*args)
    assert target.brands() == source.brands()
    assert target.get_cursor("Aurora Air", "x") == "200"
    assert target.incidents() == source.incidents()
    assert target.notifications() == source.notifications()
    assert [n.key for n in target.due_notifications(T0)] == ["inc-1:update", "inc-1:resolved"]
    assert target.silences() == source.silences()
    assert target.runs() == source.runs()
    assert target.corrections() == source.corrections()
    assert target.search(MentionFilter(ids=["x:4"]))[0].sentiment.label == "negative"


def test_copy_to_sqlite_is_complete_and_idempotent(tmp_path):
    fill(tmp_path / "old.db")
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(cli, ["store", "copy", "--from", f"sqlite:{tmp_path / 'old.db'}",
                                     "--to", f"sqlite:{tmp_path / 'new.db'}", "--batch-size", "40", "--no-progress"])
        assert result.exit_code == 0, result.output
    assert "copied" in result.output
    with SqliteStore(tmp_path / "old.db") as source, SqliteStore(tmp_path / "new.db") as target:
        same_contents(source, target)


def test_copy_rejects_bad_specs(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["store", "copy", "--from", "mysql:x", "--to", "sqlite:y"])
    assert isinstance(result.exception, ConfigError) and result.exception.exit_code == 2
    assert "--from 'mysql:x': unknown store 'mysql'" in str(result.exception)
    result = runner.invoke(cli, ["store", "copy", "--from", f"sqlite:{tmp_path / 'none.db'}", "--to", "sqlite:y"])
    assert isinstance(result.exception, ConfigError) and "no such database" in str(result.exception)
    fill(tmp_path / "same.db")
    same = f"sqlite:{tmp_path / 'same.db'}"
    result = runner.invoke(cli, ["store", "copy", "--from", same, "--to", same])
    assert isinstance(result.exception, ConfigError) and "name the same store" in str(result.exception)


def test_copy_to_elasticsearch_resumes_after_an_interruption(tmp_path, es_server, es_store_factory):
    fill(tmp_path / "old.db")
    target = es_store_factory()
    real = target.add_mentions
    calls = {"n": 0}

    def flaky(mentions, cursor=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the operator pressed Ctrl-C mid-copy
        return real(mentions, cursor)

    target.add_mentions = flaky
    with SqliteStore(tmp_path / "old.db") as source:
        with pytest.raises(KeyboardInterrupt):
            copy_store(source, target, "old", batch=50, progress=False)
        assert target.count(MentionFilter()) == 100
        assert json.loads(target.get_cursor(PROGRESS_BRAND, "mentions:old")) == {"after": "100", "done": 100}
        target.add_mentions = real
        said: list[str] = []
        counts = copy_store(source, target, "old", batch=50, progress=False, echo=said.append)
        assert said == [f"resuming: 100 of {COUNT} mentions already copied"]
        assert counts["mentions"] == COUNT - 100
        same_contents(source, target)
        copy_store(source, target, "old", batch=50, progress=False)  # once more: nothing changes
        same_contents(source, target)
        assert len(target.runs()) == 5


def test_copy_from_elasticsearch_back_to_sqlite_reads_only_the_protocol(tmp_path, es_store_factory):
    fill(tmp_path / "old.db")
    middle = es_store_factory()
    with SqliteStore(tmp_path / "old.db") as source, SqliteStore(tmp_path / "back.db") as back:
        copy_store(source, middle, "old", batch=40, progress=False)
        counts = copy_store(middle, back, "middle", batch=40, progress=False)
        assert counts == {"mentions": COUNT, "cursors": 1, "incidents": 1, "notifications": 3, "silences": 1,
                          "corrections": 1, "runs": 5}
        same_contents(source, back)


def test_a_copy_interrupted_by_an_earlier_version_resumes_from_its_bare_position(tmp_path):
    fill(tmp_path / "old.db")
    with SqliteStore(tmp_path / "old.db") as source, SqliteStore(tmp_path / "new.db") as target:
        first = [e.record for e in source.export(ExportKind.MENTIONS)][:60]
        target.add_mentions(first, CursorUpdate(brand=PROGRESS_BRAND, source="mentions:old", value="60"))
        counts = copy_store(source, target, "old", batch=100, progress=False)
        assert counts["mentions"] == COUNT - 60
        same_contents(source, target)


def test_copy_command_to_elasticsearch(tmp_path, es_server, es_store_factory):
    fill(tmp_path / "old.db")
    target = es_store_factory()
    result = CliRunner().invoke(cli, ["store", "copy", "--from", f"sqlite:{tmp_path / 'old.db'}",
                                      "--to", f"elasticsearch:{es_server}", "--index-prefix", target.prefix])
    assert result.exit_code == 0, result.output
    assert f"copied {COUNT} mentions" in result.output
    with SqliteStore(tmp_path / "old.db") as source:
        same_contents(source, target)


def test_copy_command_from_elasticsearch_to_sqlite(tmp_path, es_server, es_store_factory):
    fill(tmp_path / "old.db")
    middle = es_store_factory()
    with SqliteStore(tmp_path / "old.db") as source:
        copy_store(source, middle, "old", batch=100, progress=False)
    args = ["store", "copy", "--from", f"elasticsearch:{es_server}", "--to", f"sqlite:{tmp_path / 'back.db'}",
            "--index-prefix", middle.prefix, "--no-progress"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"copied {COUNT} mentions" in result.output
    assert "copied 0 mentions" in CliRunner().invoke(cli, args).output
    with SqliteStore(tmp_path / "old.db") as source, SqliteStore(tmp_path / "back.db") as back:
        same_contents(source, back)
