"""``monitor incident``: list and show incidents, and act on one as the Slack buttons do."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import click

from monitor import config as config_lib
from monitor.cli_config import ConfigCommand, config_option
from monitor.alerts.incidents.lifecycle import Action, apply
from monitor.alerts.incidents.outcomes import Outcome, outcome_lines
from monitor.alerts.notify.story import Figures, peak_text, story, title
from monitor.localtime import shown
from monitor.models import Incident, Playbook
from monitor.store.base import Store

CONFIG = config_option()
DELIVERY = "Slack hears of it on the next delivery (`monitor run` delivers on schedule, `monitor detect` once)."
ACTION_HELP = {
    Action.ACKNOWLEDGE: "Say someone is on it.",
    Action.MITIGATE: "Say the cause is under control.",
    Action.ESCALATE: "Raise the severity one level.",
    Action.RESOLVE: "Close it: the problem is over.",
    Action.FALSE_ALARM: "Close it as a false alarm (used to tune detection).",
}


def parse_moment(value: str | None) -> datetime:
    """``value`` (ISO 8601, UTC when it names no zone) or now."""
    if not value:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a time like 2026-03-09T19:45", param_hint="--at") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


Zones = Callable[[str], ZoneInfo]
"""The time zone of a brand's readers (:meth:`monitor.config.Config.zone`)."""


def _open(path: Path) -> tuple[Store, dict[str, Playbook], Zones]:
    from monitor.alerts.incidents.playbooks import load_playbooks
    from monitor.errors import PlaybookError
    from monitor.store import open_store

    config = config_lib.load(path)
    try:
        playbooks = {p.id: p for p in load_playbooks(config.alerts.playbooks_dir)}
    except PlaybookError:
        playbooks = {}
    return open_store(config.storage), playbooks, config.zone


def list_line(incident: Incident, tz: ZoneInfo) -> str:
    """``09 Mar 09:05 CET  resolved      critical  Post going viral · peak …  id`` (times in ``tz``)."""
    what = title(incident).split(" · ")[0]
    peak = peak_text(incident, tz)
    return (f"{shown(incident.opened_at, tz)}  {incident.state.value.replace('_', ' '):<12}  "
            f"{incident.severity.word:<8}  {incident.brand}: {what}" + (f", peak {peak}" if peak else "")
            + f"  [{incident.id}]")


def show_lines(incident: Incident, store: Store, playbooks: dict[str, Playbook], tz: ZoneInfo) -> list[str]:
    """An incident in plain words: what, how big, state and times (in ``tz``), the playbook's steps."""
    alert = next((n.payload.get("summary") for n in store.notifications(incident.id) if n.kind == "alert"), None)
    summary = alert if isinstance(alert, dict) else {}
    figures = Figures.of(summary, incident.spikes[0] if incident.spikes else None, incident.kind)
    lines = [title(incident, tz), f"  {story(incident, summary)}", f"  id {incident.id}"]
    lines.append(f"  state {incident.state.value.replace('_', ' ')}, severity {incident.severity.word}")
    lines += [f"  {line}" for line in outcome_lines(Outcome.of(incident, store))]
    if figures.magnitude():
        lines.append(f"  {figures.magnitude()}")
    if figures.negative():
        lines.append(f"  negative share {figures.judged}: {figures.negative()}")
    if figures.split:
        lines.append(f"  mentions {figures.judged}: {figures.sentiment()}")
    if peak_text(incident):
        lines.append(f"  peak: {peak_text(incident, tz)}; {len(incident.spikes)} spike window(s) in all")
    phrases = [str(p) for p in summary.get("key_phrases") or []]
    if phrases:
        lines.append(f"  key phrases: {', '.join(phrases)}")
    for change in incident.transitions:
        lines.append(f"  {shown(change.at, tz)}  {change.state.value.replace('_', ' ')}"
                     f" by {change.by}" + (f": {change.note}" if change.note else ""))
    playbook = playbooks.get(incident.playbook_id or "")
    if playbook:
        lines.append(f"  playbook: {playbook.title}")
        for number, step in enumerate(playbook.steps, start=1):
            done = incident.step_done(number)
            mark = f"done by {done.by} at {shown(done.at, tz, '%H:%M')}" if done else "not done"
            lines.append(f"    {number}. {step.title} ({step.owner}): {mark}")
    elif incident.playbook_id:
        lines.append(f"  playbook: {incident.playbook_id} (not in the playbooks folder)")
    return lines


@click.group("incident")
def incident_group() -> None:
    """List, show and act on incidents (as the Slack buttons do)."""


@incident_group.command("list", short_help="The incidents, newest first.", cls=ConfigCommand)
@CONFIG
@click.option("--all", "show_all", is_flag=True, help="Include resolved incidents and false alarms.")
@click.option("--brand", default=None, help="Only this brand's.")
def list_incidents(path: Path, show_all: bool, brand: str | None) -> None:
    """The active incidents (or all), newest first: when detected, state, severity, what, the peak and the id."""
    store, _, zones = _open(path)
    found = sorted((i for i in store.incidents(brand=brand) if show_all or i.state.is_active),
                   key=lambda i: i.opened_at, reverse=True)
    for incident in found:
        click.echo(list_line(incident, zones(incident.brand)))
    if not found:
        click.echo("no incidents" if show_all else "no active incidents (--all lists the closed ones too)")


@incident_group.command("show", short_help="One incident in plain words.", cls=ConfigCommand)
@CONFIG
@click.argument("incident_id")
def show_incident(path: Path, incident_id: str) -> None:
    """What happened, how big, who did what when, and the playbook's steps."""
    from monitor.errors import IncidentError

    store, playbooks, zones = _open(path)
    incident = store.get_incident(incident_id)
    if incident is None:
        raise IncidentError(f"no incident {incident_id!r} (`monitor incident list --config {path} --all` lists them)")
    for line in show_lines(incident, store, playbooks, zones(incident.brand)):
        click.echo(line)


def _action_command(action: Action) -> click.Command:
    @CONFIG
    @click.argument("incident_id")
    @click.option("--by", default=lambda: os.environ.get("USER", "cli"), show_default="$USER", help="Who acts.")
    @click.option("--note", default="", help="Why, for the thread and the record.")
    @click.option("--at", "at", default=None, help="When it happened (ISO time, UTC unless a zone is given); "
                                                   "default now. Use it on replayed or imported data.")
    def act(path: Path, incident_id: str, by: str, note: str, at: str | None) -> None:
        store, _, _ = _open(path)
        changed = apply(store, incident_id, action.value, by=by, now=parse_moment(at), note=note)
        click.echo(f"{changed.id}: {changed.state.value.replace('_', ' ')}, severity {changed.severity.word}. "
                   + DELIVERY)

    act.__doc__ = f"{ACTION_HELP[action]} {DELIVERY}"
    return click.command(action.value, short_help=ACTION_HELP[action], cls=ConfigCommand)(act)


for _action in Action:
    incident_group.add_command(_action_command(_action))
