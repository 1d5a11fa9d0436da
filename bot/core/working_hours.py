"""When a message may go out: inside someone's contact hours, on a working day of their nation.

Direct messages follow the member's own hours (Person.contact_start_hour/end_hour, in their own
timezone); posts to a group's space follow the council's office hours. Anything due outside them
waits for the next allowed moment, usually the next working morning.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.calendar import WorkingCalendar
from storage.models import Person

DEFAULT_TZ = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Hours:
    """A daily window [start, end) in whole local hours; end may be 24 (midnight). An end before
    the start is an overnight window (22 to 7): it belongs to the day it opens on."""

    start: int
    end: int
    tz: ZoneInfo = DEFAULT_TZ

    def __post_init__(self) -> None:
        if not (0 <= self.start <= 23 and 0 <= self.end <= 24 and self.start != self.end):
            raise ValueError(f"contact hours must be two different hours of the day, not {self}")

    @property
    def overnight(self) -> bool:
        """Whether the window runs past midnight."""
        return self.end < self.start

    def opens(self, day: date) -> datetime:
        """The moment the window opens on `day` (aware, local)."""
        return datetime.combine(day, time(self.start), tzinfo=self.tz)

    def contains(self, local: datetime) -> bool:
        """Whether a local time falls inside the window."""
        minutes = local.hour * 60 + local.minute
        if self.overnight:
            return minutes >= self.start * 60 or minutes < self.end * 60
        return self.start * 60 <= minutes < self.end * 60

    def day_of(self, local: datetime) -> date:
        """The day whose window `local` falls in: the evening before, early in an overnight one."""
        if self.overnight and local.hour < self.end:
            return local.date() - timedelta(days=1)
        return local.date()

    def describe(self) -> str:
        """The window in words, e.g. "09:00 to 17:00", "22:00 to 07:00 (overnight)"."""
        end = "midnight" if self.end == 24 else f"{self.end:02d}:00"
        return f"{self.start:02d}:00 to {end}" + (" (overnight)" if self.overnight else "")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # A bad stored timezone must not stop reminders; the display timezone is the safe guess.
        return DEFAULT_TZ


def person_hours(person: Person) -> Hours:
    """The hours a person accepts direct messages, in their own timezone (9 to 5 if unusable)."""
    return _hours(person.timezone, person.contact_start_hour, person.contact_end_hour)


@functools.lru_cache(maxsize=4096)
def _hours(timezone: str, start: int, end: int) -> Hours:
    # Planning asks this for every member of every group: most people share a few settings.
    tz = _zone(timezone)
    try:
        return Hours(start, end, tz)
    except ValueError:
        return Hours(9, 17, tz)


def is_allowed(when: datetime, *, hours: Hours, calendar: WorkingCalendar) -> bool:
    """Whether a message may be delivered at `when`."""
    local = when.astimezone(hours.tz)
    return hours.contains(local) and calendar.is_working_day(hours.day_of(local))


def next_allowed(when: datetime, *, hours: Hours, calendar: WorkingCalendar) -> datetime:
    """`when` itself if allowed, else the next moment the window opens on a working day (UTC)."""
    if is_allowed(when, hours=hours, calendar=calendar):
        return when
    local = when.astimezone(hours.tz)
    day = local.date()
    if not (calendar.is_working_day(day) and local < hours.opens(day)):
        day = calendar.next_working_day(day)
    return hours.opens(day).astimezone(when.tzinfo)


def working_morning(day: date, *, hours: Hours, calendar: WorkingCalendar) -> datetime:
    """The opening of the window on `day`, or on the next working day when `day` is not one."""
    return hours.opens(calendar.on_or_after(day))


def next_working_morning(after: datetime, *, hours: Hours, calendar: WorkingCalendar) -> datetime:
    """The opening of the window on the first working day after `after`'s local date."""
    local_day = after.astimezone(hours.tz).date()
    return hours.opens(calendar.next_working_day(local_day))


def local_day(when: datetime, tz: ZoneInfo) -> date:
    """The calendar date of `when` in `tz`."""
    return when.astimezone(tz).date()


def working_days_before(day: date, n: int, calendar: WorkingCalendar) -> date:
    """The n-th working day strictly before `day` (n >= 1)."""
    return calendar.working_days_before(day, n)


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight at the start of `day`."""
    return datetime.combine(day, time(0), tzinfo=tz)


def day_end(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight at the end of `day`."""
    return day_start(day + timedelta(days=1), tz)


class FastCalendar(WorkingCalendar):
    """A working-day calendar that remembers each day's answer: the planner asks the same few
    hundred days hundreds of thousands of times."""

    def __init__(self, calendar: WorkingCalendar) -> None:
        super().__init__(calendar.nation, calendar.closures)
        self._working: dict[date, bool] = {}
        self._next: dict[date, date] = {}
        self._previous: dict[date, date] = {}
        self._why: dict[date, str | None] = {}
        self._added: dict[tuple[date, int], date] = {}
        self._before: dict[tuple[date, int], date] = {}

    def why_not_working(self, d: date) -> str | None:
        """Why `d` is not a working day, or None if it is one."""
        if d in self._why:
            return self._why[d]
        found = self._why[d] = super().why_not_working(d)
        return found

    def add_working_days(self, d: date, n: int) -> date:
        """The date `n` working days after `d`, not counting `d` itself."""
        found = self._added.get((d, n))
        if found is None:
            found = self._added[d, n] = super().add_working_days(d, n)
        return found

    def working_days_before(self, d: date, n: int) -> date:
        """The n-th working day strictly before `d` (n >= 1)."""
        found = self._before.get((d, n))
        if found is None:
            found = self._before[d, n] = super().working_days_before(d, n)
        return found

    def is_working_day(self, d: date) -> bool:
        """True when `d` is a weekday that is neither a bank holiday nor a closure day."""
        found = self._working.get(d)
        if found is None:
            found = self._working[d] = super().is_working_day(d)
        return found

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        found = self._next.get(d)
        if found is None:
            found = self._next[d] = super().next_working_day(d)
        return found

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before `d`."""
        found = self._previous.get(d)
        if found is None:
            found = self._previous[d] = super().previous_working_day(d)
        return found
