"""Leave-one-series-out tuning of the surge detector's alarm settings on NAB's realTweets series.

The detector's scores do not depend on the alarm settings (``z``, ``drop_ratio``,
``record_ratio``, ``refractory``: the :class:`AlarmGate`), so every series is scored once and
each setting of the grid only replays the gate. Fold ``i`` picks the setting with the best
NAB score on the other series and scores series ``i`` with it; the mean of those held-out
scores is what the detector earns on a series it was not tuned on.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import ModuleType

from monitor.alerts.streaming import AlarmGate, SurgeDetector
from monitor.backtest.series import Point, read_series, sampling_step
from monitor.config import SurgeRule

GRID = {
    "z": (4.5, 5.0, 5.5, 6.0, 6.5),
    "drop_ratio": (1.0, 1.15, 1.25, 1.4),
    "record_ratio": (0.5, 0.6, 0.7, 0.8, 0.9),
    "refractory": (timedelta(hours=12), timedelta(days=1), timedelta(days=2)),
}


@dataclass(frozen=True)
class Scored:
    """One NAB file judged by the detector: its points, their (score, direction) and its windows."""

    name: str
    points: list[Point]
    step: timedelta
    scores: list[tuple[float, int]]
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
        spec = importlib.util.spec_from_file_location("nab_score", nab / "nab_score.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.nab: ModuleType = module
        self.windows = json.loads((nab / "labels" / "combined_windows.json").read_text())
        self._stamps: dict[str, object] = {}
        self._memo: dict[tuple[str, tuple[int, ...]], tuple[float, int]] = {}
        self._results: dict[tuple[str, str], tuple[float, int]] = {}

    def result(self, series: Scored, rule: SurgeRule) -> tuple[float, int]:
        """The raw NAB score of ``rule``'s alarms on ``series`` and its number of scored windows."""
        key = (series.name, rule.model_dump_json())
        if key not in self._results:
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


def assess(path: Path, name: str, windows: list[list[str]], rule: SurgeRule) -> Scored:
    points = read_series(path)
    step = sampling_step(points)
    detector = SurgeDetector(rule, step)
    scores = [detector.assess(p.at, p.value)[1:] for p in points]
    return Scored(name, points, step, scores, windows)


def alarms(series: Scored, rule: SurgeRule) -> list[bool]:
    gate = AlarmGate(rule, series.step)
    return [gate.judge(p.at, score, direction) for p, (score, direction) in zip(series.points, series.scores)]


def grid(base: SurgeRule) -> list[SurgeRule]:
    return [base.model_copy(update=dict(zip(GRID, values))) for values in itertools.product(*GRID.values())]


def score(scorer: Scorer, series: list[Scored], rule: SurgeRule) -> float:
    return scorer.normalised([scorer.result(s, rule) for s in series])


def by_category(scorer: Scorer, corpus: list[Scored], rule: SurgeRule) -> str:
    """The NAB score of each category (its alarm count where it has no anomaly window)."""
    parts = []
    for category in sorted({s.name.split("/")[0] for s in corpus}):
        series = [s for s in corpus if s.name.startswith(category + "/")]
        if any(s.windows for s in series):
            parts.append(f"{category} {score(scorer, series, rule):.1f}")
        else:
            parts.append(f"{category} {sum(sum(alarms(s, rule)) for s in series)} alarms")
    return ", ".join(parts)


def best(scorer: Scorer, series: list[Scored], rules: list[SurgeRule]) -> tuple[SurgeRule, float]:
    """The rule with the highest NAB score on ``series`` (the first of equals, in grid order)."""
    scored = [(score(scorer, series, rule), -k) for k, rule in enumerate(rules)]
    top, k = max(scored)
    return rules[-k], top


def cross_validate(scorer: Scorer, series: list[Scored], rules: list[SurgeRule]) -> list[Fold]:
    folds = []
    for held in series:
        rule, tuned = best(scorer, [s for s in series if s is not held], rules)
        folds.append(Fold(held.name, rule, tuned, score(scorer, [held], rule)))
    return folds


def describe(rule: SurgeRule) -> str:
    return ", ".join(f"{name} {getattr(rule, name)}" for name in GRID)
