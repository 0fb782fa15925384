"""Care KPIs per brand and per source, the competitor ranking, and the ``report care`` rows.

Percentiles are nearest-rank (the p90 of 10 times is the 9th smallest); the median is the
middle time, or the mean of the two middle ones. ``within_target_share`` counts unanswered
posts as missed. Sentiment before and after is the mean of −1 (negative), 0 and +1 (positive)
over answered posts: before, their own sentiment; after, the author's last word when they wrote again.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Iterable, Sequence

from monitor.care.cases import CarePost
from monitor.models import Mention

CSV_COLUMNS = ("brand", "source", "needing_reply", "replied", "response_rate", "median_first_response_minutes",
               "p90_first_response_minutes", "within_target_share")
_SCORE = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}


@dataclass(frozen=True)
class CareKpis:
    """The care figures of one brand, over all its sources (``source`` empty) or one of them."""

    brand: str
    source: str
    needing_reply: int
    replied: int
    within_target: int
    resolved: int
    median_first_response_minutes: float | None
    p90_first_response_minutes: float | None
    sentiment_before: float | None
    sentiment_after: float | None

    @property
    def response_rate(self) -> float | None:
        return self.replied / self.needing_reply if self.needing_reply else None

    @property
    def within_target_share(self) -> float | None:
        return self.within_target / self.needing_reply if self.needing_reply else None

    @property
    def resolution_share(self) -> float | None:
        return self.resolved / self.replied if self.replied else None

    def row(self) -> dict[str, str | int]:
        """The ``report care`` CSV row (empty cells where a figure is undefined)."""
        values = {name: getattr(self, name) for name in CSV_COLUMNS}
        return {name: "" if value is None else (round(value, 4) if isinstance(value, float) else value)
                for name, value in values.items()}


def nearest_rank(values: Sequence[float], share: float) -> float | None:
    """The smallest value with at least ``share`` of ``values`` at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def _mean_sentiment(mentions: Iterable[Mention | None]) -> float | None:
    scores = [_SCORE[m.sentiment.label] for m in mentions if m is not None and m.sentiment is not None]
    return statistics.fmean(scores) if scores else None


def kpis(brand: str, cases: Sequence[CarePost], source: str = "") -> CareKpis:
    """The figures of ``cases`` (already limited to ``source`` when one is named)."""
    answered = [c for c in cases if c.answer is not None]
    minutes = [c.response_time.total_seconds() / 60 for c in answered if c.response_time is not None]
    return CareKpis(
        brand=brand, source=source, needing_reply=len(cases), replied=len(answered),
        within_target=sum(c.within_target for c in cases), resolved=sum(c.resolved for c in cases),
        median_first_response_minutes=statistics.median(minutes) if minutes else None,
        p90_first_response_minutes=nearest_rank(minutes, 0.9),
        sentiment_before=_mean_sentiment(c.mention for c in answered),
        sentiment_after=_mean_sentiment(c.last_word for c in answered),
    )


def brand_rows(brand: str, cases: Sequence[CarePost]) -> list[CareKpis]:
    """All sources together, then one row per source (by name)."""
    sources = sorted({c.mention.source for c in cases})
    return [kpis(brand, cases), *(kpis(brand, [c for c in cases if c.mention.source == s], s) for s in sources)]


def ranking(overall: Iterable[CareKpis]) -> list[CareKpis]:
    """Brands best first: higher response rate, then faster median first response."""
    return sorted(overall, key=lambda k: (-(k.response_rate or 0.0),
                                          math.inf if k.median_first_response_minutes is None
                                          else k.median_first_response_minutes, k.brand))
