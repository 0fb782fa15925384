"""Care figures read from a real store: the clock, the brand's cases and the competitor ranking."""

from __future__ import annotations

from datetime import timedelta

from monitor import config as config_lib
from monitor.care.service import brand_cases, care_rows, clock, competitor_ranking
from monitor.store import open_store
from tests.care_posts import BRAND, RIVAL, T0, seeded_config


def _open(tmp_path):
    config = config_lib.load(seeded_config(tmp_path))
    return config, open_store(config.storage)


def test_the_clock_stops_at_the_newest_collection(tmp_path) -> None:
    _, store = _open(tmp_path)
    newest = T0 + timedelta(minutes=171)
    assert clock(store, [BRAND, RIVAL], T0 + timedelta(days=300)) == newest
    assert clock(store, [BRAND], T0) == T0
    assert clock(store, ["Nobody"], T0) == T0


def test_cases_are_limited_to_the_range_but_answers_after_it_count(tmp_path) -> None:
    config, store = _open(tmp_path)
    cases = brand_cases(store, config, config.brand(BRAND), T0, T0 + timedelta(minutes=15))
    assert [(c.mention.id, c.answer is not None) for c in cases] == [("twitter:p1", True), ("twitter:p2", True)]


def test_rows_and_ranking_with_a_competitor_not_configured(tmp_path) -> None:
    config, store = _open(tmp_path)
    end = T0 + timedelta(hours=5)
    rows = care_rows(store, config, list(config.brands), T0, end)
    assert [(k.brand, k.source, k.needing_reply, k.replied) for k in rows] == [
        (BRAND, "", 5, 4), (BRAND, "reddit", 1, 1), (BRAND, "twitter", 4, 3), (RIVAL, "", 2, 1), (RIVAL, "twitter", 2, 1)]
    ranked, missing = competitor_ranking(store, config, config.brand(BRAND), T0, end)
    assert [(k.brand, k.response_rate, k.median_first_response_minutes) for k in ranked] == [
        (BRAND, 0.8, 60), (RIVAL, 0.5, 10)]
    assert missing == ["Ghost Air"]
