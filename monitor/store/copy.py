"""``monitor store copy``: move an installation from SQLite to Elasticsearch (or another store).

    monitor store copy --from sqlite:monitor.db --to elasticsearch:https://es.example.com:9200

Mentions go over in batches, in the order they were stored, each batch saved together with a
progress cursor *in the target* (brand ``monitor-store-copy``, source ``mentions:<source file>``),
so an interrupted copy resumes where it stopped when run again; a batch that was written but whose
progress was not is simply written again, which the targets' idempotent ids make harmless. Job runs
are resumable the same way. Cursors, incidents, their notification queue (order and status kept)
and silences are small and copied in full on every run; each write is an idempotent upsert.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Iterator

import click

from monitor.config import StorageConfig
from monitor.errors import ConfigError
from monitor.models import Incident, Mention, Silence
from monitor.store import open_store
from monitor.store.base import CursorUpdate, JobRun, Notification, Store
from monitor.store.sqlite import SqliteStore

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


def _rows(source: SqliteStore, sql: str, after: int, batch: int) -> Iterator[list[tuple[Any, ...]]]:
    """``sql`` (selecting the key first, with ``key > ?`` and ``LIMIT ?``) page by page."""
    while True:
        rows = source._query(sql, (after, batch))
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def copy_store(source: SqliteStore, target: Store, *, batch: int = 2000, progress: bool = True,
               echo: Any = click.echo) -> dict[str, int]:
    """Copy everything in ``source`` into ``target``; resumable. Returns counts per kind."""
    from tqdm import tqdm

    origin = str(source.path.resolve()) if str(source.path) != ":memory:" else ":memory:"
    mention_key = CursorUpdate(brand=PROGRESS_BRAND, source=f"mentions:{origin}", value="0")
    done = int(target.get_cursor(mention_key.brand, mention_key.source) or 0)
    total = source._query("SELECT count(*) FROM mentions")[0][0]
    left = source._query("SELECT count(*) FROM mentions WHERE rowid > ?", (done,))[0][0]
    counts = {"mentions": 0}
    if done:
        echo(f"resuming: {total - left} of {total} mentions already copied")
    with tqdm(total=total, initial=total - left, unit="mention", disable=not progress, desc="mentions") as bar:
        sql = ("SELECT rowid, data, likes, shares, replies FROM mentions WHERE rowid > ? ORDER BY rowid LIMIT ?")
        for rows in _rows(source, sql, done, batch):
            mentions = []
            for _, data, likes, shares, replies in rows:
                mention = Mention.model_validate_json(data)
                mention.engagement.likes, mention.engagement.shares, mention.engagement.replies = likes, shares, replies
                mentions.append(mention)
            target.add_mentions(mentions, mention_key.model_copy(update={"value": str(rows[-1][0])}))
            counts["mentions"] += len(rows)
            bar.update(len(rows))

    cursors = source._query("SELECT brand, source, value FROM cursors WHERE brand != ?", (PROGRESS_BRAND,))
    for brand, name, value in cursors:
        target.add_mentions([], CursorUpdate(brand=brand, source=name, value=value))
    counts["cursors"] = len(cursors)

    incidents = [Incident.model_validate_json(r[0]) for r in source._query("SELECT data FROM incidents")]
    for incident in incidents:
        copied = target.get_incident(incident.id)  # copied before: replace it with the source's
        incident.version = copied.version if copied is not None else 0
        target.save_incident(incident)
    counts["incidents"] = len(incidents)

    notes = [Notification.model_validate_json(r[0]) for r in source._query("SELECT data FROM notifications ORDER BY seq")]
    for note in notes:
        if not target.enqueue(note):
            target.update_notification(note)  # copied before: bring its status up to date
    counts["notifications"] = len(notes)

    silences = [Silence.model_validate_json(r[0]) for r in source._query("SELECT data FROM silences")]
    for silence in silences:
        target.add_silence(silence)
    counts["silences"] = len(silences)

    run_key = CursorUpdate(brand=PROGRESS_BRAND, source=f"runs:{origin}", value="0")
    after = int(target.get_cursor(run_key.brand, run_key.source) or 0)
    counts["runs"] = 0
    keyed = "run_id" in inspect.signature(target.record_run).parameters
    for rows in _rows(source, "SELECT seq, data FROM runs WHERE seq > ? ORDER BY seq LIMIT ?", after, batch):
        for seq, data in rows:
            run = JobRun.model_validate_json(data)
            if keyed:  # an idempotent write: a re-run after a crash cannot duplicate it
                target.record_run(run, run_id=f"copy-{seq}")  # type: ignore[call-arg]
            else:
                target.record_run(run)
        target.add_mentions([], run_key.model_copy(update={"value": str(rows[-1][0])}))
        counts["runs"] += len(rows)
    return counts


@click.group("store")
def store_group() -> None:
    """Storage maintenance."""


@store_group.command("copy")
@click.option("--from", "source", required=True, metavar="sqlite:PATH", help="The SQLite database to copy.")
@click.option("--to", "target", required=True, metavar="elasticsearch:URL",
              help="Where to copy it: elasticsearch:URL (or sqlite:PATH).")
@click.option("--index-prefix", default=None, help="Elasticsearch index prefix (default: monitor).")
@click.option("--api-key-env", default=None, help="Variable holding the Elasticsearch API key "
              "(default: MONITOR_ES_API_KEY).")
@click.option("--ca-certs", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CA bundle for an https URL.")
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 50_000))
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def copy_command(source: str, target: str, index_prefix: str | None, api_key_env: str | None,
                 ca_certs: Path | None, batch_size: int, no_progress: bool) -> None:
    """Copy mentions, cursors, incidents, notifications, silences and runs; resumable."""
    backend, _, path = source.partition(":")
    if backend != "sqlite" or not path:
        raise ConfigError(f"--from {source!r}: write sqlite:PATH")
    if not Path(path).is_file():
        raise ConfigError(f"--from {source!r}: no such database file")
    settings = parse_target(target, index_prefix=index_prefix, api_key_env=api_key_env, ca_certs=ca_certs)
    with SqliteStore(path) as origin:
        destination = open_store(settings)
        try:
            counts = copy_store(origin, destination, batch=batch_size, progress=not no_progress)
        finally:
            destination.close()
    click.echo("copied " + ", ".join(f"{n} {kind}" for kind, n in counts.items()) + f" to {target}")
