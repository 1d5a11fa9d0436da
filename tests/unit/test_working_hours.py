"""When a message may go out: contact hours, weekends and each nation's bank holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.calendar import Nation, WorkingCalendar
from bot.core.working_hours import (
    Hours,
    is_allowed,
    next_allowed,
    next_working_morning,
    person_hours,
    working_days_before,
    working_morning,
)
from storage.models import Person

LONDON = ZoneInfo("Europe/London")
ENGLAND = WorkingCalendar(Nation.ENGLAND)
SCOTLAND = WorkingCalendar(Nation.SCOTLAND)
NINE_TO_FIVE = Hours(9, 17, LONDON)


def london(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LONDON)


def test_a_time_inside_the_hours_of_a_working_day_is_kept() -> None:
    when = london(2026, 11, 24, 11, 30)
    assert is_allowed(when, hours=NINE_TO_FIVE, calendar=ENGLAND)
    assert next_allowed(when, hours=NINE_TO_FIVE, calendar=ENGLAND) == when


def test_early_morning_waits_for_the_window_to_open_that_day() -> None:
    moved = next_allowed(london(2026, 11, 24, 6, 15), hours=NINE_TO_FIVE, calendar=ENGLAND)
    assert moved == london(2026, 11, 24, 9)


def test_the_end_hour_is_outside_the_window() -> None:
    assert is_allowed(london(2026, 11, 24, 16, 59), hours=NINE_TO_FIVE, calendar=ENGLAND)
    assert not is_allowed(london(2026, 11, 24, 17), hours=NINE_TO_FIVE, calendar=ENGLAND)
    assert next_allowed(london(2026, 11, 24, 17), hours=NINE_TO_FIVE, calendar=ENGLAND) == london(
        2026, 11, 25, 9
    )


def test_friday_evening_and_the_weekend_wait_for_monday_morning() -> None:
    for when in (london(2026, 11, 27, 19), london(2026, 11, 28, 2), london(2026, 11, 29, 14)):
        assert next_allowed(when, hours=NINE_TO_FIVE, calendar=ENGLAND) == london(2026, 11, 30, 9)


def test_christmas_and_the_boxing_day_substitute_are_skipped() -> None:
    # Thu 24 Dec after hours; Fri 25 Christmas, the weekend, Mon 28 the Boxing Day substitute.
    moved = next_allowed(london(2026, 12, 24, 17, 30), hours=NINE_TO_FIVE, calendar=ENGLAND)
    assert moved == london(2026, 12, 29, 9)


def test_each_nation_keeps_its_own_holidays() -> None:
    new_year = london(2027, 1, 1, 10)
    assert next_allowed(new_year, hours=NINE_TO_FIVE, calendar=ENGLAND) == london(2027, 1, 4, 9)
    # Scotland's 2 January falls on a Saturday, so Monday 4 January is its substitute holiday.
    assert next_allowed(new_year, hours=NINE_TO_FIVE, calendar=SCOTLAND) == london(2027, 1, 5, 9)
    # St Andrew's Day is a Scottish holiday only.
    st_andrew = london(2026, 11, 30, 10)
    assert is_allowed(st_andrew, hours=NINE_TO_FIVE, calendar=ENGLAND)
    assert not is_allowed(st_andrew, hours=NINE_TO_FIVE, calendar=SCOTLAND)


def test_easter_and_the_clocks_going_forward() -> None:
    # Good Friday 26 Mar 2027, clocks forward Sun 28 Mar, Easter Monday 29 Mar: Tuesday 09:00 BST.
    moved = next_allowed(london(2027, 3, 25, 18), hours=NINE_TO_FIVE, calendar=ENGLAND)
    assert moved == london(2027, 3, 30, 9)
    assert moved.astimezone(UTC).hour == 8


def test_a_member_abroad_is_reached_in_their_own_morning() -> None:
    new_york = Hours(9, 17, ZoneInfo("America/New_York"))
    # 13:00 UTC is 08:00 in New York: wait an hour.
    moved = next_allowed(datetime(2026, 11, 24, 13, tzinfo=UTC), hours=new_york, calendar=ENGLAND)
    assert moved == datetime(2026, 11, 24, 14, tzinfo=UTC)


def test_family_evening_hours() -> None:
    evenings = Hours(18, 20, LONDON)
    assert next_allowed(london(2026, 11, 24, 9), hours=evenings, calendar=ENGLAND) == london(
        2026, 11, 24, 18
    )
    assert is_allowed(london(2026, 11, 24, 19, 59), hours=evenings, calendar=ENGLAND)
    assert next_allowed(london(2026, 11, 24, 20), hours=evenings, calendar=ENGLAND) == london(
        2026, 11, 25, 18
    )


def test_hours_may_run_to_midnight_or_overnight_but_never_be_empty() -> None:
    late = Hours(20, 24, LONDON)
    assert is_allowed(london(2026, 11, 24, 23, 59), hours=late, calendar=ENGLAND)
    assert late.describe() == "20:00 to midnight"
    assert Hours(17, 9, LONDON).overnight
    for start, end in ((9, 9), (-1, 5), (9, 25), (24, 5)):
        with pytest.raises(ValueError):
            Hours(start, end, LONDON)


def test_a_persons_hours_come_from_their_preferences_with_safe_fallbacks() -> None:
    parent = Person(
        display_name="Jo", timezone="Europe/London", contact_start_hour=18, contact_end_hour=20
    )
    assert person_hours(parent) == Hours(18, 20, LONDON)
    broken = Person(
        display_name="Al", timezone="Mars/Olympus", contact_start_hour=20, contact_end_hour=20
    )
    assert person_hours(broken) == Hours(9, 17, LONDON)


def test_mornings_and_working_days_before() -> None:
    assert working_morning(date(2026, 11, 28), hours=NINE_TO_FIVE, calendar=ENGLAND) == london(
        2026, 11, 30, 9
    )
    assert next_working_morning(
        london(2026, 11, 27, 8), hours=NINE_TO_FIVE, calendar=ENGLAND
    ) == london(2026, 11, 30, 9)
    # Five working days before Tue 5 Jan 2027: Mon 4, Thu 31, Wed 30, Tue 29, Thu 24 Dec.
    assert working_days_before(date(2027, 1, 5), 5, ENGLAND) == date(2026, 12, 24)


NIGHTS = Hours(22, 7, LONDON)


def test_overnight_hours_belong_to_the_working_day_they_open_on() -> None:
    # Fri 27 Nov 2026, 22:00 to Sat 07:00 is Friday's window; Saturday night's is not one.
    assert NIGHTS.overnight and NIGHTS.describe() == "22:00 to 07:00 (overnight)"
    assert is_allowed(london(2026, 11, 27, 23), hours=NIGHTS, calendar=ENGLAND)
    assert is_allowed(london(2026, 11, 28, 3), hours=NIGHTS, calendar=ENGLAND)
    assert not is_allowed(london(2026, 11, 29, 3), hours=NIGHTS, calendar=ENGLAND)
    assert not is_allowed(london(2026, 11, 24, 12), hours=NIGHTS, calendar=ENGLAND)


def test_outside_overnight_hours_waits_for_the_next_working_evening() -> None:
    assert next_allowed(london(2026, 11, 24, 9), hours=NIGHTS, calendar=ENGLAND) == london(
        2026, 11, 24, 22
    )
    # Sunday 03:00 (Saturday's window): Monday evening.
    assert next_allowed(london(2026, 11, 29, 3), hours=NIGHTS, calendar=ENGLAND) == london(
        2026, 11, 30, 22
    )
