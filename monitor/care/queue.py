"""The care queue: customer posts still waiting for an answer, oldest first, personal data masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping, Sequence

from monitor.care.cases import CarePost
from monitor.care.masking import has_personal_data, mask
from monitor.care.templates import AnswerTemplates, suggest


@dataclass(frozen=True)
class QueueItem:
    """One post awaiting an answer, as the queue shows it (text and answer already masked)."""

    id: str
    created_at: datetime
    source: str
    language: str
    sentiment: str
    author: str
    url: str
    text: str
    tag: str
    target: timedelta
    time_left: timedelta
    """Negative once the target has passed."""
    suggested_answer: str
    personal_data: bool

    @property
    def overdue(self) -> bool:
        return self.time_left < timedelta(0)

    def past_share(self, share: float) -> bool:
        """Whether the post has waited longer than ``share`` of its target."""
        return self.target - self.time_left > self.target * share


def queue(cases: Sequence[CarePost], brand: str, templates: Mapping[str, AnswerTemplates],
          now: datetime) -> list[QueueItem]:
    """The unanswered ``cases`` created by ``now``, oldest first."""
    waiting = sorted((c for c in cases if c.answer is None and c.mention.created_at <= now),
                     key=lambda c: (c.mention.created_at, c.mention.id))
    items = []
    for case in waiting:
        post = case.mention
        items.append(QueueItem(
            id=post.id, created_at=post.created_at, source=post.source, language=post.language or "",
            sentiment=post.sentiment.label if post.sentiment else "", author=post.author.handle or "",
            url=post.url or "", text=mask(post.text), tag=case.verdict.tag, target=case.target,
            time_left=case.target - case.waited(now),
            suggested_answer=mask(suggest(post, case.verdict.tag, brand, templates)),
            personal_data=has_personal_data(post.text),
        ))
    return items


def format_left(left: timedelta) -> str:
    """``1h 05m left`` or ``0h 20m late``."""
    minutes = int(abs(left).total_seconds() // 60)
    return f"{minutes // 60}h {minutes % 60:02d}m {'late' if left < timedelta(0) else 'left'}"
