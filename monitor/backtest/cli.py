"""``monitor backtest``: the detectors on a NAB series, the demo scenario or a stored history."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.errors import ConfigError


@click.command("backtest", short_help="How many alerts the detectors would have sent.")
@click.argument("series", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="With SERIES: write timestamp,alarm (0/1) here.")
@click.option("--demo", is_flag=True, help="Replay the demo scenario and report the alert budget.")
@click.option("--days", default=21, show_default=True, help="With --demo: quiet days before the crisis.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Replay this config's stored history and report the alert budget.")
@click.option("--weeks", default=4, show_default=True, help="With --config: how many past weeks to replay.")
def backtest(series: Path | None, out: Path | None, demo: bool, days: int, config_path: Path | None,
             weeks: int) -> None:
    """Run the detectors over past data, streaming and without look-ahead.

    \b
    monitor backtest SERIES.csv --out ALARMS.csv   NAB-format series -> alarms
    monitor backtest --demo                        alert budget of the demo scenario
    monitor backtest --config monitor.yaml         alert budget of the stored history
    """
    modes = sum((series is not None, demo, config_path is not None))
    if modes != 1:
        raise ConfigError("give exactly one of SERIES.csv, --demo or --config CONFIG")
    if series is not None:
        from monitor.backtest.series import backtest as run_series, read_series, write_alarms

        if out is None:
            raise ConfigError("SERIES.csv needs --out ALARMS.csv")
        points = read_series(series)
        alarms = run_series(points)
        write_alarms(points, alarms, out)
        click.echo(f"{series}: {len(points)} points, {sum(alarms)} alarms -> {out}")
        return
    from monitor.backtest.budget import budget_from_config, budget_from_demo, format_budget

    report = budget_from_demo(days) if demo else budget_from_config(config_path, weeks)
    for line in format_budget(report):
        click.echo(line)
