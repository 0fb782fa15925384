"""The comms manager's review: KPIs against the previous period, reach, top posts and authors, a chart
bucket's mentions, and correcting a post's sentiment (data functions and pages, on the seeded database)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

import pandas as pd
import pytest

from dashboard_seed import (  # noqa: F401 (pytest fixtures)
    BRAND, MENTIONS, T0, chart_data, config_fixture, fresh_caches_fixture, metric, run_app, widget,
)
from monitor.config import load
from monitor.dashboard import review_data
from monitor.store import open_store

DAY = timedelta(days=1)


def figures(start: datetime, end: datetime) -> dict[str, float]:
    chosen = [m for m in MENTIONS if start <= m.created_at < end]
    scored = [m for m in chosen if m.sentiment]
    return {"mentions": len(chosen), "negative": sum(m.sentiment.label == "negative" for m in scored) / len(scored),
            "interactions": sum(m.engagement.total for m in chosen),
            "reach": sum(m.reach if m.reach is not None else m.author.followers for m in chosen)}


def pick_day(at, day: datetime):
    at.sidebar.date_input[0].set_value((day.date(), day.date())).run()
    assert not at.exception
    return at


def test_previous_period_has_the_same_length_and_ends_where_the_range_begins():
    assert review_data.previous_period(T0 + 3 * DAY, T0 + 5 * DAY) == (T0 + DAY, T0 + 3 * DAY)


@pytest.mark.parametrize(("now", "before", "text"), [(150, 100, "+50% vs 100"), (90, 120, "-25% vs 120"),
                                                     (5, 0, None), (1234, 1000, "+23% vs 1,000")])
def test_change_against_the_previous_period(now, before, text):
    assert review_data.change(now, before) == text


def test_share_change_is_in_points():
    assert review_data.share_change(0.45, 0.30) == "+15 pts vs 30%"
    assert review_data.share_change(None, 0.3) is None and review_data.share_change(0.2, None) is None


def test_kpis_add_up_the_range_with_reach_from_views_else_followers(config):
    key = load(config).storage.model_dump_json()
    kpis = review_data.kpis(key, BRAND, T0 + DAY, T0 + 2 * DAY)
    expected = figures(T0 + DAY, T0 + 2 * DAY)
    assert (kpis.mentions, kpis.interactions, kpis.reach) == (expected["mentions"], expected["interactions"],
                                                              expected["reach"])
    assert kpis.negative_share == pytest.approx(expected["negative"])
    assert review_data.kpis(key, BRAND, T0 - DAY, T0).negative_share is None


def test_the_overview_compares_every_kpi_with_the_previous_period(config):
    at = pick_day(run_app(), T0 + DAY)
    now, before = figures(T0 + DAY, T0 + 2 * DAY), figures(T0, T0 + DAY)
    deltas = {m.label: m.delta for m in at.metric}
    assert metric(at, "Mentions in range") == f"{now['mentions']:,}"
    assert deltas["Mentions in range"] == review_data.change(now["mentions"], before["mentions"])
    assert metric(at, "Negative share") == f"{now['negative']:.0%}"
    assert deltas["Negative share"] == review_data.share_change(now["negative"], before["negative"])
    assert metric(at, "Interactions") == f"{now['interactions']:,}"
    assert deltas["Interactions"] == review_data.change(now["interactions"], before["interactions"])
    assert metric(at, "Reach") == f"{now['reach']:,}"
    assert deltas["Reach"] == review_data.change(now["reach"], before["reach"])
    assert "previous 1 day(s), 03 Nov to 03 Nov 2025" in next(m for m in at.metric if m.label == "Reach").help


def test_top_posts_and_authors_of_the_range(config):
    at = pick_day(run_app(), T0 + DAY)
    chosen = [m for m in MENTIONS if T0 + DAY <= m.created_at < T0 + 2 * DAY]
    posts = at.dataframe[0].value
    best = sorted(chosen, key=lambda m: (m.engagement.total, m.created_at), reverse=True)[:5]
    assert posts["id"].tolist() == [m.id for m in best]
    assert posts["reach"].tolist() == [m.reach if m.reach is not None else m.author.followers for m in best]
    authors = at.dataframe[1].value
    counts = Counter(m.author.handle for m in chosen)
    likes = Counter()
    for m in chosen:
        likes[m.author.handle] += m.engagement.total
    ranked = sorted(counts, key=lambda a: (-counts[a], -likes[a], a))
    assert authors["author"].tolist() == ranked
    assert authors["mentions"].tolist() == [counts[a] for a in ranked]
    assert authors["interactions"].tolist() == [likes[a] for a in ranked]


def test_a_click_on_the_chart_is_read_as_its_bucket():
    start = pd.Timestamp("2025-11-04T05:00Z")
    event = {"selection": {review_data.PICK: [{"bucket": start.value // 10**6}]}}
    assert review_data.picked_bucket(event) == start
    assert review_data.picked_bucket({"selection": {review_data.PICK: [{"bucket": "2025-11-04T05:00:00Z"}]}}) == start
    assert review_data.picked_bucket({"selection": {review_data.PICK: []}}) is None
    assert review_data.picked_bucket(None) is None


def test_the_volume_chart_selects_a_bucket_on_click_and_lists_its_mentions(config):
    at = pick_day(run_app(), T0 + DAY)
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert [(p["name"], p["select"]["on"], p["select"]["fields"]) for p in spec["params"]] == [
        (review_data.PICK, "click", ["bucket"])]
    picker = widget(at.selectbox, "Mentions of the 15 min from")
    assert picker.value is None
    picker.select_index(3).run()
    assert not at.exception
    start = pd.Timestamp(widget(at.selectbox, "Mentions of the 15 min from").value).to_pydatetime()
    listed = at.dataframe[0].value
    inside = [m for m in MENTIONS if start <= m.created_at < start + timedelta(minutes=15)]
    assert inside and sorted(listed["id"]) == sorted(m.id for m in inside)
    assert any(f"{len(inside)} mention(s) from" in c.value for c in at.main.caption)


def correct_on_the_page(at, post_id: str, label: str, by: str = "maria"):
    post = widget(at.selectbox, "Post")
    post.set_value(post_id).run()
    widget(at.radio, "Right sentiment").set_value(label).run()
    widget(at.text_input, "Your name").set_value(by).run()
    widget(at.button, "Save the correction").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_a_corrected_sentiment_is_kept_and_counted_in_every_figure(config):
    positive = next(m for m in reversed(MENTIONS) if m.sentiment and m.sentiment.label == "positive")
    at = run_app("views/mentions.py")
    assert widget(at.button, "Save the correction").disabled  # nobody named yet
    correct_on_the_page(at, positive.id, "negative")
    assert "positive → negative" in at.success[0].value
    table = at.dataframe[0].value.set_index("id")
    assert (table.loc[positive.id, "sentiment"], table.loc[positive.id, "corrected_by"]) == ("negative", "maria")

    with open_store(load(config).storage) as store:
        (kept,) = store.corrections(BRAND)
    assert (kept.mention_id, kept.previous, kept.label, kept.by) == (positive.id, "positive", "negative", "maria")

    at.switch_page("views/overview.py").run()
    scored = [m for m in MENTIONS if m.sentiment]
    negative = sum(m.sentiment.label == "negative" for m in scored) + 1
    assert metric(at, "Negative share") == f"{negative / len(scored):.0%}"
    (volume,) = [d for d in chart_data(at, 0) if "sentiment" in d.columns]
    assert volume.groupby("sentiment")["count"].sum()["negative"] == negative
