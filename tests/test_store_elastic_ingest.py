"""Preparing a batch of mentions for Elasticsearch (writing it is covered by the contract suite)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from monitor.models import Engagement, Mention
from monitor.store.elastic_ingest import grows, rejection_reason, serialise
from monitor.store.elastic_mapping import mention_doc_id, mention_document, month_index

T0 = datetime(2026, 1, 31, 23, 0, tzinfo=timezone.utc)


def mention(n: int, likes=0, shares=0, replies=0, minutes=0) -> Mention:
    created = T0 + timedelta(minutes=minutes)
    return Mention(id=f"feed:{n}", brand="Aurora Air", source="feed", text=f"mention {n}", created_at=created,
                   collected_at=created, engagement=Engagement(likes=likes, shares=shares, replies=replies))


def test_counters_are_replaced_when_any_of_them_grows():
    assert grows((1, 1, 1), (1, 2, 0))
    assert not grows((1, 1, 1), (1, 1, 1))
    assert not grows((5, 5, 5), (0, 0, 0))


def test_a_batch_has_one_document_per_mention_with_the_winning_counters():
    batch, final = serialise(
        [mention(1, likes=5), mention(2, minutes=90), mention(1, likes=1, shares=9), mention(1, likes=1, shares=2)],
        mention_document, lambda moment: month_index("p", moment),
    )
    first, second = mention_doc_id("Aurora Air", "feed:1"), mention_doc_id("Aurora Air", "feed:2")
    assert list(batch) == [first, second]
    assert final == {first: (1, 9, 0), second: (0, 0, 0)}  # SQLite's rule, not a per-counter maximum
    index, doc = batch[first]
    assert index == "p-mentions-2026.01" and batch[second][0] == "p-mentions-2026.02"
    assert (doc["likes"], doc["shares"], doc["replies"]) == (1, 9, 0)
    assert doc["seq"] < batch[second][1]["seq"]


def test_rejection_reasons_read_as_one_line():
    assert rejection_reason({"type": "x", "reason": "failed to parse [seq]",
                             "caused_by": {"reason": "not a number"}}) == "failed to parse [seq] (not a number)"
    assert rejection_reason({"reason": "strict mapping"}) == "strict mapping"
    assert rejection_reason("boom") == "boom"
