"""Local time for people: IANA time zone names checked at load, and times shown in a zone that names itself.

Everything is stored and computed in UTC; only what a person reads (reports, the CLI, Slack's
fallback text, the dashboard, the daily digest's hour) is turned into the configured zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator

UTC_NAME = "UTC"

DAY_MINUTE = "%d %b %H:%M"
"""``05 Dec 09:00``: the usual way a time is shown."""


def _known_zone(name: str) -> str:
    """``name`` when it is an IANA time zone name (``Europe/Prague``, ``UTC``)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        close = sorted(z for z in available_timezones() if z.casefold() == name.casefold())
        hint = f"; did you mean {close[0]!r}?" if close else "; write an IANA name such as Europe/Prague or UTC"
        raise ValueError(f"{name!r} is not a time zone{hint}") from None
    return name


ZoneName = Annotated[str, AfterValidator(_known_zone)]
"""A config value holding an IANA time zone name, checked when the config is loaded."""


def zone(name: str | None) -> ZoneInfo:
    """The zone named ``name`` (UTC when None)."""
    return ZoneInfo(name or UTC_NAME)


def abbreviation(moment: datetime, tz: ZoneInfo) -> str:
    """The zone's short name at ``moment``: ``CET``, ``CEST``, ``UTC``; ``UTC+03`` where it has none."""
    name = moment.astimezone(tz).tzname() or UTC_NAME
    return f"UTC{name}" if name[:1] in "+-" else name


def shown(moment: datetime, tz: ZoneInfo, fmt: str = DAY_MINUTE) -> str:
    """``moment`` as a person in ``tz`` reads it, its zone named: ``05 Dec 09:00 CET``."""
    return f"{moment.astimezone(tz):{fmt}} {abbreviation(moment, tz)}"


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar day ``moment`` falls on in ``tz``."""
    return moment.astimezone(tz).date()


def day_span(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of ``day`` in ``tz``, in UTC (23 or 25 hours on the days the clocks change)."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def at_local_hour(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """``hour``:00 of ``day`` in ``tz``, in UTC (the later hour when the clocks skip it, the first when it repeats)."""
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(timezone.utc)
