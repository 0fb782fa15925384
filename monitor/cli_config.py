"""How every ``monitor`` command is told its config: ``--config FILE``, else ``MONITOR_CONFIG``, else
``monitor.yaml`` in the current folder.

The config as the first argument (``monitor run monitor.yaml``, the form before 0.2) is still read,
with a warning on stderr, until 0.3: :class:`ConfigCommand` moves it to ``--config``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

ENV = "MONITOR_CONFIG"
DEFAULT = "monitor.yaml"
DEPRECATED = ("warning: the config as the first argument is deprecated and will be refused from monitor 0.3; "
              "use --config {path} (or set MONITOR_CONFIG)")


def config_option(help: str = "The config file.") -> Callable[[Any], Any]:
    """``--config FILE`` (``MONITOR_CONFIG``, default ``monitor.yaml``), passed to the command as ``path``."""
    return click.option("--config", "path", type=click.Path(dir_okay=False, path_type=Path), envvar=ENV,
                        default=DEFAULT, show_default=True, show_envvar=True, help=help)


def _positions(command: click.Command, args: list[str]) -> list[int]:
    """Where the positional arguments are in ``args`` (option values and flags skipped)."""
    takes_value = {name for p in command.params if isinstance(p, click.Option) and not p.is_flag and not p.count
                   for name in (*p.opts, *p.secondary_opts)}
    found, skip = [], False
    for index, token in enumerate(args):
        if skip:
            skip = False
        elif token == "--":
            return found + list(range(index + 1, len(args)))
        elif token.startswith("-") and len(token) > 1:
            skip = token in takes_value
        else:
            found.append(index)
    return found


def moved_config(command: click.Command, args: list[str]) -> tuple[list[str], str | None]:
    """``args`` with a config given as the first argument moved to ``--config``, and that path (or None)."""
    declared = sum(p.nargs for p in command.params if isinstance(p, click.Argument) and p.nargs > 0)
    positions = _positions(command, args)
    given = any(token == "--config" or token.startswith("--config=") for token in args)
    if given or len(positions) != declared + 1:
        return args, None
    first = positions[0]
    return ["--config", args[first], *args[:first], *args[first + 1:]], args[first]


class ConfigCommand(click.Command):
    """A command with :func:`config_option` that also takes the config as its first argument, with a warning."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args, legacy = moved_config(self, list(args))
        if legacy is not None:
            click.echo(DEPRECATED.format(path=legacy), err=True)
        return super().parse_args(ctx, args)
