"""Customer care in the demo: customers' questions to the airlines' handles, and their teams' answers.

``customer_rows`` adds questions to Aurora Air's handle and to its competitors' (configured as
brands with handles), from their own random stream so the scenario's rows stay as they were. The
competitors' answers are decided there too. Aurora Air's team (:class:`CareTeam`) instead reads
what the pipeline stored, judges it with the config's care rules, and answers as its handle by
appending replies to the import file: some on time, some late (more so in the crisis, when its
hourly capacity runs out), some never.
"""

from __future__ import annotations

import json
import random
import string
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.care.rules import handle_set, judge
from monitor.care.settings import CareConfig
from monitor.care.templates import AnswerTemplates, suggest
from monitor.demo.scenario import Scenario, created_at
from monitor.models import Author, Mention
from monitor.store.base import MentionFilter, Store

SOURCES = ("twitter", "bluesky", "mastodon")


@dataclass(frozen=True)
class TeamPolicy:
    """How a care team answers: which share, how fast (minutes, uniform), how many per hour at most."""

    answer_share: float
    late_share: float
    on_time_minutes: tuple[float, float]
    late_minutes: tuple[float, float]
    per_hour: int

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> TeamPolicy:
        return cls(answer_share=float(raw["answer_share"]), late_share=float(raw["late_share"]),
                   on_time_minutes=tuple(raw["on_time_minutes"]), late_minutes=tuple(raw["late_minutes"]),
                   per_hour=int(raw["per_hour"]))

    def delay(self, rng: random.Random) -> timedelta | None:
        """How long after the post its answer comes, or None when it never does."""
        if rng.random() >= self.answer_share:
            return None
        low, high = self.late_minutes if rng.random() < self.late_share else self.on_time_minutes
        return timedelta(minutes=rng.uniform(low, high))


def _row(number: int, prefix: str, source: str, author: str, text: str, moment: datetime, language: str,
         **extra: Any) -> dict[str, Any]:
    return {"id": f"{prefix}-{number:06d}", "source": source, "author": author, "text": text,
            "created_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "language": language, "likes": 0, "shares": 0,
            "replies": 0, "url": f"https://x.example.org/{author}/status/{prefix}-{number:06d}", **extra}


def _reference(rng: random.Random) -> str:
    """A booking reference like airlines give: six letters and digits (``K7QX2M``)."""
    letter, digit = string.ascii_uppercase, string.digits
    return "".join(rng.choice(pool) for pool in (letter, digit, letter, letter, digit, letter))


def _answer(number: int, prefix: str, handle: str, moment: datetime, text: str, source: str, language: str,
            parent: str) -> dict[str, Any]:
    """A reply row of the file import: ``is_reply`` with the answered row's ``parent_id``."""
    return _row(number, prefix, source, handle, text, moment, language, is_reply=True, parent_id=parent)


def _as_mention(row: dict[str, Any], brand: str) -> Mention:
    return Mention(id=row["id"], brand=brand, source=row["source"], text=row["text"], created_at=created_at(row),
                   collected_at=created_at(row), language=row["language"], author=Author(handle=row["author"]))


def customer_rows(scenario: Scenario, care: dict[str, Any], slots: dict[str, Any], authors: dict[str, Any],
                  templates: dict[str, AnswerTemplates], seed: int = 11) -> list[dict[str, Any]]:
    """Questions to every handle in ``care`` over the scenario, and the competitors' answers, by time."""
    rng = random.Random(seed)
    questions = care["questions"]
    languages = sorted(questions)
    targets = [(care["handle"], scenario.brand, float(care["per_hour"]), None, "cq")]
    targets += [(r["handle"], r["name"], float(r["per_hour"]), TeamPolicy.parse(r["team"]), f"r{n}")
                for n, r in enumerate(care["rivals"])]
    rows: list[dict[str, Any]] = []
    for handle, brand, per_hour, policy, prefix in targets:
        moment, number = scenario.start, 0
        while True:
            moment += timedelta(hours=rng.expovariate(per_hour))
            if moment >= scenario.end:
                break
            number += 1
            language = rng.choice(languages)
            city = rng.choice(slots[language]["city"])
            text = rng.choice(questions[language]).format(handle=handle, city=city, ref=_reference(rng))
            author = f"{rng.choice(authors[language])}{rng.randint(1, 99)}"
            post = _row(number, prefix, rng.choice(SOURCES), author, text, moment, language)
            rows.append(post)
            wait = policy.delay(rng) if policy else None
            if wait is not None and moment + wait < scenario.end:
                answer = suggest(_as_mention(post, brand), "question", brand, templates)
                rows.append(_answer(number, f"{prefix}a", handle, moment + wait, answer, post["source"], language,
                                    post["id"]))
    return sorted(rows, key=created_at)


class CareTeam:
    """Aurora Air's care team: answers the stored posts its care rules say need an answer."""

    def __init__(self, brand: str, handle: str, care: CareConfig, policy: TeamPolicy,
                 templates: dict[str, AnswerTemplates], seed: int = 13):
        self.brand, self.handle, self.care, self.policy = brand, handle, care, policy
        self.templates, self.seed = templates, seed
        self._seen: datetime | None = None
        self._pending: list[tuple[datetime, dict[str, Any]]] = []
        self._per_hour: Counter[datetime] = Counter()
        self._number = 0

    def _slot(self, moment: datetime) -> datetime:
        """``moment``, or the start of the first later hour the team still has time in."""
        hour = moment.replace(minute=0, second=0, microsecond=0)
        while self._per_hour[hour] >= self.policy.per_hour:
            hour += timedelta(hours=1)
            moment = max(moment, hour)
        self._per_hour[hour] += 1
        return moment

    def _plan(self, mention: Mention, tag: str) -> None:
        wait = self.policy.delay(random.Random(f"{self.seed}:{mention.id}"))
        if wait is None:
            return
        moment = self._slot(max(mention.created_at + wait, mention.collected_at + timedelta(minutes=1)))
        self._number += 1
        text = suggest(mention, tag, self.brand, self.templates)
        self._pending.append((moment, _answer(self._number, "aa", self.handle, moment, text, mention.source,
                                              mention.language or "en", mention.id.split(":", 1)[1])))

    def act(self, store: Store, now: datetime, feed: Path) -> int:
        """Plan answers to the posts stored since the last call; append those due by ``now`` to ``feed``."""
        handles = handle_set([self.handle])
        since = self._seen or datetime.min.replace(tzinfo=now.tzinfo)
        fresh = store.search(MentionFilter(brands=[self.brand], since=since, until=now, limit=10_000,
                                           newest_first=False))
        for mention in fresh:
            verdict = judge(mention, handles, self.care.rules, {})
            if verdict.needs_reply:
                self._plan(mention, verdict.tag)
        self._seen = now
        due = sorted((p for p in self._pending if p[0] < now), key=lambda p: p[0])
        self._pending = [p for p in self._pending if p[0] >= now]
        if due:
            with feed.open("a", encoding="utf-8") as handle:
                handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for _, row in due)
        return len(due)


def rival_brands(care: dict[str, Any], source: dict[str, Any]) -> list[dict[str, Any]]:
    """The competitors as demo config brands, reading the same import file hourly (fewer scoring calls)."""
    return [{"name": r["name"], "query": r["query"], "handles": [r["handle"]], "sources": [source | {"every": "1h"}]}
            for r in care["rivals"]]
