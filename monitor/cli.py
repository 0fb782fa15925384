"""The ``monitor`` command. Errors become one clean line and an exit code (see monitor.errors)."""

from __future__ import annotations

import csv
import logging
import os
import sys
from importlib import resources
from pathlib import Path

import click

from monitor import config as config_lib
from monitor import config_checks
from monitor.cli_config import ENV, ConfigCommand, config_option
from monitor.errors import ConfigError, MonitorError

log = logging.getLogger("monitor")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what each job does.")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, debug: bool) -> None:
    """Brand monitoring and crisis early warning.

    Exit codes: 0 ok, 1 internal error, 2 bad config or usage, 3 collector failed,
    4 store failed, 5 alert delivery failed, 6 NLP model failed.
    """
    _setup_logging(verbose)
    ctx.obj = {"debug": debug}


@cli.command(short_help="Write a starter config and the shipped playbooks.", cls=ConfigCommand)
@config_option("Where to write the config.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented starter config (--config, default monitor.yaml), and the shipped playbooks
    beside it (in playbooks/) unless that folder exists."""
    import shutil

    from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS

    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; use --force to overwrite it")
    path.write_text(resources.files("monitor").joinpath("starter.yaml").read_text(encoding="utf-8"))
    playbooks = path.parent / "playbooks"
    if not playbooks.exists():
        shutil.copytree(BUILT_IN_PLAYBOOKS, playbooks)
        click.echo(f"wrote {len(list(playbooks.glob('*.yaml')))} playbooks in {playbooks}")
    click.echo(f"wrote {path}; edit the brands, then run: monitor check-config --config {path}")


@cli.command("check-config", short_help="Check a config file; every problem with its place.", cls=ConfigCommand)
@config_option()
def check_config(path: Path) -> None:
    """Validate a config file as `monitor run` would; every problem with its YAML path (exit 2)."""
    config = config_lib.check(path)
    sources = sum(len(b.sources) for b in config.brands)
    click.echo(f"{path}: OK ({len(config.brands)} brand(s), {sources} source(s))")
    for warning in config_checks.secret_warnings(config, Path(path)):
        click.echo(f"warning: {warning}", err=True)


@cli.command(short_help="Run the service: collect, look for spikes, alert.", cls=ConfigCommand)
@config_option()
def run(path: Path) -> None:
    """Run the service: collect on schedule, detect, alert. Stops cleanly on Ctrl-C or SIGTERM."""
    from monitor.runtime import build_interactive, build_pipeline
    from monitor.scheduler import Service

    config = config_lib.check(path)
    for warning in config_checks.secret_warnings(config, Path(path)):
        click.echo(f"warning: {warning}", err=True)
    pipeline = build_pipeline(config)
    service = Service(pipeline, interactive=build_interactive(config, pipeline.store, pipeline.playbooks))
    click.echo(f"running {len(service.job_names())} jobs from {path}; Ctrl-C to stop", err=True)
    service.run_forever()
    click.echo("stopped", err=True)


@cli.command(short_help="Collect one brand from one source, once.", cls=ConfigCommand)
@config_option()
@click.option("--brand", required=True, help="Brand name as in the config.")
@click.option("--source", "source", required=True, help="Source name (or type) within the brand.")
def collect(path: Path, brand: str, source: str) -> None:
    """Collect one brand from one source once, then exit (also when the source is unhealthy); `monitor run`
    collects on schedule. Playbooks are not read."""
    from monitor.runtime import build_pipeline

    pipeline = build_pipeline(config_lib.load(path), playbooks=[])
    result = pipeline.collect(brand, source, force=True)
    click.echo(f"{result.brand}/{result.source}: fetched {result.fetched}, matched {result.matched}, "
               f"stored {result.stored} new"
               + (f", skipped {result.unreadable} unreadable item(s)" if result.unreadable else ""))


@cli.command(short_help="List the workers sharing the config's store.", cls=ConfigCommand)
@config_option()
def workers(path: Path) -> None:
    """List the workers (``monitor run``) on the config's store: last heartbeat, what each holds, jobs done."""
    from datetime import datetime, timezone

    from monitor.store import open_store
    from monitor.workers import worker_statuses

    config = config_lib.load(path)
    store = open_store(config.storage)
    try:
        found = worker_statuses(store, config, datetime.now(timezone.utc))
    finally:
        store.close()
    for worker in found:
        click.echo(f"{worker.id}  {worker.state}  last beat {worker.beat_at:%Y-%m-%d %H:%M:%S} UTC  "
                   f"config {'same' if worker.same_config else 'DIFFERS from ' + str(path)}  "
                   f"jobs in the last hour {worker.jobs_last_hour}  holds {', '.join(worker.holds) or 'nothing'}")
    if not found:
        click.echo("no workers have run on this store yet")


@cli.command(short_help="Look for spikes now and send due alerts, once.", cls=ConfigCommand)
@config_option()
def detect(path: Path) -> None:
    """Look for spikes in every brand's newest complete 15-minute bucket (detection.bucket) and send the
    alerts that are due, once."""
    from monitor.runtime import build_pipeline

    pipeline = build_pipeline(config_lib.load(path))
    incidents = pipeline.detect()
    pipeline.deliver()
    for incident in incidents:
        click.echo(f"{incident.id}: {incident.state.value}, severity {incident.severity.word}")
    if not incidents:
        click.echo("no spikes")


@cli.command(short_help="Replay a brand crisis through the real pipeline.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the demo's database and config here (default: a new temporary folder).")
@click.option("--days", default=14, show_default=True, help="Quiet days before the crisis.")
@click.option("--live", is_flag=True,
              help="Stream the crisis through a loopback Bluesky Jetstream instead, in real time (under a minute): "
                   "the alert arrives seconds after the post goes viral.")
def demo(workdir: Path | None, days: int, live: bool) -> None:
    """Replay a multilingual brand crisis through the real pipeline with a simulated clock (or, with --live,
    as a stream in real time)."""
    if live:
        from monitor.demo.live import run_live_demo

        run_live_demo(workdir, echo=click.echo)
        return
    from monitor.demo.run import run_demo

    run_demo(workdir, quiet_days=days, echo=click.echo)


@cli.command(short_help="Open the dashboard on the config's database.", cls=ConfigCommand)
@config_option()
@click.option("--port", type=int, default=None, help="Default: the port slack.dashboard_url names (8501).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; another than loopback needs a login (MONITOR_DASHBOARD_PASSWORD or [auth]).")
def dashboard(path: Path, port: int | None, host: str) -> None:
    """Open the Streamlit dashboard on the store the config names."""
    from monitor.dashboard.access import check_access, link_port

    config = config_lib.load(path)
    check_access(host)
    port, mismatch = link_port(config.slack.dashboard_url, port)
    if mismatch:
        click.echo(f"note: {mismatch}", err=True)
    app = Path(__file__).resolve().parent / "dashboard" / "app.py"
    env = dict(os.environ, MONITOR_CONFIG=str(Path(path).resolve()))
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
               "--server.address", host, "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "viewer", "--server.enableXsrfProtection", "true"]
    shown = "localhost" if host in ("127.0.0.1", "::1", "localhost") else host
    click.echo(f"dashboard on http://{shown}:{port} (Ctrl-C to stop)", err=True)
    os.execve(sys.executable, command, env)


@cli.group()
def playbooks() -> None:
    """Crisis-communication playbooks."""


@playbooks.command("validate")
@click.argument("directory", default="playbooks", type=click.Path(file_okay=False, path_type=Path))
def playbooks_validate(directory: Path) -> None:
    """Check every playbook in DIRECTORY against the schema (exit 2 on problems)."""
    from monitor.alerts.incidents.playbooks import load_playbooks

    loaded = load_playbooks(directory)
    for playbook in loaded:
        click.echo(f"ok  {playbook.id}: {playbook.title} ({len(playbook.steps)} steps)")


@cli.group()
def nlp() -> None:
    """Sentiment and language tools."""


@nlp.command("score")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="One text per line.")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="One label per line: 0 negative, 1 neutral, 2 positive.")
@click.option("--config", "path", type=click.Path(dir_okay=False, path_type=Path), envvar=ENV, show_envvar=True,
              help="Use this config's nlp section (default settings otherwise).")
def nlp_score(input_path: Path, output_path: Path, path: Path | None) -> None:
    """Score texts with the configured sentiment backend."""
    from monitor.nlp.annotate import build_scorer

    settings = config_lib.load(path).nlp if path else config_lib.NlpConfig()
    texts = input_path.read_text(encoding="utf-8", errors="replace").splitlines()
    results = build_scorer(settings).score(texts)
    output_path.write_text("".join(f"{r.label_id}\n" for r in results), encoding="utf-8")
    click.echo(f"scored {len(texts)} texts into {output_path}")


@cli.command(short_help="Mark a playbook step of an incident done.", cls=ConfigCommand)
@config_option()
@click.argument("incident_id")
@click.argument("number", type=click.IntRange(min=1))
@click.option("--undo", is_flag=True, help="Mark the step as not done after all.")
@click.option("--by", default=lambda: os.environ.get("USER", "cli"), show_default="$USER", help="Who did it.")
@click.option("--note", default="", help="What was done, for the thread and the record.")
@click.option("--at", "at", default=None, help="When it was done (ISO time, UTC unless a zone is given); default now.")
def step(path: Path, incident_id: str, number: int, undo: bool, by: str, note: str, at: str | None) -> None:
    """Mark step NUMBER (from 1) of an incident's playbook done."""
    from monitor.alerts.incidents.playbooks import load_playbooks
    from monitor.alerts.incidents.steps import mark_step
    from monitor.incident_cli import parse_moment
    from monitor.store import open_store

    config = config_lib.load(path)
    changed = mark_step(open_store(config.storage), load_playbooks(config.alerts.playbooks_dir), incident_id,
                        number, by=by, now=parse_moment(at), note=note, undo=undo)
    done = {d.number for d in changed.steps_done}
    click.echo(f"{changed.id}: step {number} {'done' if number in done else 'not done'}; "
               f"steps done: {', '.join(map(str, sorted(done))) or 'none'}")


@cli.group(short_help="Reports on past incidents.")
def report() -> None:
    """Reports on what happened."""


@report.command("incidents", cls=ConfigCommand)
@config_option()
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write CSV here.")
def report_incidents(path: Path, csv_path: Path | None) -> None:
    """Incidents with their state, severity, playbook and response times (times in the configured timezone;
    the CSV's in UTC)."""
    from monitor.alerts.incidents.outcomes import Outcome, outcome_row, report_lines
    from monitor.store import open_store

    config = config_lib.load(path)
    store = open_store(config.storage)
    rows = []
    for incident in sorted(store.incidents(), key=lambda i: i.opened_at):
        outcome = Outcome.of(incident, store)
        click.echo("\n".join(report_lines(incident, outcome, config.zone(incident.brand))))
        rows.append(outcome_row(incident, outcome))
    if not rows:
        click.echo("no incidents yet")
    if csv_path:
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["id"])
            writer.writeheader()
            writer.writerows(rows)


from monitor.backfill import backfill  # noqa: E402 - registered after the built-in commands

cli.add_command(backfill)


from monitor.store.commands import prune_command, setup_command  # noqa: E402  (monitor store setup/prune)
from monitor.store.copy import store_group  # noqa: E402  (monitor store copy)

store_group.add_command(setup_command)
store_group.add_command(prune_command)
cli.add_command(store_group)


from monitor.backtest.cli import backtest  # noqa: E402

cli.add_command(backtest)


from monitor.incident_cli import incident_group  # noqa: E402  (monitor incident list/show/acknowledge/…)
from monitor.silence_cli import silence  # noqa: E402  (monitor silence add/list/expire)

cli.add_command(incident_group)
cli.add_command(silence)


from monitor.query.cli import query_group  # noqa: E402  (monitor query test)

cli.add_command(query_group)


from monitor.care.cli import care_group, report_care  # noqa: E402  (monitor care queue, monitor report care)

cli.add_command(care_group)
report.add_command(report_care)

from monitor.nlp.corrections import correct, export_corrections  # noqa: E402  (monitor nlp correct / export-corrections)

nlp.add_command(correct)
nlp.add_command(export_corrections)


def main() -> None:
    """Entry point: run the CLI and turn errors into messages and exit codes."""
    debug = "--debug" in sys.argv
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MonitorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
