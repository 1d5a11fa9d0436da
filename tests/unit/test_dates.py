"""Dates typed in chat, read the UK way, with fixed clocks."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.core.dates import parse_day, parse_when
from bot.core.errors import BadInput

LONDON = ZoneInfo("Europe/London")
NOV = datetime(2026, 11, 23, 9, 0, tzinfo=LONDON)  # Mon 23 Nov 2026 09:00
DEC = datetime(2026, 12, 28, 15, 0, tzinfo=LONDON)  # Mon 28 Dec 2026 15:00
NINE = time(9, 0)


def when(text: str, now: datetime = NOV, **kwargs: object) -> datetime:
    """Parse with a 09:00 default and give the London wall-clock time back, naive."""
    kwargs.setdefault("default_time", NINE)
    result = parse_when(text, now=now, tz=LONDON, **kwargs)  # type: ignore[arg-type]
    assert result.tzinfo is UTC
    return result.astimezone(LONDON).replace(tzinfo=None)


def refused(text: str, now: datetime = NOV, **kwargs: object) -> BadInput:
    with pytest.raises(BadInput) as caught:
        parse_when(text, now=now, tz=LONDON, default_time=NINE, **kwargs)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15/1", datetime(2027, 1, 15, 9)),
        ("15/01/2027", datetime(2027, 1, 15, 9)),
        ("15.01.2027", datetime(2027, 1, 15, 9)),
        ("15-1", datetime(2027, 1, 15, 9)),
        ("2027-01-15", datetime(2027, 1, 15, 9)),
        ("2027-01-15 10:00", datetime(2027, 1, 15, 10)),
        ("1/2/27", datetime(2027, 2, 1, 9)),
        ("12/12", datetime(2026, 12, 12, 9)),
        ("23/11", datetime(2026, 11, 23, 9)),  # today counts
        ("next Tue 2pm", datetime(2026, 11, 24, 14)),  # the first Tuesday after today
        ("Tue 2pm", datetime(2026, 11, 24, 14)),
        ("tuesday 14:00", datetime(2026, 11, 24, 14)),
        ("in 2 weeks", datetime(2026, 12, 7, 9)),
        ("a fortnight", datetime(2026, 12, 7, 9)),
        ("in 3 months", datetime(2027, 2, 23, 9)),
        ("tomorrow", datetime(2026, 11, 24, 9)),
        ("tomorrow 10am", datetime(2026, 11, 24, 10)),
        ("friday", datetime(2026, 11, 27, 9)),
        ("Friday.", datetime(2026, 11, 27, 9)),
        ("by Friday", datetime(2026, 11, 27, 9)),
        ("by next Friday", datetime(2026, 11, 27, 9)),
        ("on 15/1", datetime(2027, 1, 15, 9)),
        ("monday", datetime(2026, 11, 30, 9)),  # today is Monday: a weekday alone is never today
        ("15 Jan", datetime(2027, 1, 15, 9)),
        ("15th January 2pm", datetime(2027, 1, 15, 14)),
        ("15/1 at 2.30pm", datetime(2027, 1, 15, 14, 30)),
        ("Fri 15 Jan 2027 2pm", datetime(2027, 1, 15, 14)),
        ("Wed 6 Jan 2027", datetime(2027, 1, 6, 9)),
        ("noon", datetime(2026, 11, 23, 12)),
        ("midday", datetime(2026, 11, 23, 12)),
        ("2pm", datetime(2026, 11, 23, 14)),
        ("10.15", datetime(2026, 11, 23, 10, 15)),
        ("today", datetime(2026, 11, 23, 9)),
        ("15 June 10am", datetime(2027, 6, 15, 10)),  # summer time, wall clock kept
    ],
)
def test_reads_from_late_november(text: str, expected: datetime) -> None:
    assert when(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15/1", datetime(2027, 1, 15, 9)),  # no year: goes into next year
        ("15 Jan", datetime(2027, 1, 15, 9)),
        ("15/12", datetime(2027, 12, 15, 9)),  # already past this year
        ("friday", datetime(2027, 1, 1, 9)),
        ("next Tue 2pm", datetime(2026, 12, 29, 14)),
        ("in 2 weeks", datetime(2027, 1, 11, 9)),
        ("tomorrow 10am", datetime(2026, 12, 29, 10)),
        ("4pm", datetime(2026, 12, 28, 16)),
    ],
)
def test_reads_from_late_december(text: str, expected: datetime) -> None:
    assert when(text, DEC) == expected


def test_weekday_on_that_weekday_means_next_week() -> None:
    tuesday = datetime(2026, 11, 24, 9, 0, tzinfo=LONDON)
    assert when("tuesday", tuesday) == datetime(2026, 12, 1, 9)
    assert when("next tuesday", tuesday) == datetime(2026, 12, 1, 9)


def test_result_is_utc() -> None:
    assert parse_when("15 June 10am", now=NOV, tz=LONDON) == datetime(2027, 6, 15, 9, tzinfo=UTC)


def test_default_time_or_ask_for_one() -> None:
    assert when("15/1", default_time=time(13, 30)) == datetime(2027, 1, 15, 13, 30)
    with pytest.raises(BadInput) as caught:
        parse_when("15/1", now=NOV, tz=LONDON)
    assert caught.value.message == "Please add a time to Fri 15 Jan 2027."


def test_parse_day() -> None:
    assert parse_day("15/1", now=DEC, tz=LONDON) == date(2027, 1, 15)
    assert parse_day("by next Friday", now=NOV, tz=LONDON) == date(2026, 11, 27)
    assert parse_day("tomorrow 10am", now=NOV, tz=LONDON) == date(2026, 11, 24)
    assert parse_day("today", now=DEC, tz=LONDON) == date(2026, 12, 28)
    assert parse_day("yesterday", now=NOV, tz=LONDON, allow_past=True) == date(2026, 11, 22)
    with pytest.raises(BadInput, match="That date is in the past"):
        parse_day("yesterday", now=NOV, tz=LONDON)


def test_day_is_taken_in_the_display_timezone() -> None:
    late_utc = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # already 1 July in London
    assert parse_day("today", now=late_utc, tz=LONDON) == date(2026, 7, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("blah", 'I couldn\'t read "blah" as a date.'),
        ("meeting 15/1", 'I couldn\'t read "meeting 15/1" as a date.'),
        ("31/02", "31/02 is not a real date: February has 28 days in 2027."),
        ("29/2", "29/2 is not a real date: February has 28 days in 2027."),
        ("29 Feb 2027", "29 February 2027 is not a real date: February has 28 days in 2027."),
        ("31 April", "31 April is not a real date: April has 30 days."),
        ("2027-02-30", "2027-02-30 is not a real date: February has 28 days in 2027."),
        ("32/1", "32/1 is not a real date: January has 31 days."),
        ("13/13", "13/13 is not a real date: there are only 12 months."),
        ("1/2/3", 'Please write the year in "1/2/3" in full.'),
        ("01/02/03", "That date is in the past (Sat 1 Feb 2003)."),
        ("yesterday", "That date is in the past (Sun 22 Nov 2026)."),
        ("8am", '"8am" has already passed today: which day do you mean?'),
        ("next week", '"next week" is too vague: please name a day.'),
        ("this week", '"this week" is too vague: please name a day.'),
        ("next month", '"next month" is too vague: please name a day.'),
        ("soon", '"soon" is too vague: please name a day.'),
        ("later", '"later" is too vague: please name a day.'),
        ("end of the month", '"end of the month" is too vague: please name a day.'),
        ("next weekend", '"next weekend" is too vague: please name a day.'),
        ("January", '"January" is too vague: please name a day.'),
        ("2027", '"2027" is too vague: please name a day.'),
        ("15", '"15" needs a month too, e.g. 15/1 or 15 Jan.'),
        ("the 15th", '"the 15th" needs a month too, e.g. 15/1 or 15 Jan.'),
        ("Sat 15/1", "Fri 15 Jan 2027 is a Friday, not a Saturday."),
        ("tomorrow at 2", 'Is "at 2" morning or afternoon? Write 2am, 2pm or 2:00.'),
        ("2-3pm", "Please give just the start time, e.g. 2pm."),
        ("  ", "Please give a date."),
    ],
)
def test_refusals(text: str, message: str) -> None:
    error = refused(text)
    assert error.message == message
    assert error.hint


def test_refusals_carry_examples() -> None:
    assert refused("blah").hint == (
        'Try "15/1", "next Tue 2pm", "in 2 weeks" or "2027-01-15 10:00".'
    )


def test_time_alone_after_it_has_passed() -> None:
    error = refused("noon", DEC)
    assert error.message == '"noon" has already passed today: which day do you mean?'
    assert "tomorrow" in error.hint
    assert when("noon", DEC, allow_past=True) == datetime(2026, 12, 28, 12)


def test_earlier_today_is_the_past() -> None:
    assert refused("today 2pm", DEC).message == "That time is in the past (Mon 28 Dec 2026 14:00)."


def test_allow_past() -> None:
    assert when("yesterday", allow_past=True) == datetime(2026, 11, 22, 9)
    assert when("1/2/2026", allow_past=True) == datetime(2026, 2, 1, 9)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_when("tomorrow", now=datetime(2026, 11, 23, 9), tz=LONDON, default_time=NINE)
