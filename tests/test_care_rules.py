"""What needs an answer: addressed to the brand, then the first matching routing rule."""

from __future__ import annotations

import pytest

from monitor.care.rules import addressed, asks, handle_set, judge
from monitor.care.settings import CareRule, default_rules
from tests.care_posts import HANDLES, post

BRAND = handle_set(HANDLES)


def test_default_rules_answer_questions_and_complaints_addressed_to_the_brand() -> None:
    question = post("1", "@AuroraAir can I bring a guitar?", sentiment="neutral")
    complaint = post("2", "@auroraair my bag is lost, third day now", sentiment="negative")
    praise = post("3", "Great crew today @AuroraAir", sentiment="positive")
    about = post("4", "Aurora Air is late again, why?", sentiment="negative")
    verdicts = [judge(m, BRAND, default_rules(), {}) for m in (question, complaint, praise, about)]
    assert [(v.needs_reply, v.tag) for v in verdicts] == [(True, "question"), (True, "complaint"), (False, ""),
                                                           (False, "")]
    assert verdicts[2].reason.startswith("noise")
    assert "not addressed" in verdicts[3].reason


def test_replies_to_the_brand_and_its_threads_are_addressed() -> None:
    brand_post = post("b", "Our new route to Lisbon!", author="AuroraAir", sentiment="positive")
    reply = post("r", "When does it start?", reply_to="b", sentiment="neutral")
    in_thread = post("t", "same question", reply_to="x", conversation="b", sentiment="neutral")
    elsewhere = post("e", "When?", reply_to="zzz", sentiment="neutral")
    by_id = {m.id: m for m in (brand_post, reply, in_thread, elsewhere)}
    assert addressed(reply, BRAND, by_id) and addressed(in_thread, BRAND, by_id)
    assert not addressed(elsewhere, BRAND, by_id)
    assert judge(brand_post, BRAND, default_rules(), by_id).reason == "the brand's own post"


def test_a_brand_without_handles_counts_every_post_as_addressed() -> None:
    assert addressed(post("1", "Aurora Air?"), frozenset(), {})


@pytest.mark.parametrize(("rule", "expected"), [
    (CareRule(name="refunds", tag="refund", keywords=["refund*"]), (True, "refund")),
    (CareRule(name="polish only", languages=["pl"]), (False, "")),
    (CareRule(name="praise", sentiments=["positive"]), (False, "")),
    (CareRule(name="statements", question=False, tag="statement"), (True, "statement")),
    (CareRule(name="spam", action="ignore", tag="spam", keywords=["refunds"]), (False, "spam")),
])
def test_each_condition_of_a_rule(rule: CareRule, expected: tuple[bool, str]) -> None:
    mention = post("1", "@AuroraAir where are the Refunds", sentiment="negative", language="en")
    verdict = judge(mention, BRAND, [rule], {})
    assert (verdict.needs_reply, verdict.tag) == expected


def test_the_first_matching_rule_wins_and_reposts_are_noise() -> None:
    rules = [CareRule(name="ignore bots", action="ignore", keywords=["giveaway"]), *default_rules()]
    assert not judge(post("1", "@AuroraAir giveaway?"), BRAND, rules, {}).needs_reply
    repost = post("2", "@AuroraAir why?").model_copy(update={"is_repost": True})
    assert judge(repost, BRAND, rules, {}).reason == "noise: a repost"


@pytest.mark.parametrize(("text", "expected"), [("why?", True), ("¿por qué", True), ("no question", False)])
def test_asks(text: str, expected: bool) -> None:
    assert asks(text) is expected
