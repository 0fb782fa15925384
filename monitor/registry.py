"""Plugins (collectors, stores, notifiers) found through entry points, built-ins included."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from monitor.errors import PluginNotFound

COLLECTORS = "monitor.collectors"
STORES = "monitor.stores"
NOTIFIERS = "monitor.notifiers"


@lru_cache(maxsize=None)
def names(group: str) -> tuple[str, ...]:
    """Names registered under ``group``, sorted."""
    return tuple(sorted({ep.name for ep in entry_points(group=group)}))


@lru_cache(maxsize=None)
def load(group: str, name: str) -> Any:
    """The object registered as ``name`` in ``group``; a clear error lists the known names."""
    for ep in entry_points(group=group):
        if ep.name == name:
            return ep.load()
    known = ", ".join(names(group)) or "none"
    kind = group.rsplit(".", 1)[-1].rstrip("s")
    raise PluginNotFound(f"unknown {kind} {name!r} (known: {known})")
