"""The care digest and the daily digest as e-mails: the figures and posts Slack shows, in text and HTML."""

from __future__ import annotations

from monitor.alerts.notify.delivery import incident_link
from monitor.alerts.notify.email.render import Part, RenderedEmail, as_html, as_text, quoted, safe_link
from monitor.alerts.notify.story import title
from monitor.care.digest import Digest
from monitor.care.queue import format_left
from monitor.daily.digest import DailyDigest
from monitor.localtime import shown
from monitor.models import SENTIMENT_LABELS, Mention

SHOWN = 20
"""Waiting posts listed in one care digest; the rest are counted."""


def care_digest(digest: Digest) -> RenderedEmail:
    """The waiting posts of one care channel, oldest first, each with its time left or late."""
    found: list[Part] = [Part("", ((digest.text() + ".", None),))]
    for brand, item in digest.items[:SHOWN]:
        meta = " · ".join(part for part in (item.author, item.language, item.sentiment) if part)
        found.append(Part(f"{brand} · {item.source} · {format_left(item.time_left)}",
                          ((quoted(item.text), None), (meta, safe_link(item.url)))))
    if len(digest.items) > SHOWN:
        more = f"and {len(digest.items) - SHOWN} more: `monitor care queue` or the dashboard's Customer care page"
        found.append(Part("", ((more, None),)))
    heading = "Customer care digest"
    return RenderedEmail(subject=digest.text(), text=as_text(found), html=as_html(found, heading))


def _sentiment_line(digest: DailyDigest) -> str:
    scored = sum(digest.sentiment.values())
    if not scored:
        return "No sentiment scored yet."
    return " · ".join(f"{digest.sentiment.get(label, 0):,} {label} ({digest.sentiment.get(label, 0) / scored:.0%})"
                      for label in SENTIMENT_LABELS)


def _post(mention: Mention) -> tuple[tuple[str, str | None], ...]:
    meta = [f"{mention.engagement.total:,} interactions", mention.source,
            mention.author.handle or mention.author.name or "unknown author",
            *([mention.language] if mention.language else []),
            *([mention.sentiment.label] if mention.sentiment else [])]
    return (quoted(mention.text), None), (" · ".join(meta), safe_link(mention.url))


def daily_digest(digest: DailyDigest) -> RenderedEmail:
    """One brand's day: volume and sentiment, the top posts, the incidents still open."""
    day = f"{digest.day:%a %d %b %Y}"
    span = f"{shown(digest.start, digest.zone, '%H:%M')} to {shown(digest.end, digest.zone, '%H:%M')}"
    heading = f"{digest.brand}: daily digest for {day}"
    found = [Part("", ((f"{digest.mentions:,} mention{'' if digest.mentions == 1 else 's'} ({digest.zone.key}, {span})", None),
                       (_sentiment_line(digest), None)))]
    if digest.top_posts:
        found.append(Part("Top posts by interactions", tuple(line for m in digest.top_posts for line in _post(m))))
    incidents = tuple((f"{title(i, digest.zone)} · {i.severity.word} · {i.state.value.replace('_', ' ')}",
                       safe_link(incident_link(digest.dashboard_url, i.id))) for i in digest.open_incidents)
    found.append(Part(f"Open incidents ({len(incidents)})", incidents or (("none", None),)))
    return RenderedEmail(subject=heading, text=as_text(found), html=as_html(found, heading))
