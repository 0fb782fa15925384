"""The care queue: unanswered posts oldest first, time left to target, masked text and answer."""

from __future__ import annotations

from datetime import timedelta

from monitor.care.cases import build_cases
from monitor.care.queue import format_left, queue
from monitor.care.settings import CareConfig
from monitor.care.templates import load_templates
from tests.care_posts import BRAND, HANDLES, T0, answer, post

TEMPLATES = load_templates()


def test_waiting_posts_oldest_first_with_time_left() -> None:
    mentions = [
        post("late", "@AuroraAir where is my bag?", 0, language="en", author="dana"),
        post("new", "@AuroraAir refund?", 100, source="reddit", language="pl", author="kasia"),
        post("done", "@AuroraAir rebook?", 10), answer("a", "done", 20),
        post("future", "@AuroraAir hello?", 200),
    ]
    care = CareConfig(target="2h", targets={"reddit": "1h"})
    items = queue(build_cases(mentions, HANDLES, care), BRAND, TEMPLATES, now=T0 + timedelta(minutes=150))
    assert [i.id for i in items] == ["twitter:late", "reddit:new"]
    assert items[0].time_left == timedelta(minutes=-30) and items[0].overdue
    assert items[1].time_left == timedelta(minutes=10) and not items[1].overdue
    assert items[1].past_share(0.75) and not items[1].past_share(0.9)
    assert items[1].language == "pl" and items[1].suggested_answer.startswith("Cześć @kasia")
    assert (items[0].author, items[0].url, items[0].tag) == ("dana", "https://x.example.org/dana/late", "question")


def test_personal_data_is_masked_in_the_queue() -> None:
    mentions = [post("1", "@AuroraAir booking ref X7K9PQ cancelled, mail me jane@example.com", author="jane")]
    [item] = queue(build_cases(mentions, HANDLES, CareConfig()), BRAND, TEMPLATES, now=T0)
    assert item.personal_data and "X7K9PQ" not in item.text and "jane@example.com" not in item.text
    assert "[booking ref]" in item.text and "direct message" in item.suggested_answer


def test_format_left() -> None:
    assert format_left(timedelta(minutes=65)) == "1h 05m left"
    assert format_left(timedelta(minutes=-20)) == "0h 20m late"
