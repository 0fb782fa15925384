"""``monitor nlp correct`` and ``monitor nlp export-corrections``: a person's label, kept and exported."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import yaml
from click.testing import CliRunner

from monitor.cli import cli
from monitor.models import Mention, Sentiment, SentimentCorrection
from monitor.nlp.corrections import training_rows
from monitor.store.base import MentionFilter
from monitor.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def post(n: int, text: str, label: str) -> Mention:
    return Mention(id=f"x:{n}", brand="Aurora Air", source="x", text=text, created_at=T0 + timedelta(minutes=n),
                   collected_at=T0, language="en",
                   sentiment=Sentiment(label=label, score=0.7, probabilities={label: 0.7}, model="test"))


def setup(tmp_path):
    db = tmp_path / "m.db"
    with SqliteStore(db) as store:
        store.add_mentions([post(1, "Great, another cancelled flight", "positive"),
                            post(2, "Boarding now, see you in Lisbon", "negative")])
    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump({"brands": [{"name": "Aurora Air"}], "storage": {"path": str(db)}}))
    return db, str(config)


def test_corrections_are_kept_and_exported_latest_first_per_post(tmp_path):
    db, config = setup(tmp_path)
    runner = CliRunner()
    first = runner.invoke(cli, ["nlp", "correct", "--config", config, "Aurora Air", "x:1", "negative", "--by", "maria"])
    assert first.exit_code == 0, first.output
    assert "x:1: positive -> negative (by maria)" in first.output
    for label in ("positive", "neutral"):  # changed their mind: the last one counts
        assert runner.invoke(cli, ["nlp", "correct", "--config", config, "Aurora Air", "x:2", label, "--by", "jonas"]).exit_code == 0
    with SqliteStore(db) as store:
        assert store.count(MentionFilter(sentiments=["negative"])) == 1
        assert len(store.corrections()) == 3

    out = tmp_path / "corrections.jsonl"
    exported = runner.invoke(cli, ["nlp", "export-corrections", "--config", config, "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert f"wrote 2 corrected post(s) to {out}" in exported.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["mention_id"], r["text"], r["label"], r["label_id"], r["previous"], r["by"]) for r in rows] == [
        ("x:1", "Great, another cancelled flight", "negative", 0, "positive", "maria"),
        ("x:2", "Boarding now, see you in Lisbon", "neutral", 1, "positive", "jonas")]
    assert rows[0]["language"] == "en" and rows[0]["brand"] == "Aurora Air"
    none = runner.invoke(cli, ["nlp", "export-corrections", "--config", config, "--out", str(out), "--brand", "SkyLark"])
    assert "wrote 0 corrected post(s)" in none.output and out.read_text() == ""


def test_correcting_a_post_that_is_not_stored_is_a_usage_error(tmp_path):
    _, config = setup(tmp_path)
    result = CliRunner().invoke(cli, ["nlp", "correct", "--config", config, "Aurora Air", "x:404", "neutral"])
    assert result.exit_code == 2 and "no mention 'x:404'" in result.output
    wrong = CliRunner().invoke(cli, ["nlp", "correct", "--config", config, "Aurora Air", "x:1", "angry"])
    assert wrong.exit_code == 2


def test_training_rows_keep_the_newest_correction_of_each_post():
    def made(mention_id: str, label: str, minutes: int) -> SentimentCorrection:
        return SentimentCorrection(brand="B", mention_id=mention_id, label=label, by="p",
                                   at=T0 + timedelta(minutes=minutes), text=mention_id)

    rows = training_rows([made("b", "positive", 9), made("a", "negative", 5), made("b", "negative", 1)])
    assert [(r["mention_id"], r["label"]) for r in rows] == [("a", "negative"), ("b", "positive")]
