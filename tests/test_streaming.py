import math
import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts.detect.streaming import AlarmGate, SurgeDetector, _Familiarity, _RobustScale, _within_poisson
from monitor.config import SurgeRule

RULE = SurgeRule()
STEP = timedelta(minutes=15)
START = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday
DAYS = 10
POINTS_PER_DAY = 96


def seasonal(k: int, level: float, phase: float = 0.0) -> int:
    """Busy days and quiet nights, the same every day."""
    hour = (k % POINTS_PER_DAY) / 4
    return round(level * (1.2 + math.sin(2 * math.pi * (hour - phase) / 24)))


def run(values: list[float], rule: SurgeRule = RULE) -> list[bool]:
    detector = SurgeDetector(rule, STEP)
    return [detector.update(START + k * STEP, v).alarm for k, v in enumerate(values)]


def noisy(days: int = DAYS, level: float = 40, seed: int = 1) -> list[int]:
    rng = np.random.default_rng(seed)
    return [int(rng.poisson(max(seasonal(k, level), 0.1))) for k in range(days * POINTS_PER_DAY)]


def first_alarm(alarms: list[bool], since: int) -> int | None:
    return next((k for k in range(since, len(alarms)) if alarms[k]), None)


def test_a_tenfold_burst_is_caught_in_its_first_bucket():
    values = noisy()
    at = 8 * POINTS_PER_DAY + 50
    values[at] = 10 * max(values[at], 5)
    alarms = run(values)
    assert first_alarm(alarms, 3 * POINTS_PER_DAY) == at


def test_a_sustained_doubling_is_caught_though_no_single_bucket_is_extreme():
    values = noisy()
    at = 8 * POINTS_PER_DAY + 40
    for k in range(at, at + 24):
        values[k] = 2 * values[k] + 20
    alarms = run(values)
    found = first_alarm(alarms, 3 * POINTS_PER_DAY)
    assert found is not None and at <= found < at + 8


def collapse() -> tuple[list[int], int, list]:
    """A noisy series that falls to zero for two hours on day 8: values, where, judgements."""
    values = noisy()
    at = 8 * POINTS_PER_DAY + 40
    values[at:at + 8] = [0] * 8
    detector = SurgeDetector(RULE, STEP)
    return values, at, [detector.update(START + k * STEP, v) for k, v in enumerate(values)]


def test_a_collapse_to_zero_is_reported_as_a_drop():
    _, at, judgements = collapse()
    alarms = [j for j in judgements[3 * POINTS_PER_DAY:] if j.alarm]
    assert alarms and alarms[0].direction == -1 and alarms[0].at >= START + at * STEP


def test_a_drop_needs_a_higher_score_than_a_surge():
    values, at, judgements = collapse()
    drop = max(judgements[at:at + 8], key=lambda j: j.score)
    # a surge this strong would alarm, a drop does not (the quiet nights make a long fall familiar)
    between = SurgeRule(z=drop.score / 1.1, drop_ratio=1.2, familiar_tolerance=None)
    assert drop.score >= between.z and not any(run(values, between)[at:at + 8])
    assert any(run(values, between.model_copy(update={"drop_ratio": 1.0}))[at:at + 8])


def test_no_alarm_during_warm_up():
    values = noisy()
    values[POINTS_PER_DAY] = 10_000
    alarms = run(values)
    assert not any(alarms[: int(RULE.warmup / STEP)])


def test_zero_against_zero_and_tiny_counts_never_alert():
    assert not any(run([0] * (DAYS * POINTS_PER_DAY)))
    values = [0] * (DAYS * POINTS_PER_DAY)
    values[8 * POINTS_PER_DAY] = 3
    assert not any(run(values))


def test_one_alarm_per_event_then_silence_for_the_refractory_period():
    values = noisy()
    at = 6 * POINTS_PER_DAY
    for k in range(at, at + 16):
        values[k] = 20 * max(values[k], 5)
    alarms = run(values, RULE.model_copy(update={"range_margin": None}))
    assert sum(alarms[at: at + int(RULE.refractory / STEP)]) == 1


def growing_event(rise: float) -> tuple[list[int], int]:
    """A noisy series whose day-8 event grows by ``rise`` × the level each bucket for eight hours."""
    values = noisy()
    at = 8 * POINTS_PER_DAY
    for n, k in enumerate(range(at, at + 32)):
        values[k] = round(150 + rise * 40 * n)
    return values, at


def test_a_level_never_seen_alarms_again_while_the_event_keeps_breaking_records():
    values, at = growing_event(rise=0.5)
    alarms = run(values)
    within = [k for k in range(at, at + 32) if alarms[k]]
    assert within[0] == at and len(within) >= 2
    assert all(b - a > RULE.range_rest / STEP for a, b in zip(within, within[1:]))
    quiet = run(values, RULE.model_copy(update={"range_margin": None}))
    assert sum(quiet[at: at + 32]) == 1


def test_a_flat_event_sets_one_record_and_alarms_once():
    values, at = growing_event(rise=0.0)
    assert sum(run(values)[at: at + 32]) == 1


def test_the_range_rule_needs_the_margin_half_the_score_the_warm_up_and_a_rest():
    gate = AlarmGate(RULE, STEP)
    warm = int(RULE.warmup / STEP)
    half = RULE.z / 2

    def judge(k: int, score: float, beyond: float) -> bool:
        return gate.judge(START + k * STEP, score, 1, beyond)

    assert not judge(0, half, 1.0)  # during the warm-up
    assert not judge(warm, half, RULE.range_margin * 0.9)  # under the margin
    assert not judge(warm + 1, half * 0.9, 1.0)  # under half the score a surge needs
    assert judge(warm + 2, half, -RULE.range_margin)  # a new low counts as well as a new high
    assert not judge(warm + 3, half, 1.0)  # within range_rest of that alarm
    assert judge(warm + 3 + int(RULE.range_rest / STEP), half, 1.0)
    off = AlarmGate(RULE.model_copy(update={"range_margin": None}), STEP)
    assert not any(off.judge(START + k * STEP, half, 1, 1.0) for k in range(warm, warm + 10))


@given(values=st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=60))
def test_the_range_excess_is_zero_inside_the_range_and_signed_beyond_it(values):
    detector = SurgeDetector(RULE, STEP)
    for k, v in enumerate(values):
        low, high = (min(values[:k]), max(values[:k])) if k else (v, v)
        beyond = detector.assess(START + k * STEP, v)[3]
        if high <= low or low <= v <= high:
            assert beyond == 0
        else:
            assert math.isclose(beyond, (v - (high if v > high else low)) / (high - low))
            assert (beyond > 0) == (v > high)


def test_the_baseline_knows_the_time_of_day():
    """The evening peak is normal at 18:00 and a spike at 06:00, with the same count."""
    values = [seasonal(k, 40) for k in range(DAYS * POINTS_PER_DAY)]
    peak = max(values[:POINTS_PER_DAY])
    night = 8 * POINTS_PER_DAY + values[:POINTS_PER_DAY].index(min(values[:POINTS_PER_DAY]))
    values[night] = peak
    alarms = run(values)
    assert alarms[night] and sum(alarms) == 1


def test_a_far_stronger_event_within_the_refractory_period_alarms_again():
    gate = AlarmGate(RULE.model_copy(update={"warmup": timedelta(0)}), STEP)
    ratio = RULE.rearm_ratio
    scores = [0.0] * 8 + [6.0, 7.0, 7.0 * ratio - 0.1, 14.0 * ratio - 0.3, 0.0, (14.0 * ratio - 0.3) * ratio, 0.0]
    alarms = [k for k, s in enumerate(scores) if gate.judge(START + k * STEP, s, 1)]
    assert alarms == [8, 13]


@settings(max_examples=50, deadline=None)
@given(scores=st.lists(st.floats(0, 100), min_size=1, max_size=200), rearm=st.floats(1, 10),
       hours=st.integers(0, 24))
def test_an_alarm_within_the_refractory_period_dwarfs_every_score_since_the_last_one(scores, rearm, hours):
    rule = RULE.model_copy(update={"rearm_ratio": rearm, "refractory": timedelta(hours=hours), "warmup": timedelta(0)})
    gate = AlarmGate(rule, STEP)
    last = None
    for k, score in enumerate(scores):
        at = START + k * STEP
        if gate.judge(at, score, 1):
            assert score >= rule.z
            if last is not None and at - START - last * STEP <= rule.refractory:
                assert score >= rearm * max(scores[last:k])
            last = k


@settings(max_examples=25, deadline=None)
@given(level=st.floats(0, 500), days=st.integers(3, 9))
def test_a_flat_series_never_alerts(level, days):
    assert not any(run([level] * (days * POINTS_PER_DAY)))


@settings(max_examples=25, deadline=None)
@given(level=st.floats(0.5, 300), phase=st.floats(0, 24), days=st.integers(3, 9))
def test_a_purely_seasonal_series_never_alerts(level, phase, days):
    assert not any(run([seasonal(k, level, phase) for k in range(days * POINTS_PER_DAY)]))


@settings(max_examples=20, deadline=None)
@given(factor=st.floats(1.5, 20), scale=st.floats(1.1, 10), length=st.integers(1, 12), seed=st.integers(0, 50))
def test_scaling_a_spike_up_never_delays_its_detection(factor, scale, length, seed):
    values = noisy(seed=seed)
    at = 8 * POINTS_PER_DAY + 30

    def spiked(f: float) -> list[float]:
        out = list(values)
        for k in range(at, at + length):
            out[k] = values[k] * f + 10 * f
        return out

    weak = first_alarm(run(spiked(factor)), at)
    strong = first_alarm(run(spiked(factor * scale)), at)
    if weak is not None:
        assert strong is not None and strong <= weak


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=80), size=st.integers(1, 30),
       probe=st.floats(-1e3, 1e3))
def test_the_running_robust_scale_matches_median_and_mad(values, size, probe):
    scale = _RobustScale(size)
    for v in values:
        scale.push(v)
    window = np.array(values[-size:])
    centre = np.median(window)
    mad = np.median(np.abs(window - centre))
    assert math.isclose(scale.z(probe), (probe - centre) / max(1.4826 * mad, 0.01), rel_tol=1e-9, abs_tol=1e-9)


def test_timestamps_with_gaps_and_jitter_are_fine():
    rng = random.Random(3)
    detector = SurgeDetector(RULE, timedelta(minutes=5))
    moment = START
    for _ in range(3000):
        moment += timedelta(minutes=5 * rng.choice([1, 1, 1, 2, 7]), seconds=rng.randrange(30))
        assert not math.isnan(detector.update(moment, rng.randrange(50, 60)).score)


@pytest.mark.parametrize("rate", [0.05, 0.5, 5, 20])
def test_pure_poisson_noise_with_a_daily_cycle_stays_quiet(rate):
    """At most one alarm a month on count noise; three weeks of 5-minute buckets, the first as warm-up."""
    rng = np.random.default_rng(7)
    per_day = 288
    k = np.arange(21 * per_day)
    counts = rng.poisson(rate * (1 + 0.8 * np.sin(2 * np.pi * k / per_day)))
    detector = SurgeDetector(RULE, timedelta(minutes=5))
    alarms = [detector.update(START + i * timedelta(minutes=5), float(v)).alarm for i, v in enumerate(counts)]
    assert sum(alarms[7 * per_day:]) <= 1


@settings(max_examples=200)
@given(z=st.floats(-50, 50), observed=st.floats(0, 1e4), expected=st.floats(0, 1e4))
def test_a_window_score_never_exceeds_what_poisson_noise_explains(z, observed, expected):
    bounded = _within_poisson(z, observed, expected)
    anscombe = 2 * (math.sqrt(observed + 0.375) - math.sqrt(expected + 0.375))
    assert abs(bounded) <= min(abs(z), abs(anscombe)) + 1e-12
    assert bounded == 0 or (bounded > 0) == (z > 0) == (anscombe > 0)
    if z * anscombe > 0:
        assert math.isclose(abs(bounded), min(abs(z), abs(anscombe)))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), days=st.integers(9, 10))
def test_the_alarm_gate_replays_the_detectors_alarms_from_its_scores(seed, days):
    values = noisy(days=days, seed=seed)
    for k in range(8 * POINTS_PER_DAY, 8 * POINTS_PER_DAY + 4):
        values[k] *= 10
    detector, gate = SurgeDetector(RULE, STEP), AlarmGate(RULE, STEP)
    replayed = SurgeDetector(RULE, STEP)
    alarms = 0
    for k, v in enumerate(values):
        at = START + k * STEP
        _, score, direction, beyond, familiar = replayed.assess(at, v)
        alarm = detector.update(at, v).alarm
        assert alarm == gate.judge(at, score, direction, beyond, familiar)
        alarms += alarm
    assert alarms


DAILY_ONLY = RULE.model_copy(update={"weekly_ratio": 0.0})


def weekly(weeks: int, seed: int = 2) -> list[int]:
    """Noisy counts, the weekend a fifth of the weekdays (START is a Monday)."""
    rng = np.random.default_rng(seed)
    return [int(rng.poisson(max(seasonal(k, 40 if k // POINTS_PER_DAY % 7 < 5 else 8), 0.1)))
            for k in range(weeks * 7 * POINTS_PER_DAY)]


def judged(values: list[float], rule: SurgeRule = RULE) -> list:
    detector = SurgeDetector(rule, STEP)
    return [detector.update(START + k * STEP, v) for k, v in enumerate(values)]


def test_a_series_with_quiet_weekends_is_expected_at_its_weekend_level_on_a_weekend():
    values = weekly(4)
    noon = (3 * 7 + 5) * POINTS_PER_DAY + 48  # the fourth Saturday, 12:00
    saturday = judged(values)[noon].expected
    assert saturday < 0.5 * judged(values, DAILY_ONLY)[noon].expected
    assert abs(saturday - seasonal(noon, 8)) <= 0.5 * seasonal(noon, 8)


def test_a_weekday_level_on_a_weekend_is_a_surge_once_the_series_is_known_to_be_weekly():
    values = weekly(4)
    at = (3 * 7 + 5) * POINTS_PER_DAY + 40
    for k in range(at, at + 16):
        values[k] = seasonal(k, 40)
    assert first_alarm(run(values), at) in range(at, at + 16)
    assert [j.direction for j in judged(values)[at:at + 16] if j.alarm][0] == 1
    # against weekday expectations the weekend is low: no surge (at most the end of a drop)
    assert not any(j.alarm and j.direction > 0 for j in judged(values, DAILY_ONLY)[at:at + 16])


def test_a_series_the_same_every_day_keeps_the_daily_expectation():
    values = noisy(days=28)
    assert [j.score for j in judged(values)] == [j.score for j in judged(values, DAILY_ONLY)]


def recurring_job(days: int = 12, seed: int = 3) -> tuple[list[int], int]:
    """Steady counts with a job that spikes every 25 hours (it drifts an hour a day): values, period."""
    rng = np.random.default_rng(seed)
    values = [int(rng.poisson(30)) for _ in range(days * POINTS_PER_DAY)]
    period = 25 * 4
    for start in range(POINTS_PER_DAY // 2, len(values) - 3, period):
        values[start:start + 3] = [45, 100, 60]
    return values, period


def test_a_spike_that_recurs_every_25_hours_is_news_only_until_it_is_familiar():
    values, period = recurring_job()
    unfamiliar = [k // period for k, alarm in enumerate(run(values, RULE.model_copy(
        update={"familiar_tolerance": None}))) if alarm]
    assert len(set(unfamiliar)) >= 8  # every spike after the warm-up alarms when nothing is familiar
    alarms = [k for k, alarm in enumerate(run(values)) if alarm]
    assert len(alarms) == 1 and alarms[0] < 4 * POINTS_PER_DAY  # the first spike after the warm-up only


def test_a_new_shape_among_familiar_spikes_still_alarms():
    values, _ = recurring_job()
    at = 9 * POINTS_PER_DAY + 20
    values[at:at + 8] = [75] * 8  # two hours at two and a half times the level: never seen
    alarms = [k for k, alarm in enumerate(run(values)) if alarm and k >= 4 * POINTS_PER_DAY]
    assert alarms and at <= alarms[0] < at + 8


def test_a_familiar_score_neither_alarms_nor_raises_the_record():
    gate = AlarmGate(RULE, STEP)
    warm = int(RULE.warmup / STEP)
    for k in range(warm):
        gate.judge(START + k * STEP, 0.0, 0)
    assert not gate.judge(START + warm * STEP, 50.0, 1, familiar=RULE.familiar_tolerance * 0.9)
    assert gate.judge(START + (warm + 1) * STEP, RULE.z, 1, familiar=RULE.familiar_tolerance)
    off = AlarmGate(RULE.model_copy(update={"familiar_tolerance": None}), STEP)
    for k in range(warm):
        off.judge(START + k * STEP, 0.0, 0)
    assert off.judge(START + warm * STEP, 50.0, 1, familiar=0.0)  # with the rule off, familiarity is ignored


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.floats(0, 1e4), min_size=30, max_size=120), span=st.integers(3, 8),
       scale=st.floats(0.01, 100), seed=st.integers(0, 10_000))
def test_familiarity_is_zero_for_a_repeat_whatever_the_unit(values, span, scale, seed):
    gap = 5
    start = random.Random(seed).randrange(0, len(values) - span - gap + 1)
    repeated = values + values[start:start + span]  # a stretch that ended at least `gap` values ago
    measured = []
    for factor in (1.0, scale):
        familiarity = _Familiarity(span, len(repeated), gap)
        for v in repeated:
            familiarity.push(v * factor)
        measured.append(familiarity.distance())
    assert measured[0] == 0
    assert measured[1] == pytest.approx(measured[0], rel=1e-6, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.floats(0, 1e4), min_size=30, max_size=120), span=st.integers(3, 8),
       scale=st.floats(0.01, 100))
def test_familiarity_is_never_negative_and_blind_to_the_unit(values, span, scale):
    measured = []
    for factor in (1.0, scale):
        familiarity = _Familiarity(span, len(values), 5)
        for v in values:
            familiarity.push(v * factor)
        measured.append(familiarity.distance())
    assert measured[0] >= 0
    assert measured[1] == pytest.approx(measured[0], rel=1e-6, abs=1e-9)
