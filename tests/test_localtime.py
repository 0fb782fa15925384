"""Local time: zone names checked at load, times shown with their zone, days and hours across clock changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from monitor import config as config_lib
from monitor.errors import ConfigError
from monitor.localtime import abbreviation, at_local_hour, day_span, local_day, shown, zone

UTC = timezone.utc
PRAGUE = zone("Europe/Prague")


def test_a_bad_zone_name_is_refused_at_load_with_its_yaml_path() -> None:
    with pytest.raises(ConfigError) as raised:
        config_lib.parse("timezone: europe/prague\nbrands:\n  - name: Acme\n    timezone: Mars/Olympus\n")
    problems = dict(raised.value.problems)
    assert "did you mean 'Europe/Prague'?" in problems["timezone (line 1)"]
    assert "'Mars/Olympus' is not a time zone" in problems["brands[0].timezone (line 4)"]


def test_a_brands_zone_wins_over_the_global_one_which_defaults_to_utc() -> None:
    config = config_lib.parse("timezone: Europe/Prague\nbrands:\n  - {name: Acme}\n"
                              "  - {name: Beta, timezone: America/New_York}\n")
    assert config.zone("acme") == PRAGUE and config.zone("Beta").key == "America/New_York"
    assert config.zone() == PRAGUE and config.zone("Nobody") == PRAGUE
    assert config_lib.parse("brands: [{name: Acme}]").zone("Acme").key == "UTC"


def test_every_time_shown_names_its_zone_on_both_sides_of_a_clock_change() -> None:
    assert shown(datetime(2026, 3, 29, 0, 59, tzinfo=UTC), PRAGUE) == "29 Mar 01:59 CET"
    assert shown(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), PRAGUE) == "29 Mar 03:00 CEST"
    # autumn: 02:30 happens twice; the zone tells them apart
    assert shown(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), PRAGUE) == "25 Oct 02:30 CEST"
    assert shown(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), PRAGUE) == "25 Oct 02:30 CET"
    assert shown(datetime(2026, 7, 1, 7, 0, tzinfo=UTC), zone(None)) == "01 Jul 07:00 UTC"
    assert abbreviation(datetime(2026, 7, 1, tzinfo=UTC), zone("Asia/Dubai")) == "UTC+04"


def test_a_local_day_lasts_23_or_25_hours_when_the_clocks_change() -> None:
    spring_start, spring_end = day_span(date(2026, 3, 29), PRAGUE)
    assert spring_start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC) and spring_end - spring_start == timedelta(hours=23)
    autumn_start, autumn_end = day_span(date(2026, 10, 25), PRAGUE)
    assert autumn_start == datetime(2026, 10, 24, 22, 0, tzinfo=UTC) and autumn_end - autumn_start == timedelta(hours=25)
    assert local_day(datetime(2026, 3, 28, 23, 30, tzinfo=UTC), PRAGUE) == date(2026, 3, 29)


def test_a_local_hour_skipped_or_repeated_by_the_clocks_still_comes_once() -> None:
    assert at_local_hour(date(2026, 3, 29), 2, PRAGUE) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert at_local_hour(date(2026, 10, 25), 2, PRAGUE) == datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # first 02:00
    assert at_local_hour(date(2026, 1, 5), 9, PRAGUE) == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert at_local_hour(date(2026, 7, 5), 9, PRAGUE) == datetime(2026, 7, 5, 7, 0, tzinfo=UTC)
