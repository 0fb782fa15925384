"""Mentions for the customer-care tests: customer posts and the brand's answers on one clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from monitor.models import Author, Mention, Sentiment, SentimentLabel
from monitor.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
BRAND = "Aurora Air"
HANDLES = ["@AuroraAir"]


def post(external: str, text: str, minute: float = 0, *, author: str = "dana", source: str = "twitter",
         sentiment: SentimentLabel | None = "negative", reply_to: str | None = None,
         conversation: str | None = None, language: str = "en", collected_minute: float | None = None,
         name: str | None = None, brand: str = BRAND) -> Mention:
    """A mention ``minute`` minutes after :data:`T0`; ``reply_to`` is an external id of the same source."""
    created = T0 + timedelta(minutes=minute)
    collected = T0 + timedelta(minutes=collected_minute if collected_minute is not None else minute + 1)
    return Mention(
        id=Mention.make_id(source, external), brand=brand, source=source, text=text, created_at=created,
        collected_at=collected, url=f"https://x.example.org/{author}/{external}",
        author=Author(handle=author, name=name), language=language,
        sentiment=Sentiment(label=sentiment, score=0.9, probabilities={sentiment: 0.9}) if sentiment else None,
        reply_to=Mention.make_id(source, reply_to) if reply_to else None,
        conversation=Mention.make_id(source, conversation) if conversation else None,
    )


def answer(external: str, to: str, minute: float, *, author: str = "AuroraAir", source: str = "twitter",
           **kwargs) -> Mention:
    """The brand (or ``author``) answering post ``to``."""
    return post(external, "Hi, we're on it", minute, author=author, source=source, reply_to=to,
                sentiment="neutral", **kwargs)


def hand_worked() -> list[Mention]:
    """Five posts needing an answer (target 2 h); by hand:

    p1 answered after 30 min, p2 after 150 (late), p3 never (only another account and a
    competitor replied), p4 after 60 (the answer collected before the post), p5 on Reddit after
    60 (a tie with p4). Minutes [30, 60, 60, 150]: median 60, p90 150 (4th of 4).
    """
    return [
        post("p1", "@AuroraAir where is my bag?", 0, author="dana"),
        answer("a1", "p1", 30),
        post("f1", "found it, thanks", 45, author="dana", reply_to="a1", sentiment="positive"),
        post("p2", "@AuroraAir flight cancelled and no info", 10, author="erin"),
        answer("a2", "p2", 160),
        post("f2", "still nothing.", 170, author="erin", reply_to="a2", sentiment="neutral"),
        post("p3", "@AuroraAir anyone there?", 20, author="carl", sentiment="neutral"),
        answer("x3", "p3", 25, author="lee"),
        answer("y3", "p3", 26, author="NordwindAir"),
        post("p4", "@AuroraAir can I rebook?", 30, author="finn", sentiment="neutral", collected_minute=200),
        answer("a4", "p4", 90),
        post("p5", "@AuroraAir refund?", 40, author="gus", source="reddit", sentiment="neutral"),
        answer("a5", "p5", 100, source="reddit"),
        post("n1", "Aurora Air crew were lovely", 50, author="hana", sentiment="positive"),
    ]


RIVAL = "Nordwind Airways"


def rival_posts() -> list[Mention]:
    """The competitor: two posts needing an answer, one answered after 10 minutes."""
    return [
        post("r1", "@NordwindAir lost my bag?", 5, author="ola", brand=RIVAL),
        answer("ra1", "r1", 15, author="NordwindAir", brand=RIVAL),
        post("r2", "@NordwindAir where is my refund?", 6, author="ivo", brand=RIVAL),
    ]


def seeded_config(folder: Path) -> Path:
    """A SQLite store with :func:`hand_worked` and :func:`rival_posts`, and its ``monitor.yaml``."""
    with SqliteStore(folder / "care.db") as store:
        store.add_mentions(hand_worked())
        store.add_mentions(rival_posts())
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump({
        "storage": {"path": "care.db"},
        "brands": [{"name": BRAND, "handles": HANDLES, "competitors": [RIVAL, "Ghost Air"]},
                   {"name": RIVAL, "handles": ["NordwindAir"]}],
    }))
    return path
