"""The stores' own options (``SqliteStore.Config``, ``ElasticsearchStore.Config``): the fields written
beside ``storage.backend``, validated once when the config is loaded.

Credentials are never written in the file: ``api_key_env``, ``username_env`` and ``password_env``
name the environment variables that hold them (see :mod:`monitor.store.elastic_auth`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import (AfterValidator, BaseModel, ByteSize, ConfigDict, Field, PlainSerializer,
                      model_validator)

from monitor.durations import PositiveDuration


def _fingerprint(value: str) -> str:
    digits = value.replace(":", "").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digits):
        raise ValueError("write the SHA-256 fingerprint of the CA certificate: 64 hex digits, colons allowed")
    return digits


Positive = Annotated[PositiveDuration, PlainSerializer(lambda d: d.total_seconds(), return_type=float, when_used="json")]
"""A duration > 0; in JSON, seconds (so a dumped section validates again, as the dashboard does)."""
Fingerprint = Annotated[str, AfterValidator(_fingerprint)]


class StoreOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # delete mentions older than this (SQLite: rows; Elasticsearch: whole months), once a day
    retention: Positive | None = None


class SqliteConfig(StoreOptions):
    """Options of ``storage.backend: sqlite``."""

    path: Path = Path("monitor.db")


class ElasticsearchConfig(StoreOptions):
    """Options of ``storage.backend: elasticsearch``."""

    # -- where ------------------------------------------------------------------------------------
    url: str | None = None
    urls: list[str] = Field(default_factory=list)
    cloud_id: str | None = None
    index_prefix: str = Field(default="monitor", pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    # -- who: the names of the variables holding the credentials --------------------------------
    api_key_env: str = "MONITOR_ES_API_KEY"
    username_env: str = "MONITOR_ES_USERNAME"
    password_env: str = "MONITOR_ES_PASSWORD"
    client_cert: Path | None = None
    client_key: Path | None = None
    # -- trust ----------------------------------------------------------------------------------
    verify_certs: bool = True
    ca_certs: Path | None = None
    ca_fingerprint: Fingerprint | None = None
    # -- behaviour ------------------------------------------------------------------------------
    request_timeout: float = Field(default=30.0, gt=0)
    retry_for: float = Field(default=120.0, ge=0)
    bulk_size: int = Field(default=1000, ge=1, le=100_000)
    bulk_bytes: ByteSize = Field(default=ByteSize(10_000_000), ge=10_000)
    # -- the index template of the monthly mention indices (`monitor store setup` applies changes)
    shards: int = Field(default=1, ge=1, le=1024)
    replicas: int | None = Field(default=None, ge=0, le=32)
    refresh_interval: Positive = timedelta(seconds=1)

    @model_validator(mode="after")
    def _one_way_in(self) -> ElasticsearchConfig:
        if sum(bool(x) for x in (self.url, self.urls, self.cloud_id)) > 1:
            raise ValueError("give one of url, urls and cloud_id")
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together")
        return self

    @property
    def hosts(self) -> list[str]:
        """The Elasticsearch node URLs (none with ``cloud_id``)."""
        if self.cloud_id:
            return []
        return list(self.urls) or [self.url or "http://127.0.0.1:9200"]
