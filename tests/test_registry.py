import pytest

from monitor import registry
from monitor.errors import PluginNotFound


def test_built_ins_are_registered_through_entry_points():
    assert {"file", "rss"} <= set(registry.names(registry.COLLECTORS))
    assert "sqlite" in registry.names(registry.STORES)
    assert {"slack", "outbox"} <= set(registry.names(registry.NOTIFIERS))
    assert registry.load(registry.STORES, "sqlite").__name__ == "SqliteStore"


def test_unknown_plugin_names_the_known_ones():
    with pytest.raises(PluginNotFound, match=r"unknown collector 'fax' \(known: .*file.*rss"):
        registry.load(registry.COLLECTORS, "fax")
