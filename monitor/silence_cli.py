"""``monitor silence add|list|expire``: hold a brand's alerts (or one topic's) for a while."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import click

from monitor import config as config_lib
from monitor.cli_config import ConfigCommand, config_option
from monitor.durations import parse_duration
from monitor.localtime import shown


def _now() -> datetime:
    return datetime.now(timezone.utc)


@click.group(short_help="Hold a brand's alerts for a while.")
def silence() -> None:
    """Hold a brand's alerts for a while (incidents are still recorded)."""


@silence.command("add", cls=ConfigCommand)
@config_option()
@click.option("--brand", required=True)
@click.option("--topic", default="", help="Only incidents about this topic (default: all).")
@click.option("--for", "duration", required=True, help="How long, e.g. 30m, 4h, 2d.")
@click.option("--reason", default="")
@click.option("--by", default=lambda: os.environ.get("USER", "cli"), show_default="$USER")
def silence_add(path: Path, brand: str, topic: str, duration: str, reason: str, by: str) -> None:
    """Silence BRAND (or one topic) starting now."""
    from monitor.alerts.incidents import silences
    from monitor.store import open_store

    try:
        length = parse_duration(duration)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--for") from exc
    config = config_lib.load(path)
    name = config.brand(brand).name
    added = silences.add(open_store(config.storage), name, length, _now(), topic=topic, by=by, reason=reason)
    click.echo(f"{added.id}: {added.brand}{' / ' + added.topic if added.topic else ''} silenced until "
               f"{shown(added.ends_at, config.zone(name), '%Y-%m-%d %H:%M')}")


@silence.command("list", cls=ConfigCommand)
@config_option()
@click.option("--all", "show_all", is_flag=True, help="Include expired silences.")
def silence_list(path: Path, show_all: bool) -> None:
    """The silences in force (or all of them)."""
    from monitor.store import open_store

    config = config_lib.load(path)
    found = open_store(config.storage).silences(active_at=None if show_all else _now())
    for item in found:
        tz = config.zone(item.brand)
        click.echo(f"{item.id}  {item.brand}{' / ' + item.topic if item.topic else ''}  "
                   f"{shown(item.starts_at, tz, '%Y-%m-%d %H:%M')} → {shown(item.ends_at, tz, '%Y-%m-%d %H:%M')}  "
                   f"by {item.created_by}"
                   f"{'  (' + item.reason + ')' if item.reason else ''}")
    if not found:
        click.echo("no silences")


@silence.command("expire", cls=ConfigCommand)
@config_option()
@click.argument("silence_id")
def silence_expire(path: Path, silence_id: str) -> None:
    """End a silence now; held alerts go out on the next delivery."""
    from monitor.alerts.incidents import silences
    from monitor.store import open_store

    config = config_lib.load(path)
    ended = silences.expire(open_store(config.storage), silence_id, _now())
    click.echo(f"{ended.id}: ended at {shown(ended.ends_at, config.zone(ended.brand), '%Y-%m-%d %H:%M')}")
