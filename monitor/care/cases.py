"""Care cases: each customer post that needs an answer, with the brand's first answer and what followed.

An answer is a post by one of the brand's handles whose ``reply_to`` is the customer's post
(the collectors' reply link; ``is_reply`` + ``parent_id`` in the file import). The first
response time runs from the post's creation to the earliest answer, whenever either was
collected, and is never negative. Competitors with ``handles`` are measured the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator, Sequence

from monitor.care.rules import Verdict, handle_set, is_by, judge, normalise_handle
from monitor.care.settings import CareConfig
from monitor.models import Mention
from monitor.store.base import MentionFilter, Store

PAGE = 1000


@dataclass(frozen=True)
class CarePost:
    """A customer's post that needs an answer, and how the brand answered it."""

    mention: Mention
    verdict: Verdict
    target: timedelta
    answer: Mention | None = None
    """The brand's first answer."""
    last_word: Mention | None = None
    """The author's last post in the thread after that answer, if they wrote again."""

    @property
    def response_time(self) -> timedelta | None:
        if self.answer is None:
            return None
        return max(self.answer.created_at - self.mention.created_at, timedelta(0))

    @property
    def within_target(self) -> bool:
        return self.response_time is not None and self.response_time <= self.target

    @property
    def resolved(self) -> bool:
        """Answered, and the author either did not write again or their last word was positive."""
        if self.answer is None:
            return False
        if self.last_word is None:
            return True
        return self.last_word.sentiment is not None and self.last_word.sentiment.label == "positive"

    def waited(self, now: datetime) -> timedelta:
        """How long the post has waited (for an answer, or until it came)."""
        end = self.answer.created_at if self.answer is not None else now
        return max(end - self.mention.created_at, timedelta(0))


def load_mentions(store: Store, brand: str, since: datetime, until: datetime) -> list[Mention]:
    """Every stored mention of ``brand`` created in ``[since, until]``, oldest first."""
    found: list[Mention] = []
    while True:
        page = store.search(MentionFilter(brands=[brand], since=since, until=until, newest_first=False,
                                          limit=PAGE, offset=len(found)))
        found += page
        if len(page) < PAGE:
            return found


def _follow_ups(post: Mention, answers: Sequence[Mention], thread: Sequence[Mention]) -> Iterator[Mention]:
    """The author's posts in the thread after the first answer."""
    author = normalise_handle(post.author.handle or "")
    answer_ids = {a.id for a in answers}
    for other in thread:
        if (other.id != post.id and author and normalise_handle(other.author.handle or "") == author
                and other.created_at > answers[0].created_at
                and (other.reply_to in answer_ids or (post.conversation and other.conversation == post.conversation))):
            yield other


def build_cases(mentions: Sequence[Mention], handles: Sequence[str], care: CareConfig,
                since: datetime | None = None) -> list[CarePost]:
    """The posts among ``mentions`` (created from ``since`` on) that need an answer, oldest first."""
    brand_handles = handle_set(handles)
    by_id = {m.id: m for m in mentions}
    answers: dict[str, list[Mention]] = {}
    for mention in sorted(mentions, key=lambda m: m.created_at):
        if mention.reply_to and is_by(mention, brand_handles):
            answers.setdefault(mention.reply_to, []).append(mention)
    threads: dict[str, list[Mention]] = {}
    for mention in mentions:
        for key in {mention.conversation, mention.reply_to} - {None}:
            threads.setdefault(key, []).append(mention)
    cases = []
    for mention in sorted(mentions, key=lambda m: m.created_at):
        if since is not None and mention.created_at < since:
            continue
        verdict = judge(mention, brand_handles, care.rules, by_id)
        if not verdict.needs_reply:
            continue
        given = answers.get(mention.id, [])
        thread = [*threads.get(mention.conversation or "", []), *(m for a in given for m in threads.get(a.id, []))]
        later = sorted(_follow_ups(mention, given, thread), key=lambda m: m.created_at) if given else []
        cases.append(CarePost(mention=mention, verdict=verdict, target=care.target_for(mention.source),
                              answer=given[0] if given else None, last_word=later[-1] if later else None))
    return cases
