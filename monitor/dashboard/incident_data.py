"""Cached reads for one incident: its timeline, what the alert said, and its playbook's steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from monitor.dashboard.data import TTL, store
from monitor.alerts.incidents.outcomes import Outcome
from monitor.alerts.incidents.playbooks import load_playbooks
from monitor.alerts.incidents.steps import timing
from monitor.alerts.notify.story import Figures
from monitor.alerts.notify.story import story as story_line
from monitor.care.masking import mask
from monitor.errors import PlaybookError
from monitor.localtime import shown, zone
from monitor.models import Incident, Playbook
from monitor.store.base import Notification

EVENT_COLUMNS = ["at", "type", "event", "detail"]
EVENT_TYPES = ("state change", "playbook step", "Slack message")
"""What an event on the timeline is; each has one colour."""
POST_COLUMNS = ["text", "author", "language", "sentiment", "link"]
STEP_COLUMNS = ["number", "step", "owner", "due", "status", "done_by", "done_at", "details"]


@dataclass(frozen=True)
class Said:
    """What people were saying when an alert or update went out: its key phrases and posts."""

    label: str
    key_phrases: list[str] = field(default_factory=list)
    posts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=POST_COLUMNS))


@dataclass(frozen=True)
class IncidentStory:
    """What happened to an incident, for its detail view; ``said`` oldest first, never empty."""

    incident: Incident
    events: pd.DataFrame
    said: list[Said]
    alert: dict[str, Any] = field(default_factory=dict)
    """The summary the first alert carried (empty when none was queued)."""

    @property
    def figures(self) -> Figures:
        """The alert's figures, as Slack showed them (see :class:`monitor.alerts.notify.story.Figures`)."""
        incident = self.incident
        return Figures.of(self.alert, incident.spikes[0] if incident.spikes else None, incident.kind)

    @property
    def headline(self) -> str:
        """The alert's story line: what happened, about what, where, how big."""
        return story_line(self.incident, self.alert)


def _post_rows(summary: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"text": mask(str(p.get("text") or "")), "author": p.get("author") or "", "language": p.get("language") or "",
          "sentiment": p.get("sentiment") or "unknown", "link": p.get("url")}
         for p in summary.get("posts") or [] if isinstance(p, dict)],
        columns=POST_COLUMNS,
    )


def _said(incident: Incident, notifications: list[Notification], tz: ZoneInfo) -> list[Said]:
    """The summaries the incident's alert and updates carried, oldest first; without any, the
    spikes' top terms."""
    said = []
    for notification in sorted(notifications, key=lambda n: n.created_at):
        summary = notification.payload.get("summary")
        if notification.kind in ("alert", "update") and isinstance(summary, dict) and summary:
            label = f"{notification.kind}, {shown(notification.created_at, tz)}"
            said.append(Said(label, [str(p) for p in summary.get("key_phrases") or []], _post_rows(summary)))
    if said and not said[0].key_phrases:
        said[0] = Said(said[0].label, _spike_terms(incident), said[0].posts)
    return said or [Said("spikes", _spike_terms(incident))]


def _spike_terms(incident: Incident) -> list[str]:
    return list(dict.fromkeys(term for spike in incident.spikes for term in spike.top_terms))


def _event_rows(incident: Incident, notifications: list[Notification]) -> list[dict[str, Any]]:
    state, step, slack = EVENT_TYPES
    rows: list[dict[str, Any]] = [
        {"at": t.at, "type": state, "event": f"state: {t.state.value.replace('_', ' ')}",
         "detail": f"{t.by}: {t.note}" if t.note else t.by}
        for t in incident.transitions
    ]
    rows += [{"at": d.at, "type": step, "event": f"step {d.number} done",
              "detail": f"{d.by}: {d.title} ({timing(d)})" + (f". {d.note}" if d.note else "")}
             for d in incident.steps_done]
    for notification in notifications:
        at = notification.sent_at or notification.created_at
        status = notification.status.value
        where = notification.channel or "thread"
        headline = str(notification.payload.get("headline", ""))
        rows.append({"at": at, "type": slack, "event": f"Slack {notification.kind} ({status})",
                     "detail": f"{where}: {headline}"})
    return rows


def story_of(incident: Incident, notifications: list[Notification], zone_name: str = "UTC") -> IncidentStory:
    """Events oldest first; key phrases and representative posts of the alert and each update (labelled with
    their time in ``zone_name``)."""
    events = pd.DataFrame(_event_rows(incident, notifications), columns=EVENT_COLUMNS)
    events["at"] = pd.to_datetime(events["at"], utc=True)
    events = events.sort_values("at", kind="stable").reset_index(drop=True)
    alert = next((n.payload.get("summary") for n in notifications if n.kind == "alert"), None)
    return IncidentStory(incident=incident, events=events, said=_said(incident, notifications, zone(zone_name)),
                         alert=alert if isinstance(alert, dict) else {})


@st.cache_data(ttl=TTL, show_spinner=False)
def story(store_key: str, incident_id: str, zone_name: str = "UTC") -> IncidentStory | None:
    """The incident's story (times in ``zone_name``), or None when there is no such incident."""
    db = store(store_key)
    incident = db.get_incident(incident_id)
    if incident is None:
        return None
    return story_of(incident, db.notifications(incident_id), zone_name)


@st.cache_data(ttl=TTL, show_spinner=False)
def outcome(store_key: str, incident_id: str) -> Outcome | None:
    """How the incident went (the figures of ``monitor incident show`` and Slack), or None when there is none."""
    db = store(store_key)
    incident = db.get_incident(incident_id)
    return Outcome.of(incident, db) if incident is not None else None


@st.cache_data(ttl=300, show_spinner=False)
def playbooks(directory: str) -> dict[str, Playbook]:
    """The playbooks in ``directory`` by id (none when the folder is missing or invalid)."""
    if not Path(directory).is_dir():
        return {}
    try:
        return {p.id: p for p in load_playbooks(Path(directory))}
    except PlaybookError:
        return {}


def step_rows(playbook: Playbook, incident: Incident, closed_at: datetime | None, now: datetime) -> pd.DataFrame:
    """The playbook's steps with owners, deadlines, who did each and when, and the state of the rest.

    A step not done counts its deadline against the time the incident closed, or ``now`` while
    it is still active.
    """
    until = closed_at or now
    rows = []
    for number, step in enumerate(playbook.steps, start=1):
        due = incident.opened_at + pd.Timedelta(minutes=step.due_minutes)
        done = incident.step_done(number)
        if done is not None:
            status = f"done {timing(done)}"
        elif closed_at is not None and due > closed_at:
            status = "not reached (closed before)"
        elif due <= until:
            status = "not done, deadline passed"
        else:
            status = "due"
        rows.append({"number": number, "step": step.title, "owner": step.owner, "due": due, "status": status,
                     "done_by": done.by if done else "", "done_at": done.at if done else None,
                     "details": step.details})
    frame = pd.DataFrame(rows, columns=STEP_COLUMNS)
    for column in ("due", "done_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def step_line(step: Any, zone_name: str = "UTC") -> str:
    """One row of :func:`step_rows` as a line of text that wraps: number and title, owner, deadline (in
    ``zone_name``), state."""
    tz = zone(zone_name)
    done = f" by {step.done_by} at {shown(step.done_at, tz)}" if step.done_by else ""
    return f"**{step.number}. {step.step}** · {step.owner} · due {shown(step.due, tz)} · {step.status}{done}"
