"""Retention: delete mentions older than ``storage.retention``, daily in the service or by ``monitor store prune``.

The service runs it as the job ``retention`` (claimed like every other job, so one worker of many
does it, once a day); the store decides what "older" deletes (see
:meth:`~monitor.store.base.Store.prune_mentions`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from monitor.durations import parse_duration
from monitor.errors import ConfigError
from monitor.store.base import Pruned, Store

log = logging.getLogger(__name__)

JOB = "retention"
EVERY = timedelta(days=1)


def cutoff(before: str, now: datetime) -> datetime:
    """``--before``: an age (``400d``, ``2w``) counted back from ``now``, or a date (``2025-01-31``, UTC)."""
    try:
        age = parse_duration(before)
    except ValueError:
        try:
            moment = datetime.fromisoformat(before)
        except ValueError:
            raise ConfigError(f"--before {before!r}: write an age such as 400d or a date such as 2025-01-31") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    if age <= timedelta(0):
        raise ConfigError(f"--before {before!r}: the age must be longer than 0s")
    return now - age


def prune(store: Store, before: datetime) -> Pruned:
    """Delete the mentions created before ``before`` and log what went."""
    pruned = store.prune_mentions(before)
    log.info("retention: deleted %d mentions created before %s%s", pruned.mentions, f"{before:%Y-%m-%d %H:%M} UTC",
             f" (indices {', '.join(pruned.indices)})" if pruned.indices else "")
    return pruned
