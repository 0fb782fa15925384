"""Which posts need an answer: addressed to the brand, then the first matching routing rule.

A post is *addressed* to a brand when it mentions one of its handles, replies to a post by
one of them, or belongs to a thread one of them started (the brand's own channels). A brand
without handles cannot be told apart from its customers, so all its posts count as addressed.
The brand's own posts and plain reposts are never customer posts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from monitor.alerts.incidents.playbooks import fold, keyword_pattern
from monitor.care.settings import CareRule
from monitor.models import Mention

_HANDLE = re.compile(r"(?<![\w@])@([\w.]+)")
_QUESTION = ("?", "？", "¿", "؟")


def normalise_handle(handle: str) -> str:
    """``@AuroraAir`` → ``auroraair``: handles compare without ``@`` and case."""
    return handle.strip().lstrip("@").casefold()


def handle_set(handles: Sequence[str]) -> frozenset[str]:
    return frozenset(normalise_handle(h) for h in handles if normalise_handle(h))


def is_by(mention: Mention, handles: frozenset[str]) -> bool:
    """Whether one of ``handles`` wrote ``mention``."""
    return bool(mention.author.handle) and normalise_handle(mention.author.handle or "") in handles


def asks(text: str) -> bool:
    """Whether the text asks something (a question mark in any script)."""
    return any(mark in text for mark in _QUESTION)


@dataclass(frozen=True)
class Verdict:
    """Whether a post needs an answer, the tag its rule gives it, and why (shown for noise too)."""

    needs_reply: bool
    tag: str
    reason: str


def addressed(mention: Mention, handles: frozenset[str], by_id: Mapping[str, Mention]) -> bool:
    """Whether ``mention`` speaks to the brand (see the module's docstring)."""
    if not handles:
        return True
    if {normalise_handle(h) for h in _HANDLE.findall(mention.text)} & handles:
        return True
    for linked in (mention.reply_to, mention.conversation):
        parent = by_id.get(linked) if linked else None
        if parent is not None and parent.id != mention.id and is_by(parent, handles):
            return True
    return False


def rule_matches(rule: CareRule, mention: Mention) -> bool:
    """Whether ``mention`` meets every condition ``rule`` sets."""
    if rule.languages and (mention.language or "") not in rule.languages:
        return False
    if rule.sentiments and (mention.sentiment is None or mention.sentiment.label not in rule.sentiments):
        return False
    if rule.question is not None and asks(mention.text) != rule.question:
        return False
    if rule.keywords:
        folded = fold(mention.text)
        return any(keyword_pattern(k).search(folded) for k in rule.keywords)
    return True


def judge(mention: Mention, handles: frozenset[str], rules: Sequence[CareRule],
          by_id: Mapping[str, Mention]) -> Verdict:
    """Whether ``mention`` needs an answer from the brand with ``handles``, by ``rules``."""
    if is_by(mention, handles):
        return Verdict(False, "", "the brand's own post")
    if mention.is_repost:
        return Verdict(False, "", "noise: a repost")
    if not addressed(mention, handles, by_id):
        return Verdict(False, "", "noise: not addressed to the brand (no handle, not on its threads)")
    for rule in rules:
        if rule_matches(rule, mention):
            if rule.action == "ignore":
                return Verdict(False, rule.tag, f"noise: rule {rule.name!r}")
            return Verdict(True, rule.tag, f"rule {rule.name!r}")
    return Verdict(False, "", "noise: addressed to the brand but no rule asks for an answer")
