from datetime import timedelta

import pytest

from monitor.alerts.detect.spikes import BucketCounts
from monitor.alerts.detect.surge import SurgeTracker
from monitor.config import DetectionConfig, parse
from monitor.errors import ConfigError
from monitor.models import Severity, SpikeKind
from tests.test_spikes import BUCKET, CONFIG, START, history, seasonal

NOON = START + timedelta(days=9, hours=12)


def quiet_until(moment):
    return [b for b in history(10) if b.start < moment]


def judge(tracker: SurgeTracker, series, start):
    return tracker.spikes(series, start + BUCKET + CONFIG.lag, "Aurora Air")


def burst(total: int, negative: int, at=NOON):
    return quiet_until(at) + [BucketCounts(at, total, negative)]


def test_a_negative_burst_is_a_volume_spike_with_severity_from_its_ratio():
    level = seasonal(NOON)
    [spike] = judge(SurgeTracker(CONFIG), burst(level * 12, level * 8), NOON)
    assert spike.kind is SpikeKind.VOLUME
    assert (spike.window_start, spike.window_end) == (NOON, NOON + BUCKET)
    assert spike.observed == level * 12 and spike.severity is Severity.CRITICAL
    assert spike.score >= CONFIG.surge.z


def test_a_good_news_burst_and_tiny_counts_are_not_spikes():
    level = seasonal(NOON)
    assert judge(SurgeTracker(CONFIG), burst(level * 12, round(level * 12 * 0.15)), NOON) == []
    night = START + timedelta(days=9, hours=2)
    assert seasonal(night) <= 3
    assert judge(SurgeTracker(CONFIG), burst(CONFIG.volume.min_count - 1, 9, night), night) == []


def test_each_bucket_is_fed_once_and_a_restart_replays_the_history():
    level = seasonal(NOON)
    series = burst(level * 12, level * 8)
    tracker = SurgeTracker(CONFIG)
    earlier = NOON - BUCKET
    assert judge(tracker, [b for b in series if b.start <= earlier], earlier) == []
    assert judge(tracker, series, NOON)
    assert judge(tracker, series, NOON) == []  # the same tick again: nothing new to judge
    assert judge(SurgeTracker(CONFIG), series, NOON)  # a fresh tracker after a restart


def test_missing_buckets_count_as_zero_and_are_never_read_as_a_drop_alert():
    series = [b for b in quiet_until(NOON) if not (b.start.hour == 3 and b.start.minute == 0)]
    assert judge(SurgeTracker(CONFIG), series, NOON - BUCKET) == []


def test_no_surge_during_warm_up():
    config = DetectionConfig()
    start = START + timedelta(days=1, hours=12)
    series = [b for b in history(2) if b.start < start] + [BucketCounts(start, 500, 400)]
    assert config.surge.warmup > start - START
    assert judge(SurgeTracker(config), series, start) == []


def test_a_still_filling_bucket_is_never_judged():
    level = seasonal(NOON)
    tracker = SurgeTracker(CONFIG)
    filling = burst(level * 12, level * 8) + [BucketCounts(NOON + BUCKET, 1, 0)]
    almost = NOON + BUCKET + CONFIG.lag - timedelta(seconds=1)  # NOON's bucket is still inside the lag
    assert tracker.spikes(filling, almost, "Aurora Air") == []
    [spike] = judge(tracker, filling, NOON)
    assert spike.window_start == NOON
    assert judge(tracker, filling[:-1] + [BucketCounts(NOON + BUCKET, level, 1)], NOON + BUCKET) == []


def test_the_surge_and_viral_rules_are_read_from_the_config_with_clear_errors():
    config = parse("detection:\n  surge: {z: 6, windows: [15m, 2h], refractory: 12h}\n  viral: {min_ratio: 50}\n"
                   "brands: [{name: Aurora Air, terms: [aurora air]}]\n")
    assert config.detection.surge.windows == [timedelta(minutes=15), timedelta(hours=2)]
    assert config.detection.surge.refractory == timedelta(hours=12)
    assert config.detection.viral.min_ratio == 50
    with pytest.raises(ConfigError, match=r"detection\.surge\.z"):
        parse("detection:\n  surge: {z: -1}\nbrands: [{name: A, terms: [a]}]\n")
