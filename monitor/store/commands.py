"""``monitor store setup`` and ``monitor store prune``: the store's template and retention, on purpose."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from monitor import config as config_lib
from monitor.cli_config import ConfigCommand, config_option
from monitor.errors import ConfigError
from monitor.store import open_store
from monitor.store.retention import cutoff, prune

CONFIG = config_option()


@click.command("setup", cls=ConfigCommand)
@CONFIG
def setup_command(path: Path) -> None:
    """Apply the config's index template (shards, replicas, refresh interval) to Elasticsearch."""
    storage = config_lib.load(path).storage
    store = open_store(storage)
    try:
        if not hasattr(store, "apply_template"):
            click.echo(f"the {storage.backend} store needs no setup: it creates what it needs when it opens")
            return
        months = store.apply_template()
    finally:
        store.close()
    settings = storage.settings
    replicas = "auto (0-1)" if settings.replicas is None else settings.replicas
    click.echo(f"index template {settings.index_prefix}-mentions: {settings.shards} shards, replicas {replicas}, "
               f"refresh every {settings.refresh_interval.total_seconds():g}s")
    click.echo(f"replicas and refresh applied to {len(months)} existing monthly indices "
               "(shards apply to months created from now on)")


@click.command("prune", cls=ConfigCommand)
@CONFIG
@click.option("--before", metavar="AGE|DATE", default=None,
              help="Delete mentions created before this: an age (400d) or a date (2025-01-31). "
                   "Default: storage.retention.")
def prune_command(path: Path, before: str | None) -> None:
    """Delete old mentions (Elasticsearch: whole monthly indices)."""
    storage = config_lib.load(path).storage
    now = datetime.now(timezone.utc)
    if before is not None:
        moment = cutoff(before, now)
    elif storage.retention is not None:
        moment = now - storage.retention
    else:
        raise ConfigError("give --before (e.g. 400d) or set storage.retention in the config")
    store = open_store(storage)
    try:
        pruned = prune(store, moment)
    finally:
        store.close()
    click.echo(f"deleted {pruned.mentions} mentions created before {moment:%Y-%m-%d %H:%M} UTC")
    for index in pruned.indices:
        click.echo(f"deleted index {index}")
