import math
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts.detect.spikes import BucketCounts, baseline, detect, judged_bucket
from monitor.config import DetectionConfig
from monitor.models import Severity, SpikeKind

CONFIG = DetectionConfig()
BUCKET = CONFIG.bucket
START = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday


def seasonal(moment: datetime, level: float = 20.0) -> int:
    """Busy days, quiet nights, quieter weekends."""
    hour = moment.hour + moment.minute / 60
    daily = 0.15 + 0.85 * max(0.0, math.sin(math.pi * (hour - 5) / 18))
    weekly = 0.6 if moment.weekday() >= 5 else 1.0
    return round(level * daily * weekly)


def history(days: int, rate=seasonal, negative_share: float = 0.15) -> list[BucketCounts]:
    steps = int(timedelta(days=days) / BUCKET)
    out = []
    for k in range(steps):
        start = START + k * BUCKET
        total = rate(start)
        out.append(BucketCounts(start, total, round(total * negative_share)))
    return out


def judge(series: list[BucketCounts], bucket_start: datetime, config=CONFIG):
    now = bucket_start + BUCKET + config.lag
    assert judged_bucket(now, config)[0] == bucket_start
    return detect(series, now, config, "Aurora Air")


def with_bucket(series: list[BucketCounts], total: int, negative: int) -> tuple[list[BucketCounts], datetime]:
    start = series[-1].start + BUCKET
    return series + [BucketCounts(start, total, negative)], start


def test_a_tenfold_negative_burst_is_a_severe_volume_and_negative_spike():
    series, start = with_bucket(history(21), 0, 0)
    expected = seasonal(start)
    series[-1] = BucketCounts(start, expected * 10, expected * 8)
    spikes = {s.kind: s for s in judge(series, start)}
    assert set(spikes) == {SpikeKind.VOLUME, SpikeKind.NEGATIVE}
    assert spikes[SpikeKind.VOLUME].severity is Severity.CRITICAL
    assert spikes[SpikeKind.VOLUME].expected == expected
    assert spikes[SpikeKind.NEGATIVE].negative_share == 0.8


def test_zero_against_zero_and_tiny_counts_never_alert():
    quiet = history(21, rate=lambda _: 0)
    assert judge(*with_bucket(quiet, 0, 0)) == []
    series, start = with_bucket(quiet, 3, 3)
    assert judge(series, start) == []
    sparse = history(21, rate=lambda m: 1 if m.minute == 0 and m.hour % 6 == 0 else 0)
    below_floor = min(CONFIG.volume.min_count, CONFIG.negative.min_count) - 1
    series, start = with_bucket(sparse, below_floor, below_floor)
    assert judge(series, start) == []


def test_no_alerts_during_warm_up():
    series, start = with_bucket(history(2), 500, 400)
    assert judge(series, start) == []


def test_an_open_bucket_or_one_inside_the_lag_is_not_judged():
    series, start = with_bucket(history(21), 400, 300)
    almost = start + BUCKET + CONFIG.lag - timedelta(seconds=1)
    assert judged_bucket(almost, CONFIG)[0] == start - BUCKET
    assert detect(series, almost, CONFIG, "Aurora Air") == []
    half_filled = series[:-1] + [BucketCounts(start, 1, 0)]
    assert judge(half_filled, start) == []


def test_the_baseline_knows_the_time_of_day_and_the_day_of_week():
    series = history(28)
    table = {b.start: b for b in series}
    monday_morning = START + timedelta(days=28, hours=9)
    saturday_morning = START + timedelta(days=33, hours=9)
    monday_night = START + timedelta(days=28, hours=3)
    assert baseline(table, monday_morning, BUCKET).expected == seasonal(monday_morning)
    assert baseline(table, saturday_morning, BUCKET).expected == seasonal(saturday_morning)
    assert baseline(table, monday_night, BUCKET).expected == seasonal(monday_night)


def test_a_weekday_level_on_a_saturday_is_a_spike_but_not_on_a_monday():
    def rate(moment: datetime) -> int:
        return seasonal(moment, 60)

    series = history(34, rate=rate)
    saturday = START + timedelta(days=33, hours=12)
    monday = START + timedelta(days=28, hours=12)
    busy = round(rate(saturday) * 2.2)
    assert busy < 1.5 * rate(monday)
    angry = round(busy * 0.3)
    on_saturday, start = with_bucket([b for b in series if b.start < saturday], busy, angry)
    assert start == saturday
    assert [s.kind for s in judge(on_saturday, start)] == [SpikeKind.VOLUME]
    on_monday, start = with_bucket([b for b in series if b.start < monday], busy, angry)
    assert start == monday
    assert judge(on_monday, start) == []


NOON = START + timedelta(days=21, hours=12)


def test_a_good_news_surge_is_not_a_crisis():
    series, start = with_bucket([b for b in history(22) if b.start < NOON], 0, 0)
    busy = seasonal(start) * 6
    series[-1] = BucketCounts(start, busy, round(busy * 0.15))
    assert judge(series, start) == []
    series[-1] = BucketCounts(start, busy, round(busy * 0.3))
    assert [s.kind for s in judge(series, start)] == [SpikeKind.VOLUME]


def test_a_build_up_over_two_buckets_is_caught_before_either_bucket_alone_would_be():
    series = [b for b in history(22, negative_share=0.1) if b.start < NOON]
    first = NOON
    level = seasonal(first)
    assert level >= 15
    bucket = BucketCounts(first, level + 2, round(level * 0.1) + 6)
    alone = judge(series + [bucket], first, CONFIG.model_copy(update={"window": 1}))
    assert alone == []
    second = BucketCounts(first + BUCKET, level + 2, round(level * 0.1) + 6)
    assert judge(series + [BucketCounts(first, level, round(level * 0.1)), second], first + BUCKET,
                 CONFIG.model_copy(update={"window": 1})) == []
    spikes = judge(series + [bucket, second], first + BUCKET)
    assert [s.kind for s in spikes] == [SpikeKind.NEGATIVE]
    assert spikes[0].window_start == first and spikes[0].observed == bucket.negative + second.negative


def test_past_spikes_do_not_inflate_the_baseline():
    series = history(21)
    for k, bucket in enumerate(series):
        if bucket.start.weekday() == 0 and bucket.start.hour == 10 and bucket.start.minute == 0:
            series[k] = BucketCounts(bucket.start, bucket.total * 10, 0)
    start = START + timedelta(days=21, hours=10)
    table = {b.start: b for b in series}
    assert baseline(table, start, BUCKET).expected == seasonal(start)


@settings(max_examples=25, deadline=None)
@given(level=st.floats(min_value=0, max_value=400), days=st.integers(min_value=3, max_value=28),
       hour=st.integers(min_value=0, max_value=23), share=st.floats(min_value=0, max_value=1))
def test_a_flat_or_purely_seasonal_series_never_alerts(level, days, hour, share):
    for rate in (lambda _: round(level), lambda m: seasonal(m, level)):
        series = history(days + 1, rate=rate, negative_share=share)
        start = START + timedelta(days=days, hours=hour)
        assert judge([b for b in series if b.start <= start], start) == []


@settings(max_examples=25, deadline=None)
@given(factor=st.floats(min_value=1.0, max_value=20.0), scale=st.floats(min_value=1.0, max_value=5.0))
def test_scaling_a_spike_up_never_delays_its_detection(factor, scale):
    def first_alert(multiplier: float) -> int | None:
        series = history(21)
        ramp_start = len(series)
        for k in range(8):
            start = series[-1].start + BUCKET
            total = round(seasonal(start) * (1 + multiplier * k / 4))
            series.append(BucketCounts(start, total, total // 2))
            if judge(series, start):
                return len(series) - ramp_start
        return None

    base, bigger = first_alert(factor), first_alert(factor * scale)
    if base is not None:
        assert bigger is not None and bigger <= base
