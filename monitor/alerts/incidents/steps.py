"""Playbook steps done: who ticked which step of an incident's playbook, and when.

A step is marked from Slack (the "Mark a step done" menu), the CLI (``monitor step``) or
any other caller of :func:`mark_step`; each change is recorded on the incident and
answered in the alert's thread through the notification queue. Marking a step that is
already done (or undoing one that is not) changes nothing, so Slack's retries are harmless.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from monitor.alerts.incidents.lifecycle import thread_reply
from monitor.alerts.incidents.playbooks import find
from monitor.alerts.notify.story import duration
from monitor.errors import IncidentError
from monitor.models import Incident, Playbook, StepDone
from monitor.store.base import Notification, Store
from monitor.store.changes import change_incident


def timing(done: StepDone) -> str:
    """``on time`` or how long after the step's deadline it was done."""
    return "on time" if done.minutes_late <= 0 else f"{duration(done.minutes_late)} late"


def mark_step(
    store: Store,
    playbooks: Sequence[Playbook],
    incident_id: str,
    number: int,
    by: str,
    now: datetime,
    note: str = "",
    undo: bool = False,
    request: str | None = None,
) -> Incident:
    """Mark step ``number`` (from 1) of the incident's playbook done, or not done with ``undo``.

    ``request`` identifies the request asking for it (a Slack press and its retries): its thread reply
    is queued under that identity, so a retry after a writer died between queueing the reply and
    saving the incident (possible on Elasticsearch) finds the reply already queued.
    """

    def change(incident: Incident) -> list[Notification] | None:
        playbook = find(playbooks, incident.playbook_id)
        if playbook is None:
            raise IncidentError(f"incident {incident_id} has no playbook with steps"
                                + (f" (playbook {incident.playbook_id!r} is not loaded)" if incident.playbook_id
                                   else ""))
        if not 1 <= number <= len(playbook.steps):
            raise IncidentError(f"playbook {playbook.id!r} has steps 1 to {len(playbook.steps)}; "
                                f"there is no step {number}")
        step = playbook.steps[number - 1]
        title = step.title
        done = incident.step_done(number)
        if undo:
            if done is None:
                return None
            incident.steps_done.remove(done)
            headline = f"{by} reopened step {number} “{title}”"
        else:
            if done is not None:
                return None
            done = StepDone(number=number, title=title, due_at=incident.opened_at + timedelta(minutes=step.due_minutes),
                            at=now, by=by, note=note)
            incident.steps_done.append(done)
            headline = f"{by} completed step {number} “{title}” ({timing(done)})"
        incident.updated_at = now
        return [thread_reply(incident, f"{incident.id}:step:{number}:{'undo' if undo else 'done'}:{request or now.isoformat()}",
                             "step", headline + (f": {note}" if note else ""), now, by=by)]

    return change_incident(store, incident_id, change)
