from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from monitor.durations import Duration, PositiveDuration, parse_duration


@given(st.integers(min_value=0, max_value=10_000), st.sampled_from(["s", "m", "h", "d", "w"]))
def test_durations_parse_in_every_unit(amount, unit):
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    assert parse_duration(f"{amount}{unit}") == timedelta(seconds=amount * seconds)


@pytest.mark.parametrize("bad", ["", "5", "5 minutes", "-5m", "m"])
def test_bad_durations_are_rejected(bad):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(bad)


def test_numbers_are_seconds_and_booleans_are_not():
    assert parse_duration(90) == timedelta(seconds=90)
    assert parse_duration(1.5) == timedelta(seconds=1.5)
    with pytest.raises(ValueError):
        parse_duration(True)


def test_zero_is_a_duration_but_not_a_positive_one():
    assert TypeAdapter(Duration).validate_python("0s") == timedelta(0)
    with pytest.raises(ValidationError, match="longer than 0s"):
        TypeAdapter(PositiveDuration).validate_python("0s")
    with pytest.raises(ValidationError, match="cannot be negative"):
        TypeAdapter(Duration).validate_python(-5)
