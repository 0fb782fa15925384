"""An incident message as an e-mail: a subject, a plain-text body and the same content in HTML.

Built from the channel-neutral :class:`~monitor.alerts.notify.base.AlertMessage` and the shared
words of :mod:`monitor.alerts.notify.story`. Every message of one incident has the same subject
(replies prefixed ``Re:``), so mail clients that thread by subject agree with the headers.
Untrusted text (posts, authors, phrases) is escaped in the HTML and personal data is masked.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from monitor.alerts.notify.base import AlertMessage
from monitor.alerts.notify.story import KIND_TITLE, Figures, duration, story, summary_languages, summary_posts, title
from monitor.care.masking import mask
from monitor.models import Incident, IncidentState, Playbook

POST_CHARS = 500
SHOWN_POSTS = 3
SHOWN_PHRASES = 10

LEAD = {
    "alert": "Incident detected",
    "update": "Update",
    "escalation": "Escalated",
    "reminder": "Reminder",
    "resolved": "Resolved",
    "step": "Step done",
}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Part:
    """One paragraph: a heading (may be empty) and its lines, each with an optional link."""

    heading: str
    lines: tuple[tuple[str, str | None], ...]


def subject(message: AlertMessage) -> str:
    """The incident's title, the same for every message of it; replies start with ``Re:``."""
    found = title(message.incident)
    return found if message.kind == "alert" else f"Re: {found}"


def safe_link(url: str | None) -> str | None:
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def _figures(message: AlertMessage) -> Figures:
    incident = message.incident
    return Figures.of(message.summary, incident.spikes[0] if incident.spikes else None, incident.kind)


def _facts(message: AlertMessage) -> Part:
    incident, found = message.incident, _figures(message)
    lines = [f"Brand: {incident.brand}", f"Severity: {incident.severity.word.title()}",
             f"Kind: {KIND_TITLE[found.kind]}"]
    if found.observed is not None:
        lines.append(f"Size: {found.magnitude()}")
    if found.negative():
        lines.append(f"Negative share {found.judged}: {found.negative()}")
    if found.split:
        lines.append(f"Mentions {found.judged}: {found.sentiment()}")
    if message.playbook:
        lines.append(f"Playbook: {message.playbook.title}")
    return Part("", tuple((line, None) for line in lines))


def _steps(playbook: Playbook, incident: Incident) -> Part:
    lines = []
    for index, step in enumerate(playbook.steps, start=1):
        done = incident.step_done(index)
        if done is not None:
            lines.append(f"[done] {index}. {step.title} ({done.by}, {done.at:%Y-%m-%d %H:%M} UTC)")
            continue
        due = incident.opened_at + timedelta(minutes=step.due_minutes)
        lines.append(f"{index}. {step.title} ({step.owner}, due {due:%Y-%m-%d %H:%M} UTC,"
                     f" +{duration(step.due_minutes)})")
    return Part(f"Playbook: {playbook.title}", tuple((line, None) for line in lines))


def _holding(playbook: Playbook, brand: str, summary: dict[str, Any]) -> list[Part]:
    available = playbook.holding_statement
    default = "en" if "en" in available else next(iter(available))
    main = next((lang for lang in summary_languages(summary) if lang in available), default)
    return [Part(f"Holding statement ({language})", ((available[language].replace("{brand}", brand), None),))
            for language in [main] + ([default] if main != default else [])]


def quoted(text: str) -> str:
    """A post in quotes on one line: personal data masked, cut at ``POST_CHARS``."""
    flat = " ".join(mask(text).split())
    flat = flat if len(flat) <= POST_CHARS else flat[:POST_CHARS - 1].rstrip() + "…"
    return f"“{flat or '(no text)'}”"


def _posts(summary: dict[str, Any]) -> Part:
    lines: list[tuple[str, str | None]] = []
    for post in summary_posts(summary)[:SHOWN_POSTS]:
        meta = [str(post.get("author") or "unknown author"),
                *[str(post[k]) for k in ("language", "sentiment") if post.get(k)]]
        lines += [(quoted(str(post.get("text") or "")), None), (" · ".join(meta), safe_link(post.get("url")))]
    return Part("Representative posts", tuple(lines))


def _footer(message: AlertMessage) -> Part:
    incident = message.incident
    opened = f"Incident {incident.id}, opened {incident.opened_at:%Y-%m-%d %H:%M} UTC"
    lines: list[tuple[str, str | None]] = [(opened, None)]
    if safe_link(message.dashboard_url):
        lines.append(("Open in the dashboard", message.dashboard_url))
    return Part("", tuple(lines))


def _opening(message: AlertMessage) -> str:
    incident = message.incident
    if message.kind == "alert":
        told = story(incident, message.summary) if message.summary else message.headline
        return f"{incident.severity.word.title()}: {told}"
    if message.kind == "resolved":
        open_for = duration((incident.updated_at - incident.opened_at).total_seconds() / 60)
        closing = (f"Marked as a false alarm after {open_for}." if incident.state == IncidentState.FALSE_ALARM
                   else f"Open for {open_for}; state {incident.state.value.replace('_', ' ')}.")
        return f"{LEAD['resolved']}: {message.headline} {closing}"
    if message.kind == "escalation":
        return f"Escalated to {incident.severity.word}: {message.headline}"
    if message.kind == "reminder":
        return f"Reminder, still {incident.state.value.replace('_', ' ')}: {message.headline}"
    return f"{LEAD[message.kind]}: {message.headline}"


def parts(message: AlertMessage) -> list[Part]:
    """The paragraphs of ``message``, in order, before they are written as text or HTML."""
    incident, playbook, summary = message.incident, message.playbook, message.summary
    found: list[Part] = [Part("", ((_opening(message), None),))]
    if message.kind == "alert":
        found.append(_facts(message))
        phrases = [str(p) for p in summary.get("key_phrases") or [] if p][:SHOWN_PHRASES]
        if phrases:
            found.append(Part("Key phrases", ((" · ".join(f"“{p}”" for p in phrases), None),)))
        if summary_posts(summary):
            found.append(_posts(summary))
    elif message.kind not in ("resolved", "step"):
        numbers = _figures(message)
        figures = [n for n in (numbers.magnitude(), numbers.negative() and f"negative share {numbers.negative()}")
                   if n and n not in message.headline]
        if figures:
            found.append(Part("", ((" · ".join(figures), None),)))
    if playbook and message.kind in ("alert", "reminder", "step"):
        found.append(_steps(playbook, incident))
    if playbook and message.kind == "alert":
        found += _holding(playbook, incident.brand, summary)
        if playbook.move_to_private:
            found.append(Part("When to move to private messages", ((playbook.move_to_private, None),)))
    if playbook and message.kind == "escalation" and playbook.escalation_contacts:
        found.append(Part("Escalation contacts", ((", ".join(playbook.escalation_contacts), None),)))
    found.append(_footer(message))
    return found


def as_text(found: list[Part]) -> str:
    """The paragraphs as plain text, headings underlined, links in angle brackets."""
    blocks = []
    for part in found:
        lines = [f"{line} <{url}>" if url else line for line, url in part.lines]
        blocks.append("\n".join(([part.heading, "-" * len(part.heading)] if part.heading else []) + lines))
    return "\n\n".join(blocks) + "\n"


def as_html(found: list[Part], heading: str) -> str:
    """The paragraphs as an HTML page under ``heading``, untrusted text escaped."""
    body = [f"<h2>{html.escape(heading)}</h2>"]
    for part in found:
        if part.heading:
            body.append(f"<h3>{html.escape(part.heading)}</h3>")
        lines = [f'<a href="{html.escape(url)}">{html.escape(line)}</a>' if url else html.escape(line)
                 for line, url in part.lines]
        body.append("<p>" + "<br>\n".join(lines) + "</p>")
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n<body style="font-family: sans-serif">\n'
            + "\n".join(body) + "\n</body></html>\n")


def render(message: AlertMessage) -> RenderedEmail:
    """The subject, plain text and HTML of ``message``."""
    found = parts(message)
    return RenderedEmail(subject=subject(message), text=as_text(found), html=as_html(found, title(message.incident)))
