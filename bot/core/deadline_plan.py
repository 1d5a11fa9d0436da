"""When to remind the chairs of a statutory meeting date: the first core group, the next one
(6-weekly by default) and the one after a review conference, unbooked or booked too late.

Planned from the dates alone (meetings booked or held, not cancelled), so the plan is the same
whenever it is made. The reminder builders say "booked too late" when `booked` is in the detail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.calendar import WorkingCalendar, format_day
from bot.core.policy import (
    Policy,
    after_review_deadline,
    first_meeting_deadline,
    next_meeting_deadline,
)
from bot.core.working_hours import working_days_before
from storage.models import ReviewConference


@dataclass(frozen=True)
class Lead:
    """How many working days ahead each reminder goes (ReminderSettings)."""

    first_unbooked: int  # after the ICPC, with no first meeting booked
    next_warning: int  # before the next meeting's deadline
    after_review: int  # after a review conference


@dataclass(frozen=True)
class DeadlineReminder:
    """One reminder to plan for each chair: its key (without the chair), which, and when."""

    key: str
    which: str  # "first", "next" or "review"
    day: date
    since: datetime
    detail: dict[str, Any] = field(default_factory=dict)  # ISO dates, for the reminder's words


def plan_deadline_reminders(
    *,
    group_id: int,
    icpc: date,
    created: datetime,
    dates: list[date],
    reviews: list[ReviewConference],
    calendar: WorkingCalendar,
    policy: Policy,
    lead: Lead,
    tz: ZoneInfo,
    due_on: Callable[[str, date], date] | None = None,
) -> list[DeadlineReminder]:
    """The deadline reminders for a group whose meetings fall on `dates` (sorted). `due_on(which,
    day)` gives the statutory deadline ("first", "next" or "review") counted from `day`; by
    default worked out from `policy` (a planner passes one that remembers them)."""
    found: list[DeadlineReminder] = []
    deadline = due_on or partial(statutory_due, calendar=calendar, policy=policy)

    def remind(key: str, which: str, day: date, since: datetime, due: date, **extra: str) -> None:
        # A date recorded late (a review typed in a week after) is still reminded of, the next
        # working day after it was recorded.
        recorded = calendar.next_working_day(since.astimezone(tz).date())
        detail = {"deadline": due.isoformat(), **extra}
        found.append(DeadlineReminder(key, which, max(day, recorded), since, detail))

    first = deadline("first", icpc)
    first_day = calendar.add_working_days(icpc, lead.first_unbooked)
    if not dates or dates[0] > first:
        late = {"booked": dates[0].isoformat()} if dates else {}
        remind(f"deadline:first:{group_id}:{icpc}", "first", first_day, created, first, **late)
    for i, last in enumerate(dates):
        due = deadline("next", last)
        after = dates[i + 1] if i + 1 < len(dates) else None
        if after is None or after > due:
            late = {"booked": after.isoformat()} if after else {}
            day = working_days_before(due, lead.next_warning, calendar)
            key = f"deadline:next:{group_id}:{last}"
            remind(key, "next", day, created, due, last=last.isoformat(), **late)
    for review in reviews:
        if not review.plan_continues:
            continue
        due = deadline("review", review.held_on)
        after = next((d for d in dates if d > review.held_on), None)
        if after is not None and after <= due:
            continue
        late = {"booked": after.isoformat()} if after else {}
        day = calendar.add_working_days(review.held_on, lead.after_review)
        since = max(created, review.recorded_at)
        key = f"deadline:review:{group_id}:{review.held_on}"
        remind(key, "review", day, since, due, review=review.held_on.isoformat(), **late)
    return found


def statutory_due(which: str, day: date, *, calendar: WorkingCalendar, policy: Policy) -> date:
    """The first meeting's deadline after the ICPC on `day`, the next one's after a meeting on
    `day`, or the one after a review conference on `day` (`which`: first, next or review)."""
    if which == "first":
        return first_meeting_deadline(icpc=day, calendar=calendar, policy=policy).due
    if which == "next":
        return next_meeting_deadline(last_meeting=day, calendar=calendar, policy=policy).due
    return after_review_deadline(review=day, calendar=calendar, policy=policy).due


def booked_too_late(detail: dict[str, Any], *, unbooked: str) -> str:
    """What the reminder says of the booking: `unbooked`, or that the one booked is too late."""
    booked = detail.get("booked")
    if booked is None:
        return unbooked
    return (
        f"The meeting booked for {format_day(date.fromisoformat(booked))} is after that "
        "deadline: move it earlier, or book another in time."
    )
