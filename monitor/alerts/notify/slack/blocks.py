"""Slack Block Kit for incident messages, kept within Slack's size limits.

Untrusted text (posts, authors, key phrases) is escaped so it can neither break the
markup nor ping ``@channel``; every text is clipped without cutting an entity or a link.
Lengths are counted in UTF-16 code units, the strictest way Slack may count them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from monitor.alerts.incidents.outcomes import Outcome, before_text, times_text
from monitor.alerts.notify.base import AlertMessage
from monitor.alerts.notify.story import KIND_TITLE, Figures, duration, story, summary_languages, summary_posts
from monitor.care.masking import mask
from monitor.localtime import shown
from monitor.models import Incident, IncidentState, Playbook, Severity

MAX_BLOCKS = 50
MAX_TEXT = 40000
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_URL = 3000
POST_CHARS = 500
SHOWN_POSTS = 3
SHOWN_STEPS = 3
SHOWN_PHRASES = 10

ACTIONS = (
    ("incident_ack", "Acknowledge", "primary"),
    ("incident_escalate", "Escalate", "danger"),
    ("incident_resolve", "Resolve", None),
    ("incident_false_alarm", "False alarm", None),
    ("incident_silence", "Silence 4h", None),
)
DASHBOARD_ACTION = "incident_open_dashboard"
STEP_ACTION = "incident_step"
STEP_SEPARATOR = "#"
MAX_OPTIONS = 100
MAX_OPTION_VALUE = 150
SEVERITY_ICON = {Severity.LOW: "🟡", Severity.MEDIUM: "🟠", Severity.HIGH: "🔴", Severity.CRITICAL: "🚨"}
SENTIMENT_ICON = {"negative": "😠", "neutral": "😐", "positive": "🙂"}
_CONFIRM = {
    "incident_resolve": "Mark this incident as resolved? The thread gets a final message.",
    "incident_false_alarm": "Mark this incident as a false alarm? It is closed and used to tune detection.",
    "incident_silence": "Hold this brand's alerts for 4 hours? Incidents are still recorded.",
}


@dataclass(frozen=True)
class Rendered:
    """What to post: the notification ``text`` and the ``blocks``."""

    text: str
    blocks: list[dict[str, Any]]


# -- text helpers -------------------------------------------------------------------------


def units(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _prefix(text: str, limit: int) -> str:
    return text.encode("utf-16-le")[: 2 * max(limit, 0)].decode("utf-16-le", "ignore")


def clip_plain(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` units with an ellipsis when it was longer."""
    return text if units(text) <= limit else _prefix(text, limit - 1).rstrip() + "…"


def clip(text: str, limit: int) -> str:
    """Like :func:`clip_plain` for mrkdwn: never ends inside ``&amp;`` or ``<url|label>``."""
    if units(text) <= limit:
        return text
    cut = _prefix(text, limit - 1)
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    if cut.rfind("&") > cut.rfind(";"):
        cut = cut[: cut.rfind("&")]
    return cut.rstrip() + "…"


def escape(text: str) -> str:
    """Escape the three characters mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_url(url: str | None) -> str | None:
    """``url`` if it is http(s) and short enough to link, with markup characters quoted."""
    if not url or urlsplit(url).scheme not in ("http", "https"):
        return None
    quoted = quote(url, safe=":/?#[]@!$&'()*+,;=%~")
    return quoted if units(quoted) <= MAX_URL else None


def link(url: str | None, label: str) -> str:
    """A mrkdwn link, or just the escaped label when the URL is unusable."""
    target = safe_url(url)
    return f"<{escape(target)}|{escape(label)}>" if target else escape(label)


def clock(moment: datetime, tz: ZoneInfo) -> str:
    """A time Slack shows in each reader's time zone, with a fallback in ``tz`` that names it."""
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{shown(moment, tz, '%Y-%m-%d %H:%M')}>"


# -- block builders -----------------------------------------------------------------------


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION)}}


def _context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(t, MAX_FIELD)} for t in texts[:10]]}


def _button(action_id: str, label: str, value: str, style: str | None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": clip_plain(label, MAX_BUTTON), "emoji": True},
        "value": clip_plain(value, 2000),
    }
    if style:
        button["style"] = style
    if action_id in _CONFIRM:
        button["confirm"] = {
            "title": {"type": "plain_text", "text": "Are you sure?"},
            "text": {"type": "plain_text", "text": _CONFIRM[action_id]},
            "confirm": {"type": "plain_text", "text": label},
            "deny": {"type": "plain_text", "text": "Cancel"},
        }
    return button


def step_option(incident_id: str, number: int) -> str:
    """The value a step menu option carries: the incident and the step number."""
    return f"{incident_id}{STEP_SEPARATOR}{number}"


def parse_step_option(value: str) -> tuple[str, int] | None:
    """The incident id and step number in a step option's value, or None when it is not one."""
    incident_id, _, number = value.rpartition(STEP_SEPARATOR)
    return (incident_id, int(number)) if incident_id and number.isdigit() else None


def step_select(incident: Incident, playbook: Playbook) -> dict[str, Any]:
    """A menu of the playbook's steps not yet done; choosing one marks it done."""
    options = [
        {"text": {"type": "plain_text", "text": clip_plain(f"{number}. {step.title}", MAX_BUTTON)},
         "value": step_option(incident.id, number)}
        for number, step in enumerate(playbook.steps, start=1) if incident.step_done(number) is None
    ]
    return {"type": "static_select", "action_id": STEP_ACTION, "options": options[:MAX_OPTIONS],
            "placeholder": {"type": "plain_text", "text": "Mark a step done"}}


def actions(incident: Incident, dashboard_url: str, playbook: Playbook | None = None) -> dict[str, Any]:
    """Acknowledge / Escalate / Resolve / False alarm, the steps menu, and a link to the dashboard."""
    elements = [_button(action_id, label, incident.id, style) for action_id, label, style in ACTIONS]
    fits = len(step_option(incident.id, MAX_OPTIONS)) <= MAX_OPTION_VALUE
    menu = step_select(incident, playbook) if playbook and fits else None
    if menu and menu["options"]:
        elements.append(menu)
    url = safe_url(dashboard_url)
    if url:
        elements.append({
            "type": "button",
            "action_id": DASHBOARD_ACTION,
            "text": {"type": "plain_text", "text": "Open in dashboard", "emoji": True},
            "url": url,
        })
    return {"type": "actions", "block_id": f"incident:{incident.id}"[:255], "elements": elements}


def steps_text(playbook: Playbook, incident: Incident, tz: ZoneInfo, count: int = SHOWN_STEPS) -> str:
    """The playbook's first steps with owners and deadlines as clock times (fallbacks in ``tz``); done ones ticked."""
    lines = [f"*Playbook: {escape(playbook.title)}*"]
    for index, step in enumerate(playbook.steps[:count], start=1):
        done = incident.step_done(index)
        if done is not None:
            lines.append(f"✅ ~{index}. {escape(step.title)}~  {escape(done.by)} · {clock(done.at, tz)}")
            continue
        due = incident.opened_at + timedelta(minutes=step.due_minutes)
        lines.append(
            f"{index}. *{escape(step.title)}*\n      {escape(step.owner)} · due {clock(due, tz)}"
            f" (+{duration(step.due_minutes)})"
        )
    if len(playbook.steps) > count:
        lines.append(f"_…and {len(playbook.steps) - count} more steps in the dashboard_")
    return "\n".join(lines)


def quote_block(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.strip().splitlines())


def holding_text(playbook: Playbook, brand: str, summary: dict[str, Any]) -> str:
    """The holding statement in the posts' main language (and English when that differs)."""
    available = playbook.holding_statement
    default = "en" if "en" in available else next(iter(available))
    main = next((lang for lang in summary_languages(summary) if lang in available), default)
    languages = [main] + ([default] if main != default else [])
    parts = []
    for language in languages:
        statement = available[language].replace("{brand}", brand)
        parts.append(f"*Holding statement ({language})*\n{quote_block(escape(statement))}")
    return "\n\n".join(parts)


def figures(message: AlertMessage) -> Figures:
    """The message's figures: its summary's, the incident's first spike for what the summary lacks."""
    incident = message.incident
    return Figures.of(message.summary, incident.spikes[0] if incident.spikes else None, incident.kind)


def facts(message: AlertMessage) -> list[str]:
    """``*Label*\\nvalue`` pairs for the alert's fields section; every figure from :func:`figures`."""
    incident, found = message.incident, figures(message)
    fields = [
        f"*Brand*\n{escape(incident.brand)}",
        f"*Severity*\n{SEVERITY_ICON[incident.severity]} {incident.severity.word.title()}",
        f"*Kind*\n{KIND_TITLE[found.kind]}",
    ]
    if found.observed is not None:
        label = "Interactions" if found.unit == "interactions" else found.unit.capitalize()
        fields.append(f"*{label}*\n{found.magnitude()}")
    if found.negative():
        fields.append(f"*Negative share {found.judged}*\n{found.negative()}")
    if found.split:
        fields.append(f"*Mentions {found.judged}*\n{found.sentiment(SENTIMENT_ICON)}")
    if message.playbook:
        fields.append(f"*Playbook*\n{escape(message.playbook.title)}")
    return fields


def next_step_text(playbook: Playbook, incident: Incident, tz: ZoneInfo) -> str:
    """The playbook's first step not done yet, with its owner and deadline: what to do now."""
    for index, step in enumerate(playbook.steps, start=1):
        if incident.step_done(index) is None:
            due = incident.opened_at + timedelta(minutes=step.due_minutes)
            lead = "First step" if index == 1 else f"Next step ({index} of {len(playbook.steps)})"
            return (f"➡️ *{lead}:* {escape(step.title)}\n      {escape(step.owner)} · due {clock(due, tz)}"
                    f" (+{duration(step.due_minutes)}) · playbook _{escape(playbook.title)}_")
    return f"✅ Every step of _{escape(playbook.title)}_ is done."


def post_text(post: dict[str, Any]) -> str:
    """One representative post: quoted text (personal data masked), then author, language, sentiment and link."""
    body = quote_block(escape(clip_plain(" ".join(mask(str(post.get("text") or "")).split()), POST_CHARS)))
    author = str(post.get("author") or "unknown author")
    meta = [escape(author if author.startswith("@") or " " in author else f"@{author}")]
    if post.get("language"):
        meta.append(escape(str(post["language"])))
    if post.get("sentiment") in SENTIMENT_ICON:
        meta.append(f"{SENTIMENT_ICON[post['sentiment']]} {post['sentiment']}")
    if safe_url(post.get("url")):
        meta.append(link(post["url"], "Open post"))
    return f"{body or '> (no text)'}\n{' · '.join(meta)}"


def footer(message: AlertMessage) -> dict[str, Any]:
    incident = message.incident
    parts = [f"Incident `{escape(incident.id)}`", f"opened {clock(incident.opened_at, message.zone)}"]
    if safe_url(message.dashboard_url):
        parts.append(link(message.dashboard_url, "Open in dashboard"))
    return _context(" · ".join(parts))


def alert_blocks(message: AlertMessage) -> list[dict[str, Any]]:
    """The first message of an incident: what, how big, what people say, what to do."""
    incident, summary, playbook = message.incident, message.summary, message.playbook
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": clip_plain(" ".join(alert_headline(message).split()), MAX_HEADER)}},
    ]
    if playbook:
        blocks.append(_section(next_step_text(playbook, incident, message.zone)))
    blocks.append({"type": "section", "fields": [
        {"type": "mrkdwn", "text": clip(f, MAX_FIELD)} for f in facts(message)[:10]
    ]})
    phrases = [escape(clip_plain(str(p), 80)) for p in (summary.get("key_phrases") or []) if p][:SHOWN_PHRASES]
    if phrases:
        blocks.append(_section("*Key phrases:* " + " · ".join(f"“{p}”" for p in phrases)))
    posts = summary_posts(summary)[:SHOWN_POSTS]
    if posts:
        blocks += [{"type": "divider"}, _section("*Representative posts*")]
        blocks += [_section(post_text(post)) for post in posts]
    if playbook:
        blocks += [{"type": "divider"}, _section(steps_text(playbook, incident, message.zone))]
        blocks.append(_section(holding_text(playbook, incident.brand, summary)))
        if playbook.move_to_private:
            blocks.append(_context(f"🔒 *When to move to DMs:* {escape(clip_plain(playbook.move_to_private, 600))}"))
    blocks += [actions(incident, message.dashboard_url, playbook), footer(message)]
    return blocks[:MAX_BLOCKS]


def _sentence(text: str) -> str:
    return escape(text[:1].upper() + text[1:]) + "."


def thread_blocks(message: AlertMessage) -> list[dict[str, Any]]:
    """A short reply in the incident's thread: update, escalation, reminder or resolution."""
    incident, found = message.incident, figures(message)
    numbers = [] if message.kind in ("resolved", "step") else [
        *([found.magnitude()] if found.observed is not None else []),
        *([f"negative share {found.negative()}"] if found.negative() else []),
    ]
    lead = {
        "update": "🔁 *Update:*",
        "escalation": f"🔺 *Escalated to {incident.severity.word}:*",
        "reminder": f"⏰ *Reminder, still {incident.state.value.replace('_', ' ')}:*",
        "resolved": "✅",
        "step": "☑️",
    }[message.kind]
    lines = [f"{lead} {escape(message.headline)}"]
    numbers = [n for n in numbers if n not in message.headline]  # the usual headline has them already
    if numbers:
        lines.append(" · ".join(numbers))
    outcome = message.outcome or Outcome.of(incident)
    if message.kind in ("resolved", "update"):
        lines.append(("🚫 " if incident.state == IncidentState.FALSE_ALARM else "")
                     + _sentence(times_text(outcome)))
    before = before_text(outcome)
    if message.kind == "resolved" and before:
        lines.append(_sentence(before))
    blocks = [_section("\n".join(lines))]
    if message.playbook and message.kind in ("reminder", "step"):
        blocks.append(_section(steps_text(message.playbook, incident, message.zone, len(message.playbook.steps))))
    if message.playbook and message.kind == "escalation" and message.playbook.escalation_contacts:
        contacts = ", ".join(escape(c) for c in message.playbook.escalation_contacts)
        blocks.append(_section(f"*Escalation contacts:* {contacts}"))
    if message.kind in ("escalation", "reminder"):
        blocks.append(actions(incident, message.dashboard_url, message.playbook))
    blocks.append(footer(message))
    return blocks


_PLAIN = str.maketrans("<>", "‹›")
"""Angle brackets in plain text look alike but can never form a Slack mention or link."""


def alert_headline(message: AlertMessage) -> str:
    """The alert's first line: severity, then what happened, about what, where and how big."""
    incident = message.incident
    told = story(incident, message.summary) if message.summary else message.headline
    return f"{SEVERITY_ICON[incident.severity]} {told}".translate(_PLAIN)


def fallback_text(message: AlertMessage) -> str:
    """The plain notification text (shown in pushes and where blocks cannot be).

    A resolved incident's message starts with ✅, not with the severity it had while active.
    """
    incident = message.incident
    if message.kind in ("resolved", "step"):
        return clip(escape(f"{'✅' if message.kind == 'resolved' else '☑️'} {message.headline}"), MAX_TEXT)
    prefix = {"alert": "", "update": "Update: ", "escalation": "Escalated: ", "reminder": "Reminder: "}[message.kind]
    told = story(incident, message.summary) if message.kind == "alert" and message.summary else message.headline
    text = f"{SEVERITY_ICON[incident.severity]} [{incident.severity.word}] {prefix}{told}"
    return clip(escape(text), MAX_TEXT)


def render(message: AlertMessage) -> Rendered:
    """Block Kit and fallback text for ``message``."""
    blocks = alert_blocks(message) if message.kind == "alert" else thread_blocks(message)
    return Rendered(text=fallback_text(message), blocks=blocks)

