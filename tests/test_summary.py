from datetime import datetime, timedelta, timezone

from monitor.alerts.summary import key_phrases, representative_posts, summarise
from monitor.models import Author, Engagement, Mention, Sentiment, Severity, Spike, SpikeKind
from monitor.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 23, 7, 30, tzinfo=timezone.utc)


def post(n, text, minutes, label="negative", shares=0, repost=False, followers=10):
    probs = {"negative": 0.05, "neutral": 0.05, "positive": 0.05}
    probs[label] = 0.9
    return Mention(id=f"x:{n}", brand="Aurora Air", source="twitter", text=text,
                   created_at=T0 + timedelta(minutes=minutes), collected_at=T0, language="en",
                   author=Author(handle=f"user{n}", followers=followers), is_repost=repost,
                   engagement=Engagement(shares=shares), url=f"https://example.org/{n}",
                   sentiment=Sentiment(label=label, score=0.9, probabilities=probs))


def test_key_phrases_are_what_the_window_says_more_than_usual():
    usual = ["nice flight with aurora air", "aurora air crew was lovely", "boarding on time today"] * 20
    window = ["aurora air app down, flights cancelled", "app down again and flights cancelled",
              "check-in app down, no information", "flights cancelled, refund please"] * 5
    phrases = key_phrases(window, usual, ignore={"aurora", "air"})
    assert set(phrases[:2]) == {"app down", "flights cancelled"}
    assert not any("aurora" in p for p in phrases)


def test_function_words_are_never_key_phrases():
    window = ["this is warsaw airport and the staff just stand there"] * 6
    phrases = key_phrases(window, ["good flight"] * 10, ignore=set())
    assert "warsaw airport" in phrases
    assert not any(word in phrase.split() for phrase in phrases for word in ("this", "the", "just", "there"))


def test_copy_paste_storm_counts_once_per_text():
    assert key_phrases(["spam spam spam spam"], [], ignore=set()) == []


def test_representative_posts_prefer_negative_reach_and_skip_reposts_and_duplicates():
    posts = [post(1, "the app is down", 0, shares=500), post(2, "the app is down", 1, shares=400),
             post(3, "lovely crew", 2, label="positive", shares=9000), post(4, "RT the app is down", 3, shares=99999, repost=True),
             post(5, "stranded at gate B12", 4, shares=10)]
    assert [m.id for m in representative_posts(posts)] == ["x:1", "x:5", "x:3"]


def test_summary_of_a_spike_reads_its_window_from_the_store(tmp_path):
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions([post(k, "nice flight today", -600 + k) for k in range(30)])
        store.add_mentions([post(100 + k, "app down, flights cancelled", k % 15) for k in range(12)]
                           + [post(200, "great crew", 3, label="positive")])
        spike = Spike(brand="Aurora Air", kind=SpikeKind.VOLUME, window_start=T0, window_end=T0 + timedelta(minutes=15),
                      observed=13, expected=2, score=7, severity=Severity.HIGH, negative_share=12 / 13)
        summary = summarise(store, spike, {"aurora", "air"}, T0 - timedelta(days=1))
    assert summary["sentiment_split"] == {"negative": 12, "neutral": 0, "positive": 1}
    assert summary["key_phrases"][0] in {"app down", "flights cancelled", "down flights"}
    assert summary["posts"][0]["text"] == "app down, flights cancelled"
    assert summary["languages"] == {"en": 13}
    assert summary["observed"] == 13


def test_the_post_that_set_it_off_shortly_before_the_window_is_shown(tmp_path):
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions([post(1, "whole airport stranded, nobody tells us anything", -40, shares=20000,
                                 followers=180000)]
                           + [post(10 + k, "still stuck at the gate", k) for k in range(10)])
        spike = Spike(brand="Aurora Air", kind=SpikeKind.NEGATIVE, window_start=T0,
                      window_end=T0 + timedelta(minutes=15), observed=10, expected=1, score=9,
                      severity=Severity.HIGH, negative_share=1.0)
        summary = summarise(store, spike, {"aurora", "air"}, T0 - timedelta(days=1))
        narrow = summarise(store, spike, {"aurora", "air"}, T0 - timedelta(days=1), lookback=timedelta(0))
    assert summary["posts"][0]["id"] == "x:1"
    assert "x:1" not in [p["id"] for p in narrow["posts"]]
