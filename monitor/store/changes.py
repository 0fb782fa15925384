"""Compare-and-set edits of incidents and silences: read, change, save only if nobody saved in between."""

from __future__ import annotations

from typing import Any, Callable, Sequence, TypeVar

from monitor.errors import ConflictError, IncidentError
from monitor.models import Incident, Silence
from monitor.store.base import Notification, Store

CAS_ATTEMPTS = 20
Versioned = TypeVar("Versioned", Incident, Silence)


def _change(read: Callable[[], Versioned | None], change: Callable[[Versioned], Any],
            save: Callable[[Versioned, Any], None], what: str) -> Versioned:
    """Read, let ``change`` edit, save compare-and-set; on a conflict, all over again."""
    for _ in range(CAS_ATTEMPTS):
        found = read()
        if found is None:
            raise IncidentError(f"no {what}")
        edit = change(found)
        if edit is None:
            return found
        try:
            save(found, edit)
        except ConflictError:
            continue
        return found
    raise ConflictError(f"{what} kept changing under {CAS_ATTEMPTS} attempts to update it")


def change_incident(store: Store, incident_id: str,
                    change: Callable[[Incident], Sequence[Notification] | None]) -> Incident:
    """Read the incident, let ``change`` edit it, save it compare-and-set; on a conflict, all over again.

    ``change`` returns the notifications to queue with the edit, or ``None`` when it changes
    nothing (then nothing is written). Raises :class:`IncidentError` when there is no such incident.
    """
    return _change(lambda: store.get_incident(incident_id), change, store.save_incident,
                   f"incident {incident_id!r}")


def change_silence(store: Store, silence_id: str, change: Callable[[Silence], bool]) -> Silence:
    """Like :func:`change_incident` for a silence: ``change`` edits it and says whether it changed it."""
    return _change(lambda: store.get_silence(silence_id), lambda found: True if change(found) else None,
                   lambda found, _: store.save_silence(found), f"silence {silence_id!r}")
