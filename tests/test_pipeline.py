import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor import config as config_lib
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.alerts.notify.slack.outbox import OutboxNotifier
from monitor.daily.settings import DailyDigestConfig
from monitor.errors import CollectorError, ConfigError, StoreError
from monitor.models import IncidentState
from monitor.runtime import build_pipeline
from monitor.store.base import MentionFilter
from monitor.store.sqlite import SqliteStore

NOW = datetime(2026, 3, 23, 12, 0, tzinfo=timezone.utc)


def write_config(tmp_path: Path, **brand) -> Path:
    config = {
        "storage": {"path": "m.db"},
        "nlp": {"backend": "offline"},
        "detection": {"warmup": "1d"},
        "alerts": {"playbooks_dir": str(BUILT_IN_PLAYBOOKS), "outbox": "out.jsonl"},
        "brands": [{"name": "Acme", "query": "acme OR #acmefail -job",
                    "sources": [{"type": "file", "name": "export", "path": "feed.jsonl", "max_batch": 2}], **brand}],
    }
    path = tmp_path / "monitor.yaml"
    path.write_text(json.dumps(config))
    return path


def rows(*texts: str, start: int = 0, at: datetime = NOW - timedelta(hours=1)) -> list[dict]:
    return [{"id": start + i, "text": t, "created_at": (at + timedelta(seconds=i)).isoformat()}
            for i, t in enumerate(texts)]


def append(tmp_path: Path, items: list[dict]) -> None:
    with (tmp_path / "feed.jsonl").open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


@pytest.fixture
def pipeline_for(tmp_path, offline_annotator):
    def build(**brand):
        config = config_lib.load(write_config(tmp_path, **brand))
        return build_pipeline(config, annotator=offline_annotator, notifier=OutboxNotifier(tmp_path / "out.jsonl"),
                              clock=lambda: NOW)
    return build


def test_collect_keeps_matching_mentions_scored_and_is_incremental(tmp_path, pipeline_for):
    pipeline = pipeline_for()
    append(tmp_path, rows("Acme support is awful, worst service ever", "I love my new Acme kettle",
                          "Acme is hiring, apply for this job", "nothing to see here", "#acmefail again"))
    result = pipeline.collect("Acme", "export")
    assert (result.fetched, result.matched, result.stored) == (5, 3, 3)
    stored = {m.text: m for m in pipeline.store.search(MentionFilter(brands=["Acme"]))}
    assert set(stored) == {"Acme support is awful, worst service ever", "I love my new Acme kettle", "#acmefail again"}
    assert stored["Acme support is awful, worst service ever"].sentiment.label == "negative"
    assert stored["I love my new Acme kettle"].sentiment.label == "positive"
    assert stored["#acmefail again"].matched_terms == ["#acmefail"]
    assert all(m.language == "en" for m in stored.values() if "Acme" in m.text)

    again = pipeline.collect("Acme", "export")
    assert (again.fetched, again.stored) == (0, 0)
    append(tmp_path, rows("Acme refund finally arrived", start=10))
    assert pipeline.collect("Acme", "export").stored == 1
    assert pipeline.store.count(MentionFilter()) == 4
    runs = pipeline.store.runs()
    assert [r.ok for r in runs] == [True, True, True] and runs[0].job == "collect:Acme:export"


def test_mentions_outside_the_brand_languages_are_dropped(tmp_path, pipeline_for):
    pipeline = pipeline_for(languages=["pl"])
    append(tmp_path, rows("Acme to najgorsza obsługa klienta, jaką widziałem", "Acme has the worst support"))
    result = pipeline.collect("Acme", "export")
    assert result.stored == 1
    assert [m.language for m in pipeline.store.search(MentionFilter())] == ["pl"]


def test_bad_rows_are_skipped_and_the_good_ones_kept(tmp_path, pipeline_for, caplog):
    pipeline = pipeline_for()
    append(tmp_path, rows("Acme one", "Acme two"))
    with (tmp_path / "feed.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("{broken json\n")
    append(tmp_path, rows("Acme three", start=5))
    result = pipeline.collect("Acme", "export")
    assert result.stored == 3 and result.unreadable == 1
    assert "feed.jsonl:3: " in caplog.text and "broken JSON" in caplog.text
    assert pipeline.store.runs()[0].unreadable == 1


def test_a_failed_collection_is_recorded_and_raised(tmp_path, pipeline_for):
    pipeline = pipeline_for()
    with pytest.raises(CollectorError, match="feed.jsonl"):
        pipeline.collect("Acme", "export")
    run = pipeline.store.runs()[0]
    assert not run.ok and "feed.jsonl" in run.error and run.job == "collect:Acme:export"


def test_unknown_source_names_the_configured_ones(pipeline_for):
    with pytest.raises(ConfigError, match="configured: export"):
        pipeline_for().collect("Acme", "twitter")


def test_detect_opens_an_incident_on_a_negative_burst_and_deliver_sends_it(tmp_path, pipeline_for):
    pipeline = pipeline_for()
    history = []
    for day in range(3, 0, -1):
        for hour in range(24):
            at = NOW - timedelta(days=day, hours=hour)
            history += rows(*(f"Acme delivery on time, thanks {hour}" for _ in range(2)), start=len(history), at=at)
    burst_at = NOW - timedelta(minutes=25)
    history += rows(*(f"Acme app down again, worst service, refund now {k}" for k in range(14)),
                    start=len(history), at=burst_at)
    append(tmp_path, history)
    while pipeline.collect("Acme", "export").fetched:
        pass
    incidents = pipeline.detect()
    assert len(incidents) == 1
    incident = incidents[0]
    assert incident.state is IncidentState.OPEN and incident.brand == "Acme"
    assert incident.playbook_id
    assert pipeline.detect() == [], "judging the same bucket twice changes nothing"
    report = pipeline.deliver()
    assert len(report.sent) == 1
    sent = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [m["incident_id"] for m in sent] == [incident.id]


def test_declined_names_are_collected_in_the_post_language(tmp_path, pipeline_for):
    pipeline = pipeline_for(query="ryanair", languages=["pl", "hu", "en"])
    append(tmp_path, rows("Nigdy więcej nie lecę Ryanairem, trzy godziny opóźnienia",
                          "Ryanairrel repültem, két órát késett a járat",
                          "Ryanair's app crashed again at the gate",
                          "I watched a Java applet about ryanairfans"))
    result = pipeline.collect("Acme", "export")
    assert (result.fetched, result.matched) == (4, 3)
    languages = {m.text.split()[0]: m.language for m in pipeline.store.search(MentionFilter(brands=["Acme"]))}
    assert languages == {"Nigdy": "pl", "Ryanairrel": "hu", "Ryanair's": "en"}


class FlakyStore(SqliteStore):
    """A real store whose cursor saves fail, and which is down once more when the run is recorded."""

    def __init__(self, path):
        super().__init__(path)
        self.record_failures = 1

    def add_mentions(self, mentions, cursor=None):
        if cursor is not None:
            raise StoreError("cannot save the cursor: disk full")
        return super().add_mentions(mentions, cursor)

    def record_run(self, run):
        if self.record_failures:
            self.record_failures -= 1
            raise StoreError("cannot record the run: store unavailable")
        super().record_run(run)


def test_the_first_error_is_the_one_raised_and_recorded_even_when_recording_fails(tmp_path, pipeline_for):
    append(tmp_path, rows("Acme is down"))
    pipeline = pipeline_for()
    pipeline.store = FlakyStore(tmp_path / "flaky.db")
    with pytest.raises(StoreError, match="disk full"):
        pipeline.collect("Acme", "export")
    assert pipeline.store.runs() == []  # the store refused the record: it is kept for later
    pipeline.detect_brand("Acme")
    collect, detect = sorted(pipeline.store.runs(), key=lambda r: r.job)
    assert (collect.job, collect.ok, collect.error) == ("collect:Acme:export", False, "cannot save the cursor: disk full")
    assert (detect.job, detect.ok, detect.worker) == ("detect:Acme", True, pipeline.worker)


def test_the_daily_digest_job_posts_yesterday_once_and_is_recorded(tmp_path, offline_annotator):
    loaded = config_lib.load(write_config(tmp_path, timezone="Pacific/Auckland"))
    config = loaded.model_copy(update={"daily_digest": DailyDigestConfig(enabled=True, hour=9)})
    pipeline = build_pipeline(config, annotator=offline_annotator, notifier=OutboxNotifier(tmp_path / "out.jsonl"),
                              clock=lambda: NOW)  # 01:00 on 24 Mar in Auckland: yesterday is the 23rd there
    append(tmp_path, rows("Acme lost my bag", "acme is fine", at=NOW - timedelta(hours=3)))
    pipeline.collect("Acme", "export")
    assert pipeline.daily_digest() == []  # not 09:00 in Auckland yet
    pipeline.config = loaded.model_copy(update={"daily_digest": DailyDigestConfig(enabled=True, hour=1)})
    [digest] = pipeline.daily_digest()
    assert digest.day.isoformat() == "2026-03-23" and digest.mentions == 2
    assert pipeline.daily_digest() == []
    assert [r.job for r in pipeline.store.runs() if r.job == "daily-digest"] == ["daily-digest"]
    [posted] = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert posted["kind"] == "daily_digest" and "(Pacific/Auckland): 2 mentions" in posted["text"]


def test_each_collector_gets_the_options_model_validated_at_load(pipeline_for):
    pipeline = pipeline_for()
    brand = pipeline.config.brand("Acme")
    source = pipeline.source_config(brand, "export")
    assert pipeline.collector(brand, source).config is source.settings
