"""Plugins (collectors, stores, notifiers) found through entry points, built-ins included.

Every plugin is a class with a ``Config`` pydantic model (its options, validated once when the
config file is loaded) that implements its group's protocol. Collectors are built with
``Plugin(settings)``, stores and notifiers with ``Plugin.from_config(settings)``.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from monitor.errors import ConfigError, PluginNotFound

COLLECTORS = "monitor.collectors"
STORES = "monitor.stores"
NOTIFIERS = "monitor.notifiers"

_PROTOCOLS = {
    COLLECTORS: "monitor.collectors.base:Collector",
    STORES: "monitor.store.base:Store",
    NOTIFIERS: "monitor.alerts.notify.base:Notifier",
}
_BUILDERS = {STORES: "from_config", NOTIFIERS: "from_config"}


def kind(group: str) -> str:
    """``"monitor.stores"`` → ``"store"``."""
    return group.rsplit(".", 1)[-1].rstrip("s")


@lru_cache(maxsize=None)
def names(group: str) -> tuple[str, ...]:
    """Names registered under ``group``, sorted."""
    return tuple(sorted({ep.name for ep in entry_points(group=group)}))


def protocol_members(protocol: type) -> list[str]:
    """The public names a protocol declares (methods and class attributes)."""
    declared = {*vars(protocol), *getattr(protocol, "__annotations__", {})}
    return sorted(name for name in declared if not name.startswith("_"))


def missing_members(plugin: Any, group: str) -> list[str]:
    """What ``plugin`` lacks of its group's protocol, its ``Config`` model and its builder."""
    module, name = _PROTOCOLS[group].split(":")
    protocol = getattr(importlib.import_module(module), name)
    missing = [member for member in protocol_members(protocol) if not hasattr(plugin, member)]
    config = getattr(plugin, "Config", None)
    if not (isinstance(config, type) and issubclass(config, BaseModel)) and "Config" not in missing:
        missing.append("Config (a pydantic model of its options)")
    builder = _BUILDERS.get(group)
    if builder and not callable(getattr(plugin, builder, None)):
        missing.append(builder)
    return missing


@lru_cache(maxsize=None)
def load(group: str, name: str) -> Any:
    """The plugin class registered as ``name`` in ``group``, checked against its group's protocol.

    An unknown name is refused listing the known ones; a class that does not implement the
    protocol is refused naming what it lacks.
    """
    for ep in entry_points(group=group):
        if ep.name == name:
            plugin = ep.load()
            missing = missing_members(plugin, group)
            if missing:
                raise ConfigError(f"{kind(group)} plugin {name!r} ({ep.value}) does not implement the "
                                  f"{kind(group)} protocol: it lacks {', '.join(missing)}")
            return plugin
    known = ", ".join(names(group)) or "none"
    raise PluginNotFound(f"unknown {kind(group)} {name!r} (known: {known})")
