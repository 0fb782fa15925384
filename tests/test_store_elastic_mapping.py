"""Index names, mappings and documents of the Elasticsearch store (no server needed)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from monitor.errors import StoreError
from monitor.models import (
    Engagement, Incident, IncidentState, Mention, Sentiment, Severity, Silence, SpikeKind, Transition,
)
from monitor.store.base import CursorUpdate, JobRun, Notification, NotificationStatus
from monitor.store.elastic_mapping import (
    MENTION_MAPPING, SMALL_MAPPINGS, Sequence, check_prefix, cursor_document, fold, hydrate, incident_document,
    is_month_index, mention_doc_id, mention_document, mentions_template, month_index, notification_document,
    notification_update, run_document, silence_document, small_mappings,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def mention(**changes) -> Mention:
    fields = dict(id="rss:1", brand="Aurora Air", source="rss", text="Lot opóźniony w Krakowie", title="Kraków",
                  created_at=T0, collected_at=T0, language="pl", engagement=Engagement(likes=3, shares=2, replies=1),
                  sentiment=Sentiment(label="negative", score=0.9, model="test",
                                      probabilities={"negative": 0.9, "neutral": 0.05, "positive": 0.05}))
    return Mention(**{**fields, **changes})


def test_fold_lowercases_strips_accents_and_keeps_only_words():
    assert fold("Kraków") == "krakow"
    assert fold("  ÉTÉ, déjà-vu!  ") == "ete deja vu"
    assert fold("Straße") == "strasse"
    assert fold("Łódź?!") == "łodz"  # ł is a letter of its own, not l with a mark
    assert fold("?!") == ""


def test_mention_ids_are_deterministic_and_keep_brand_and_id_apart():
    assert mention_doc_id("Aurora Air", "rss:1") == mention_doc_id("Aurora Air", "rss:1")
    assert len(mention_doc_id("Aurora Air", "rss:1")) == 40
    assert mention_doc_id("ab", "c") != mention_doc_id("a", "bc")
    assert mention_doc_id("Aurora Air", "rss:1") != mention_doc_id("Borealis", "rss:1")


def test_month_index_is_the_utc_month():
    warsaw = timezone(timedelta(hours=2))
    assert month_index("p", datetime(2026, 3, 1, 1, 30, tzinfo=warsaw)) == "p-mentions-2026.02"
    assert month_index("p", datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc)) == "p-mentions-2026.12"


@pytest.mark.parametrize("prefix", ["monitor", "test-1a2b", "a.b_c"])
def test_valid_prefixes_pass(prefix):
    check_prefix(prefix)


@pytest.mark.parametrize("prefix", ["Monitor", "-monitor", "", "a b", "a*"])
def test_invalid_prefixes_are_a_store_error(prefix):
    with pytest.raises(StoreError, match="index prefix"):
        check_prefix(prefix)


def test_the_template_covers_every_month_behind_the_alias():
    template = mentions_template("p", {"number_of_shards": 2})
    assert template["name"] == "p-mentions" and template["template"]["settings"] == {"number_of_shards": 2}
    assert template["index_patterns"] == ["p-mentions-*"]
    assert template["template"]["aliases"] == {"p-mentions": {}}
    assert template["template"]["mappings"]["dynamic"] == "strict"
    assert small_mappings("runs") == {"dynamic": "strict", "properties": SMALL_MAPPINGS["runs"]}


@pytest.mark.parametrize("name, month", [("p-mentions-2026.01", True), ("p-mentions-x-2026.01", False),
                                         ("p-mentions-2026.1", False), ("q-mentions-2026.01", False)])
def test_only_the_prefixs_own_months_count_as_months(name, month):
    assert is_month_index("p", name) is month


def test_a_mention_document_fits_the_mapping_and_hydrates_back():
    original = mention()
    doc = mention_document(original, 7)
    assert set(doc) == set(MENTION_MAPPING["properties"])
    assert doc["text"] == "krakow lot opozniony w krakowie"
    assert doc["ts"] == int(T0.timestamp()) and doc["seq"] == 7 and doc["sentiment"] == "negative"
    assert mention_document(original, 7, raw=doc["mention"]) == doc
    doc["likes"] = 40  # the stored counters win over the serialised ones
    restored = hydrate(doc)
    assert restored.engagement.likes == 40
    assert restored.model_dump(exclude={"engagement"}) == original.model_dump(exclude={"engagement"})
    assert mention_document(mention(title=None, sentiment=None), 1)["text"] == "lot opozniony w krakowie"


def test_small_documents_fit_their_strict_mappings():
    incident = Incident(id="inc-1", fingerprint="fp", brand="Aurora Air", kind=SpikeKind.VOLUME,
                        state=IncidentState.OPEN, severity=Severity.HIGH, opened_at=T0, updated_at=T0,
                        last_spike_at=T0, transitions=[Transition(state=IncidentState.OPEN, at=T0)])
    later = T0 + timedelta(hours=1)
    note = Notification(key="inc-1:alert", incident_id="inc-1", kind="alert", channel="#a", payload={},
                        created_at=T0, not_before=later, status=NotificationStatus.PENDING)
    documents = {
        "cursors": cursor_document(CursorUpdate(brand="Aurora Air", source="rss", value="42")),
        "incidents": incident_document(incident),
        "notifications": notification_document(note, 3),
        "silences": silence_document(Silence(id="s1", brand="Aurora Air", starts_at=T0, ends_at=later)),
        "runs": run_document(JobRun(job="collect", started_at=T0, finished_at=later, ok=True), 5),
    }
    for kind, doc in documents.items():
        assert set(doc) <= set(SMALL_MAPPINGS[kind]), kind
    assert documents["notifications"]["due_at"] == int(later.timestamp())  # not_before, when set
    assert notification_update(note).items() <= documents["notifications"].items()
    assert Incident.model_validate(documents["incidents"]["data"]) == incident


def test_sequence_numbers_increase_across_threads():
    sequence = Sequence()
    taken: list[list[int]] = [[] for _ in range(4)]

    def take(into: list[int]) -> None:
        into.extend(sequence.next() for _ in range(500))

    threads = [threading.Thread(target=take, args=(into,)) for into in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [n for into in taken for n in into]
    assert len(set(everything)) == len(everything)
    assert all(into == sorted(into) for into in taken)
