"""``monitor backfill CONFIG --since 7d``: fetch the past of each source, with a progress bar.

A backfill starts every source afresh from ``now - since`` (``FetchContext.since``) with no
page bound and no engagement refresh, and stores what matches without touching the sources' cursors, so the
scheduled runs carry on where they were. The store drops mentions it already has, so a
backfill can be interrupted and run again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
from tqdm import tqdm

from monitor import config as config_lib
from monitor import registry
from monitor.cli_config import ConfigCommand, config_option
from monitor.collectors.base import FetchContext
from monitor.collectors.stream import is_stream
from monitor.config import BrandConfig, SourceConfig
from monitor.durations import parse_duration
from monitor.query import Query

if TYPE_CHECKING:
    from monitor.pipeline import CollectResult, Pipeline

log = logging.getLogger(__name__)

UNBOUNDED_PAGES = 1_000_000


def backfill_source(pipeline: Pipeline, brand: BrandConfig, source: SourceConfig, since: timedelta,
                    now: datetime, bar: tqdm | None = None) -> CollectResult:
    """Fetch ``since`` back from ``now`` for one source; ``bar`` counts the hours covered."""
    from monitor.pipeline import CollectResult

    plugin = registry.load(registry.COLLECTORS, source.type)
    fields = type(source.settings).model_fields
    unbounded = {"max_pages": UNBOUNDED_PAGES, "refresh_hours": 0}
    collector = plugin(source.settings.model_copy(update={k: v for k, v in unbounded.items() if k in fields}))
    query = Query.parse(brand.query_text())
    context = FetchContext(brand.name, source.key, query, tuple(brand.languages), now, since=now - since)
    result = CollectResult(brand.name, source.key)
    total_hours = since / timedelta(hours=1)
    for batch in collector.fetch(context, None):
        pipeline.store_batch(brand, source, batch, result, save_cursor=False)
        if bar is not None and batch.mentions:
            oldest = min(m.created_at for m in batch.mentions)
            covered = min(total_hours, max(0.0, (now - oldest) / timedelta(hours=1)))
            bar.update(max(0.0, covered - bar.n))
            bar.set_postfix(stored=result.stored, refresh=False)
    if bar is not None:
        bar.update(max(0.0, total_hours - bar.n))
    return result


@click.command(short_help="Fetch past mentions from each source.", cls=ConfigCommand)
@config_option()
@click.option("--since", "since_text", required=True, help="How far back, e.g. 7d, 12h, 90m.")
@click.option("--brand", "brand_name", help="Only this brand (default: all).")
@click.option("--source", "source_key", help="Only this source of the brand(s) (default: all enabled).")
def backfill(path: Path, since_text: str, brand_name: str | None, source_key: str | None) -> None:
    """Fetch past mentions from each source (without moving cursors), with a progress bar."""
    from monitor.runtime import build_pipeline

    try:
        since = parse_duration(since_text)
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    pipeline = build_pipeline(config_lib.load(path), playbooks=[])
    brands = [pipeline.config.brand(brand_name)] if brand_name else pipeline.config.brands
    now = pipeline.clock()
    for brand in brands:
        sources = [pipeline.source_config(brand, source_key)] if source_key else [s for s in brand.sources if s.enabled]
        for source in sources:
            if not source_key and is_stream(registry.load(registry.COLLECTORS, source.type)):
                click.echo(f"{brand.name}/{source.key}: a stream, read live by `monitor run`; skipped")
                continue
            total = since / timedelta(hours=1)
            with tqdm(total=total, desc=f"{brand.name}/{source.key}", unit="h", bar_format=BAR) as bar:
                result = backfill_source(pipeline, brand, source, since, now, bar)
            click.echo(f"{brand.name}/{source.key}: fetched {result.fetched}, matched {result.matched}, "
                       f"stored {result.stored} new")


BAR = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} h back{postfix}"
