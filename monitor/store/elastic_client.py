"""The Elasticsearch client: connecting, retrying through outages, and small bulk writes.

Transport failures (connection refused while the server restarts, timeouts, 5xx, 429 after the
bulk helper's own retries) are retried with backoff for ``retry_for`` seconds before the call fails
with :class:`~monitor.errors.StoreError`; a refusal (other 4xx) fails at once.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from monitor.errors import StoreError

try:  # the client is a dependency, but keep the import error readable
    from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers
    from elasticsearch import ConnectionError as EsConnectionError
except ImportError as exc:  # pragma: no cover
    raise StoreError(f"the elasticsearch client is not installed: {exc}") from exc

__all__ = ["ApiError", "Elasticsearch", "NotFoundError", "TransportError", "helpers",
           "connect", "transient", "retry", "bulk_small"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class ElasticsearchConfig(BaseModel):
    """Options of ``storage.backend: elasticsearch``; the API key is read from the variable named
    by ``api_key_env``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "http://127.0.0.1:9200"
    index_prefix: str = Field(default="monitor", pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    api_key_env: str = "MONITOR_ES_API_KEY"
    verify_certs: bool = True
    ca_certs: Path | None = None
    request_timeout: float = Field(default=30.0, gt=0)
    retry_for: float = Field(default=120.0, ge=0)

    @property
    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) or None


def connect(url: str, *, api_key: str | None, verify_certs: bool, ca_certs: str | None,
            request_timeout: float) -> Elasticsearch:
    options: dict[str, Any] = {
        "request_timeout": request_timeout,
        "retry_on_timeout": True,
        "max_retries": 3,
    }
    if api_key:
        options["api_key"] = api_key
    if url.startswith("https"):
        options["verify_certs"] = verify_certs
        if ca_certs:
            options["ca_certs"] = ca_certs
    return Elasticsearch(url, **options)


def transient(exc: BaseException) -> bool:
    """Worth retrying: no connection, a timeout, 429 or a 5xx (the server restarting or busy)."""
    if isinstance(exc, ApiError):
        return exc.meta.status == 429 or exc.meta.status >= 500
    return isinstance(exc, (EsConnectionError, TransportError))


def retry(call: Callable[[], T], what: str, *, url: str, retry_for: float) -> T:
    """``call()``, retried while it fails transiently, for at most ``retry_for`` seconds.

    ``what`` completes the error message ("could not ``what``"). A ``StoreError`` from ``call``
    and errors that are not Elasticsearch's pass through unchanged.
    """
    deadline = time.monotonic() + retry_for
    delay = 0.5
    while True:
        try:
            return call()
        except StoreError:
            raise
        except Exception as exc:
            if not transient(exc):
                if isinstance(exc, ApiError):
                    raise StoreError(f"Elasticsearch refused to {what}: {exc}") from exc
                raise
            if time.monotonic() + delay > deadline:
                raise StoreError(f"Elasticsearch at {url} unavailable; could not {what}: {exc}") from exc
            log.warning("Elasticsearch unavailable (%s); retrying in %.1fs", exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


def bulk_small(es: Elasticsearch, actions: list[dict[str, Any]]) -> list[bool]:
    """Bulk-write ``actions`` with refresh; returns per action whether it was created/written.

    A create conflict (409) is ``False``; a 429 or 5xx raises ``TransportError`` (to retry), any
    other item error :class:`StoreError`.
    """
    outcome: list[bool] = []
    for ok, item in helpers.streaming_bulk(es, actions, refresh=True, max_retries=8, initial_backoff=0.5,
                                           raise_on_error=False, raise_on_exception=True):
        _, result = next(iter(item.items()))
        if ok:
            outcome.append(True)
        elif result.get("status") == 409:
            outcome.append(False)
        elif result.get("status", 0) == 429 or result.get("status", 0) >= 500:
            raise TransportError(f"bulk item failed with {result.get('status')}", errors=())
        else:
            raise StoreError(f"Elasticsearch refused {result.get('_id')}: {result.get('error')}")
    return outcome
