"""The daily digest in Block Kit: the day's figures, its top posts and the incidents still open."""

from __future__ import annotations

from typing import Any

from monitor.alerts.notify.delivery import incident_link
from monitor.alerts.notify.slack.blocks import (
    MAX_BLOCKS,
    MAX_HEADER,
    MAX_SECTION,
    SENTIMENT_ICON,
    clip,
    clip_plain,
    escape,
    link,
    post_text,
)
from monitor.alerts.notify.story import title
from monitor.daily.digest import DailyDigest
from monitor.localtime import shown
from monitor.models import Incident, Mention


def _sentiment_line(digest: DailyDigest) -> str:
    scored = sum(digest.sentiment.values())
    if not scored:
        return "No sentiment scored yet."
    parts = [f"{SENTIMENT_ICON[label]} {count:,} {label} ({count / scored:.0%})"
             for label, count in digest.sentiment.items() if label in SENTIMENT_ICON]
    return " · ".join(parts)


def _post(mention: Mention) -> str:
    post = {"text": mention.text, "author": mention.author.handle or mention.author.name,
            "language": mention.language, "sentiment": mention.sentiment.label if mention.sentiment else None,
            "url": mention.url}
    return f"*{mention.engagement.total:,} interactions* · {escape(mention.source)}\n{post_text(post)}"


def _incident(incident: Incident, digest: DailyDigest) -> str:
    label = escape(title(incident, digest.zone))
    url = incident_link(digest.dashboard_url, incident.id)
    state = incident.state.value.replace("_", " ")
    return f"• {link(url, label) if url else label} · {incident.severity.word} · {state}"


def daily_blocks(digest: DailyDigest) -> list[dict[str, Any]]:
    """Header, the day's volume and sentiment, the top posts, then the incidents still open."""
    day = f"{digest.day:%a %d %b %Y}"
    span = f"{shown(digest.start, digest.zone, '%H:%M')} to {shown(digest.end, digest.zone, '%H:%M')}"
    header = {"type": "header", "text": {"type": "plain_text",
                                         "text": clip_plain(f"{digest.brand}: daily digest for {day}", MAX_HEADER)}}
    figures = f"*{digest.mentions:,} mentions* ({digest.zone.key}, {span})\n{_sentiment_line(digest)}"
    blocks: list[dict[str, Any]] = [header, {"type": "section", "text": {"type": "mrkdwn", "text": figures}}]
    if digest.top_posts:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Top posts by interactions*"}})
        blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": clip(_post(m), MAX_SECTION)}}
                   for m in digest.top_posts]
    if digest.open_incidents:
        lines = [_incident(incident, digest) for incident in digest.open_incidents]
        text = f"*Open incidents ({len(lines)})*\n" + "\n".join(lines)
    else:
        text = "*Open incidents*: none"
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION)}})
    return blocks[:MAX_BLOCKS]
