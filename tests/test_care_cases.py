"""The brand's answers matched to customer posts: first answer, follow-ups, resolution."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.care.cases import build_cases, load_mentions
from monitor.care.settings import CareConfig
from monitor.store.sqlite import SqliteStore
from tests.care_posts import BRAND, HANDLES, T0, answer, post

CARE = CareConfig()


@pytest.mark.parametrize(("source", "parent", "child"), [
    ("twitter", "1790000000000000001", "1790000000000000002"),
    ("mastodon", "https://mastodon.example.org/users/dana/statuses/1", "https://mastodon.example.org/users/aurora/statuses/2"),
    ("bluesky", "at://did:plc:dana/app.bsky.feed.post/3k1", "at://did:plc:aurora/app.bsky.feed.post/3k2"),
    ("reddit", "t1_abc", "t1_abd"),
    ("youtube", "UgxComment1", "UgxComment1.reply2"),
    ("hackernews", "40000001", "40000002"),
    ("file", "row-1", "row-2"),
])
def test_the_brands_answer_is_found_on_every_source_that_links_replies(source: str, parent: str, child: str) -> None:
    question = post(parent, "@AuroraAir is my flight on time?", source=source, sentiment="neutral")
    reply = answer(child, parent, 25, source=source)
    [case] = build_cases([reply, question], HANDLES, CARE)
    assert case.mention.id == question.id and case.answer == reply
    assert case.response_time == timedelta(minutes=25) and case.within_target


def test_only_the_brands_handles_answer() -> None:
    question = post("1", "@AuroraAir where is my bag?")
    others = [answer("2", "1", 5, author="lee"), answer("3", "1", 6, author="NordwindAir")]
    [case] = build_cases([question, *others], HANDLES, CARE)
    assert case.answer is None and not case.within_target and not case.resolved


def test_the_first_answer_counts_and_an_answer_before_the_post_counts_as_zero() -> None:
    question = post("1", "@AuroraAir where is my bag?", minute=10)
    early = answer("2", "1", 9)
    later = answer("3", "1", 40)
    [case] = build_cases([later, question, early], HANDLES, CARE)
    assert case.answer == early and case.response_time == timedelta(0)


def test_an_answer_collected_before_the_post_still_counts() -> None:
    question = post("1", "@AuroraAir refund?", minute=0, collected_minute=300)
    reply = answer("2", "1", 45, collected_minute=46)
    [case] = build_cases([reply, question], HANDLES, CARE)
    assert case.response_time == timedelta(minutes=45)


def test_resolution_follows_the_authors_last_word() -> None:
    happy = post("1", "@AuroraAir where is my bag?", author="dana")
    thanks = post("1b", "found it, thanks", 40, author="dana", reply_to="1a", sentiment="positive")
    upset = post("2", "@AuroraAir no refund yet", author="erin")
    still = post("2b", "still nothing.", 50, author="erin", reply_to="2a", sentiment="neutral")
    quiet = post("3", "@AuroraAir can I rebook?", author="finn", sentiment="neutral")
    mentions = [happy, answer("1a", "1", 30), thanks, upset, answer("2a", "2", 30), still, quiet, answer("3a", "3", 5)]
    cases = {c.mention.id: c for c in build_cases(mentions, HANDLES, CARE)}
    assert set(cases) == {happy.id, upset.id, quiet.id}
    assert cases[happy.id].last_word == thanks and cases[happy.id].resolved
    assert cases[upset.id].last_word == still and not cases[upset.id].resolved
    assert cases[quiet.id].last_word is None and cases[quiet.id].resolved


def test_per_source_targets() -> None:
    care = CareConfig(target="2h", targets={"reddit": "30m"})
    tweet, thread = post("1", "@AuroraAir bag?"), post("2", "@AuroraAir bag?", source="reddit")
    mentions = [tweet, answer("1a", "1", 60), thread, answer("2a", "2", 60, source="reddit")]
    cases = {c.mention.source: c for c in build_cases(mentions, HANDLES, care)}
    assert cases["twitter"].within_target and not cases["reddit"].within_target


def test_load_mentions_pages_through_the_store(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("monitor.care.cases.PAGE", 3)
    store = SqliteStore(tmp_path / "care.db")
    store.add_mentions([post(str(n), f"@AuroraAir n{n}?", minute=n) for n in range(7)])
    found = load_mentions(store, BRAND, T0, T0 + timedelta(hours=1))
    assert [m.created_at for m in found] == sorted(m.created_at for m in found) and len(found) == 7
