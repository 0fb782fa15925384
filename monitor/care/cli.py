"""``monitor care queue`` and ``monitor report care``: the posts awaiting an answer, and the KPIs."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from monitor.cli_config import ConfigCommand, config_option
from monitor.care.kpis import CSV_COLUMNS
from monitor.config import BrandConfig, Config
from monitor.localtime import shown
from monitor.store.base import Store

DEFAULT_SPAN = timedelta(days=30)
_DATE = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def _setup(path: Path, brand: str | None) -> tuple[Config, list[BrandConfig], Store, datetime]:
    """The config, the brands asked for, the store and the queue's clock."""
    from monitor import config as config_lib
    from monitor.care.service import clock
    from monitor.store import open_store

    config = config_lib.load(path)
    brands = [config.brand(brand)] if brand else list(config.brands)
    store = open_store(config.storage)
    now = clock(store, [b.name for b in config.brands], datetime.now(timezone.utc))
    return config, brands, store, now


@click.group("care")
def care_group() -> None:
    """Customer care: posts that need the brand's answer."""


@care_group.command("queue", cls=ConfigCommand)
@config_option()
@click.option("--brand", help="Only this brand (default: every brand of the config).")
@click.option("--days", default=7, show_default=True, type=click.IntRange(min=1),
              help="How far back to look for unanswered posts.")
def care_queue(path: Path, brand: str | None, days: int) -> None:
    """Posts awaiting an answer, oldest first, with time left to target and a suggested answer.

    Personal data is masked. The clock is now, or the newest collection when that is older (a replay).
    """
    from monitor.care.queue import format_left, queue
    from monitor.care.service import brand_cases
    from monitor.care.templates import BUILT_IN_TEMPLATES, load_templates

    config, brands, store, now = _setup(path, brand)
    templates = load_templates(config.care.templates_dir or BUILT_IN_TEMPLATES)
    click.echo(f"as of {shown(now, config.zone(brand), '%Y-%m-%d %H:%M')}")
    for chosen in brands:
        tz = config.zone(chosen.name)
        items = queue(brand_cases(store, config, chosen, now - timedelta(days=days), now), chosen.name,
                      templates, now)
        click.echo(f"{chosen.name}: {len(items)} post(s) awaiting an answer")
        for item in items:
            click.echo(f"- {shown(item.created_at, tz, '%Y-%m-%d %H:%M')}  {format_left(item.time_left)}  {item.source}  "
                       f"{item.language or '?'}  {item.sentiment or '?'}  @{item.author}  [{item.tag or 'other'}]")
            click.echo(f"  {item.text}")
            if item.url:
                click.echo(f"  {item.url}")
            click.echo(f"  suggested: {item.suggested_answer}")


@click.command("care", cls=ConfigCommand)
@config_option()
@click.option("--brand", help="Only this brand (default: every brand of the config).")
@click.option("--since", type=_DATE, help="From this UTC date (default: 30 days before --until).")
@click.option("--until", type=_DATE, help="Up to this UTC date (default: now, or the newest collection).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write CSV here.")
def report_care(path: Path, brand: str | None, since: datetime | None, until: datetime | None,
                csv_path: Path | None) -> None:
    """Care KPIs per brand (source empty: all sources) and per source: needing reply, replied,
    response rate, median and p90 first response, share answered within target."""
    from monitor.care.service import care_rows

    config, brands, store, now = _setup(path, brand)
    end = _utc(until) or now
    start = _utc(since) or end - DEFAULT_SPAN
    rows = [k.row() for k in care_rows(store, config, brands, start, end)]
    tz = config.zone(brand)
    click.echo(f"posts from {shown(start, tz, '%Y-%m-%d %H:%M')} to {shown(end, tz, '%Y-%m-%d %H:%M')}")
    for row in rows:
        click.echo("  ".join(f"{k}={v}" for k, v in row.items()))
    if csv_path:
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(CSV_COLUMNS))
            writer.writeheader()
            writer.writerows(rows)
