"""SLA reminders: when a playbook step's deadline passes, the step is not done and nobody has acknowledged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from monitor.alerts.incidents.lifecycle import thread_reply
from monitor.alerts.incidents.playbooks import find
from monitor.models import IncidentState, Playbook
from monitor.store.base import Notification, Store


def queue_reminders(store: Store, playbooks: Sequence[Playbook], brand: str, now: datetime) -> list[Notification]:
    """Queue one thread reminder per overdue, not yet done step of each unacknowledged incident of ``brand``.

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
                                f"step {index + 1} “{step.title}” ({step.owner}) was due at {due:%H:%M} UTC "
                                "and nobody has acknowledged the incident", now)
        if store.enqueue(reminder):
            queued.append(reminder)
    return queued
