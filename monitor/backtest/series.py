"""Backtest the surge detector on a ``timestamp,value`` CSV (the NAB format)."""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from monitor.alerts.detect.streaming import SurgeDetector
from monitor.config import SurgeRule
from monitor.errors import SeriesError

STEP_SAMPLE = 12


@dataclass(frozen=True)
class Point:
    at: datetime
    raw_timestamp: str
    value: float


def read_series(path: Path) -> list[Point]:
    """Rows of a ``timestamp,value`` CSV, in file order (the order they are judged in); timestamps are UTC."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise SeriesError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not rows or not {"timestamp", "value"} <= set(rows[0]):
        raise SeriesError(f"{path}: expected a CSV with 'timestamp' and 'value' columns")
    points = []
    for line, row in enumerate(rows, start=2):
        try:
            at = datetime.fromisoformat(row["timestamp"].strip())
            value = float(row["value"])
        except (TypeError, ValueError) as exc:
            raise SeriesError(f"{path}, line {line}: {exc}") from exc
        if not math.isfinite(value):
            raise SeriesError(f"{path}, line {line}: the value is not a finite number: {row['value']!r}")
        points.append(Point(at if at.tzinfo else at.replace(tzinfo=timezone.utc), row["timestamp"], value))
    return points


def sampling_step(points: list[Point]) -> timedelta:
    """The series' sampling interval: the median gap between its first timestamps."""
    gaps = [b.at - a.at for a, b in zip(points[: STEP_SAMPLE + 1], points[1 : STEP_SAMPLE + 1])]
    positive = [g for g in gaps if g > timedelta(0)]
    if not positive:
        raise SeriesError("the series needs at least two distinct timestamps")
    return statistics.median(positive)


def backtest(points: list[Point], rule: SurgeRule | None = None) -> list[bool]:
    """Alarms of a fresh detector fed the points one by one, in order."""
    detector = SurgeDetector(rule or SurgeRule(), sampling_step(points))
    return [detector.update(p.at, p.value).alarm for p in points]


def write_alarms(points: list[Point], alarms: list[bool], path: Path) -> None:
    """``timestamp,alarm`` with the input's timestamps verbatim and 0/1 alarms."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "alarm"])
        writer.writerows((p.raw_timestamp, int(a)) for p, a in zip(points, alarms))
