import csv
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from monitor.backtest.series import backtest, read_series, sampling_step, write_alarms
from monitor.config import SurgeRule
from monitor.errors import SeriesError

START = datetime(2015, 2, 26, 21, 42, 53)


def write_series(path, values, step=timedelta(minutes=5), gaps=()):
    moment = START
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "value"])
        for k, value in enumerate(values):
            moment += step * (3 if k in gaps else 1)
            writer.writerow([moment.strftime("%Y-%m-%d %H:%M:%S"), value])
    return path


def quiet_days(days: int) -> list[int]:
    return [40 + (k % 288) // 20 + (k * 7919) % 9 for k in range(days * 288)]


def test_the_cli_writes_one_alarm_row_per_input_row_with_the_same_timestamps(tmp_path):
    values = quiet_days(6)
    values[5 * 288] = 4000
    source = write_series(tmp_path / "in.csv", values, gaps={100, 900})
    out = tmp_path / "alarms" / "out.csv"
    result = subprocess.run([sys.executable, "-m", "monitor", "backtest", str(source), "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with source.open() as a, out.open() as b:
        inputs, alarms = list(csv.DictReader(a)), list(csv.DictReader(b))
    assert [r["timestamp"] for r in alarms] == [r["timestamp"] for r in inputs]
    assert {r["alarm"] for r in alarms} == {"0", "1"}
    assert alarms[5 * 288]["alarm"] == "1"
    assert "1 alarms" in result.stdout


def test_each_run_is_fresh_and_deterministic(tmp_path):
    values = quiet_days(5)
    values[4 * 288 + 7] = 900
    points = read_series(write_series(tmp_path / "in.csv", values))
    assert backtest(points) == backtest(points)
    assert sum(backtest(points)) == 1


def test_the_sampling_step_comes_from_the_first_timestamps(tmp_path):
    points = read_series(write_series(tmp_path / "in.csv", [1] * 40, step=timedelta(hours=1), gaps={3}))
    assert sampling_step(points) == timedelta(hours=1)


@pytest.mark.parametrize("text, message", [
    ("time,value\n2015-01-01 00:00:00,1\n", "'timestamp' and 'value'"),
    ("timestamp,value\n2015-01-01 00:00:00,lots\n", "line 2"),
    ("timestamp,value\nyesterday,1\n", "line 2"),
    ("timestamp,value\n2015-01-01 00:00:00,nan\n", "not a finite number"),
])
def test_malformed_series_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(SeriesError, match=message):
        read_series(path)


def test_a_malformed_series_exits_2_without_a_traceback(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,value\n2015-01-01 00:00:00,lots\n")
    result = subprocess.run([sys.executable, "-m", "monitor", "backtest", str(path), "--out", str(tmp_path / "o.csv")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "line 2" in result.stderr and "Traceback" not in result.stderr


def test_exactly_one_mode_is_required(tmp_path):
    result = subprocess.run([sys.executable, "-m", "monitor", "backtest"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "exactly one" in result.stderr


def test_a_clock_that_steps_back_is_judged_in_file_order(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("timestamp,value\n2015-01-01 00:05:00,1\n2015-01-01 00:00:00,2\n2015-01-01 00:10:00,3\n")
    assert [p.value for p in read_series(path)] == [1, 2, 3]
    assert backtest(read_series(path)) == [False] * 3


def test_alarms_are_written_as_zero_or_one(tmp_path):
    points = read_series(write_series(tmp_path / "in.csv", [5, 6, 7]))
    write_alarms(points, [False, True, False], tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_text().splitlines()[1:] == [
        f"{p.raw_timestamp},{a}" for p, a in zip(points, (0, 1, 0))
    ]


def test_the_rule_can_be_given(tmp_path):
    values = quiet_days(5)
    values[4 * 288 + 7] = 900
    points = read_series(write_series(tmp_path / "in.csv", values))
    assert not any(backtest(points, SurgeRule(z=1000)))
    assert backtest(points, SurgeRule())[4 * 288 + 7]
