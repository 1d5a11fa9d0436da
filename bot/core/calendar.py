"""Working days per UK nation: weekdays minus that nation's bank holidays and local closures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache

import holidays

from bot.core.errors import BadInput


class Nation(StrEnum):
    """The UK nation whose bank holidays (and procedures) apply to a child."""

    ENGLAND = "england"
    WALES = "wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern-ireland"

    @property
    def label(self) -> str:
        """The nation's name as written in a sentence, e.g. "Northern Ireland"."""
        return self.value.replace("-", " ").title()

    @classmethod
    def parse(cls, text: str) -> Nation:
        """Read a nation from its value, label or a common alias, ignoring case."""
        key = " ".join(
            text.lower().replace("&", " and ").replace("-", " ").replace("_", " ").split()
        )
        for nation in cls:
            if key == nation.value.replace("-", " "):
                return nation
        if key in _ALIASES:
            return _ALIASES[key]
        raise BadInput(
            f'"{text}" is not a nation I know.',
            hint="Use one of: " + ", ".join(nation.value for nation in cls) + ".",
        )


_ALIASES = {
    "eng": Nation.ENGLAND,
    "england and wales": Nation.ENGLAND,
    "england wales": Nation.ENGLAND,
    "wal": Nation.WALES,
    "cymru": Nation.WALES,
    "scot": Nation.SCOTLAND,
    "sco": Nation.SCOTLAND,
    "ni": Nation.NORTHERN_IRELAND,
    "n ireland": Nation.NORTHERN_IRELAND,
}

_SUBDIVISIONS = {
    Nation.ENGLAND: "ENG",
    Nation.WALES: "WLS",
    Nation.SCOTLAND: "SCT",
    Nation.NORTHERN_IRELAND: "NIR",
}

# The `holidays` package's names for GB holidays, renamed to match gov.uk/bank-holidays.
_GOV_UK_NAMES = {
    "May Day": "Early May bank holiday",
    "Spring Bank Holiday": "Spring bank holiday",
    "Late Summer Bank Holiday": "Summer bank holiday",
    "Summer Bank Holiday": "Summer bank holiday",
    "New Year Holiday": "2nd January",
    "Saint Andrew's Day": "St Andrew's Day",
    "Saint Patrick's Day": "St Patrick's Day",
    "Battle of the Boyne": "Battle of the Boyne (Orangemen's Day)",
    "Scotland's participation in the FIFA World Cup final": "World Cup bank holiday",
}
_OBSERVED = " (observed)"


def _gov_uk_name(name: str) -> str:
    parts = []
    for part in name.split("; "):
        base = part.removesuffix(_OBSERVED)
        suffix = " (substitute day)" if part.endswith(_OBSERVED) else ""
        parts.append(_GOV_UK_NAMES.get(base, base) + suffix)
    return "; ".join(parts)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_day(d: date) -> str:
    """A date as written in chat: "Wed 6 Jan 2027" (English, capitalised, whatever the locale)."""
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year}"


class WorkingCalendar:
    """Which days count as working days for one nation, plus the council's own closure days."""

    def __init__(self, nation: Nation, closures: Iterable[date] = ()) -> None:
        self.nation = nation
        self.closures = frozenset(closures)
        self._holidays: dict[int, dict[date, str]] = {}

    def bank_holidays(self, year: int) -> Mapping[date, str]:
        """The nation's bank holidays in `year` (including weekend dates that have a substitute)."""
        if year not in self._holidays:
            found = holidays.country_holidays("GB", subdiv=_SUBDIVISIONS[self.nation], years=year)
            self._holidays[year] = {d: _gov_uk_name(name) for d, name in found.items()}
        return self._holidays[year]

    def why_not_working(self, d: date) -> str | None:
        """Why `d` is not a working day ("Saturday", "Christmas Day", ...), or None if it is one."""
        if d.weekday() >= 5:
            return f"{d:%A}"
        if name := self.bank_holidays(d.year).get(d):
            return name
        if d in self.closures:
            return "local closure day"
        return None

    def is_working_day(self, d: date) -> bool:
        """True when `d` is a weekday that is neither a bank holiday nor a local closure day."""
        return self.why_not_working(d) is None

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        d += timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before `d`."""
        d -= timedelta(days=1)
        while not self.is_working_day(d):
            d -= timedelta(days=1)
        return d

    def on_or_after(self, d: date) -> date:
        """`d` itself if it is a working day, else the next working day."""
        return d if self.is_working_day(d) else self.next_working_day(d)

    def add_working_days(self, d: date, n: int) -> date:
        """The date `n` working days after `d`, not counting `d` itself.

        With n=0 this is `d` if it is a working day, else the next working day (`on_or_after`).
        """
        if n < 0:
            raise ValueError("n must be 0 or more")
        if n == 0:
            return self.on_or_after(d)
        for _ in range(n):
            d = self.next_working_day(d)
        return d

    def working_days_before(self, d: date, n: int) -> date:
        """The n-th working day strictly before `d` (n >= 1)."""
        for _ in range(n):
            d = self.previous_working_day(d)
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days fall in (start, end]; 0 when end is not after start."""
        count = 0
        d = start + timedelta(days=1)
        while d <= end:
            count += self.is_working_day(d)
            d += timedelta(days=1)
        return count


@lru_cache(maxsize=32)
def shared_calendar(nation: Nation, closures: frozenset[date] = frozenset()) -> WorkingCalendar:
    """One calendar per nation and closure days, so each year's bank holidays load once."""
    return WorkingCalendar(nation, closures)
