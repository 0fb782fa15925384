"""What people do to an incident: acknowledge, mitigate, escalate, resolve or close it as a false alarm.

Every action is recorded as a transition (who, when) and answered in the alert's thread
through the notification queue, so Slack buttons, the CLI and the dashboard share one path.
Repeating an action that already took effect changes nothing, and a request applied once
(a Slack press, keyed by its action id and timestamp) is never applied again, which makes
Slack's retries and replays harmless. The change is saved compare-and-set, so a detector
updating the incident at the same moment loses nothing either.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from monitor.errors import IncidentError
from monitor.models import Incident, IncidentState, Severity, Transition
from monitor.store.base import Notification, Store
from monitor.store.changes import change_incident


class Action(str, enum.Enum):
    ACKNOWLEDGE = "acknowledge"
    MITIGATE = "mitigate"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    FALSE_ALARM = "false_alarm"


TARGET = {
    Action.ACKNOWLEDGE: IncidentState.ACKNOWLEDGED,
    Action.MITIGATE: IncidentState.MITIGATED,
    Action.RESOLVE: IncidentState.RESOLVED,
    Action.FALSE_ALARM: IncidentState.FALSE_ALARM,
}
ORDER = [IncidentState.OPEN, IncidentState.ACKNOWLEDGED, IncidentState.MITIGATED]
DONE = {
    Action.ACKNOWLEDGE: "acknowledged",
    Action.MITIGATE: "marked as mitigated",
    Action.ESCALATE: "escalated",
    Action.RESOLVE: "resolved",
    Action.FALSE_ALARM: "closed as a false alarm",
}


def thread_reply(incident: Incident, key: str, kind: str, headline: str, now: datetime, **extra: Any) -> Notification:
    """A message for the incident's thread (its channel until the alert exists), queued under ``key``."""
    return Notification(key=key, incident_id=incident.id, kind=kind, channel=incident.slack_channel or "",
                        payload={"headline": headline, "summary": {}, **extra}, created_at=now)


def _changes(incident: Incident, action: Action) -> bool:
    """Whether ``action`` moves the incident; raises when it cannot apply at all."""
    if not incident.state.is_active:
        if TARGET.get(action) == incident.state:
            return False
        raise IncidentError(f"incident {incident.id} is {incident.state.value.replace('_', ' ')}; "
                            f"it cannot be {DONE[action]}")
    if action is Action.ESCALATE:
        return incident.severity < Severity.CRITICAL
    target = TARGET[action]
    if target in ORDER and ORDER.index(target) <= ORDER.index(incident.state):
        return False
    return True


def apply(store: Store, incident_id: str, action: Action | str, by: str, now: datetime, note: str = "",
          request: str | None = None) -> Incident:
    """Apply ``action`` by ``by`` at ``now``; the thread gets a reply when something changed.

    ``request`` identifies the request asking for it: one already applied changes nothing, and its
    thread reply is queued under that identity, so a retry after a writer died between queueing the
    reply and saving the incident (possible on Elasticsearch) finds the reply already queued, even when
    another change came in between.
    """
    action = Action(action)

    def change(incident: Incident) -> list[Notification] | None:
        if request is not None and any(t.request == request for t in incident.transitions):
            return None
        if not _changes(incident, action):
            return None
        if action is Action.ESCALATE:
            incident.severity = Severity(incident.severity + 1)
            kind = "escalation"
        else:
            incident.state = TARGET[action]
            kind = "resolved" if not incident.state.is_active else "update"
        incident.transitions.append(Transition(state=incident.state, at=now, by=by, note=note or DONE[action],
                                               request=request))
        incident.updated_at = now
        headline = f"{by} {DONE[action]} the incident" + (f": {note}" if note else "")
        return [thread_reply(incident, f"{incident.id}:{action.value}:{request or len(incident.transitions)}",
                             kind, headline, now, by=by)]

    return change_incident(store, incident_id, change)
