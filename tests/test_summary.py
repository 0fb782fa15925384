from datetime import datetime, timedelta, timezone

import numpy as np

from monitor.alerts.notify.summary import key_phrases, representative_posts, summarise
from monitor.errors import NlpError
from monitor.models import Author, Engagement, Mention, Sentiment, Severity, Spike, SpikeKind
from monitor.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 23, 7, 30, tzinfo=timezone.utc)


def post(n, text, minutes, label="negative", shares=0, repost=False, followers=10, uncertain=False, **more):
    probs = {"negative": 0.05, "neutral": 0.05, "positive": 0.05}
    probs[label] = 0.9
    return Mention(id=f"x:{n}", brand="Aurora Air", source="twitter", text=text,
                   created_at=T0 + timedelta(minutes=minutes), collected_at=T0, language="en",
                   author=Author(handle=f"user{n}", followers=followers), is_repost=repost,
                   engagement=Engagement(shares=shares), url=f"https://example.org/{n}",
                   sentiment=Sentiment(label=label, score=0.9, probabilities=probs, uncertain=uncertain), **more)


def test_key_phrases_are_what_the_window_says_more_than_usual():
    usual = ["nice flight with aurora air", "aurora air crew was lovely", "boarding on time today"] * 20
    window = ["aurora air app down, flights cancelled", "app down again and flights cancelled",
              "check-in app down, no information", "flights cancelled, refund please"] * 5
    phrases = key_phrases(window, usual, ignore={"aurora", "air"})
    assert set(phrases[:2]) == {"app down", "flights cancelled"}
    assert not any("aurora" in p for p in phrases)


def test_function_words_are_never_key_phrases():
    window = [f"this is warsaw airport and the staff just stand there, day {k}" for k in range(6)]
    phrases = key_phrases(window, ["good flight"] * 10, ignore=set())
    assert "warsaw airport" in phrases
    assert not any(word in phrase.split() for phrase in phrases for word in ("this", "the", "just", "there"))


def test_copy_paste_storm_counts_once_per_text():
    assert key_phrases(["spam spam spam spam"], [], ignore=set()) == []
    assert key_phrases(["RT @a: the app is down"] * 50 + ["the app is down"], [], ignore=set()) == []


def test_a_phrase_two_texts_share_by_chance_is_not_key():
    window = ["landed early in Vienna, well done", "landed early in Rome, well done", "bag took ages"]
    assert key_phrases(window, ["booked a flight"] * 100, ignore=set()) == []
    assert "landed early" in key_phrases(window + ["landed early in Oslo, well done"], ["booked a flight"] * 100,
                                         ignore=set())


def test_representative_posts_prefer_negative_reach_and_skip_reposts_and_duplicates():
    posts = [post(1, "the app is down", 0, shares=500), post(2, "the app is down", 1, shares=400),
             post(3, "lovely crew", 2, label="positive", shares=9000), post(4, "RT the app is down", 3, shares=99999, repost=True),
             post(5, "stranded at gate B12", 4, shares=10)]
    assert [m.id for m in representative_posts(posts)] == ["x:1", "x:5", "x:3"]


THEMES = {"app": 0, "refund": 1, "crew": 2}


def theme_embedding(texts):
    """Each text on the axis of the theme word it contains, plus a little per-text noise."""
    rows = []
    for text in texts:
        row = np.random.default_rng(len(text)).normal(scale=0.05, size=8)
        row[next(axis for word, axis in THEMES.items() if word in text)] += 1
        rows.append(row / np.linalg.norm(row))
    return np.array(rows)


def test_representative_posts_show_different_themes_heaviest_first():
    app = [post(k, f"the app {'is down' if k % 2 else 'crashed'} again, attempt {k}", k, shares=1000 + k)
           for k in range(1, 9)]
    refund = [post(20 + k, f"refund still missing after {k} weeks", k, shares=5) for k in range(3)]
    crew = [post(30, "lovely crew today", 1, label="positive", shares=50),
            post(31, "crew was lovely", 2, label="positive", shares=60)]
    chosen = representative_posts(crew + refund + app, embed=theme_embedding)
    assert [m.id for m in chosen] == ["x:8", "x:20", "x:31"]
    by_reach = representative_posts(crew + refund + app, embed=lambda texts: (_ for _ in ()).throw(NlpError("no")))
    assert [m.id for m in by_reach] == ["x:8", "x:7", "x:6"]


def test_a_second_post_saying_the_same_comes_after_other_themes():
    news = [post(k, "queues and no information at the app desks", k, shares=100) for k in range(5)]
    translated = [post(10 + k, "Schlangen und keine Information, die app desks", k, shares=100) for k in range(4)]
    refund = [post(20, "refund missing", 1, shares=1)]
    chosen = representative_posts(news + translated + refund, embed=theme_embedding)
    assert [m.id for m in chosen] == ["x:0", "x:20", "x:10"]


def test_reposts_weigh_in_their_theme_but_are_never_shown():
    original = post(1, "refund still missing", 0, shares=10)
    reposts = [post(10 + k, "RT refund still missing", k, shares=9000, repost=True) for k in range(5)]
    app = [post(2, "the app crashed", 0, shares=500), post(3, "app down", 1, shares=400)]
    chosen = representative_posts(app + reposts + [original], top=2, embed=theme_embedding)
    assert [m.id for m in chosen] == ["x:1", "x:2"]


def test_summary_of_a_spike_reads_its_window_from_the_store(tmp_path):
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions([post(k, "nice flight today", -600 + k) for k in range(30)])
        store.add_mentions([post(100 + k, f"app down, flights cancelled at gate {k}", k % 15) for k in range(12)]
                           + [post(200, "great crew", 3, label="positive")])
        spike = Spike(brand="Aurora Air", kind=SpikeKind.VOLUME, window_start=T0, window_end=T0 + timedelta(minutes=15),
                      observed=13, expected=2, score=7, severity=Severity.HIGH, negative_share=12 / 13)
        summary = summarise(store, spike, {"aurora", "air"}, T0 - timedelta(days=1))
    assert summary["sentiment_split"] == {"negative": 12, "neutral": 0, "positive": 1}
    assert summary["key_phrases"][0] in {"app down", "flights cancelled", "down flights"}
    assert summary["posts"][0]["text"].startswith("app down, flights cancelled at gate")
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
    assert [p["text"] for p in summary["posts"]] == ["still stuck at the gate",
                                                      "whole airport stranded, nobody tells us anything"]
    assert summary["posts"][1]["id"] == "x:1"
    assert "x:1" not in [p["id"] for p in narrow["posts"]]


def test_a_post_going_viral_is_shown_first_with_what_people_say_about_it(tmp_path):
    viral = post(1, "the gate agent was rude to me", 2, shares=3)
    quote = post(2, "this is exactly what happened to me too", 6, shares=40).model_copy(
        update={"is_quote": True, "parent_id": "x:1"})
    reply = post(3, "hope you get home soon", 8, label="neutral").model_copy(update={"reply_to": "x:1"})
    repost = post(4, "the gate agent was rude to me", 9, repost=True).model_copy(update={"parent_id": "x:1"})
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions([viral, quote, reply, repost]
                           + [post(10 + k, f"app down again number {k}", k, shares=500) for k in range(5)]
                           + [post(100 + k, f"nice flight today {k}", -600 + k, label="positive") for k in range(30)])
        spike = Spike(brand="Aurora Air", kind=SpikeKind.VIRAL_POST, window_start=T0,
                      window_end=T0 + timedelta(minutes=15), observed=3, expected=1, score=3,
                      severity=Severity.HIGH, negative_share=1.0, sample_mention_ids=["x:1"])
        summary = summarise(store, spike, {"aurora", "air"}, T0 - timedelta(days=1))
        alone = summarise(store, spike.model_copy(update={"sample_mention_ids": ["x:10"]}), {"aurora", "air"},
                          T0 - timedelta(days=1))
    assert [p["id"] for p in summary["posts"]] == ["x:1", "x:2", "x:3"]
    assert "gate agent" in summary["key_phrases"]  # said once, by the post that went viral
    assert [p["id"] for p in alone["posts"]] == ["x:10"]  # nobody quoted it: no unrelated posts instead


def test_a_spike_about_negativity_is_summarised_from_its_negative_posts(tmp_path):
    calm = [post(k, f"lounge tips for Lisbon, anyone? {k}", k, label="neutral", shares=900) for k in range(20)]
    angry = [post(100 + k, f"flights cancelled and nobody answers, day {k}", k, shares=5) for k in range(4)]
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions(calm + angry)
        spike = Spike(brand="Aurora Air", kind=SpikeKind.VOLUME, window_start=T0,
                      window_end=T0 + timedelta(minutes=30), observed=24, expected=8, score=5,
                      severity=Severity.MEDIUM, negative_share=4 / 24, baseline_negative_share=0.02)
        negative = summarise(store, spike, {"aurora", "air"}, T0 - timedelta(days=1))
        calm_spike = spike.model_copy(update={"baseline_negative_share": 0.15})
        busy = summarise(store, calm_spike, {"aurora", "air"}, T0 - timedelta(days=1))
    assert {p["sentiment"] for p in negative["posts"]} == {"negative"}
    assert "flights cancelled" in negative["key_phrases"]
    assert "lounge tips" in busy["key_phrases"] and "neutral" in {p["sentiment"] for p in busy["posts"]}


def test_the_sentiment_split_counts_the_spike_window_only_so_it_agrees_with_the_negative_share(tmp_path):
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions([post(1, "whole airport stranded", -40, label="positive")]  # before the window
                           + [post(10 + k, f"stuck at gate {k}", k, label="negative") for k in range(6)]
                           + [post(20 + k, f"nice crew {k}", k, label="positive") for k in range(2)]
                           + [post(30 + k, f"quiet day {k}", -600 + k, label="neutral") for k in range(8)])
        spike = Spike(brand="Aurora Air", kind=SpikeKind.VOLUME, window_start=T0,
                      window_end=T0 + timedelta(minutes=15), observed=8, expected=2, score=5,
                      severity=Severity.HIGH, negative_share=6 / 8, baseline_negative_share=0.1)
        summary = summarise(store, spike, {"aurora", "air"}, T0 - timedelta(days=1))
    split = summary["sentiment_split"]
    assert split == {"negative": 6, "neutral": 0, "positive": 2}
    assert split["negative"] / sum(split.values()) == spike.negative_share
    assert summary["sources"] == {"twitter": 8}
    assert summary["kind"] == "volume" and summary["window"] == [T0.isoformat(), (T0 + timedelta(minutes=15)).isoformat()]


def test_a_viral_posts_usual_negative_share_is_the_reference_posts(tmp_path):
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions([post(1, "everyone stranded at the airport", 2, shares=5000)]
                           + [post(100 + k, f"ordinary day {k}", -600 + k, label="negative" if k < 3 else "neutral")
                              for k in range(12)])
        spike = Spike(brand="Aurora Air", kind=SpikeKind.VIRAL_POST, window_start=T0,
                      window_end=T0 + timedelta(minutes=15), observed=5000, expected=10, score=500,
                      severity=Severity.HIGH, negative_share=1.0, sample_mention_ids=["x:1"])
        summary = summarise(store, spike, {"aurora", "air"}, T0 - timedelta(days=1))
    assert summary["baseline_negative_share"] == 0.25
    assert summary["posts"][0]["source"] == "twitter"


def test_word_pairs_are_never_made_across_punctuation_or_the_brands_name():
    texts = [f"System failure. Thousands stuck at gate {k}, aurora air silent" for k in range(5)]
    phrases = key_phrases(texts, ["nice flight today"] * 20, {"aurora", "air"}, top=10)
    assert "system failure" in phrases and "thousands stuck" in phrases
    assert not any(p in phrases for p in ("failure thousands", "gate silent"))
    signs = key_phrases([f"IT failure = thousands stuck - gates closed {k}" for k in range(5)],
                        ["nice flight today"] * 20, set(), top=10)
    assert "thousands stuck" in signs and not {"failure thousands", "stuck gates"} & set(signs)


def test_phrases_many_posts_share_come_before_what_only_the_viral_post_says():
    viral = "Hundreds of us stranded and staff just stand there"
    window = [f"app dead, day {k}" for k in range(6)]
    phrases = key_phrases(window, [f"nice flight today {k}" for k in range(20)], {"aurora", "air"}, anchors=[viral])
    assert phrases[0] == "app dead" and "hundreds" in " ".join(phrases)
    assert phrases.index("app dead") < min(i for i, p in enumerate(phrases) if p in viral.casefold())


def test_the_alert_reads_the_sentiment_a_person_corrected(tmp_path):
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions([post(1, "Great, another cancelled flight. Love it", 1, label="positive", uncertain=True)]
                           + [post(10 + k, f"stuck at gate {k}", k, label="negative") for k in range(3)])
        store.correct_sentiment("Aurora Air", "x:1", "negative", "maria", T0 + timedelta(hours=1))
        spike = Spike(brand="Aurora Air", kind=SpikeKind.VOLUME, window_start=T0,
                      window_end=T0 + timedelta(minutes=15), observed=4, expected=1, score=5,
                      severity=Severity.HIGH, negative_share=1.0, baseline_negative_share=0.1)
        summary = summarise(store, spike, {"aurora", "air"}, T0 - timedelta(days=1))
    assert summary["sentiment_split"] == {"negative": 4, "neutral": 0, "positive": 0}
    assert summary["uncertain_split"] == {"negative": 0, "neutral": 0, "positive": 0}  # a person's label is certain
    assert {p["sentiment"] for p in summary["posts"]} == {"negative"}


def test_the_split_keeps_the_posts_the_scorer_was_unsure_of_apart_within_each_label(tmp_path):
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions([post(10 + k, f"stuck at gate {k}", k, uncertain=k < 2) for k in range(6)]
                           + [post(20 + k, f"is the app down {k}", k, label="neutral", uncertain=True) for k in range(3)]
                           + [post(30, "nice crew", 2, label="positive")]
                           + [post(40, "unsure, before the window", -20, uncertain=True)])
        spike = Spike(brand="Aurora Air", kind=SpikeKind.VOLUME, window_start=T0,
                      window_end=T0 + timedelta(minutes=15), observed=10, expected=2, score=5,
                      severity=Severity.HIGH, negative_share=6 / 10, baseline_negative_share=0.1)
        summary = summarise(store, spike, {"aurora", "air"}, T0 - timedelta(days=1))
    assert summary["sentiment_split"] == {"negative": 6, "neutral": 3, "positive": 1}
    assert summary["uncertain_split"] == {"negative": 2, "neutral": 3, "positive": 0}
    assert summary["sentiment_split"]["negative"] / sum(summary["sentiment_split"].values()) == spike.negative_share


def test_a_viral_posts_split_counts_the_post_and_the_reactions_to_it_not_the_rest_of_its_hour(tmp_path):
    viral = post(1, "hundreds of us stranded at the airport", 2, shares=5000)
    with SqliteStore(tmp_path / "m.db") as store:
        store.add_mentions([viral]
                           + [post(10 + k, f"this is awful {k}", 3 + k, reply_to="x:1", uncertain=k == 0) for k in range(3)]
                           + [post(15, "same here", 4, label="neutral", parent_id="x:1", is_quote=True)]
                           + [post(16, "RT hundreds of us stranded", 4, parent_id="x:1", repost=True)]
                           + [post(20 + k, f"lovely lounge {k}", k, label="positive") for k in range(9)])
        spike = Spike(brand="Aurora Air", kind=SpikeKind.VIRAL_POST, window_start=T0,
                      window_end=T0 + timedelta(minutes=15), observed=5000, expected=10, score=500,
                      severity=Severity.HIGH, negative_share=1.0, sample_mention_ids=["x:1"])
        summary = summarise(store, spike, {"aurora", "air"}, T0 - timedelta(days=1))
    assert summary["sentiment_split"] == {"negative": 4, "neutral": 1, "positive": 0}
    assert summary["uncertain_split"] == {"negative": 1, "neutral": 0, "positive": 0}
