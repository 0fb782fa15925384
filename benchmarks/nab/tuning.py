"""Tuning of the surge detector's settings: its shape on the rest of NAB, its sensitivity on realTweets.

The detector's scores depend only on ``SCORING`` (``count_floor``, ``familiar_span``), not on the
alarm settings (``z``, ``drop_ratio``, ``record_ratio``, ``refractory``, ``range_margin``,
``familiar_tolerance``: the :class:`AlarmGate`), so every series is scored once per ``SCORING``
value and each setting of the grid only replays the gate.

Six series cannot choose five settings: tuned on five, every knob fits their quirks and the
sixth pays. So the detector's shape (``SHAPE``: the Poisson floor, how a drop, the recent record
and the refractory period count) is chosen once, on the corpus's other categories (no realTweets
series), then with that shape the margin of the range rule (``RANGE``: a value beyond every value
seen so far), then what counts as familiar (``FAMILIAR``: a stretch that repeats one seen before),
on the same files, and only the sensitivity ``z`` by leave-one-series-out over realTweets: fold
``i`` picks the ``z`` with the best NAB score on every file but series ``i`` (the other five and
the other categories, the guard) and scores series ``i`` with it; the mean of those held-out
scores is what the detector earns on a series it was not tuned on.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import ModuleType

from monitor.alerts.detect.streaming import AlarmGate, SurgeDetector
from monitor.backtest.series import Point, read_series, sampling_step
from monitor.config import SurgeRule

SCORING = ("count_floor", "familiar_span")
SENSITIVITY = {"z": (4.5, 5.0, 5.5, 6.0, 6.5)}
SHAPE = {
    "count_floor": (0.5, 1.0),
    "drop_ratio": (1.0, 1.15, 1.25, 1.4),
    "record_ratio": (0.5, 0.6, 0.7, 0.8, 0.9),
    "refractory": (timedelta(hours=12), timedelta(days=1), timedelta(days=2)),
}
RANGE = {"range_margin": (None, 0.02, 0.05, 0.1)}
FAMILIAR = {
    "familiar_span": (timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2)),
    "familiar_tolerance": (None, 0.04, 0.06, 0.08, 0.1),
}
GRID = SHAPE | RANGE | FAMILIAR | SENSITIVITY


@dataclass(frozen=True)
class Scored:
    """One NAB file judged by the detector: its points, their (score, direction, range excess) and its windows."""

    name: str
    points: list[Point]
    step: timedelta
    scores: list[tuple[float, int, float]]
    windows: list[list[str]]


@dataclass(frozen=True)
class Fold:
    held_out: str
    rule: SurgeRule
    tuned: float
    score: float


class Scorer:
    """NAB's own scorer (``nab_score.py`` of the corpus, loaded in place), with memoised results."""

    def __init__(self, nab: Path):
        self.data = nab / "data"
        spec = importlib.util.spec_from_file_location("nab_score", nab / "nab_score.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.nab: ModuleType = module
        self.windows = json.loads((nab / "labels" / "combined_windows.json").read_text())
        self._stamps: dict[str, object] = {}
        self._memo: dict[tuple[str, tuple[int, ...]], tuple[float, int]] = {}
        self._results: dict[tuple[str, str], tuple[float, int]] = {}
        self._scored: dict[tuple[str, tuple], Scored] = {}

    def scored(self, name: str, rule: SurgeRule) -> Scored:
        """File ``name`` scored by a detector with ``rule``'s ``SCORING`` settings (memoised)."""
        key = (name, tuple(getattr(rule, p) for p in SCORING))
        if key not in self._scored:
            self._scored[key] = assess(self.data / name, name, self.windows[name], rule)
        return self._scored[key]

    def result(self, name: str, rule: SurgeRule) -> tuple[float, int]:
        """The raw NAB score of ``rule``'s alarms on file ``name`` and its number of scored windows."""
        key = (name, rule.model_dump_json())
        if key not in self._results:
            series = self.scored(name, rule)
            self._results[key] = self.raw(series, alarms(series, rule))
        return self._results[key]

    def raw(self, series: Scored, alarms: list[bool]) -> tuple[float, int]:
        """The raw NAB score of ``alarms`` on ``series`` and its number of scored windows."""
        key = (series.name, tuple(k for k, a in enumerate(alarms) if a))
        if key not in self._memo:
            if series.name not in self._stamps:
                self._stamps[series.name] = self.nab.to_datetime64(p.raw_timestamp for p in series.points)
            result = self.nab.score_file(self._stamps[series.name], alarms, series.windows)
            self._memo[key] = (result["score"], result["windows"])
        return self._memo[key]

    def normalised(self, results: list[tuple[float, int]]) -> float:
        raw, windows = sum(r for r, _ in results), sum(w for _, w in results)
        return self.nab.normalise(raw, windows, "standard")


def scoring_rule(rule: SurgeRule, z_values: Iterable[float] = SENSITIVITY["z"]) -> SurgeRule:
    """``rule`` for scoring series that the gate replays at each of ``z_values``: the detector
    measures familiarity only where the score reaches its own ``z``, so that is the least of them."""
    return rule.model_copy(update={"z": min(z_values)})


def assess(path: Path, name: str, windows: list[list[str]], rule: SurgeRule) -> Scored:
    """The file's points judged by a detector with ``rule``'s scoring settings (:func:`scoring_rule`)."""
    points = read_series(path)
    step = sampling_step(points)
    detector = SurgeDetector(scoring_rule(rule), step)
    scores = [detector.assess(p.at, p.value)[1:] for p in points]
    return Scored(name, points, step, scores, windows)


def alarms(series: Scored, rule: SurgeRule) -> list[bool]:
    gate = AlarmGate(rule, series.step)
    return [gate.judge(p.at, *judged) for p, judged in zip(series.points, series.scores)]


def grid(base: SurgeRule, knobs: dict[str, tuple] = GRID) -> list[SurgeRule]:
    return [base.model_copy(update=dict(zip(knobs, values))) for values in itertools.product(*knobs.values())]


def shape(scorer: Scorer, names: list[str], base: SurgeRule, knobs: dict[str, tuple]) -> tuple[SurgeRule, float]:
    """``base`` with the ``knobs`` of the best rule of their grid with ``SENSITIVITY`` on files ``names``
    (its ``z`` dropped), and that score."""
    rule, top = best(scorer, names, grid(base, knobs | SENSITIVITY))
    return base.model_copy(update={knob: getattr(rule, knob) for knob in knobs}), top


def score(scorer: Scorer, names: list[str], rule: SurgeRule) -> float:
    return scorer.normalised([scorer.result(name, rule) for name in names])


def by_category(scorer: Scorer, rule: SurgeRule) -> str:
    """The NAB score of each category of the corpus (its alarm count where it has no anomaly window)."""
    parts = []
    for category in sorted({name.split("/")[0] for name in scorer.windows}):
        names = [name for name in sorted(scorer.windows) if name.startswith(category + "/")]
        if any(scorer.windows[name] for name in names):
            parts.append(f"{category} {score(scorer, names, rule):.1f}")
        else:
            count = sum(sum(alarms(scorer.scored(name, rule), rule)) for name in names)
            parts.append(f"{category} {count} alarms")
    return ", ".join(parts)


def best(scorer: Scorer, names: list[str], rules: list[SurgeRule]) -> tuple[SurgeRule, float]:
    """The rule with the highest NAB score on files ``names`` (the first of equals, in grid order)."""
    scored = [(score(scorer, names, rule), -k) for k, rule in enumerate(rules)]
    top, k = max(scored)
    return rules[-k], top


def cross_validate(scorer: Scorer, names: list[str], rules: list[SurgeRule],
                   guard: Sequence[str] = ()) -> list[Fold]:
    """For each file of ``names``: the best rule on the others (and the ``guard`` files), and that
    rule's score on the file held out."""
    folds = []
    for held in names:
        rule, tuned = best(scorer, [name for name in names if name != held] + list(guard), rules)
        folds.append(Fold(held, rule, tuned, score(scorer, [held], rule)))
    return folds


def describe(rule: SurgeRule) -> str:
    return ", ".join(f"{name} {getattr(rule, name)}" for name in GRID)
