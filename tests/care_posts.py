"""Mentions for the customer-care tests: customer posts and the brand's answers on one clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from monitor.models import Author, Mention, Sentiment, SentimentLabel

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
