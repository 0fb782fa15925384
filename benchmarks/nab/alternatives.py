"""Second detectors tried beside the surge detector on NAB, each alarming on its own threshold.

    python benchmarks/nab/alternatives.py [--nab ../shared/benchmarks/nab]

The surge detector keeps its defaults; a second score alarms as well when it reaches its own
threshold outside the refractory period of the last alarm (of either), after the warm-up. The
second scores apply to the series that are not counts (CPU, latency, temperature, traffic), so
realTweets keeps its score. Three families, every one causal (each point sees only the past):

- ``cusum``: a two-sided cumulative sum of the surge detector's signed score (clipped to ±3)
  less an allowance ``k``: a sustained moderate shift adds up where no single point alarms;
- ``spread``: the median absolute deviation of the last ``m`` residuals from the seasonal
  expectation over that of the week before them: a change of variance;
- ``jump``: on the raw scale, the mean of the last ``w`` values less the median of the day
  before, in robust units of the first differences (1.4826 × their MAD over the last week, × √2).

And an ensemble, ``vote``, on every series: five surge detectors (the default one and one each
with a 14-day scale history, no neighbouring slots in the seasonal expectation, 14 days of
seasons, windows of 5 minutes to 16 hours) and the alarm gate on their median (three of five
above ``z``) or their minimum (all five), at ``z``.

For each family and setting: the corpus score and the score by category; then the setting (or
none) with the best score on the 48 files outside realTweets, and by leave-one-category-out the
score of each category with the setting chosen on the others.
"""

from __future__ import annotations

import argparse
import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import tuning

from monitor.alerts.detect.streaming import AlarmGate, SurgeDetector
from monitor.backtest.series import read_series, sampling_step
from monitor.config import SurgeRule

DEFAULT_NAB = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "nab"
GRIDS = {
    "cusum": [(k, h) for k in (0.5, 1.0, 2.0) for h in (10, 20, 40, 80)],
    "spread": [(m, h) for m in (12, 24, 36, 48) for h in (3, 4, 6, 8)],
    "jump": [(w, h) for w in (1, 3) for h in (20, 40, 80, 160)],
    "vote": [(how, z) for how in ("median", "min") for z in (4.5, 5.0, 5.5)],
}
MEMBERS = (
    SurgeRule(),
    SurgeRule(scale_history=timedelta(days=14)),
    SurgeRule(season_width=0),
    SurgeRule(season_days=14),
    SurgeRule(windows=[timedelta(minutes=m) for m in (5, 15, 60, 240, 960)]),
)


def _log(value: float) -> float:
    """The detector's scale: ``sign(v)·log1p(|v|)``."""
    return math.copysign(math.log1p(abs(value)), value)


class Series:
    """One NAB file under the default surge detector, with what the second scores need."""

    def __init__(self, scorer: tuning.Scorer, name: str):
        self.name = name
        self.points = read_series(scorer.data / name)
        self.step = sampling_step(self.points)
        self.windows = scorer.windows[name]
        detector = SurgeDetector(SurgeRule(), self.step)
        judged = [detector.assess(p.at, p.value) for p in self.points]
        self.counts = all(p.value >= 0 and float(p.value).is_integer() for p in self.points)
        self.value = pd.Series([p.value for p in self.points])
        self.signed = np.array([score * direction for _, score, direction, *_ in judged])
        self.residual = pd.Series([_log(p.value) - _log(e) for p, (e, *_) in zip(self.points, judged)])
        gate = AlarmGate(SurgeRule(), self.step)
        self.alarms = np.array([gate.judge(p.at, *rest) for p, (_, *rest) in zip(self.points, judged)])
        self.per_day = max(1, round(timedelta(days=1) / self.step))
        self.directions = [d for _, _, d, *_ in judged]
        self.beyond = [b for *_, b, _ in judged]
        self._members: np.ndarray | None = None

    def vote(self, how: str, z: float) -> list[bool]:
        """The alarm gate at ``z`` on the median or minimum score of the ``MEMBERS`` detectors."""
        if self._members is None:
            scores = []
            for rule in MEMBERS:
                detector = SurgeDetector(rule, self.step)
                scores.append([detector.assess(p.at, p.value)[1] for p in self.points])
            self._members = np.array(scores)
        combined = np.median(self._members, axis=0) if how == "median" else self._members.min(axis=0)
        gate = AlarmGate(SurgeRule(z=z), self.step)
        return [gate.judge(p.at, float(s), d, b)
                for p, s, d, b in zip(self.points, combined, self.directions, self.beyond)]

    def cusum(self, k: float) -> np.ndarray:
        """The larger of the upward and downward cumulative sums of the clipped signed score less ``k``."""
        up = down = 0.0
        out = np.empty(len(self.signed))
        for i, u in enumerate(np.clip(self.signed, -3, 3)):
            up, down = max(0.0, up + u - k), max(0.0, down - u - k)
            out[i] = max(up, down)
        return out

    def spread(self, m: int) -> np.ndarray:
        """The MAD of the last ``m`` residuals over the MAD of the week of residuals before them."""
        week = 7 * self.per_day
        r = self.residual
        recent = (r - r.rolling(m).median()).abs().rolling(m).median()
        weekly = r.rolling(week, min_periods=self.per_day)
        usual = (r - weekly.median()).abs().rolling(week, min_periods=self.per_day).median()
        return (recent / usual.shift(m).clip(lower=0.01)).fillna(0).to_numpy()

    def jump(self, w: int) -> np.ndarray:
        """How far the mean of the last ``w`` values is from the previous day's median, in robust steps."""
        x = self.value
        steps = x.diff().abs().rolling(7 * self.per_day, min_periods=self.per_day).median().shift(1) * 1.4826
        steps = steps.clip(lower=max(1e-3, 1e-3 * float(x.abs().median())))
        level = x.rolling(self.per_day, min_periods=12).median().shift(1)
        return ((x.rolling(w).mean() - level) / (steps * math.sqrt(2))).fillna(0).abs().to_numpy()


def alarms(series: Series, family: str | None, setting: tuple) -> list[bool]:
    """The surge detector's alarms and the second score's, one refractory period for both."""
    if family == "vote":
        return series.vote(*setting)
    if family is None or series.counts:
        return list(series.alarms)
    knob, threshold = setting
    second = getattr(series, family)(knob)
    rule = SurgeRule()
    first, last = series.points[0].at, None
    out = []
    for point, alarm, score in zip(series.points, series.alarms, second):
        alarm = bool(alarm) or (
            score >= threshold and point.at - first >= rule.warmup and (last is None or point.at - last > rule.refractory)
        )
        last = point.at if alarm else last
        out.append(alarm)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nab", type=Path, default=DEFAULT_NAB, help="NAB folder with data/, labels/, nab_score.py")
    args = parser.parse_args()
    scorer = tuning.Scorer(args.nab)
    series = {name: Series(scorer, name) for name in sorted(scorer.windows)}
    categories = sorted({name.split("/")[0] for name, s in series.items() if s.windows})
    rest = [name for name in series if not name.startswith("realTweets/")]

    def score(names: list[str], family: str | None, setting: tuple = ()) -> float:
        return scorer.normalised([scorer.raw(series[n], alarms(series[n], family, setting)) for n in names])

    def choose(names: list[str], family: str) -> tuple[str | None, tuple]:
        options = [(None, ())] + [(family, s) for s in GRIDS[family]]
        return max(options, key=lambda option: score(names, *option))

    def line(family: str | None, setting: tuple) -> str:
        parts = [f"all {score(list(series), family, setting):.1f}"]
        parts += [f"{c} {score([n for n in series if n.startswith(c + '/')], family, setting):.1f}" for c in categories]
        return ", ".join(parts)

    print(f"surge detector alone: {line(None, ())}")
    for family, settings in GRIDS.items():
        for setting in settings:
            print(f"{family} {setting}: {line(family, setting)}", flush=True)
        chosen = choose(rest, family)
        held = []
        for category in (c for c in categories if c != "realTweets"):
            pick = choose([n for n in rest if not n.startswith(category + "/")], family)
            held.append(f"{category} {score([n for n in rest if n.startswith(category + '/')], *pick):.1f} ({pick[1] or 'none'})")
        print(f"{family}: chosen on the other categories {chosen[1] or 'none'}; "
              f"each category held out: {', '.join(held)}\n", flush=True)


if __name__ == "__main__":
    main()
