"""Working days per nation, checked against gov.uk's published bank holidays."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.calendar import Nation, WorkingCalendar, format_day
from bot.core.errors import BadInput

SUB = " (substitute day)"

# gov.uk/bank-holidays, weekday dates only (gov.uk lists the substitute, not the weekend date).
ENGLAND_AND_WALES = {
    2025: {
        date(2025, 1, 1): "New Year's Day",
        date(2025, 4, 18): "Good Friday",
        date(2025, 4, 21): "Easter Monday",
        date(2025, 5, 5): "Early May bank holiday",
        date(2025, 5, 26): "Spring bank holiday",
        date(2025, 8, 25): "Summer bank holiday",
        date(2025, 12, 25): "Christmas Day",
        date(2025, 12, 26): "Boxing Day",
    },
    2026: {
        date(2026, 1, 1): "New Year's Day",
        date(2026, 4, 3): "Good Friday",
        date(2026, 4, 6): "Easter Monday",
        date(2026, 5, 4): "Early May bank holiday",
        date(2026, 5, 25): "Spring bank holiday",
        date(2026, 8, 31): "Summer bank holiday",
        date(2026, 12, 25): "Christmas Day",
        date(2026, 12, 28): "Boxing Day" + SUB,
    },
    2027: {
        date(2027, 1, 1): "New Year's Day",
        date(2027, 3, 26): "Good Friday",
        date(2027, 3, 29): "Easter Monday",
        date(2027, 5, 3): "Early May bank holiday",
        date(2027, 5, 31): "Spring bank holiday",
        date(2027, 8, 30): "Summer bank holiday",
        date(2027, 12, 27): "Christmas Day" + SUB,
        date(2027, 12, 28): "Boxing Day" + SUB,
    },
}
SCOTLAND = {
    2025: {
        date(2025, 1, 1): "New Year's Day",
        date(2025, 1, 2): "2nd January",
        date(2025, 4, 18): "Good Friday",
        date(2025, 5, 5): "Early May bank holiday",
        date(2025, 5, 26): "Spring bank holiday",
        date(2025, 8, 4): "Summer bank holiday",
        date(2025, 12, 1): "St Andrew's Day" + SUB,
        date(2025, 12, 25): "Christmas Day",
        date(2025, 12, 26): "Boxing Day",
    },
    2026: {
        date(2026, 1, 1): "New Year's Day",
        date(2026, 1, 2): "2nd January",
        date(2026, 4, 3): "Good Friday",
        date(2026, 5, 4): "Early May bank holiday",
        date(2026, 5, 25): "Spring bank holiday",
        date(2026, 6, 15): "World Cup bank holiday",  # one-off, Royal Proclamation 3 Feb 2026
        date(2026, 8, 3): "Summer bank holiday",
        date(2026, 11, 30): "St Andrew's Day",
        date(2026, 12, 25): "Christmas Day",
        date(2026, 12, 28): "Boxing Day" + SUB,
    },
    2027: {
        date(2027, 1, 1): "New Year's Day",
        date(2027, 1, 4): "2nd January" + SUB,
        date(2027, 3, 26): "Good Friday",
        date(2027, 5, 3): "Early May bank holiday",
        date(2027, 5, 31): "Spring bank holiday",
        date(2027, 8, 2): "Summer bank holiday",
        date(2027, 11, 30): "St Andrew's Day",
        date(2027, 12, 27): "Christmas Day" + SUB,
        date(2027, 12, 28): "Boxing Day" + SUB,
    },
}
BOYNE = "Battle of the Boyne (Orangemen's Day)"
NORTHERN_IRELAND = {
    2025: {
        date(2025, 1, 1): "New Year's Day",
        date(2025, 3, 17): "St Patrick's Day",
        date(2025, 4, 18): "Good Friday",
        date(2025, 4, 21): "Easter Monday",
        date(2025, 5, 5): "Early May bank holiday",
        date(2025, 5, 26): "Spring bank holiday",
        date(2025, 7, 14): BOYNE + SUB,
        date(2025, 8, 25): "Summer bank holiday",
        date(2025, 12, 25): "Christmas Day",
        date(2025, 12, 26): "Boxing Day",
    },
    2026: {
        date(2026, 1, 1): "New Year's Day",
        date(2026, 3, 17): "St Patrick's Day",
        date(2026, 4, 3): "Good Friday",
        date(2026, 4, 6): "Easter Monday",
        date(2026, 5, 4): "Early May bank holiday",
        date(2026, 5, 25): "Spring bank holiday",
        date(2026, 7, 13): BOYNE + SUB,
        date(2026, 8, 31): "Summer bank holiday",
        date(2026, 12, 25): "Christmas Day",
        date(2026, 12, 28): "Boxing Day" + SUB,
    },
    2027: {
        date(2027, 1, 1): "New Year's Day",
        date(2027, 3, 17): "St Patrick's Day",
        date(2027, 3, 26): "Good Friday",
        date(2027, 3, 29): "Easter Monday",
        date(2027, 5, 3): "Early May bank holiday",
        date(2027, 5, 31): "Spring bank holiday",
        date(2027, 7, 12): BOYNE,
        date(2027, 8, 30): "Summer bank holiday",
        date(2027, 12, 27): "Christmas Day" + SUB,
        date(2027, 12, 28): "Boxing Day" + SUB,
    },
}
GOV_UK = {
    Nation.ENGLAND: ENGLAND_AND_WALES,
    Nation.WALES: ENGLAND_AND_WALES,
    Nation.SCOTLAND: SCOTLAND,
    Nation.NORTHERN_IRELAND: NORTHERN_IRELAND,
}
CALENDARS = {nation: WorkingCalendar(nation) for nation in Nation}


@pytest.mark.parametrize("nation", list(Nation))
@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_bank_holidays_match_gov_uk(nation: Nation, year: int) -> None:
    calendar = CALENDARS[nation]
    expected = GOV_UK[nation][year]
    weekdays = {d: name for d, name in calendar.bank_holidays(year).items() if d.weekday() < 5}
    assert weekdays == expected
    for d, name in expected.items():
        assert calendar.why_not_working(d) == name
        assert not calendar.is_working_day(d)


@pytest.mark.parametrize(
    ("nation", "day", "working"),
    [
        (Nation.ENGLAND, date(2026, 1, 2), True),
        (Nation.SCOTLAND, date(2026, 1, 2), False),
        (Nation.ENGLAND, date(2026, 11, 30), True),
        (Nation.SCOTLAND, date(2026, 11, 30), False),
        (Nation.SCOTLAND, date(2026, 4, 6), True),  # no Easter Monday in Scotland
        (Nation.ENGLAND, date(2026, 3, 17), True),
        (Nation.NORTHERN_IRELAND, date(2026, 3, 17), False),
        (Nation.WALES, date(2027, 7, 12), True),
        (Nation.NORTHERN_IRELAND, date(2027, 7, 12), False),
        (Nation.SCOTLAND, date(2026, 8, 3), False),
        (Nation.ENGLAND, date(2026, 8, 3), True),
    ],
)
def test_nations_differ(nation: Nation, day: date, working: bool) -> None:
    assert CALENDARS[nation].is_working_day(day) is working


def test_journey_one_first_meeting_skips_christmas_boxing_substitute_and_new_year() -> None:
    assert CALENDARS[Nation.ENGLAND].add_working_days(date(2026, 12, 18), 10) == date(2027, 1, 6)


def test_why_not_working() -> None:
    calendar = WorkingCalendar(Nation.ENGLAND, closures=[date(2026, 12, 29)])
    assert calendar.why_not_working(date(2026, 12, 26)) == "Saturday"
    assert calendar.why_not_working(date(2026, 12, 27)) == "Sunday"
    assert calendar.why_not_working(date(2026, 12, 25)) == "Christmas Day"
    assert calendar.why_not_working(date(2026, 12, 28)) == "Boxing Day (substitute day)"
    assert calendar.why_not_working(date(2026, 12, 29)) == "local closure day"
    assert calendar.why_not_working(date(2026, 12, 30)) is None


def test_local_closure_days_are_skipped() -> None:
    closures = [date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)]
    calendar = WorkingCalendar(Nation.ENGLAND, closures=closures)
    assert calendar.next_working_day(date(2026, 12, 24)) == date(2027, 1, 4)
    assert calendar.add_working_days(date(2026, 12, 18), 10) == date(2027, 1, 11)
    assert calendar.working_days_between(date(2026, 12, 24), date(2027, 1, 4)) == 1
    assert calendar.previous_working_day(date(2027, 1, 4)) == date(2026, 12, 24)
    assert CALENDARS[Nation.ENGLAND].working_days_between(date(2026, 12, 24), date(2027, 1, 4)) == 4


def test_stepping_helpers() -> None:
    calendar = CALENDARS[Nation.ENGLAND]
    friday, saturday, monday = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 23)
    assert calendar.add_working_days(friday, 0) == friday
    assert calendar.add_working_days(saturday, 0) == monday
    assert calendar.add_working_days(friday, 1) == monday
    assert calendar.on_or_after(friday) == friday
    assert calendar.on_or_after(saturday) == monday
    assert calendar.next_working_day(friday) == monday
    assert calendar.previous_working_day(monday) == friday
    assert calendar.previous_working_day(date(2026, 12, 29)) == date(2026, 12, 24)
    assert calendar.working_days_between(friday, friday) == 0
    assert calendar.working_days_between(monday, friday) == 0
    assert calendar.working_days_between(friday, monday) == 1
    with pytest.raises(ValueError):
        calendar.add_working_days(friday, -1)


def test_holidays_are_cached_per_year() -> None:
    calendar = WorkingCalendar(Nation.WALES)
    assert calendar.bank_holidays(2026) is calendar.bank_holidays(2026)


def test_format_day() -> None:
    assert format_day(date(2027, 1, 6)) == "Wed 6 Jan 2027"
    assert format_day(date(2026, 12, 18)) == "Fri 18 Dec 2026"


def test_nation_labels() -> None:
    assert [n.label for n in Nation] == ["England", "Wales", "Scotland", "Northern Ireland"]


@pytest.mark.parametrize(
    ("text", "nation"),
    [
        ("England", Nation.ENGLAND),
        ("ENG", Nation.ENGLAND),
        ("england-wales", Nation.ENGLAND),
        ("England & Wales", Nation.ENGLAND),
        (" wales ", Nation.WALES),
        ("Scot", Nation.SCOTLAND),
        ("scotland", Nation.SCOTLAND),
        ("NI", Nation.NORTHERN_IRELAND),
        ("Northern Ireland", Nation.NORTHERN_IRELAND),
        ("northern-ireland", Nation.NORTHERN_IRELAND),
        ("northern_ireland", Nation.NORTHERN_IRELAND),
    ],
)
def test_nation_parse(text: str, nation: Nation) -> None:
    assert Nation.parse(text) is nation


def test_nation_parse_refuses_unknown_and_lists_values() -> None:
    with pytest.raises(BadInput) as caught:
        Nation.parse("France")
    assert '"France" is not a nation' in caught.value.message
    assert "england, wales, scotland, northern-ireland" in caught.value.hint


dates = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))
nations = st.sampled_from(list(Nation))


@given(dates, nations, st.integers(min_value=1, max_value=60))
def test_add_then_count_round_trips(d: date, nation: Nation, n: int) -> None:
    calendar = CALENDARS[nation]
    result = calendar.add_working_days(d, n)
    assert calendar.working_days_between(d, result) == n
    assert calendar.is_working_day(result)
    assert result.weekday() < 5
    assert result not in calendar.bank_holidays(result.year)


@given(dates, nations, st.integers(min_value=0, max_value=60))
def test_add_working_days_is_monotonic(d: date, nation: Nation, n: int) -> None:
    calendar = CALENDARS[nation]
    now, later = calendar.add_working_days(d, n), calendar.add_working_days(d, n + 1)
    assert calendar.is_working_day(now)
    assert now < later if n >= 1 else now <= later
    assert later - now <= timedelta(days=7)
