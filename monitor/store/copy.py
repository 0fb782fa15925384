"""``monitor store copy``: move an installation from SQLite to Elasticsearch, back, or between two of either.

    monitor store copy --from sqlite:monitor.db --to elasticsearch:https://es.example.com:9200
    monitor store copy --from elasticsearch:https://es.example.com:9200 --to sqlite:archive.db

Everything is read through :meth:`~monitor.store.base.Store.export` and written through the
``Store`` protocol, so any store copies into any other. Mentions go over in batches, in the order
they were stored, each batch saved together with a progress cursor *in the target* (brand
``monitor-store-copy``, source ``mentions:<origin>``: the last position copied and how many), so
an interrupted copy resumes where it stopped when run again; a batch that was written but whose
progress was not is simply written again, which the targets' idempotent ids make harmless. Job
runs are resumable the same way, each written under a key made from its position (written once).
Cursors, incidents, their notification queue (order and status kept), silences and sentiment
corrections are small and copied in full on every run; each write is an idempotent upsert (a
correction is kept once under a key made from its position; its label travels with the mention).
"""

from __future__ import annotations

import hashlib
import json
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

import click

from monitor.config import StorageConfig
from monitor.errors import ConfigError, StoreError
from monitor.models import Incident, Mention, SentimentCorrection, Silence
from monitor.store import open_store
from monitor.store.base import CursorUpdate, Exported, ExportKind, JobRun, MentionFilter, Notification, Store

PROGRESS_BRAND = "monitor-store-copy"


def parse_target(spec: str, **options: Any) -> StorageConfig:
    """``sqlite:PATH`` or ``elasticsearch:URL`` as a storage section."""
    backend, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ConfigError(f"{spec!r}: write sqlite:PATH or elasticsearch:URL")
    if backend == "sqlite":
        return StorageConfig(backend="sqlite", path=Path(rest))
    if backend in ("elasticsearch", "es"):
        settings = {k: v for k, v in options.items() if v is not None}
        return StorageConfig(backend="elasticsearch", url=rest, **settings)
    raise ConfigError(f"{spec!r}: unknown store {backend!r} (sqlite or elasticsearch)")


R = TypeVar("R", Mention, CursorUpdate, Incident, Notification, Silence, JobRun, SentimentCorrection)


def _pages(records: Iterator[Exported], size: int) -> Iterator[list[Exported]]:
    while page := list(islice(records, size)):
        yield page


def _records(entries: Iterable[Exported], model: type[R]) -> list[R]:
    """The records of ``entries``, which ``export`` gave as ``model``s."""
    found = [e.record for e in entries]
    wrong = next((r for r in found if not isinstance(r, model)), None)
    if wrong is not None:
        raise StoreError(f"export gave a {type(wrong).__name__} where a {model.__name__} belongs")
    return found  # type: ignore[return-value]


class _Progress:
    """How far one kind was copied: a cursor in the target holding the last position and a count."""

    def __init__(self, target: Store, name: str):
        self.target, self.key = target, CursorUpdate(brand=PROGRESS_BRAND, source=name, value="")
        saved = json.loads(target.get_cursor(PROGRESS_BRAND, name) or "null")
        if isinstance(saved, int):  # written by an earlier version: the bare SQLite position
            saved = {"after": str(saved), "done": 0}
        self.after: str | None = saved["after"] if saved else None
        self.done: int = saved["done"] if saved else 0

    def mark(self, page: list[Exported]) -> CursorUpdate:
        """The progress after ``page``, to save with it."""
        self.after, self.done = page[-1].position, self.done + len(page)
        return self.key.model_copy(update={"value": json.dumps({"after": self.after, "done": self.done})})


def copy_store(source: Store, target: Store, origin: str, *, batch: int = 2000, progress: bool = True,
               echo: Any = click.echo) -> dict[str, int]:
    """Copy everything in ``source`` (named ``origin`` in the progress cursors) into ``target``; resumable.

    Returns counts per kind.
    """
    from tqdm import tqdm

    mentions = _Progress(target, f"mentions:{origin}")
    total = source.count(MentionFilter())
    counts = {"mentions": 0}
    if mentions.done:
        echo(f"resuming: {mentions.done} of {total} mentions already copied")
    with tqdm(total=total, initial=mentions.done, unit="mention", disable=not progress, desc="mentions") as bar:
        for page in _pages(source.export(ExportKind.MENTIONS, mentions.after), batch):
            target.add_mentions(_records(page, Mention), mentions.mark(page))
            counts["mentions"] += len(page)
            bar.update(len(page))

    cursors = [c for c in _records(source.export(ExportKind.CURSORS), CursorUpdate) if c.brand != PROGRESS_BRAND]
    for cursor in cursors:
        target.add_mentions([], cursor)
    counts["cursors"] = len(cursors)

    incidents = _records(source.export(ExportKind.INCIDENTS), Incident)
    for incident in incidents:
        copied = target.get_incident(incident.id)  # copied before: replace it with the source's
        incident.version = copied.version if copied is not None else 0
        target.save_incident(incident)
    counts["incidents"] = len(incidents)

    notes = _records(source.export(ExportKind.NOTIFICATIONS), Notification)
    for note in notes:
        if not target.enqueue(note):
            target.update_notification(note)  # copied before: bring its status up to date
    counts["notifications"] = len(notes)

    silences = _records(source.export(ExportKind.SILENCES), Silence)
    for silence in silences:
        earlier = target.get_silence(silence.id)
        silence.version = earlier.version if earlier is not None else 0
        target.save_silence(silence)
    counts["silences"] = len(silences)

    tag = hashlib.sha1(origin.encode()).hexdigest()[:8]
    corrections = list(source.export(ExportKind.CORRECTIONS))
    for entry, correction in zip(corrections, _records(corrections, SentimentCorrection)):
        target.keep_correction(correction, f"copy-{tag}-{entry.position}")
    counts["corrections"] = len(corrections)

    runs = _Progress(target, f"runs:{origin}")
    counts["runs"] = 0
    for page in _pages(source.export(ExportKind.RUNS, runs.after), batch):
        for entry, run in zip(page, _records(page, JobRun)):
            target.record_run(run, run_id=f"copy-{tag}-{entry.position}")
        target.add_mentions([], runs.mark(page))
        counts["runs"] += len(page)
    return counts


@click.group("store")
def store_group() -> None:
    """Storage maintenance."""


@store_group.command("copy")
@click.option("--from", "source", required=True, metavar="STORE",
              help="The store to copy: sqlite:PATH or elasticsearch:URL.")
@click.option("--to", "target", required=True, metavar="STORE",
              help="Where to copy it: elasticsearch:URL or sqlite:PATH.")
@click.option("--index-prefix", default=None, help="Elasticsearch index prefix (default: monitor).")
@click.option("--api-key-env", default=None, help="Variable holding the Elasticsearch API key "
              "(default: MONITOR_ES_API_KEY).")
@click.option("--ca-certs", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CA bundle for an https URL.")
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 50_000))
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def copy_command(source: str, target: str, index_prefix: str | None, api_key_env: str | None,
                 ca_certs: Path | None, batch_size: int, no_progress: bool) -> None:
    """Copy mentions, cursors, incidents, notifications, silences, corrections and runs; resumable.

    The Elasticsearch options apply to whichever side is Elasticsearch.
    """
    options = dict(index_prefix=index_prefix, api_key_env=api_key_env, ca_certs=ca_certs)
    try:
        settings_from = parse_target(source, **options)
    except ConfigError as exc:
        raise ConfigError(f"--from {exc}") from None
    if settings_from.backend == "sqlite" and not settings_from.settings.path.is_file():
        raise ConfigError(f"--from {source!r}: no such database file")
    settings_to = parse_target(target, **options)
    if settings_from == settings_to:
        raise ConfigError(f"--from and --to name the same store ({source})")
    origin = open_store(settings_from)
    try:
        destination = open_store(settings_to)
        try:
            counts = copy_store(origin, destination, _origin_name(settings_from), batch=batch_size,
                                progress=not no_progress)
        finally:
            destination.close()
    finally:
        origin.close()
    click.echo("copied " + ", ".join(f"{n} {kind}" for kind, n in counts.items()) + f" to {target}")


def _origin_name(settings: StorageConfig) -> str:
    """The name the target's progress cursor is kept under: the database file, or the URL and prefix."""
    options = settings.settings
    if settings.backend == "sqlite":
        return str(options.path.resolve())
    return f"{options.url}/{options.index_prefix}"
