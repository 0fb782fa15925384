"""SLA reminders: when a playbook step's deadline passes, the step is not done and nobody has acknowledged.

A reminder is judged twice: when it is queued, and again by the delivery worker just before it
is sent (:func:`no_longer_due`), so one queued before someone acknowledged the incident or did
the step is dropped instead of posted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence
from zoneinfo import ZoneInfo

from monitor.alerts.incidents.lifecycle import thread_reply
from monitor.alerts.incidents.playbooks import find
from monitor.localtime import shown, zone
from monitor.models import Incident, IncidentState, Playbook
from monitor.store.base import Notification, Store


def queue_reminders(store: Store, playbooks: Sequence[Playbook], brand: str, now: datetime,
                    tz: ZoneInfo | None = None) -> list[Notification]:
    """Queue one thread reminder per overdue, not yet done step of each unacknowledged incident of ``brand``
    (its deadline written in ``tz``, UTC when None).

    When several deadlines passed since the last run, only the latest is announced; keys are
    per step, so a step is never announced twice.
    """
    queued = []
    for incident in store.incidents(brand=brand):
        playbook = find(playbooks, incident.playbook_id) if incident.state is IncidentState.OPEN else None
        if playbook is None:
            continue
        overdue = [(index, step) for index, step in enumerate(playbook.steps)
                   if incident.opened_at + timedelta(minutes=step.due_minutes) <= now
                   and incident.step_done(index + 1) is None]
        if not overdue:
            continue
        index, step = overdue[-1]
        due = incident.opened_at + timedelta(minutes=step.due_minutes)
        reminder = thread_reply(incident, f"{incident.id}:reminder:{index}", "reminder",
                                f"step {index + 1} “{step.title}” ({step.owner}) was due at {shown(due, tz or zone(None), '%H:%M')} "
                                "and nobody has acknowledged the incident", now, step=index + 1)
        if store.enqueue(reminder):
            queued.append(reminder)
    return queued


def no_longer_due(incident: Incident, reminder: Notification) -> str | None:
    """Why a queued reminder no longer holds for ``incident`` as it is now (it left ``open``, or its step was done)."""
    if incident.state is not IncidentState.OPEN:
        return f"incident {incident.id} is {incident.state.value.replace('_', ' ')}"
    step = reminder.payload.get("step")
    done = incident.step_done(step) if isinstance(step, int) else None
    if done is not None:
        return f"step {step} was done by {done.by} at {done.at:%Y-%m-%d %H:%M} UTC"
    return None
