"""The NAB benchmark: ``monitor backtest`` on every NAB data file, scored by NAB's rules.

    python benchmarks/nab/run.py [--nab ../shared/benchmarks/nab] [--alarms DIR] [--jobs 2]
    python benchmarks/nab/run.py --cv     # leave-one-series-out over realTweets, in process

Every file gets a fresh detector with the default settings (one parameter set for the whole
corpus). The alarms are scored with the corpus's own ``nab_score.py`` (standard profile), for
realTweets and for all files. With ``--cv`` the settings are instead chosen (``tuning.py``):
the detector's shape on the files of the other categories, then with that shape the range rule's
margin and what counts as familiar on the same files, then ``z`` by leave-one-series-out over the
six realTweets series (each fold tuned on every other file): the mean held-out score, then the
setting chosen on all files with its in-sample and whole-corpus scores. The detector's cost per
1,000 points is timed in this run against a windowed Gaussian (trailing mean and standard
deviation of the last day) over the same points.
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
import tempfile
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tuning

from monitor.alerts.detect.streaming import SurgeDetector
from monitor.backtest.series import read_series, sampling_step
from monitor.config import SurgeRule

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_NAB = ROOT.parent / "shared" / "benchmarks" / "nab"
MONITOR = Path(sys.executable).with_name("monitor")
NORMALISED = re.compile(r"normalised \(standard\) = (-?[\d.]+)")


def backtest_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(MONITOR), "backtest", str(source), "--out", str(target)], check=True,
                   capture_output=True, text=True)


def score(nab: Path, alarms: Path, prefix: str) -> tuple[float, str]:
    result = subprocess.run(
        [sys.executable, str(nab / "nab_score.py"), "--alarms", str(alarms), "--data", str(nab / "data"),
         "--profile", "standard", "--files", prefix],
        check=True, capture_output=True, text=True,
    )
    return float(NORMALISED.search(result.stdout).group(1)), result.stdout


def windowed_gaussian(points) -> int:
    """The baseline: z-score against the trailing day's mean and standard deviation."""
    window: deque[float] = deque(maxlen=288)
    total = squares = 0.0
    alarms = 0
    for point in points:
        if len(window) >= 2:
            mean = total / len(window)
            std = math.sqrt(max(squares / len(window) - mean * mean, 1e-12))
            alarms += abs(point.value - mean) / std > 4
        if len(window) == window.maxlen:
            total -= window[0]
            squares -= window[0] ** 2
        window.append(point.value)
        total += point.value
        squares += point.value ** 2
    return alarms


def surge(points) -> int:
    detector = SurgeDetector(SurgeRule(), sampling_step(points))
    return sum(detector.update(p.at, p.value).alarm for p in points)


def cost(files: list[Path]) -> tuple[float, float, int]:
    """Seconds per 1,000 points of the surge detector and of the baseline, in this process."""
    series = [read_series(f) for f in files]
    points = sum(len(s) for s in series)
    began = time.perf_counter()
    for s in series:
        windowed_gaussian(s)
    baseline = time.perf_counter() - began
    began = time.perf_counter()
    for s in series:
        surge(s)
    detector = time.perf_counter() - began
    return 1000 * detector / points, 1000 * baseline / points, points


def cross_validated(nab: Path) -> None:
    """Print the leave-one-series-out realTweets score and the corpus score of the chosen setting."""
    scorer = tuning.Scorer(nab)
    began = time.perf_counter()
    tweets = sorted(name for name in scorer.windows if name.startswith("realTweets/"))
    corpus = sorted(scorer.windows)
    rest = [name for name in corpus if name not in tweets]
    base, on_rest = tuning.shape(scorer, rest, SurgeRule(range_margin=None, familiar_tolerance=None), tuning.SHAPE)
    print(f"shape chosen on the {len(rest)} files of the other categories ({on_rest:.1f}): "
          + ", ".join(f"{knob} {getattr(base, knob)}" for knob in tuning.SHAPE))
    base, with_range = tuning.shape(scorer, rest, base, tuning.RANGE)
    print(f"then the range rule on the same files ({with_range:.1f}): range_margin {base.range_margin}")
    base, with_familiar = tuning.shape(scorer, rest, base, tuning.FAMILIAR)
    print(f"then what is familiar on the same files ({with_familiar:.1f}): "
          + ", ".join(f"{knob} {getattr(base, knob)}" for knob in tuning.FAMILIAR))
    rules = tuning.grid(base, tuning.SENSITIVITY)
    folds = tuning.cross_validate(scorer, tweets, rules, guard=rest)
    for fold in folds:
        print(f"held out {fold.held_out}: tuned on the other {len(corpus) - 1} files ({fold.tuned:.1f}) to "
              f"z {fold.rule.z}; held-out score {fold.score:.1f}")
    alone = tuning.cross_validate(scorer, tweets, rules)
    print("z tuned on the other five realTweets series alone: held out "
          + ", ".join(f"{f.held_out.split('_')[-1][:-4]} {f.score:.1f} (z {f.rule.z})" for f in alone)
          + f"; mean {sum(f.score for f in alone) / len(alone):.1f}")
    chosen, _ = tuning.best(scorer, corpus, rules)
    in_sample = tuning.score(scorer, tweets, chosen)
    print(f"\nsetting chosen on all {len(corpus)} files: {tuning.describe(chosen)}")
    for label, rule in (("chosen", chosen), ("defaults", SurgeRule())):
        print(f"{label}: realTweets {tuning.score(scorer, tweets, rule):.1f}, all {len(corpus)} files "
              f"{tuning.score(scorer, corpus, rule):.1f} ({tuning.by_category(scorer, rule)})")
    mean = sum(f.score for f in folds) / len(folds)
    print(f"\nNAB standard profile: realTweets cross-validated (mean of 6 held-out) {mean:.1f}, "
          f"in-sample {in_sample:.1f}; all {len(corpus)} files {tuning.score(scorer, corpus, chosen):.1f} "
          f"({len(tuning.grid(base, tuning.SHAPE))} shapes, {len(tuning.grid(base, tuning.RANGE))} range margins, "
          f"{len(tuning.grid(base, tuning.FAMILIAR))} familiarity settings, {len(rules)} values of z, "
          f"{time.perf_counter() - began:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nab", type=Path, default=DEFAULT_NAB, help="NAB folder with data/, labels/, nab_score.py")
    parser.add_argument("--alarms", type=Path, help="keep the alarm files here (default: a temporary folder)")
    parser.add_argument("--jobs", type=int, default=2, help="files backtested at once")
    parser.add_argument("--cv", action="store_true", help="leave-one-series-out tuning over realTweets, in process")
    args = parser.parse_args()
    if args.cv:
        cross_validated(args.nab)
        return
    data = args.nab / "data"
    files = sorted(data.glob("*/*.csv"))
    if not files:
        sys.exit(f"no NAB data files under {data}")
    with tempfile.TemporaryDirectory() as scratch:
        alarms = args.alarms or Path(scratch)
        began = time.perf_counter()
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda f: backtest_file(f, alarms / f.relative_to(data)), files))
        elapsed = time.perf_counter() - began
        tweets, detail = score(args.nab, alarms, "realTweets/")
        corpus, _ = score(args.nab, alarms, "")
    print(detail.rstrip())
    print(f"\n{len(files)} files backtested with `monitor backtest` in {elapsed:.1f} s ({args.jobs} at a time)")
    print(f"NAB standard profile: realTweets {tweets:.1f}, all {len(files)} files {corpus:.1f}")
    detector, baseline, points = cost(sorted(data.glob("realTweets/*.csv")))
    print(f"cost per 1,000 points ({points} realTweets points, one core): surge detector {detector * 1000:.1f} ms, "
          f"windowed Gaussian {baseline * 1000:.1f} ms, ratio {detector / baseline:.0f}x")


if __name__ == "__main__":
    main()
