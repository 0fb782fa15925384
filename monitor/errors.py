"""One exception hierarchy; each class carries the CLI exit code it maps to.

Exit codes (also in the README):

====  ==========================================================
0     success
1     unexpected internal error (a bug: please report it)
2     invalid configuration, playbook or command-line usage
3     a collector failed (bad feed, dead server, rate limit)
4     the store failed (database locked, corrupt, unreachable)
5     an alert could not be delivered
6     NLP model could not be loaded or run
====  ==========================================================
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 1


class ConfigError(MonitorError):
    """Invalid configuration; ``problems`` lists ``(path, message)`` pairs."""

    exit_code = 2

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None):
        self.problems = problems or []
        if self.problems:
            details = "\n".join(f"  {path}: {why}" for path, why in self.problems)
            message = f"{message}\n{details}"
        super().__init__(message)


class PlaybookError(ConfigError):
    """A playbook file is missing fields or malformed."""


class PluginNotFound(ConfigError):
    """No collector, store or notifier is registered under the requested name."""


class IncidentError(MonitorError):
    """An incident does not exist or cannot take the requested action."""

    exit_code = 2


class CollectorError(MonitorError):
    """A source could not be read; nothing already collected is lost."""

    exit_code = 3


class RateLimited(CollectorError):
    """The source asked us to slow down; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class StoreError(MonitorError):
    exit_code = 4


class ConflictError(StoreError):
    """A compare-and-set write lost: someone else changed the record since it was read."""


class DeliveryError(MonitorError):
    """An alert channel refused or failed; ``retry_after`` is set when it says when to retry."""

    exit_code = 5

    def __init__(self, message: str, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class NlpError(MonitorError):
    exit_code = 6


class SeriesError(ConfigError):
    """A series given to a backtest is unreadable or malformed."""
