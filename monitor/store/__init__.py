"""Storage backends behind the :class:`~monitor.store.base.Store` protocol."""

from __future__ import annotations

from monitor import registry
from monitor.config import StorageConfig
from monitor.store.base import Store


def open_store(storage: StorageConfig) -> Store:
    """Open the backend named by ``storage.backend`` (registered under ``monitor.stores``) with its
    options, validated when the config was loaded."""
    return registry.load(registry.STORES, storage.backend).from_config(storage.settings)
