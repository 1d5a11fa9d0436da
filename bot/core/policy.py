"""Statutory timescales for a core group, as dated deadlines with the rule that produced each."""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from enum import StrEnum, auto

from bot.core.calendar import Nation, WorkingCalendar, format_day
from bot.core.errors import BadInput

STATUTORY_DEFAULT = "statutory guidance default"
SCOTTISH_DEFAULT = "Scotland's national guidance default"

# The fields that count a statutory timescale, and which way is stricter: "less" means a smaller
# value asks more of the group (a sooner deadline); "more" the reverse. Fields not listed are the
# bot's own conveniences and may be set either way.
STRICTER: dict[str, str] = {
    "first_meeting_working_days": "less",
    "meeting_interval_days": "less",
    "meeting_interval_months": "less",
    "after_review_working_days": "less",
    "pre_review_meeting_working_days": "more",
    "record_working_days": "less",
    "circulate_working_days": "less",
    "first_review_months": "less",
    "review_interval_months": "less",
}


@dataclass(frozen=True)
class Policy:
    """The timescales a local authority works to; every field is a positive whole number, except
    `meeting_interval_months`, which is 0 unless meetings are counted in calendar months (then it
    wins over `meeting_interval_days`). `sources` says where each value came from, by field name;
    a field not named there is the statutory guidance default."""

    first_meeting_working_days: int = 10
    meeting_interval_days: int = 42
    meeting_interval_months: int = 0
    after_review_working_days: int = 10
    pre_review_meeting_working_days: int = 10
    record_working_days: int = 2
    circulate_working_days: int = 5
    first_review_months: int = 3
    review_interval_months: int = 6
    update_prompt_working_days: int = 3
    sources: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name in timescale_names():
            value = getattr(self, name)
            low = 0 if name == "meeting_interval_months" else 1
            if type(value) is not int or value < low:
                default = Policy.__dataclass_fields__[name].default
                raise BadInput(
                    f"The setting {name} must be a whole number above 0, not {value!r}.",
                    hint=f"For example: {name}={default}.",
                )

    @classmethod
    def for_nation(cls, nation: Nation) -> Policy:
        """Default timescales for `nation`; Scotland has its own (see DOMAIN.md)."""
        if nation is Nation.SCOTLAND:
            scottish = {"first_meeting_working_days": 15, "record_working_days": 10}
            scottish["first_review_months"] = 6
            return cls(**scottish, sources=tuple((name, SCOTTISH_DEFAULT) for name in scottish))
        return cls()

    def with_overrides(self, source: str | None = None, **overrides: int) -> Policy:
        """A copy with timescales changed (credited to `source` when given); unknown names and
        non-positive values are refused."""
        names = timescale_names()
        for name in overrides:
            if name not in names:
                raise BadInput(
                    f"There is no timescale setting called {name!r}.",
                    hint="Settings: " + ", ".join(names) + ".",
                )
        sources = dict(self.sources)
        if source is not None:
            sources.update((name, source) for name in overrides)
        if "meeting_interval_days" in overrides and "meeting_interval_months" not in overrides:
            overrides["meeting_interval_months"] = 0  # days given last: count in days
        return replace(self, **overrides, sources=tuple(sorted(sources.items())))

    def source_of(self, name: str) -> str:
        """Where the value of timescale `name` came from, in words."""
        return dict(self.sources).get(name, STATUTORY_DEFAULT)

    @property
    def meeting_interval(self) -> str:
        """The longest gap between core groups in words: "6 weeks", "1 month"."""
        if self.meeting_interval_months:
            return _plural(self.meeting_interval_months, "month")
        return _span(self.meeting_interval_days)

    @property
    def meeting_interval_source(self) -> str:
        """Where the meeting interval came from."""
        field = (
            "meeting_interval_months" if self.meeting_interval_months else "meeting_interval_days"
        )
        return self.source_of(field)

    def meeting_gap_end(self, last: date) -> date:
        """The last day of the longest allowed gap after a meeting on `last` (before moving off a
        non-working day)."""
        if self.meeting_interval_months:
            return _add_months(last, self.meeting_interval_months)
        return last + timedelta(days=self.meeting_interval_days)


def timescale_names() -> list[str]:
    """The names of Policy's timescale fields, in order."""
    return [field.name for field in fields(Policy) if field.name != "sources"]


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
    kind: DeadlineKind,
    start: date,
    calendar: WorkingCalendar,
    policy: Policy,
    field: str,
    *,
    what: str,
    of: str,
) -> Deadline:
    """The deadline `policy.<field>` working days after `start`, with the rule in words."""
    n = getattr(policy, field)
    return Deadline(
        kind,
        calendar.add_working_days(start, n),
        start,
        f"{what} within {n} working days of the {of} "
        f"on {format_day(start)} {_holidays_used(calendar)} — {policy.source_of(field)}",
    )


def first_meeting_deadline(*, icpc: date, calendar: WorkingCalendar, policy: Policy) -> Deadline:
    """The last day for the first core group after the initial conference."""
    return _working_days_after(
        DeadlineKind.FIRST_MEETING,
        icpc,
        calendar,
        policy,
        "first_meeting_working_days",
        what="First core group",
        of=conference_names(calendar)[0],
    )


def next_meeting_deadline(
    *, last_meeting: date, calendar: WorkingCalendar, policy: Policy
) -> Deadline:
    """The last day for the next core group; moved earlier when it falls on a non-working day."""
    due, moved = _not_later_than(calendar, policy.meeting_gap_end(last_meeting))
    return Deadline(
        DeadlineKind.NEXT_MEETING,
        due,
        last_meeting,
        f"Next core group within {policy.meeting_interval} of the core group "
        f"on {format_day(last_meeting)}{moved} — {policy.meeting_interval_source}",
    )


def after_review_deadline(*, review: date, calendar: WorkingCalendar, policy: Policy) -> Deadline:
    """The last day for a core group after a review conference."""
    return _working_days_after(
        DeadlineKind.AFTER_REVIEW,
        review,
        calendar,
        policy,
        "after_review_working_days",
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
        f"{_holidays_used(calendar)} — {policy.source_of('pre_review_meeting_working_days')}",
    )


def record_deadline(*, meeting: date, calendar: WorkingCalendar, policy: Policy) -> Deadline:
    """The last day to put a meeting's record on the case system."""
    return _working_days_after(
        DeadlineKind.RECORD,
        meeting,
        calendar,
        policy,
        "record_working_days",
        what="Written record on the case system",
        of="core group",
    )


def circulate_deadline(*, meeting: date, calendar: WorkingCalendar, policy: Policy) -> Deadline:
    """The last day to send a meeting's record to all members."""
    return _working_days_after(
        DeadlineKind.CIRCULATE,
        meeting,
        calendar,
        policy,
        "circulate_working_days",
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
            f"on {format_day(icpc)}{moved} — {policy.source_of('first_review_months')}",
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
                f"on {format_day(review)}{moved} — {policy.source_of('review_interval_months')}",
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
                f"(within {policy.first_meeting_working_days} working days of the {initial} — "
                f"{policy.source_of('first_meeting_working_days')})."
            )
    else:
        last = max(earlier)
        gap = next_meeting_deadline(last_meeting=last, calendar=calendar, policy=policy)
        if when > gap.due:
            warnings.append(
                f"This is after the next core group deadline of {format_day(gap.due)} "
                f"(within {policy.meeting_interval} of the core group "
                f"on {format_day(last)} — {policy.meeting_interval_source})."
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
