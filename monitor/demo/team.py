"""The demo's simulated comms team: what people do once the alert is out, on the replay's clock.

The actions are listed under ``team`` in ``scenario.yaml``, each ``after`` minutes from when an
incident opened. They go through the functions behind the Slack buttons, ``monitor incident`` and
``monitor step``, so the alert's thread, the dashboard's incident page, playbook outcomes and
customer-care times have a response to show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

from monitor.alerts.incidents.lifecycle import Action, apply
from monitor.alerts.incidents.steps import mark_step
from monitor.errors import IncidentError
from monitor.models import Playbook
from monitor.store.base import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeamAction:
    """One thing a person does: an incident action (``acknowledge``, ``mitigate``, …) or ``step`` N done."""

    after: timedelta
    by: str
    action: str
    step: int = 0
    note: str = ""

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> TeamAction:
        action = str(raw["action"])
        if action != "step":
            Action(action)
        elif int(raw.get("step", 0)) < 1:
            raise ValueError(f"a step action needs a step number from 1: {raw!r}")
        return cls(after=timedelta(minutes=float(raw["after"])), by=str(raw["by"]), action=action,
                   step=int(raw.get("step", 0)), note=str(raw.get("note", "")))


class Team:
    """Plays ``actions`` on each incident of the store once their time has come."""

    def __init__(self, actions: Sequence[TeamAction], playbooks: Sequence[Playbook]):
        self.actions = sorted(actions, key=lambda a: a.after)
        self.playbooks = playbooks
        self._played: set[tuple[str, int]] = set()

    def act(self, store: Store, now: datetime) -> int:
        """Play every action due by ``now`` at its own moment; returns how many were played.

        Replaying an action (after a restart) changes nothing: the actions are idempotent.
        """
        played = 0
        for incident in store.incidents():
            for index, action in enumerate(self.actions):
                moment = incident.opened_at + action.after
                if moment > now or (incident.id, index) in self._played:
                    continue
                self._played.add((incident.id, index))
                try:
                    if action.action == "step":
                        mark_step(store, self.playbooks, incident.id, action.step, by=action.by, now=moment,
                                  note=action.note)
                    else:
                        apply(store, incident.id, action.action, by=action.by, now=moment, note=action.note)
                except IncidentError as exc:
                    log.info("demo team: %s %s skipped: %s", action.by, action.action, exc)
                    continue
                played += 1
        return played
