"""The index template of the monthly mention indices, and deleting old months.

Opening the store creates the template ``P-mentions`` only when it is missing, with the shards,
replicas and refresh interval of the config, and otherwise leaves it alone: an operator's changes
to it survive every restart, and a key without the cluster privilege to read templates is fine
(the store then assumes the operator manages it). ``monitor store setup`` applies the config's
template on purpose (:func:`apply_template`), and brings existing months to its replicas and
refresh interval (shards cannot change on an existing index). Every monthly index is created with
the mapping and the alias itself, so a template from an older release never leaves a month short
of a field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.store.base import Pruned
from monitor.store.elastic_client import ApiError, Elasticsearch
from monitor.store.elastic_mapping import is_month_index, mentions_template, month_index

log = logging.getLogger(__name__)

FORBIDDEN = 403


@dataclass(frozen=True)
class TemplateSettings:
    """The settings of the monthly mention indices (``storage.shards``, ``replicas``, ``refresh_interval``)."""

    shards: int = 1
    replicas: int | None = None
    """``None``: one replica where the cluster has a second node, none on a single node."""
    refresh_interval: timedelta = timedelta(seconds=1)

    @classmethod
    def from_config(cls, storage: Any) -> TemplateSettings:
        return cls(shards=storage.shards, replicas=storage.replicas, refresh_interval=storage.refresh_interval)

    def dynamic(self) -> dict[str, Any]:
        """The settings an existing index can take."""
        replicas: dict[str, Any] = ({"auto_expand_replicas": "0-1"} if self.replicas is None
                                    else {"auto_expand_replicas": "false", "number_of_replicas": self.replicas})
        return {**replicas, "refresh_interval": f"{int(self.refresh_interval.total_seconds() * 1000)}ms"}

    def index(self) -> dict[str, Any]:
        """The settings of a new monthly index."""
        return {"number_of_shards": self.shards, **self.dynamic()}


def ensure_template(es: Elasticsearch, prefix: str, settings: TemplateSettings) -> str:
    """Create the template when it is missing; returns ``created``, ``kept`` or ``unchecked``."""
    name = f"{prefix}-mentions"
    try:
        if es.indices.exists_index_template(name=name):
            return "kept"
        es.indices.put_index_template(**mentions_template(prefix, settings.index()), create=True)
    except ApiError as exc:
        if exc.meta.status == FORBIDDEN:
            log.info("no privilege to check the index template %s; assuming an operator manages it "
                     "(monitor store setup creates it)", name)
            return "unchecked"
        if exc.meta.status == 400 and "already exists" in str(exc):
            return "kept"  # another worker created it meanwhile
        raise
    log.info("created the index template %s", name)
    return "created"


def apply_template(es: Elasticsearch, prefix: str, settings: TemplateSettings) -> list[str]:
    """Put the config's template and the dynamic settings on existing months; returns those months."""
    es.indices.put_index_template(**mentions_template(prefix, settings.index()))
    months = month_indices(es, prefix)
    if months:
        es.indices.put_settings(index=",".join(months), settings=settings.dynamic())
    return months


def month_indices(es: Elasticsearch, prefix: str) -> list[str]:
    """The monthly mention indices of ``prefix``, oldest first."""
    found = es.indices.get(index=f"{prefix}-mentions-*", allow_no_indices=True, ignore_unavailable=True,
                           expand_wildcards="open,closed", features="aliases")
    return sorted(name for name in found if is_month_index(prefix, name))


def drop_months(es: Elasticsearch, prefix: str, before: datetime) -> Pruned:
    """Delete every monthly index whose whole month lies before ``before``."""
    keep_from = month_index(prefix, before)
    dropped = [name for name in month_indices(es, prefix) if name < keep_from]
    counted = 0
    if dropped:
        counted = es.count(index=",".join(dropped), ignore_unavailable=True)["count"]
        es.indices.delete(index=",".join(dropped), ignore_unavailable=True)
    return Pruned(mentions=counted, indices=dropped)
