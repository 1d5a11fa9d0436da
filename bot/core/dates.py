"""Dates and times typed in chat, read the UK way (day before month); the only user of dateparser.

Conventions, chosen to be predictable and always echoed back as "Wed 6 Jan 2027":
- "15/1", "15 Jan" (no year) mean the next such day from today (today counts), even when past
  dates are allowed: give the year for a past date.
- A weekday name alone ("friday") means the next such day, never today. "next Tue" means the same
  as "Tue" (the first Tuesday after today), as dateparser reads it; "this Tue" can mean today.
- A time alone ("2pm", "noon") means today, and is refused once that time has passed.
- Two-digit years are 20xx; one- or three-digit years are refused.
- Vague text ("next week", "soon", "end of the month", "January", "15") is refused: name a day.
- A leading "by", "on" or "due" is ignored ("by next Friday").
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from dateparser.date import DateDataParser

from bot.core.calendar import format_day
from bot.core.errors import BadInput

HINT = 'Try "15/1", "next Tue 2pm", "in 2 weeks" or "2027-01-15 10:00".'

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTH_WORDS = {**_MONTHS, **{name[:3]: n for name, n in _MONTHS.items()}, "sept": 9}
_WEEKDAYS = {name.lower(): number for number, name in enumerate(calendar.day_name)}
_WEEKDAY_WORDS = {
    **_WEEKDAYS,
    **{name[:3]: n for name, n in _WEEKDAYS.items()},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}

_EDGE = r"(?<![\w/.:-])"
_NUMERIC = re.compile(
    _EDGE + r"(\d{1,2})([/.-])(\d{1,2})(?:\2(\d+))?(?![\w/:-]|\.\d|\s*[ap]\.?m\b)"
)
_ISO = re.compile(_EDGE + r"(\d{4})-(\d{1,2})-(\d{1,2})(?![\w/.:-])")
_NAMED = re.compile(
    _EDGE + r"(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]+)\.?(?:,?\s+(20\d\d))?\b"
)
_TIME = re.compile(
    r"(?:\bat\s+)?\b(?:\d{1,2}(?:[:.]\d{2})?\s*(?:[ap]m|[ap]\.m\.?)|\d{1,2}[:.]\d{2}|noon|midnight)"
)
_TIME_RANGE = re.compile(r"\d\s*(?:-|to)\s*\d{1,2}(?:[:.]\d{2})?\s*[ap]\.?m\b")
_BARE_HOUR = re.compile(r"\bat\s+(\d{1,2})\b(?![\d:./-]|\s*[ap]\.?m\b)")
_VAGUE = re.compile(
    r"\b(soon|later|asap|sometime|whenever|weekend|end|start|beginning|mid|middle|early|late)\b"
)
_QUANTITY = re.compile(
    r"\b(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+"
    r"(day|week|fortnight|month|year)s?\b|\bfortnight\b"
)
_LEADING = re.compile(r"^(?:(?:by|on|due)\s+)+")


def _real_date(token: str, year: int, month: int, day: int) -> date:
    """The date, or BadInput saying why it does not exist."""
    if not 1 <= month <= 12:
        raise BadInput(f"{token} is not a real date: there are only 12 months.", hint=HINT)
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        in_year = f" in {year}" if month == 2 else ""
        raise BadInput(
            f"{token} is not a real date: {calendar.month_name[month]} has {days} days{in_year}.",
            hint=HINT,
        )
    return date(year, month, day)


def _resolve(token: str, year_text: str | None, month: int, day: int, today: date) -> date:
    """Apply the year rules: none means the next such day, two digits mean 20xx."""
    if year_text is None:
        year = today.year if (month, day) >= (today.month, today.day) else today.year + 1
    elif len(year_text) in (2, 4):
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    else:
        raise BadInput(f'Please write the year in "{token}" in full.', hint=HINT)
    return _real_date(token, year, month, day)


def _normalise(text: str, today: date) -> tuple[str, list[date]]:
    """Rewrite numeric and day-month dates as ISO "2027-01-15", checking each is real."""
    found: list[date] = []

    def spell(d: date) -> str:
        found.append(d)
        return d.isoformat()

    def numeric(m: re.Match[str]) -> str:
        if m[2] == "." and m[4] is None:
            return m[0]  # "10.15" is a time; leave short dotted forms to dateparser
        return spell(_resolve(m[0], m[4], int(m[3]), int(m[1]), today))

    def named(m: re.Match[str]) -> str:
        month = _MONTH_WORDS.get(m[2])
        if month is None:
            return m[0]
        token = f"{int(m[1])} {calendar.month_name[month]}" + (f" {m[3]}" if m[3] else "")
        return spell(_resolve(token, m[3], month, int(m[1]), today))

    text = _ISO.sub(lambda m: spell(_real_date(m[0], int(m[1]), int(m[2]), int(m[3]))), text)
    text = _NUMERIC.sub(numeric, text)  # cannot match the ISO dates just written
    return _NAMED.sub(named, text), found


def _parse(text: str, *, now: datetime, tz: ZoneInfo, allow_past: bool) -> tuple[date, time | None]:
    """The day and (if one was given) the wall-clock time that `text` names."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local_now = now.astimezone(tz).replace(tzinfo=None)
    quoted = f'"{text.strip()}"'
    cleaned = _LEADING.sub("", " ".join(text.lower().split()).rstrip(".!?"))
    cleaned = cleaned.replace("midday", "noon")
    if not cleaned:
        raise BadInput("Please give a date.", hint=HINT)
    if _VAGUE.search(cleaned):
        raise BadInput(f"{quoted} is too vague: please name a day.", hint=HINT)
    if re.fullmatch(r"(?:the\s+)?\d{1,2}(?:st|nd|rd|th)?", cleaned):
        raise BadInput(f"{quoted} needs a month too, e.g. 15/1 or 15 Jan.", hint=HINT)
    if _TIME_RANGE.search(cleaned):
        raise BadInput("Please give just the start time, e.g. 2pm.", hint=HINT)
    if bare := _BARE_HOUR.search(cleaned):
        hour = bare[1]
        raise BadInput(
            f'Is "at {hour}" morning or afternoon? Write {hour}am, {hour}pm or {hour}:00.',
            hint=HINT,
        )
    normalised, explicit = _normalise(cleaned, local_now.date())

    parser = DateDataParser(
        languages=["en"],
        settings={
            "DATE_ORDER": "DMY",
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": local_now,
            "TIMEZONE": tz.key,
            # dateparser attaches a fixed UTC offset taken from the base date, wrong across a
            # clocks change; we keep its naive wall-clock reading and attach `tz` ourselves.
            "RETURN_AS_TIMEZONE_AWARE": False,
            "RETURN_TIME_AS_PERIOD": True,
        },
    )
    data = parser.get_date_data(normalised)
    found = data.date_obj
    if found is None:
        raise BadInput(f"I couldn't read {quoted} as a date.", hint=HINT)
    if data.period in ("week", "month", "year") and not _QUANTITY.search(cleaned):
        raise BadInput(f"{quoted} is too vague: please name a day.", hint=HINT)
    if explicit:
        for word in re.findall(r"[a-z]+", cleaned):
            weekday = _WEEKDAY_WORDS.get(word)
            if weekday is not None and weekday != found.weekday():
                raise BadInput(
                    f"{format_day(found)} is a {found:%A}, not a {calendar.day_name[weekday]}.",
                    hint=HINT,
                )
    has_time = data.period == "time"
    if has_time and not _TIME.sub("", cleaned).strip(" ,"):
        # A time alone: today, never silently tomorrow.
        if not allow_past and found.time() <= local_now.time():
            raise BadInput(
                f"{quoted} has already passed today: which day do you mean?",
                hint='For example "tomorrow 2pm" or "Fri 10am".',
            )
        return local_now.date(), found.time()
    return found.date(), found.time() if has_time else None


def _refuse_past_day(day: date, today: date) -> None:
    if day < today:
        raise BadInput(f"That date is in the past ({format_day(day)}).", hint=HINT)


def parse_when(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    default_time: time | None = None,
    allow_past: bool = False,
) -> datetime:
    """A day and time typed in chat, as an aware UTC datetime (wall clock read in `tz`).

    Without a time in the text, `default_time` is used; if that is None a time is asked for.
    """
    day, at = _parse(text, now=now, tz=tz, allow_past=allow_past)
    if at is None:
        if default_time is None:
            raise BadInput(
                f"Please add a time to {format_day(day)}.",
                hint='For example "tomorrow 10am" or "15/1 14:00".',
            )
        at = default_time
    when = datetime.combine(day, at, tzinfo=tz)
    if not allow_past:
        _refuse_past_day(day, now.astimezone(tz).date())
        if when < now:
            raise BadInput(f"That time is in the past ({format_day(day)} {at:%H:%M}).", hint=HINT)
    return when.astimezone(UTC)


def parse_day(text: str, *, now: datetime, tz: ZoneInfo, allow_past: bool = False) -> date:
    """A day typed in chat; any time in the text is ignored. Today counts as not past."""
    day, _ = _parse(text, now=now, tz=tz, allow_past=allow_past)
    if not allow_past:
        _refuse_past_day(day, now.astimezone(tz).date())
    return day
