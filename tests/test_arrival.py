from datetime import datetime, timedelta, timezone

from monitor.alerts.detect.arrival import ArrivalWatch
from monitor.alerts.detect.spikes import BucketCounts
from monitor.alerts.detect.surge import SurgeTracker
from monitor.alerts.detect.viral import ViralWatch
from monitor.config import DetectionConfig
from monitor.models import Author, Engagement, Mention, Sentiment, SpikeKind
from monitor.store.sqlite import SqliteStore

NOW = datetime(2026, 3, 23, 12, 0, tzinfo=timezone.utc)
NEGATIVE = Sentiment(label="negative", score=0.9, probabilities={"negative": 0.9, "neutral": 0.05, "positive": 0.05})
DETECTION = DetectionConfig.model_validate(
    {"viral": {"min_engagement": 50, "min_ratio": 5, "min_rate": 10, "min_history": 3}, "warmup": "0s"})


def mention(key: str, at: datetime, likes: int = 0) -> Mention:
    return Mention(id=f"bluesky:{key}", brand="Acme", source="bluesky", text=f"Acme post {key}", created_at=at,
                   collected_at=at, author=Author(handle="someone"), engagement=Engagement(likes=likes),
                   sentiment=NEGATIVE)


def watch(store, detection=DETECTION, counts=lambda brand, now: []):
    return ArrivalWatch(store, detection, SurgeTracker(detection), ViralWatch(store, detection), counts)


def seeded(tmp_path, *recent: Mention) -> SqliteStore:
    store = SqliteStore(tmp_path / "m.db")
    store.add_mentions([mention(f"old{k}", NOW - timedelta(hours=6), likes=2) for k in range(5)] + list(recent))
    return store


def test_a_post_crossing_the_viral_rule_fires_once_as_it_arrives(tmp_path):
    store = seeded(tmp_path)
    arrival = watch(store)
    post = mention("hot", NOW - timedelta(minutes=5), likes=10)
    assert arrival.spikes("Acme", [post], NOW) == []
    hotter = post.model_copy(update={"engagement": Engagement(likes=80)})
    spikes = arrival.spikes("Acme", [hotter], NOW)
    assert [(s.kind, s.sample_mention_ids, s.observed) for s in spikes] == [(SpikeKind.VIRAL_POST, ["bluesky:hot"], 80)]
    assert arrival.spikes("Acme", [hotter.model_copy(update={"engagement": Engagement(likes=120)})], NOW) == []


def test_a_restart_restores_the_state_without_a_false_alert(tmp_path):
    store = seeded(tmp_path, mention("already", NOW - timedelta(minutes=30), likes=400))
    arrival = watch(store)
    assert arrival.spikes("Acme", [], NOW) == []
    assert arrival.spikes("Acme", [mention("quiet", NOW - timedelta(minutes=2), likes=1)], NOW) == []
    spikes = arrival.spikes("Acme", [mention("new", NOW - timedelta(minutes=2), likes=900)], NOW)
    assert spikes and spikes[0].sample_mention_ids[0] == "bluesky:new"


def test_a_post_that_went_viral_in_the_first_batch_after_a_restart_still_fires(tmp_path):
    hot = mention("hot", NOW - timedelta(minutes=5), likes=300)
    store = seeded(tmp_path, hot)
    spikes = watch(store).spikes("Acme", [hot], NOW)
    assert [s.sample_mention_ids for s in spikes] == [["bluesky:hot"]]


def test_posts_older_than_the_lookback_leave_the_window(tmp_path):
    store = seeded(tmp_path)
    arrival = watch(store)
    arrival.spikes("Acme", [mention("early", NOW - timedelta(minutes=5), likes=1)], NOW)
    later = NOW + DETECTION.viral.lookback
    assert arrival.spikes("Acme", [], later) == [] and "bluesky:early" not in arrival._recent["Acme"]


def test_the_surge_detector_judges_each_closed_bucket_once(tmp_path):
    asked = []

    def counts(brand, now):
        asked.append(now)
        return [BucketCounts(NOW - timedelta(days=1) + k * DETECTION.bucket, 3, 0) for k in range(96)]

    arrival = watch(seeded(tmp_path), counts=counts)
    arrival.spikes("Acme", [], NOW)
    arrival.spikes("Acme", [], NOW + timedelta(minutes=1))
    arrival.spikes("Acme", [], NOW + DETECTION.bucket)
    assert asked == [NOW, NOW + DETECTION.bucket]


def test_nothing_is_judged_viral_when_the_rule_is_off(tmp_path):
    detection = DETECTION.model_copy(update={"viral": DETECTION.viral.model_copy(update={"enabled": False})})
    arrival = watch(seeded(tmp_path), detection=detection)
    assert arrival.spikes("Acme", [mention("hot", NOW - timedelta(minutes=5), likes=5000)], NOW) == []
