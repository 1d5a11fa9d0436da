"""Statutory timescales for a core group, as dated deadlines with the rule that produced each."""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from enum import StrEnum, auto

from bot.core.calendar import Nation, WorkingCalendar, format_day
from bot.core.errors import BadInput


@dataclass(frozen=True)
class Policy:
    """The timescales a local authority works to; every field is a positive whole number."""

    first_meeting_working_days: int = 10
    meeting_interval_days: int = 42
    after_review_working_days: int = 10
    pre_review_meeting_working_days: int = 10
    record_working_days: int = 2
    circulate_working_days: int = 5
    first_review_months: int = 3
    review_interval_months: int = 6
    update_prompt_working_days: int = 3

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if type(value) is not int or value <= 0:
                raise BadInput(
                    f"The setting {field.name} must be a whole number above 0, not {value!r}.",
                    hint=f"For example: {field.name}={field.default}.",
                )

    @classmethod
    def for_nation(cls, nation: Nation) -> Policy:
        """Default timescales for `nation`; Scotland has its own (see DOMAIN.md)."""
        if nation is Nation.SCOTLAND:
            return cls(first_meeting_working_days=15, record_working_days=10, first_review_months=6)
        return cls()

    def with_overrides(self, **overrides: int) -> Policy:
        """A copy with timescales changed; unknown names and non-positive values are refused."""
        names = [field.name for field in fields(self)]
        for name in overrides:
            if name not in names:
                raise BadInput(
                    f"There is no timescale setting called {name!r}.",
                    hint="Settings: " + ", ".join(names) + ".",
                )
        return replace(self, **overrides)


class DeadlineKind(StrEnum):
    """Which timescale a deadline comes from."""

    FIRST_MEETING = auto()
    NEXT_MEETING = auto()
    AFTER_REVIEW = auto()
    PRE_REVIEW_MEETING = auto()
    FIRST_REVIEW = auto()
    NEXT_REVIEW = auto()
    RECORD = auto()
    CIRCULATE = auto()


@dataclass(frozen=True)
class Deadline:
    """A date something is due by, the date it counts from, and the rule in words."""

    kind: DeadlineKind
    due: date
    basis: date
    rule: str

    def as_dict(self) -> dict[str, str]:
        """A JSON-ready form with ISO dates."""
        return {
            "kind": self.kind.value,
            "due": self.due.isoformat(),
            "basis": self.basis.isoformat(),
            "rule": self.rule,
        }


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _span(days: int) -> str:
    return _plural(days // 7, "week") if days % 7 == 0 else _plural(days, "day")


def _holidays_used(calendar: WorkingCalendar) -> str:
    closures = " and local closure days" if calendar.closures else ""
    return f"({calendar.nation.label} bank holidays{closures})"


def conference_names(calendar: WorkingCalendar) -> tuple[str, str]:
    """What the initial and review conferences are called in the calendar's nation."""
    if calendar.nation is Nation.SCOTLAND:
        return "CPPM", "review CPPM"
    return "ICPC", "review conference"


def _add_months(d: date, months: int) -> date:
    year, month0 = divmod(d.month - 1 + months, 12)
    last_day = month_calendar.monthrange(d.year + year, month0 + 1)[1]
    return date(d.year + year, month0 + 1, min(d.day, last_day))


def _not_later_than(calendar: WorkingCalendar, d: date) -> tuple[date, str]:
    """`d` if it is a working day, else the working day before; plus words saying so."""
    why = calendar.why_not_working(d)
    if why is None:
        return d, ""
    return calendar.previous_working_day(d), (
        f"; {format_day(d)} is not a working day ({why}), so the working day before"
    )


def _working_days_after(
    kind: DeadlineKind, start: date, n: int, calendar: WorkingCalendar, *, what: str, of: str
) -> Deadline:
    """The deadline `n` working days after `start`, with the rule in words."""
    return Deadline(
        kind,
        calendar.add_working_days(start, n),
        start,
        f"{what} within {n} working days of the {of} "
        f"on {format_day(start)} {_holidays_used(calendar)}",
    )


def first_meeting_deadline(*, icpc: date, calendar: WorkingCalendar, policy: Policy) -> Deadline:
    """The last day for the first core group after the initial conference."""
    return _working_days_after(
        DeadlineKind.FIRST_MEETING,
        icpc,
        policy.first_meeting_working_days,
        calendar,
        what="First core group",
        of=conference_names(calendar)[0],
    )


def next_meeting_deadline(
    *, last_meeting: date, calendar: WorkingCalendar, policy: Policy
) -> Deadline:
    """The last day for the next core group; moved earlier when it falls on a non-working day."""
    days = policy.meeting_interval_days
    due, moved = _not_later_than(calendar, last_meeting + timedelta(days=days))
    return Deadline(
        DeadlineKind.NEXT_MEETING,
        due,
        last_meeting,
        f"Next core group within {_span(days)} of the core group on {format_day(last_meeting)}"
        f"{moved}",
    )


def after_review_deadline(*, review: date, calendar: WorkingCalendar, policy: Policy) -> Deadline:
    """The last day for a core group after a review conference."""
    return _working_days_after(
        DeadlineKind.AFTER_REVIEW,
        review,
        policy.after_review_working_days,
        calendar,
        what="Core group",
        of=conference_names(calendar)[1],
    )


def pre_review_meeting_target(
    *, review: date, calendar: WorkingCalendar, policy: Policy
) -> Deadline:
    """The target day for the last core group before a review conference."""
    n = policy.pre_review_meeting_working_days
    target = review
    for _ in range(n):
        target = calendar.previous_working_day(target)
    return Deadline(
        DeadlineKind.PRE_REVIEW_MEETING,
        target,
        review,
        f"Last core group about {n} working days before the {conference_names(calendar)[1]} "
        f"on {format_day(review)}, with a written update from each agency "
        f"{_holidays_used(calendar)}",
    )


def record_deadline(*, meeting: date, calendar: WorkingCalendar, policy: Policy) -> Deadline:
    """The last day to put a meeting's record on the case system."""
    return _working_days_after(
        DeadlineKind.RECORD,
        meeting,
        policy.record_working_days,
        calendar,
        what="Written record on the case system",
        of="core group",
    )


def circulate_deadline(*, meeting: date, calendar: WorkingCalendar, policy: Policy) -> Deadline:
    """The last day to send a meeting's record to all members."""
    return _working_days_after(
        DeadlineKind.CIRCULATE,
        meeting,
        policy.circulate_working_days,
        calendar,
        what="Copies of the record to all members",
        of="core group",
    )


def review_conference_deadlines(
    *, icpc: date, reviews: Sequence[date], calendar: WorkingCalendar, policy: Policy
) -> list[Deadline]:
    """The first review's deadline from the initial conference, then the next one after each review.

    Counted in calendar months (day clamped to the month's end); a non-working last day moves
    back to the working day before.
    """
    initial, review_name = conference_names(calendar)
    months = policy.first_review_months
    due, moved = _not_later_than(calendar, _add_months(icpc, months))
    deadlines = [
        Deadline(
            DeadlineKind.FIRST_REVIEW,
            due,
            icpc,
            f"First {review_name} within {_plural(months, 'month')} of the {initial} "
            f"on {format_day(icpc)}{moved}",
        )
    ]
    months = policy.review_interval_months
    for review in sorted(reviews):
        due, moved = _not_later_than(calendar, _add_months(review, months))
        deadlines.append(
            Deadline(
                DeadlineKind.NEXT_REVIEW,
                due,
                review,
                f"Next {review_name} within {_plural(months, 'month')} of the one "
                f"on {format_day(review)}{moved}",
            )
        )
    return deadlines


def timescales(
    *,
    icpc: date,
    meetings: Sequence[date],
    reviews: Sequence[date],
    calendar: WorkingCalendar,
    policy: Policy,
) -> list[Deadline]:
    """Every deadline the chair must meet (past ones included), sorted by due date.

    The next-meeting deadline is given from the latest meeting, and also from any earlier meeting
    whose following meeting came too late (a broken gap stays on the record).
    """
    result = [first_meeting_deadline(icpc=icpc, calendar=calendar, policy=policy)]
    held = sorted(meetings)
    for meeting, following in zip(held, [*held[1:], None][: len(held)], strict=True):
        result.append(record_deadline(meeting=meeting, calendar=calendar, policy=policy))
        result.append(circulate_deadline(meeting=meeting, calendar=calendar, policy=policy))
        gap = next_meeting_deadline(last_meeting=meeting, calendar=calendar, policy=policy)
        if following is None or following > gap.due:
            result.append(gap)
    for review in sorted(reviews):
        result.append(after_review_deadline(review=review, calendar=calendar, policy=policy))
        result.append(pre_review_meeting_target(review=review, calendar=calendar, policy=policy))
    result += review_conference_deadlines(
        icpc=icpc, reviews=reviews, calendar=calendar, policy=policy
    )
    return sorted(result, key=lambda deadline: deadline.due)


def check_meeting_date(
    *,
    when: date,
    icpc: date,
    meetings: Sequence[date],
    reviews: Sequence[date],
    calendar: WorkingCalendar,
    policy: Policy,
) -> list[str]:
    """Warnings for a proposed core group date: non-working day, or a timescale it would miss."""
    initial, review_name = conference_names(calendar)
    warnings = []
    if why := calendar.why_not_working(when):
        warnings.append(f"{format_day(when)} is not a working day ({why}).")
    if when <= icpc:
        warnings.append(f"This is not after the {initial} on {format_day(icpc)}.")
    earlier = [m for m in meetings if m < when]
    if not earlier:
        first = first_meeting_deadline(icpc=icpc, calendar=calendar, policy=policy)
        if when > first.due:
            warnings.append(
                f"This is after the first core group deadline of {format_day(first.due)} "
                f"(within {policy.first_meeting_working_days} working days of the {initial})."
            )
    else:
        last = max(earlier)
        gap = next_meeting_deadline(last_meeting=last, calendar=calendar, policy=policy)
        if when > gap.due:
            warnings.append(
                f"This is after the next core group deadline of {format_day(gap.due)} "
                f"(within {_span(policy.meeting_interval_days)} of the core group "
                f"on {format_day(last)})."
            )
    past_reviews = [r for r in reviews if r < when]
    if past_reviews:
        review = max(past_reviews)
        after = after_review_deadline(review=review, calendar=calendar, policy=policy)
        if when > after.due and not any(review < m < when for m in meetings):
            warnings.append(
                f"This is after the deadline of {format_day(after.due)} for a core group within "
                f"{policy.after_review_working_days} working days of the {review_name} "
                f"on {format_day(review)}."
            )
    coming_reviews = [r for r in reviews if r > when]
    if coming_reviews:
        review = min(coming_reviews)
        target = pre_review_meeting_target(review=review, calendar=calendar, policy=policy)
        if when > target.due:
            warnings.append(
                f"This is less than {policy.pre_review_meeting_working_days} working days before "
                f"the {review_name} on {format_day(review)}: aim for about "
                f"{format_day(target.due)} so each agency's written update is ready."
            )
    return warnings
