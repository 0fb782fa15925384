"""Care KPIs against figures worked out by hand, and the competitor ranking."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from monitor.care.cases import build_cases
from monitor.care.kpis import CSV_COLUMNS, CareKpis, brand_rows, kpis, nearest_rank, ranking
from monitor.care.settings import CareConfig
from tests.care_posts import BRAND, HANDLES, hand_worked


def test_brand_and_source_rows_match_the_hand_computed_figures() -> None:
    overall, reddit, twitter = brand_rows(BRAND, build_cases(hand_worked(), HANDLES, CareConfig()))
    assert (overall.source, reddit.source, twitter.source) == ("", "reddit", "twitter")
    assert (overall.needing_reply, overall.replied, overall.within_target, overall.resolved) == (5, 4, 3, 3)
    assert overall.response_rate == 0.8 and overall.within_target_share == 0.6 and overall.resolution_share == 0.75
    assert (overall.median_first_response_minutes, overall.p90_first_response_minutes) == (60, 150)
    assert overall.sentiment_before == -0.5 and overall.sentiment_after == 0.5
    assert (twitter.needing_reply, twitter.replied, twitter.median_first_response_minutes,
            twitter.p90_first_response_minutes, twitter.within_target_share) == (4, 3, 60, 150, 0.5)
    assert (reddit.needing_reply, reddit.replied, reddit.median_first_response_minutes,
            reddit.within_target_share) == (1, 1, 60, 1.0)


def test_csv_row_has_exactly_the_issues_columns() -> None:
    [overall, *_] = brand_rows(BRAND, build_cases(hand_worked(), HANDLES, CareConfig()))
    row = overall.row()
    assert tuple(row) == CSV_COLUMNS
    assert row == {"brand": BRAND, "source": "", "needing_reply": 5, "replied": 4, "response_rate": 0.8,
                   "median_first_response_minutes": 60, "p90_first_response_minutes": 150,
                   "within_target_share": 0.6}


def test_no_posts_means_undefined_rates_not_zeros() -> None:
    empty = kpis(BRAND, [])
    assert empty.response_rate is None and empty.median_first_response_minutes is None
    assert empty.row()["response_rate"] == "" and empty.row()["needing_reply"] == 0


def _kpi(brand: str, rate_of_ten: int, median: float | None) -> CareKpis:
    return CareKpis(brand=brand, source="", needing_reply=10, replied=rate_of_ten, within_target=0, resolved=0,
                    median_first_response_minutes=median, p90_first_response_minutes=median,
                    sentiment_before=None, sentiment_after=None)


def test_ranking_puts_higher_response_rate_then_faster_median_first() -> None:
    rows = [_kpi("Slow", 9, 300), _kpi("Fast", 9, 20), _kpi("Rare", 2, 5), _kpi("Silent", 0, None)]
    assert [k.brand for k in ranking(rows)] == ["Fast", "Slow", "Rare", "Silent"]


@given(st.lists(st.floats(min_value=0, max_value=1e5, allow_nan=False), min_size=1, max_size=50))
def test_nearest_rank_is_a_value_with_enough_at_or_below(values: list[float]) -> None:
    p90 = nearest_rank(values, 0.9)
    assert p90 in values
    assert sum(v <= p90 for v in values) >= math.ceil(0.9 * len(values))
    assert sum(v < p90 for v in values) < math.ceil(0.9 * len(values))
