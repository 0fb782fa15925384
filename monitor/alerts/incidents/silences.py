"""Silences: mute a brand's alerts (or one topic's) for a while, from the CLI or a Slack button.

A silenced incident is still opened, updated and shown on the dashboard; its messages wait in
the queue until the silence ends, and are dropped if the incident closed in the meantime.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from monitor.alerts.incidents.lifecycle import thread_reply
from monitor.errors import ConflictError, IncidentError
from monitor.localtime import shown, zone
from monitor.models import Incident, Silence
from monitor.store.base import NotificationStatus, Store
from monitor.store.changes import change_silence

SLACK_SILENCE = timedelta(hours=4)


def _id(brand: str, topic: str, now: datetime, request: str | None = None) -> str:
    """A new silence's id; one asked for by ``request`` gets the same id however often it is asked."""
    digest = hashlib.sha256(f"{brand}\x1f{topic}\x1f{request or now.isoformat()}".encode()).hexdigest()
    return f"silence-{digest[:12]}" if request is not None else f"silence-{now:%Y%m%d-%H%M%S}-{digest[:6]}"


def add(store: Store, brand: str, duration: timedelta, now: datetime, *, topic: str = "", by: str = "system",
        reason: str = "", request: str | None = None) -> Silence:
    """Silence ``brand`` (and ``topic`` when given) from ``now`` for ``duration``.

    The silence is created, never written over: asked for again by the same ``request`` (a
    replay, or two deliveries of one click racing), the silence made first is returned.
    """
    if duration <= timedelta(0):
        raise IncidentError(f"a silence needs a positive duration, not {duration}")
    silence = Silence(id=_id(brand, topic, now, request), brand=brand, topic=topic, starts_at=now,
                      ends_at=now + duration, created_by=by, reason=reason)
    try:
        store.save_silence(silence)
    except ConflictError:
        made = store.get_silence(silence.id)
        if made is None:
            raise
        return made
    return silence


def expire(store: Store, silence_id: str, now: datetime) -> Silence:
    """End a silence now; its held messages go out on the next delivery run."""
    def end(found: Silence) -> bool:
        ends_at = min(found.ends_at, now)
        changed = ends_at != found.ends_at
        found.ends_at = ends_at
        return changed

    ended = change_silence(store, silence_id, end)
    for held in store.notifications():
        if held.status is NotificationStatus.PENDING and (held.error or "").startswith(f"silenced by {ended.id} "):
            store.update_notification(held.model_copy(update={"not_before": ended.ends_at}))
    return ended


def covering(store: Store, incident: Incident, now: datetime) -> Silence | None:
    """The silence in force for ``incident`` at ``now`` that ends last, if any."""
    matching = [s for s in store.silences(active_at=now) if s.covers(incident, now)]
    return max(matching, key=lambda s: s.ends_at, default=None)


def silence_incident(store: Store, incident_id: str, by: str, now: datetime,
                     duration: timedelta = SLACK_SILENCE, request: str | None = None,
                     zones: Callable[[str], ZoneInfo] | None = None) -> Silence:
    """Silence the brand and topic of an incident; the thread hears about it (past the silence), its end
    written in the brand's zone (``zones``; UTC without it).

    ``request`` identifies the request asking for it: asked again, the silence it made is
    returned unchanged.
    """
    incident = store.get_incident(incident_id)
    if incident is None:
        raise IncidentError(f"no incident {incident_id!r}")
    if request is not None:
        made = store.get_silence(_id(incident.brand, incident.topic, now, request))
        if made is not None:
            return made
    silence = add(store, incident.brand, duration, now, topic=incident.topic, by=by,
                  reason=f"silenced from incident {incident.id}", request=request)
    hours = duration.total_seconds() / 3600
    notice = thread_reply(incident, f"{incident.id}:{silence.id}", "update",
                          f"{by} silenced alerts for {incident.brand} for {hours:g} h (until "
                          f"{shown(silence.ends_at, zones(incident.brand) if zones else zone(None), '%H:%M')})",
                          now, bypass_silence=True)
    store.enqueue(notice)
    return silence
