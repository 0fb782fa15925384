from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts.detect.viral import detect_viral, reach_severity, usual_engagement
from monitor.config import ViralRule
from monitor.models import Author, Engagement, Mention, Sentiment, Severity, SpikeKind

RULE = ViralRule()
BUCKET = timedelta(minutes=15)
NOW = datetime(2026, 3, 23, 8, 5, tzinfo=timezone.utc)


def post(ident: str, age: timedelta, likes: int = 3, shares: int = 1, replies: int = 1, followers: int = 500,
         label: str | None = None, repost_of: str | None = None) -> Mention:
    sentiment = Sentiment(label=label, score=0.9, probabilities={label: 0.9}) if label else None
    return Mention(
        id=ident, brand="Aurora Air", source="twitter", text="aurora air", created_at=NOW - age, collected_at=NOW,
        author=Author(handle=ident, followers=followers), engagement=Engagement(likes=likes, shares=shares,
                                                                                 replies=replies),
        sentiment=sentiment, is_repost=repost_of is not None, parent_id=repost_of,
    )


REFERENCE = [post(f"old-{k}", timedelta(hours=8 + k), likes=k % 9) for k in range(200)]


def judge(*candidates: Mention, reference=REFERENCE, rule=RULE, now=NOW):
    return detect_viral(list(candidates), reference, now, rule, "Aurora Air", BUCKET)


def test_a_negative_post_taking_off_is_a_critical_viral_spike():
    viral = post("viral", timedelta(minutes=12), likes=5200, shares=2400, replies=700, followers=184_200,
                 label="negative")
    [spike] = judge(viral, post("calm", timedelta(minutes=5)))
    assert spike.kind is SpikeKind.VIRAL_POST
    assert spike.sample_mention_ids == ["viral"]
    assert spike.severity is Severity.CRITICAL  # reach above 100k, one level up for negative
    assert spike.observed == 8300 and spike.expected == usual_engagement(REFERENCE)
    assert spike.window_start == datetime(2026, 3, 23, 7, 45, tzinfo=timezone.utc)
    assert spike.growth_rate >= RULE.min_rate


def test_the_same_post_judged_twice_covers_the_same_window():
    viral = post("viral", timedelta(minutes=12), likes=5000)
    first = judge(viral)[0]
    later = judge(viral.model_copy(update={"created_at": viral.created_at}), now=NOW + BUCKET)[0]
    assert (first.window_start, first.window_end) == (later.window_start, later.window_end)


def test_collected_reposts_count_as_shares_when_the_source_reports_fewer_never_twice():
    parent = post("parent", timedelta(minutes=30), likes=500)  # 1 share reported
    assert judge(parent) == []
    reposts = [post(f"rt-{k}", timedelta(minutes=10), repost_of="parent") for k in range(600)]
    [spike] = judge(parent, *reposts)
    assert spike.sample_mention_ids == ["parent"] and spike.observed == 500 + 600 + 1
    reported = parent.model_copy(update={"engagement": Engagement(likes=500, shares=900, replies=1)})
    [spike] = judge(reported, *reposts)
    assert spike.observed == reported.engagement.total  # the 600 collected are among the 900 reported


def test_quotes_add_to_the_engagement_of_their_parent_and_may_go_viral_themselves():
    parent = post("parent", timedelta(minutes=30), likes=500)
    quotes = [post(f"q-{k}", timedelta(minutes=10)).model_copy(update={"is_quote": True, "parent_id": "parent"})
              for k in range(600)]
    [spike] = judge(parent, *quotes)
    assert spike.sample_mention_ids == ["parent"] and spike.observed == 500 + 600 + 1
    loud = quotes[0].model_copy(update={"engagement": Engagement(likes=9000)})
    [spike] = judge(loud)
    assert spike.sample_mention_ids == ["q-0"]


def test_a_post_its_author_deleted_is_never_viral():
    viral = post("viral", timedelta(minutes=12), likes=5200, shares=2400, replies=700, label="negative")
    assert judge(viral)
    assert not judge(viral.model_copy(update={"deleted_at": NOW - timedelta(minutes=1)}))


def test_no_viral_alert_during_warm_up_or_for_ordinary_posts():
    viral = post("viral", timedelta(minutes=12), likes=5000)
    assert judge(viral, reference=REFERENCE[: RULE.min_history - 1]) == []
    assert judge(*[post(f"new-{k}", timedelta(minutes=k), likes=8) for k in range(50)]) == []


def test_slow_growth_old_posts_and_good_news_do_not_fire():
    assert judge(post("slow", timedelta(hours=2, minutes=50), likes=1200)) == []
    assert judge(post("fast", timedelta(hours=1), likes=1200))
    assert judge(post("old", RULE.lookback + timedelta(minutes=1), likes=50_000)) == []
    assert judge(post("happy", timedelta(minutes=12), likes=5000, label="positive")) == []
    anything = RULE.model_copy(update={"skip_positive": False})
    assert judge(post("happy", timedelta(minutes=12), likes=5000, label="positive"), rule=anything)


def test_a_brand_with_big_usual_engagement_needs_a_bigger_post():
    busy = [post(f"busy-{k}", timedelta(hours=8 + k), likes=900 + k) for k in range(200)]
    assert judge(post("viral", timedelta(minutes=12), likes=5000), reference=busy) == []
    assert judge(post("viral", timedelta(minutes=12), likes=50_000), reference=busy)


@settings(max_examples=60, deadline=None)
@given(likes=st.integers(0, 100_000), factor=st.integers(1, 50), minutes=st.integers(0, 360))
def test_more_engagement_never_hides_a_viral_post(likes, factor, minutes):
    age = timedelta(minutes=minutes)
    if judge(post("p", age, likes=likes)):
        assert judge(post("p", age, likes=likes * factor))


@settings(max_examples=60, deadline=None)
@given(reach=st.integers(0, 10_000_000), extra=st.integers(0, 10_000_000), negative=st.booleans())
def test_severity_grows_with_reach_and_negativity(reach, extra, negative):
    assert reach_severity(reach, negative) <= reach_severity(reach + extra, negative)
    assert reach_severity(reach, False) <= reach_severity(reach, True)


def test_the_pipeline_watch_reads_the_candidates_every_tick_and_the_reference_seldom(tmp_path):
    from monitor.alerts.detect.viral import REFERENCE_REFRESH, ViralWatch
    from monitor.config import DetectionConfig, StorageConfig
    from monitor.store import open_store

    store = open_store(StorageConfig(path=tmp_path / "m.db"))
    store.add_mentions(REFERENCE + [post("viral", timedelta(minutes=12), likes=5200, label="negative")])
    searches = []
    search = store.search
    store.search = lambda query: searches.append(query) or search(query)
    assert ViralWatch(store, DetectionConfig(viral={"enabled": False})).spikes("Aurora Air", NOW) == []
    assert searches == []
    watch = ViralWatch(store, DetectionConfig())
    [spike] = watch.spikes("Aurora Air", NOW)
    assert spike.sample_mention_ids == ["viral"]
    assert watch.spikes("Aurora Air", NOW + BUCKET)
    assert len(searches) == 3  # reference once, candidates twice
    watch.spikes("Aurora Air", NOW + REFERENCE_REFRESH)
    assert len(searches) == 5
