"""Sentiment corrections from the command line, and exporting them as training data.

    monitor nlp correct CONFIG BRAND MENTION_ID negative --by maria
    monitor nlp export-corrections CONFIG --out corrections.jsonl [--brand B]

The export holds the latest correction of each mention, oldest first, one JSON object a line:
``text``, ``label`` and ``label_id`` (0 negative, 1 neutral, 2 positive), ``language``, ``previous``
(the label it replaced), ``brand``, ``mention_id``, ``by`` and ``at``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, cast

import click

from monitor import config as config_lib
from monitor.cli_config import ConfigCommand, config_option
from monitor.models import SENTIMENT_LABELS, SentimentCorrection, SentimentLabel
from monitor.store import open_store


def training_rows(corrections: Iterable[SentimentCorrection]) -> list[dict[str, object]]:
    """The latest correction of each mention (``corrections`` newest first), as rows oldest first."""
    latest: dict[tuple[str, str], SentimentCorrection] = {}
    for correction in corrections:
        latest.setdefault((correction.brand, correction.mention_id), correction)
    return [
        {"text": c.text, "label": c.label, "label_id": SENTIMENT_LABELS.index(c.label), "language": c.language,
         "previous": c.previous, "brand": c.brand, "mention_id": c.mention_id, "by": c.by, "at": c.at.isoformat()}
        for c in sorted(latest.values(), key=lambda c: c.at)
    ]


@click.command("correct", short_help="Set a post's sentiment by hand; every figure counts it.", cls=ConfigCommand)
@config_option()
@click.argument("brand")
@click.argument("mention_id")
@click.argument("label", type=click.Choice(SENTIMENT_LABELS))
@click.option("--by", default=lambda: os.environ.get("USER", "cli"), show_default="$USER", help="Who corrects it.")
def correct(path: Path, brand: str, mention_id: str, label: str, by: str) -> None:
    """Give mention MENTION_ID of BRAND the sentiment LABEL (kept, and exported as training data)."""
    store = open_store(config_lib.load(path).storage)
    try:
        made = store.correct_sentiment(brand, mention_id, cast(SentimentLabel, label), by, datetime.now(timezone.utc))
    finally:
        store.close()
    if made is None:
        raise click.BadParameter(f"no mention {mention_id!r} of {brand!r} is stored", param_hint="MENTION_ID")
    click.echo(f"{mention_id}: {made.previous or 'no sentiment'} -> {made.label} (by {made.by})")


@click.command("export-corrections", short_help="Write the sentiment corrections as training data (JSON lines).",
               cls=ConfigCommand)
@config_option()
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The JSON-lines file to write.")
@click.option("--brand", default=None, help="Only this brand's corrections.")
def export_corrections(path: Path, out: Path, brand: str | None) -> None:
    """Write the latest sentiment correction of each post, with its text, to a JSON-lines file."""
    store = open_store(config_lib.load(path).storage)
    try:
        rows = training_rows(store.corrections(brand))
    finally:
        store.close()
    out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    click.echo(f"wrote {len(rows)} corrected post(s) to {out}")
