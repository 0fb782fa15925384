"""A streaming surge detector: one value at a time, no look-ahead, constant memory.

Values are compared in log space (``sign(v)·log1p(|v|)``), so a tenfold burst weighs the same
on a quiet series as on a busy one. Each value is judged against:

- a seasonal expectation: the median of the same time of day on the previous
  ``season_days`` days (and ``season_width`` points either side), or of the last day when
  there is no such history yet; once the series has shown a weekly pattern (the median of
  the same time of week on the last three weeks has predicted it with under ``weekly_ratio``
  × the daily expectation's absolute error, over at least a week of points), that one instead;
- for each window of ``windows`` (5 min to 8 h by default), the mean residual of the newest
  points in that window, scored against the median and MAD of that window's own past
  residuals over ``scale_history`` — a robust z that ignores past spikes. For counts the
  spread has a Poisson floor, so 0 against 0 or a handful against nothing never alarms, and
  each window's z is bounded by the Anscombe residual of its counts (what Poisson noise makes
  of them), so a few missing counts at a quiet hour never look like news.

The score is the Euclidean norm of the window z-scores: a burst that is both sharp and
sustained outranks one that is only one of them. An alarm needs the score above ``z`` (above
``drop_ratio`` × ``z`` for a drop: a sudden silence is more often a collection gap than news), above
``record_ratio`` × the highest score of the last ``record_span`` (so the detector adapts to
how wild a series usually is), no alarm within ``refractory`` (one alarm per event) unless the
score reaches ``rearm_ratio`` × the highest score since the last alarm (a far bigger event is a
new one), and the warm-up to be over: the :class:`AlarmGate`, which can replay stored scores under other settings.

A value beyond the whole range seen so far (above the highest or below the lowest value since the
detector started) by at least ``range_margin`` × that range alarms with half the score a surge needs
(``z`` / 2), whatever the recent record, after the warm-up and with no alarm of either kind within
``range_rest``: a level the series has never reached is news even where the series is too wild for
its score to stand out.

A surge whose newest ``familiar_span`` (at least three points) repeats a stretch of the last
``record_span`` that ended at least 12 hours earlier, to within ``familiar_tolerance`` × the range
of those values (root-mean-square difference), is familiar: it neither alarms nor counts toward the
record. A job that spikes every 25 hours, a daily rush that drifts with the seasons, last week's
pattern replayed: each was news the first time only. The range rule still sees them.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from monitor.config import SurgeRule

DAY = timedelta(days=1)
MIN_SCALE = 0.01
FAMILIAR_GAP = timedelta(hours=12)
"""Stretches this recent belong to the event being judged, so they are never what it is compared with."""


@dataclass(frozen=True)
class Judgement:
    """The detector's verdict on one value."""

    at: datetime
    value: float
    expected: float
    score: float
    direction: int
    alarm: bool


def _log(value: float) -> float:
    return math.copysign(math.log1p(abs(value)), value)


def _unlog(value: float) -> float:
    return math.copysign(math.expm1(abs(value)), value)


class _RobustScale:
    """Median and MAD of the newest ``size`` values pushed (kept sorted)."""

    def __init__(self, size: int):
        self._order: deque[float] = deque(maxlen=size)
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._sorted)

    def push(self, value: float) -> None:
        if len(self._order) == self._order.maxlen:
            del self._sorted[bisect.bisect_left(self._sorted, self._order[0])]
        self._order.append(value)
        bisect.insort(self._sorted, value)

    def z(self, value: float, floor: float = MIN_SCALE) -> float:
        """Robust z of ``value``: its distance from the median in scaled MADs (1.4826 × MAD)."""
        values = self._sorted
        centre = _median_of_sorted(values)
        split = bisect.bisect_left(values, centre)
        below, above = split, len(values) - split

        def deviation(k: int) -> float:
            return _kth_deviation(values, centre, split, below, above, k)

        n = len(values)
        mad = deviation(n // 2) if n % 2 else (deviation(n // 2 - 1) + deviation(n // 2)) / 2
        return (value - centre) / max(1.4826 * mad, floor)


def _median_of_sorted(values: list[float]) -> float:
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def _kth_deviation(values: list[float], centre: float, split: int, below: int, above: int, k: int) -> float:
    """The ``k``-th smallest ``|v - centre|`` (0-based) of sorted ``values``, in O(log n).

    The deviations of the values below ``split`` and of those from ``split`` on are two sorted
    runs; the answer is found by bisecting how many of the ``k + 1`` smallest come from the first.
    """
    low, high = max(0, k + 1 - above), min(k + 1, below)
    while low < high:
        taken = (low + high) // 2
        if centre - values[split - 1 - taken] < values[split + k - taken] - centre:
            low = taken + 1
        else:
            high = taken
    last_below = centre - values[split - low] if low else -math.inf
    last_above = values[split + k - low] - centre if k + 1 - low else -math.inf
    return max(last_below, last_above)


class _RunningMax:
    """The largest value pushed within the newest ``span`` pushes."""

    def __init__(self, span: int):
        self._span = span
        self._items: deque[tuple[int, float]] = deque()
        self._count = 0

    @property
    def value(self) -> float:
        return self._items[0][1] if self._items else 0.0

    def push(self, value: float) -> None:
        while self._items and self._items[-1][1] <= value:
            self._items.pop()
        self._items.append((self._count, value))
        self._count += 1
        while self._items[0][0] <= self._count - 1 - self._span:
            self._items.popleft()


def _within_poisson(z: float, observed: float, expected: float) -> float:
    """``z`` no further from 0 than Poisson noise would put ``observed`` counts against ``expected``.

    The Anscombe residual ``2(√(o + 3/8) − √(e + 3/8))`` is about standard normal for Poisson
    counts at any rate, where a log-space z overrates a few missing counts on a quiet series.
    """
    bound = 2 * (math.sqrt(max(observed, 0.0) + 0.375) - math.sqrt(max(expected, 0.0) + 0.375))
    return math.copysign(min(abs(z), abs(bound)), z) if bound * z > 0 else 0.0


class _WeeklyExpectation:
    """The median of the same time of week (± ``width`` points) over the last ``WEEKS`` weeks, and
    whether it has so far predicted the series clearly better than the daily expectation."""

    WEEKS = 3

    def __init__(self, slots_per_day: int, width: int, ratio: float):
        self._span = 7 * slots_per_day
        self._width = width
        self._ratio = ratio
        self._values: dict[int, deque[tuple[int, float]]] = {}
        self._errors = [0.0, 0.0]
        self._compared = 0

    def expected(self, index: int) -> float | None:
        """The weekly expectation of point ``index`` (counted in steps), or None without history."""
        span, width = self._span, self._width
        references = [
            y
            for s in range(index - width, index + width + 1)
            for i, y in self._values.get(s % span, ())
            if index - self.WEEKS * span - width <= i <= index - span + width
        ]
        return statistics.median(references) if references else None

    def preferred(self) -> bool:
        """Whether its absolute error is under ``ratio`` × the daily one's, over at least a week."""
        return self._compared >= self._span and self._errors[1] < self._ratio * self._errors[0]

    def remember(self, index: int, y: float, daily: float | None, weekly: float | None) -> None:
        if daily is not None and weekly is not None:
            self._errors[0] += abs(y - daily)
            self._errors[1] += abs(y - weekly)
            self._compared += 1
        self._values.setdefault(index % self._span, deque(maxlen=self.WEEKS + 1)).append((index, y))


def _points(span: timedelta, step: timedelta) -> int:
    return max(1, round(span / step))


class _Familiarity:
    """How closely the newest ``span`` values repeat a stretch of the last ``history`` values that
    ended ``gap`` values ago or earlier: the smallest root-mean-square difference, as a share of the
    range of those values (0: seen exactly before; inf: nothing to compare with yet)."""

    def __init__(self, span: int, history: int, gap: int):
        self._span, self._gap = span, gap
        self._values: deque[float] = deque(maxlen=history + 1)

    def push(self, value: float) -> None:
        self._values.append(value)

    def distance(self) -> float:
        values = np.fromiter(self._values, float, len(self._values))
        earlier = values[: len(values) - self._gap]
        if len(earlier) < self._span:
            return math.inf
        past = values[:-1]
        width = float(past.max() - past.min())
        newest = values[-self._span:]
        rms = float(np.sqrt(((sliding_window_view(earlier, self._span) - newest) ** 2).mean(axis=1)).min())
        if width > 0:
            return rms / width
        return 0.0 if rms == 0 else math.inf


class SurgeDetector:
    """Judge a series point by point; ``step`` is its sampling interval (the bucket size)."""

    def __init__(self, rule: SurgeRule, step: timedelta):
        if step <= timedelta(0):
            raise ValueError(f"the sampling step must be positive, not {step}")
        self.rule = rule
        self.step = step
        self._slots = _points(DAY, step)
        self._season: dict[int, deque[tuple[int, float]]] = {}
        self._recent: deque[float] = deque(maxlen=self._slots)
        self._weekly = _WeeklyExpectation(self._slots, rule.season_width, rule.weekly_ratio)
        self._windows = sorted({_points(w, step) for w in rule.windows})
        self._history: deque[tuple[float, float, float]] = deque(maxlen=self._windows[-1] + 1)
        self._sums = {k: [0.0, 0.0, 0.0] for k in self._windows}
        self._scales = {k: _RobustScale(_points(rule.scale_history, step)) for k in self._windows}
        self._gate = AlarmGate(rule, step)
        self._counts = True
        self._range: tuple[float, float] | None = None
        self._familiar = _Familiarity(max(3, _points(rule.familiar_span, step)), _points(rule.record_span, step),
                                      _points(FAMILIAR_GAP, step))

    def _slot(self, at: datetime) -> tuple[int, int]:
        since_midnight = at - at.replace(hour=0, minute=0, second=0, microsecond=0)
        return at.toordinal(), int(since_midnight / self.step) % self._slots

    def _expected(self, day: int, slot: int) -> float | None:
        width = self.rule.season_width
        references = [
            y
            for s in range(slot - width, slot + width + 1)
            for d, y in self._season.get(s % self._slots, ())
            if day - self.rule.season_days <= d < day
        ]
        if references:
            return statistics.median(references)
        return statistics.median(self._recent) if self._recent else None

    def _remember(self, day: int, slot: int, y: float) -> None:
        history = self._season.setdefault(slot, deque(maxlen=2 * (self.rule.season_days + 1)))
        history.append((day, y))
        self._recent.append(y)

    def _window_scores(self, residual: float, value: float, expected_count: float | None) -> list[float]:
        self._history.append((residual, value, expected_count or 0.0))
        n = len(self._history)
        scores = []
        for k in self._windows:
            sums = self._sums[k]
            for i, newest in enumerate(self._history[-1]):
                sums[i] += newest - (self._history[-k - 1][i] if n > k else 0.0)
            mean = sums[0] / min(k, n)
            scale = self._scales[k]
            floor = MIN_SCALE
            if expected_count is not None:
                floor = max(floor, self.rule.count_floor / math.sqrt(k * (expected_count + 1)))
            z = scale.z(mean, floor) if len(scale) >= self.rule.min_scale_points else 0.0
            scale.push(mean)
            scores.append(z if expected_count is None else _within_poisson(z, sums[1], sums[2]))
        return scores

    def _beyond(self, value: float) -> float:
        """How far ``value`` lies above the highest (positive) or below the lowest (negative) value
        seen so far, in units of that range; 0 within it or before the series has a range."""
        low, high = self._range or (value, value)
        self._range = (min(low, value), max(high, value))
        if high <= low or low <= value <= high:
            return 0.0
        return (value - (high if value > high else low)) / (high - low)

    def assess(self, at: datetime, value: float) -> tuple[float, float, int, float, float]:
        """The expected value, score, direction (+1 up, -1 down, 0), range excess (:meth:`_beyond`) and
        familiarity (:class:`_Familiarity`; measured only where the score reaches ``z``, the least a
        surge alarm needs, else inf; whatever ``familiar_tolerance``, so that the gate can replay it
        under any) of ``value`` at ``at``; no alarm."""
        if not math.isfinite(value):
            raise ValueError(f"value at {at} is not a number: {value!r}")
        beyond = self._beyond(value)
        self._familiar.push(value)
        y = _log(value)
        day, slot = self._slot(at)
        index = day * self._slots + slot
        daily = self._expected(day, slot)
        weekly = self._weekly.expected(index) if self.rule.weekly_ratio > 0 else None
        expected = weekly if weekly is not None and self._weekly.preferred() else daily
        self._remember(day, slot, y)
        self._weekly.remember(index, y, daily, weekly)
        self._counts = self._counts and value >= 0 and float(value).is_integer()
        expected_count = _unlog(expected) if self._counts and expected is not None else None
        scores = self._window_scores(0.0 if expected is None else y - expected, value, expected_count)
        score = math.sqrt(sum(z * z for z in scores))
        direction = (sum(scores) > 0) - (sum(scores) < 0)
        familiar = self._familiar.distance() if score >= self.rule.z else math.inf
        return _unlog(y if expected is None else expected), score, direction, beyond, familiar

    def update(self, at: datetime, value: float) -> Judgement:
        """Judge ``value`` observed at ``at``; values are judged in arrival order."""
        expected, score, direction, beyond, familiar = self.assess(at, value)
        alarm = self._gate.judge(at, score, direction, beyond, familiar)
        return Judgement(at, value, expected, score, direction, alarm)


class AlarmGate:
    """Scores to alarms: above ``z`` (``drop_ratio`` × ``z`` for a drop) and ``record_ratio`` × the
    recent record, outside the refractory period of the last alarm (or ``rearm_ratio`` × the
    highest score since it), after the warm-up, unless familiar (which counts as no score at all);
    or a value beyond the range seen so far by at least ``range_margin`` with a score of ``z`` / 2,
    and no alarm of either kind within ``range_rest``."""

    def __init__(self, rule: SurgeRule, step: timedelta):
        self.rule = rule
        self._record = _RunningMax(_points(rule.record_span, step))
        self._first: datetime | None = None
        self._last_alarm: datetime | None = None
        self._last_any: datetime | None = None
        self._peak = 0.0

    def judge(self, at: datetime, score: float, direction: int, beyond: float = 0.0,
              familiar: float = math.inf) -> bool:
        """Whether ``score`` (of direction ``direction``, ``beyond`` the range seen so far, at
        ``familiar`` from a stretch seen before) at ``at`` raises an alarm."""
        self._first = self._first or at
        record = self._record.value
        tolerance = self.rule.familiar_tolerance
        counted = 0.0 if tolerance is not None and familiar < tolerance else score
        self._record.push(counted)
        warm = at - self._first >= self.rule.warmup
        alarm = (
            warm
            and counted >= self.rule.z * (self.rule.drop_ratio if direction < 0 else 1.0)
            and counted >= self.rule.record_ratio * record
            and self._rearmed(at, counted)
        )
        if alarm:
            self._last_alarm = at
        self._peak = counted if alarm else max(self._peak, counted)
        margin = self.rule.range_margin
        alarm = alarm or (warm and margin is not None and abs(beyond) >= margin and score >= self.rule.z / 2
                          and (self._last_any is None or at - self._last_any > self.rule.range_rest))
        if alarm:
            self._last_any = at
        return alarm

    def _rearmed(self, at: datetime, score: float) -> bool:
        """Past the refractory period of the last alarm, or far above every score since it."""
        if self._last_alarm is None or at - self._last_alarm > self.rule.refractory:
            return True
        return score >= self.rule.rearm_ratio * self._peak
