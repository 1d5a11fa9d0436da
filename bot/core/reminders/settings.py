"""What reminders there are, the settings that time them, and one derived occurrence."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

# "Plan as soon as possible": the value a change writes into ReminderPlanState.next_plan_at.
ASAP = datetime(2000, 1, 1, tzinfo=UTC)
SCHEDULE_ASK = 'When? e.g. "5/1 10am" or "next Tue 2pm"'
SNOOZE_ACTION = "reminder.snooze"


@dataclass(frozen=True)
class ReminderSettings:
    """When reminders go out and how the sender behaves; a local authority may change any."""

    meeting_notice_working_days: tuple[int, ...] = (5, 1)
    meeting_final_notice: timedelta = timedelta(hours=1)
    action_before_working_days: int = 2
    action_overdue_every_working_days: int = 3
    escalate_after_overdue: int = 2
    first_meeting_unbooked_working_days: int = 5
    next_meeting_warning_working_days: int = 10
    after_review_unbooked_working_days: int = 5
    review_update_working_days: int = 15
    outcome_idle_days: int = 28
    digest_coming_days: int = 14
    channel_hours: tuple[int, int] = (9, 17)
    digest_nation: str = "england"
    # The machinery: look-ahead, re-planning, leases, retries and batch sizes.
    horizon: timedelta = timedelta(days=2)
    replan_every: timedelta = timedelta(hours=24)
    catch_up: timedelta = timedelta(days=7)
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    retry_after: timedelta = timedelta(minutes=1)
    claim_chunk: int = 200
    # Routine re-planning (the look-ahead running out) stops after the batch that passes the
    # budget, so a tick stays short; groups left over are planned on the next tick (what they
    # already have is checked when sent). New and changed groups (a first start, a change of
    # rules) are all planned in the tick that finds them, however many there are.
    plan_batch: int = 1000
    plan_budget: timedelta = timedelta(milliseconds=250)
    # A tick stops claiming after this long; the next tick carries on (nothing is lost).
    send_budget: timedelta = timedelta(minutes=5)
    send_workers: int = 4

    def timing(self) -> str:
        """The settings that decide when reminders fall due (not the machinery), as text."""
        return repr(
            [(f.name, getattr(self, f.name)) for f in fields(self) if f.name not in _MACHINERY]
        )


# How the sender works, not when anything is due: changing these re-plans nothing.
_MACHINERY = frozenset(
    {
        "horizon",
        "replan_every",
        "catch_up",
        "lease",
        "max_attempts",
        "retry_after",
        "claim_chunk",
        "plan_batch",
        "plan_budget",
        "send_budget",
        "send_workers",
    }
)


class Kind(StrEnum):
    """What a reminder is about; action reminders to the owner start with "action"."""

    MEETING_AHEAD = "meeting-ahead"
    MEETING_SOON = "meeting-soon"
    UPDATE_OPEN = "update-open"
    UPDATE_NUDGE = "update-nudge"
    BRIEF = "meeting-brief"
    ACTION_SOON = "action-soon"
    ACTION_DUE = "action-due"
    ACTION_OVERDUE = "action-overdue"
    ESCALATE = "escalate-action"
    FIRST_UNBOOKED = "first-unbooked"
    NEXT_UNBOOKED = "next-unbooked"
    REVIEW_UNBOOKED = "review-unbooked"
    MINUTES_RECORD = "minutes-record"
    MINUTES_CIRCULATE = "minutes-circulate"
    REVIEW_UPDATE = "review-update"
    DRIFT_MEETING = "drift-meeting"
    DRIFT_OUTCOME = "drift-outcome"
    DIGEST = "digest"
    DELIVERY_FAILED = "delivery-failed"
    CONCERN = "concern-unanswered"
    EARLIER_DISAGREEMENTS = "disagreements-earlier"  # to a team manager added later


# Conversations and the last-minute meeting notice make no sense to snooze until tomorrow.
NOT_SNOOZABLE = frozenset(
    {
        Kind.MEETING_SOON,
        Kind.UPDATE_OPEN,
        Kind.UPDATE_NUDGE,
        Kind.BRIEF,
        Kind.DELIVERY_FAILED,
        Kind.CONCERN,
        Kind.EARLIER_DISAGREEMENTS,
    }
)
# Rows the planner did not derive (so never withdraws): snoozed copies, failure notices and
# earlier disagreements told to a team manager added later.
UNPLANNED_PREFIXES = ("snooze:", "failed:", "told:")
# The kinds of those notices: sent as soon as claimed, derived from no occurrence.
NOTICE_KINDS = frozenset({Kind.DELIVERY_FAILED, Kind.EARLIER_DISAGREEMENTS})


@dataclass(frozen=True)
class Occurrence:
    """One reminder that is due: its key, what, for whom, and from when it may go out."""

    key: str
    kind: Kind
    group_id: int | None
    person_id: int | None  # None: a post to the group's space
    subject_id: int | None
    due_at: datetime
    not_after: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict, compare=False)
