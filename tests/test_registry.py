from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from monitor import config as config_lib
from monitor import registry
from monitor.alerts.notify.email.notifier import EmailConfig
from monitor.errors import ConfigError, PluginNotFound


def test_built_ins_are_registered_through_entry_points():
    assert {"file", "rss"} <= set(registry.names(registry.COLLECTORS))
    assert "sqlite" in registry.names(registry.STORES)
    assert {"slack", "outbox", "email"} <= set(registry.names(registry.NOTIFIERS))
    assert registry.load(registry.STORES, "sqlite").__name__ == "SqliteStore"


def test_unknown_plugin_names_the_known_ones():
    with pytest.raises(PluginNotFound, match=r"unknown collector 'fax' \(known: .*file.*rss"):
        registry.load(registry.COLLECTORS, "fax")


class HalfNotifier:
    """Sends, but cannot tell whether a message was sent before."""

    Config = EmailConfig

    @classmethod
    def from_config(cls, settings: EmailConfig) -> HalfNotifier:
        return cls()

    def send(self, message: object) -> str:
        return "id"


class NoConfigStore:
    @classmethod
    def from_config(cls, settings: object) -> NoConfigStore:
        return cls()


@pytest.fixture
def extra_plugins(monkeypatch):
    """Entry points as installed, plus ``half`` (a notifier) and ``bare`` (a store) from this module."""
    installed = registry.entry_points
    added = [EntryPoint("half", f"{__name__}:HalfNotifier", registry.NOTIFIERS),
             EntryPoint("bare", f"{__name__}:NoConfigStore", registry.STORES)]

    def with_added(group: str):
        return [*installed(group=group), *(ep for ep in added if ep.group == group)]

    monkeypatch.setattr(registry, "entry_points", with_added)
    registry.load.cache_clear()
    registry.names.cache_clear()
    yield
    registry.load.cache_clear()
    registry.names.cache_clear()


def test_a_plugin_that_does_not_implement_its_protocol_is_refused_by_name(extra_plugins):
    with pytest.raises(ConfigError, match=r"notifier plugin 'half' \(test_registry:HalfNotifier\) does not implement "
                                          r"the notifier protocol: it lacks find"):
        registry.load(registry.NOTIFIERS, "half")
    lacks = r"store plugin 'bare' .* it lacks active_incident, add_mentions, .*Config \(a pydantic model"
    with pytest.raises(ConfigError, match=lacks):
        registry.load(registry.STORES, "bare")


def test_check_config_names_the_plugin_that_breaks_its_protocol(extra_plugins):
    with pytest.raises(ConfigError) as caught:
        config_lib.parse("alerts: {notifier: half}\nbrands: [{name: Acme, query: acme}]\n")
    assert "alerts.notifier (line 1): notifier plugin 'half'" in str(caught.value)
    assert "lacks find" in str(caught.value)


def test_every_built_in_implements_its_protocol():
    for group in (registry.COLLECTORS, registry.STORES, registry.NOTIFIERS):
        for name in registry.names(group):
            assert registry.missing_members(registry.load(group, name), group) == [], (group, name)
