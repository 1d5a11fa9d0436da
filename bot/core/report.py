"""The timeliness and participation report: how a team's core groups kept to the statutory
timescales over a period, and how each agency and member role took part.

Everything is read with a fixed number of set-based queries over all the teams' groups at once
(never a group at a time), then worked out in Python. The report holds counts, dates and case
references only: no names and no free text, so it can go to a partnership meeting.

Rules (DOMAIN.md, "Timescales"; each is a Policy setting):
- a step belongs to the period when its deadline falls in it;
- on time: done on or before the deadline; late: done after it (by N working days of the case's
  nation); missed: not done and the deadline has passed today; pending: not done, not yet due;
- a meeting counts as held once its start has passed (as `bot.core.groups.meeting_dates`);
- a step due after its group closed is not owed;
- participation counts meetings marked held in the period (attended / apologies / absent as
  recorded), updates completed before the meeting started, actions due in the period (done by
  their due date, done later, or not done and past due; declined and cancelled ones left out)
  and disagreements raised in it, each under the member's agency and role in that group;
- open and overdue actions and drifting outcomes (no change for 4 weeks, counting changes to
  their actions) are counted at the end of the period, or today if that is sooner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import select as rows_of
from sqlmodel import Session, col, or_, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.core.calendar import WorkingCalendar
from bot.core.context import Locale
from bot.core.errors import BadInput
from bot.core.policy import (
    Deadline,
    after_review_deadline,
    circulate_deadline,
    first_meeting_deadline,
    next_meeting_deadline,
    record_deadline,
)
from storage.enums import (
    ActionEventKind,
    ActionStatus,
    AttendanceStatus,
    MeetingStatus,
    OutcomeStatus,
    Role,
    UpdateState,
)
from storage.models import (
    Action,
    ActionEvent,
    Attendance,
    Case,
    CoreGroup,
    Disagreement,
    Meeting,
    Membership,
    MemberUpdate,
    Minutes,
    Outcome,
    Person,
    ReviewConference,
    Team,
)

MAX_PERIOD_DAYS = 732  # two years: enough for any annual comparison, bounded in cost
PERIOD_EXAMPLE = "2027-01-01 to 2027-03-31"
# An outcome with no change for this long is drifting (as the reminders' drift notes).
DRIFT_DAYS = 28
FAMILY = "Family"
NO_AGENCY = "Agency not recorded"


class Step(StrEnum):
    """A statutory step whose timeliness the report measures."""

    FIRST_MEETING = "first core group"
    NEXT_MEETING = "next core group"
    AFTER_REVIEW = "core group after review"
    RECORD = "minutes recorded"
    CIRCULATE = "minutes sent"


STEPS = tuple(Step)


class Timeliness(StrEnum):
    """How a step went against its deadline."""

    ON_TIME = "on time"
    LATE = "late"
    MISSED = "missed"
    PENDING = "pending"


@dataclass(frozen=True)
class Period:
    """The days a report covers, both ends included."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def months(self) -> list[date]:
        """The first day of each month the period touches."""
        found, month = [], self.start.replace(day=1)
        while month <= self.end:
            found.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return found


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _month_end(first: date, months: int) -> date:
    """The last day of the month `months - 1` after the month starting `first`."""
    year, month0 = divmod(first.month - 1 + months, 12)
    return date(first.year + year, month0 + 1, 1) - timedelta(days=1)


def _shift_months(first: date, months: int) -> date:
    year, month0 = divmod(first.month - 1 + months, 12)
    return date(first.year + year, month0 + 1, 1)


NAMED_PERIODS = (
    "this month",
    "last month",
    "this quarter",
    "last quarter",
    "this year",
    "last year",
)


def named_period(words: str, today: date) -> Period | None:
    """The period a phrase names ("last month", "this quarter", ...), or None if it names none.

    "This ..." runs to the end of the month, quarter or year, so it includes days still to come.
    """
    key = " ".join(words.lower().split())
    month, quarter, year = today.replace(day=1), _quarter_start(today), date(today.year, 1, 1)
    starts = {
        "this month": (month, 1),
        "last month": (_shift_months(month, -1), 1),
        "this quarter": (quarter, 3),
        "last quarter": (_shift_months(quarter, -3), 3),
        "this year": (year, 12),
        "last year": (date(today.year - 1, 1, 1), 12),
    }
    if key not in starts:
        return None
    start, months = starts[key]
    return Period(start, _month_end(start, months))


def checked_period(start: date, end: date, *, example: str = PERIOD_EXAMPLE) -> Period:
    """The period from `start` to `end`, or BadInput saying what is wrong with it."""
    if end < start:
        raise BadInput(
            f"The period ends ({end.isoformat()}) before it starts ({start.isoformat()}).",
            hint=f"Give the first day, then the last, for example: {example}",
        )
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise BadInput(
            "Please ask for two years at most in one report.",
            hint=f"For example: {example}",
        )
    return Period(start, end)


@dataclass(frozen=True)
class StepResult:
    """One step of one group: its deadline, when it was done, and how that went."""

    group_id: int
    reference: str
    step: Step
    due: date
    done: date | None
    status: Timeliness
    working_days_late: int  # late: by how much; missed: overdue so far; else 0


@dataclass
class Tally:
    """Counts of steps by how they went."""

    on_time: int = 0
    late: int = 0
    missed: int = 0
    pending: int = 0
    working_days_late: int = 0

    def add(self, result: StepResult) -> None:
        """Count one step."""
        match result.status:
            case Timeliness.ON_TIME:
                self.on_time += 1
            case Timeliness.LATE:
                self.late += 1
                self.working_days_late += result.working_days_late
            case Timeliness.MISSED:
                self.missed += 1
            case Timeliness.PENDING:
                self.pending += 1

    @property
    def decided(self) -> int:
        """Steps whose deadline has been met or passed."""
        return self.on_time + self.late + self.missed

    @property
    def on_time_rate(self) -> float | None:
        """On time as a share of the steps due so far; None when none were."""
        return self.on_time / self.decided if self.decided else None


@dataclass
class GroupReport:
    """One group's line in the report."""

    group_id: int
    reference: str
    team: str
    steps: list[StepResult] = field(default_factory=list)
    open_actions: int = 0
    overdue_actions: int = 0
    drifting_outcomes: int = 0

    def tally(self, step: Step | None = None) -> Tally:
        """The group's steps (of one kind, or all) counted."""
        found = Tally()
        for result in self.steps:
            if step is None or result.step is step:
                found.add(result)
        return found


@dataclass
class Participation:
    """How members of one agency (or in one role) took part: counts only."""

    name: str
    attended: int = 0
    apologies: int = 0
    absent: int = 0
    updates_asked: int = 0
    updates_returned: int = 0
    actions_due: int = 0
    actions_on_time: int = 0
    actions_late: int = 0
    actions_not_done: int = 0
    disagreements: int = 0

    @property
    def meetings(self) -> int:
        """Held meetings the members were expected at."""
        return self.attended + self.apologies + self.absent

    @property
    def attendance_rate(self) -> float | None:
        """Attended as a share of the meetings expected at."""
        return self.attended / self.meetings if self.meetings else None

    @property
    def updates_rate(self) -> float | None:
        """Updates returned before the meeting as a share of those asked for."""
        return self.updates_returned / self.updates_asked if self.updates_asked else None

    @property
    def actions_rate(self) -> float | None:
        """Actions done by their due date as a share of those due."""
        return self.actions_on_time / self.actions_due if self.actions_due else None


@dataclass
class Report:
    """The whole report: per group, in total, by month, and participation."""

    teams: list[str]
    period: Period
    today: date
    groups: list[GroupReport]
    by_agency: list[Participation]
    by_role: list[Participation]

    @property
    def as_of(self) -> date:
        """The day open and overdue actions and drift are counted at."""
        return min(self.period.end, self.today)

    def steps(self) -> list[StepResult]:
        """Every step of every group, by deadline."""
        return sorted((s for g in self.groups for s in g.steps), key=lambda s: (s.due, s.reference))

    def total(self, step: Step | None = None) -> Tally:
        """All groups' steps (of one kind, or all) counted."""
        found = Tally()
        for result in self.steps():
            if step is None or result.step is step:
                found.add(result)
        return found

    def by_month(self) -> list[tuple[date, Tally]]:
        """All steps counted by the month of their deadline."""
        months = {m: Tally() for m in self.period.months()}
        for result in self.steps():
            months[result.due.replace(day=1)].add(result)
        return list(months.items())

    @property
    def open_actions(self) -> int:
        """Open actions across the groups at the as-of day."""
        return sum(g.open_actions for g in self.groups)

    @property
    def overdue_actions(self) -> int:
        """Overdue actions across the groups at the as-of day."""
        return sum(g.overdue_actions for g in self.groups)

    @property
    def drifting_outcomes(self) -> int:
        """Outcomes quiet for four weeks across the groups at the as-of day."""
        return sum(g.drifting_outcomes for g in self.groups)


# --- reading: one query per table, over every group at once -------------------------------------


def _day_start(day: date, locale: Locale) -> datetime:
    return datetime.combine(day, time(0), tzinfo=locale.tz)


def _group_ids(
    team_ids: Sequence[int], period: Period, locale: Locale
) -> SelectOfScalar[int | None]:
    """The groups the report covers, as a subquery: the teams' groups open during the period."""
    starts = _day_start(period.start, locale)
    return (
        select(col(CoreGroup.id))
        .join(Case, col(Case.id) == CoreGroup.case_id)
        .where(
            col(CoreGroup.team_id).in_(team_ids),
            Case.icpc_date <= period.end,
            or_(col(CoreGroup.closed_at).is_(None), col(CoreGroup.closed_at) >= starts),
        )
    )


class _Meeting(NamedTuple):
    id: int
    starts_at: datetime


class _Minutes(NamedTuple):
    record_due: date
    circulate_due: date
    recorded_at: datetime | None
    circulated_at: datetime | None


class _Action(NamedTuple):
    id: int
    outcome_id: int | None
    owner_id: int
    due_on: date
    status: str
    created_at: datetime
    updated_at: datetime


class _Outcome(NamedTuple):
    id: int
    created_at: datetime
    last_activity_at: datetime


class _Attended(NamedTuple):
    group_id: int
    person_id: int
    status: str


class _Update(NamedTuple):
    group_id: int
    person_id: int
    state: str
    completed_at: datetime | None
    starts_at: datetime


@dataclass
class _World:
    """Everything the report reads, keyed by group: plain rows, not ORM objects (thousands of
    them for a year of a big team; building ORM instances would cost more than the queries)."""

    groups: list[tuple[CoreGroup, Case, str]]
    members: dict[tuple[int, int], tuple[str, str]]  # (group, person): (agency, role label)
    meetings: dict[int, list[_Meeting]]
    minutes: dict[int, _Minutes]
    reviews: dict[int, list[ReviewConference]]
    actions: dict[int, list[_Action]]
    closed_at: dict[int, datetime]
    outcomes: dict[int, list[_Outcome]]
    attendance: list[_Attended]
    updates: list[_Update]
    disagreements: list[tuple[int, int]]  # (group, person who raised it)


def _agency(role: str, membership_agency: str, person_agency: str, is_family: bool) -> str:
    if Role(role).is_family or is_family:
        return FAMILY
    return " ".join((membership_agency or person_agency).split()) or NO_AGENCY


def _load(
    session: Session, *, team_ids: Sequence[int], period: Period, now: datetime, locale: Locale
) -> _World:
    ids = _group_ids(team_ids, period, locale)
    starts = _day_start(period.start, locale)
    ends = _day_start(period.end + timedelta(days=1), locale)
    groups = [
        (g, c, t)
        for g, c, t in session.exec(
            select(CoreGroup, Case, Team.name)
            .join(Case, col(Case.id) == CoreGroup.case_id)
            .join(Team, col(Team.id) == CoreGroup.team_id)
            .where(col(CoreGroup.id).in_(ids))
            .order_by(col(Case.reference))
        ).all()
    ]
    members = {
        (group_id, person_id): (_agency(role, agency, own, family), Role(role).label)
        for group_id, person_id, role, agency, own, family in session.execute(
            rows_of(
                col(Membership.group_id),
                col(Membership.person_id),
                col(Membership.role),
                col(Membership.agency),
                col(Person.agency),
                col(Person.is_family),
            )
            .join(Person, col(Person.id) == Membership.person_id)
            .where(col(Membership.group_id).in_(ids))
        ).all()
    }
    meetings: dict[int, list[_Meeting]] = defaultdict(list)
    for group_id, meeting_id, starts_at in session.exec(
        select(Meeting.group_id, Meeting.id, Meeting.starts_at)
        .where(col(Meeting.group_id).in_(ids), Meeting.status != MeetingStatus.CANCELLED)
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    ).all():
        assert meeting_id is not None
        meetings[group_id].append(_Meeting(meeting_id, starts_at))
    minutes = {
        meeting_id: _Minutes(*rest)
        for meeting_id, *rest in session.execute(
            rows_of(
                col(Minutes.meeting_id),
                col(Minutes.record_due),
                col(Minutes.circulate_due),
                col(Minutes.recorded_at),
                col(Minutes.circulated_at),
            )
            .join(Meeting, col(Meeting.id) == Minutes.meeting_id)
            .where(col(Meeting.group_id).in_(ids))
        ).all()
    }
    reviews: dict[int, list[ReviewConference]] = defaultdict(list)
    for review in session.exec(
        select(ReviewConference)
        .join(CoreGroup, col(CoreGroup.case_id) == ReviewConference.case_id)
        .where(col(CoreGroup.id).in_(ids))
        .order_by(col(ReviewConference.held_on))
    ).all():
        reviews[review.case_id].append(review)
    actions: dict[int, list[_Action]] = defaultdict(list)
    for group_id, *fields_ in session.execute(
        rows_of(
            col(Action.group_id),
            col(Action.id),
            col(Action.outcome_id),
            col(Action.owner_id),
            col(Action.due_on),
            col(Action.status),
            col(Action.created_at),
            col(Action.updated_at),
        )
        .where(col(Action.group_id).in_(ids))
        .order_by(col(Action.id))
    ).all():
        actions[group_id].append(_Action(*fields_))
    # When each closed action was (last) closed: its latest event putting it in a closed status.
    # new_value is sealed at rest, so the closing statuses are picked out here, not in SQL.
    closing = {s.value for s in ActionStatus if s.is_closed}
    closed_at: dict[int, datetime] = {}
    for action_id, at, new_value in session.exec(
        select(ActionEvent.action_id, ActionEvent.at, ActionEvent.new_value)
        .join(Action, col(Action.id) == ActionEvent.action_id)
        .where(
            col(Action.group_id).in_(ids),
            col(ActionEvent.kind).in_([ActionEventKind.STATUS, ActionEventKind.NOTE]),
        )
    ).all():
        if new_value in closing and (action_id not in closed_at or at > closed_at[action_id]):
            closed_at[action_id] = at
    outcomes: dict[int, list[_Outcome]] = defaultdict(list)
    for group_id, *fields_ in session.exec(
        select(Outcome.group_id, Outcome.id, Outcome.created_at, Outcome.last_activity_at).where(
            col(Outcome.group_id).in_(ids), Outcome.status == OutcomeStatus.ACTIVE
        )
    ).all():
        outcomes[group_id].append(_Outcome(*fields_))
    in_period = (
        col(Meeting.group_id).in_(ids),
        col(Meeting.status) == MeetingStatus.HELD,
        col(Meeting.starts_at) >= starts,
        col(Meeting.starts_at) < ends,
        col(Meeting.starts_at) <= now,
    )
    attendance = [
        _Attended(*row)
        for row in session.exec(
            select(Meeting.group_id, Attendance.person_id, Attendance.status)
            .join(Meeting, col(Meeting.id) == Attendance.meeting_id)
            .where(*in_period)
        ).all()
    ]
    updates = [
        _Update(*row)
        for row in session.execute(
            rows_of(
                col(Meeting.group_id),
                col(MemberUpdate.person_id),
                col(MemberUpdate.state),
                col(MemberUpdate.completed_at),
                col(Meeting.starts_at),
            )
            .join(Meeting, col(Meeting.id) == MemberUpdate.meeting_id)
            .where(*in_period)
        ).all()
    ]
    disagreements = [
        (group_id, raised_by)
        for group_id, raised_by in session.exec(
            select(Disagreement.group_id, Disagreement.raised_by).where(
                col(Disagreement.group_id).in_(ids),
                col(Disagreement.raised_at) >= starts,
                col(Disagreement.raised_at) < ends,
            )
        ).all()
    ]
    return _World(
        groups,
        members,
        meetings,
        minutes,
        reviews,
        actions,
        closed_at,
        outcomes,
        attendance,
        updates,
        disagreements,
    )


# --- working it out -----------------------------------------------------------------------------


class _Counter:
    """Working days between two dates for one calendar, from a running count over a span of days
    (thousands of steps are judged per report; counting day by day each time is the slow part)."""

    def __init__(self, calendar: WorkingCalendar, first: date, last: date) -> None:
        self.calendar, self.first = calendar, first
        self.running = [0]
        day = first
        while day < last:
            day += timedelta(days=1)
            self.running.append(self.running[-1] + calendar.is_working_day(day))

    def between(self, start: date, end: date) -> int:
        """Working days in (start, end], as `WorkingCalendar.working_days_between`."""
        a, b = (start - self.first).days, (end - self.first).days
        if end <= start:
            return 0
        if a >= 0 and b < len(self.running):
            return self.running[b] - self.running[a]
        return self.calendar.working_days_between(start, end)


def _judge(
    *, deadline: Deadline, done: date | None, today: date, count: _Counter
) -> tuple[Timeliness, int]:
    """How a step went: on time, late (by working days), missed (overdue so far) or pending."""
    if done is not None:
        if done <= deadline.due:
            return Timeliness.ON_TIME, 0
        return Timeliness.LATE, count.between(deadline.due, done)
    if deadline.due < today:
        return Timeliness.MISSED, count.between(deadline.due, today)
    return Timeliness.PENDING, 0


def _first_on_or_after(days: Iterable[date], start: date) -> date | None:
    return next((d for d in days if d >= start), None)


def _steps(
    world: _World,
    group: CoreGroup,
    case: Case,
    *,
    period: Period,
    now: datetime,
    locale: Locale,
    counters: dict[int, _Counter],
) -> list[StepResult]:
    assert group.id is not None and case.id is not None
    tz, today = locale.tz, now.astimezone(locale.tz).date()
    calendar, policy = locale.calendar(case), locale.policy(case)
    count = counters.get(id(calendar))
    if count is None:
        span = (period.start - timedelta(days=1), max(period.end, today) + timedelta(days=1))
        count = counters[id(calendar)] = _Counter(calendar, *span)
    closed = group.closed_at.astimezone(tz).date() if group.closed_at else None
    held = [m for m in world.meetings.get(group.id, []) if m.starts_at <= now]
    days = [m.starts_at.astimezone(tz).date() for m in held]
    found: list[tuple[Step, Deadline, date | None]] = []
    first = first_meeting_deadline(icpc=case.icpc_date, calendar=calendar, policy=policy)
    found.append((Step.FIRST_MEETING, first, _first_on_or_after(days, case.icpc_date)))
    for i, day in enumerate(days):
        gap = next_meeting_deadline(last_meeting=day, calendar=calendar, policy=policy)
        found.append((Step.NEXT_MEETING, gap, days[i + 1] if i + 1 < len(days) else None))
    for review in world.reviews.get(case.id, []):
        if review.plan_continues:
            after = after_review_deadline(review=review.held_on, calendar=calendar, policy=policy)
            found.append((Step.AFTER_REVIEW, after, _first_on_or_after(days, review.held_on)))
    for meeting, day in zip(held, days, strict=True):
        row = world.minutes.get(meeting.id)
        record = record_deadline(meeting=day, calendar=calendar, policy=policy)
        circulate = circulate_deadline(meeting=day, calendar=calendar, policy=policy)
        if row is not None:
            record = Deadline(record.kind, row.record_due, day, record.rule)
            circulate = Deadline(circulate.kind, row.circulate_due, day, circulate.rule)
        recorded = row.recorded_at.astimezone(tz).date() if row and row.recorded_at else None
        sent = row.circulated_at.astimezone(tz).date() if row and row.circulated_at else None
        found += [(Step.RECORD, record, recorded), (Step.CIRCULATE, circulate, sent)]
    results = []
    for step, deadline, done in found:
        if deadline.due not in period:
            continue
        if done is None and closed is not None and deadline.due > closed:
            continue  # the group closed before this was owed
        status, late = _judge(deadline=deadline, done=done, today=today, count=count)
        results.append(StepResult(group.id, case.reference, step, deadline.due, done, status, late))
    return results


def _closed_by(world: _World, action: _Action, day: date, locale: Locale) -> bool:
    """Whether the action was done, declined or cancelled by the end of `day`."""
    if not ActionStatus(action.status).is_closed:
        return False
    when = world.closed_at.get(action.id, action.updated_at)
    return when.astimezone(locale.tz).date() <= day


def _actions(world: _World, report: GroupReport, *, as_of: date, locale: Locale) -> None:
    for action in world.actions.get(report.group_id, []):
        if action.created_at.astimezone(locale.tz).date() > as_of:
            continue
        if not _closed_by(world, action, as_of, locale):
            report.open_actions += 1
            report.overdue_actions += action.due_on < as_of


def _drift(world: _World, report: GroupReport, *, as_of: date, locale: Locale) -> None:
    touched: dict[int, datetime] = {}
    for action in world.actions.get(report.group_id, []):
        if action.outcome_id is not None:
            touched[action.outcome_id] = max(
                touched.get(action.outcome_id, action.updated_at), action.updated_at
            )
    for outcome in world.outcomes.get(report.group_id, []):
        if outcome.created_at.astimezone(locale.tz).date() > as_of:
            continue
        last = max(outcome.last_activity_at, touched.get(outcome.id, outcome.created_at))
        if (as_of - last.astimezone(locale.tz).date()).days >= DRIFT_DAYS:
            report.drifting_outcomes += 1


def _participation(
    world: _World, *, groups: set[int], period: Period, today: date, locale: Locale
) -> tuple[list[Participation], list[Participation]]:
    agencies: dict[str, Participation] = {}
    roles: dict[str, Participation] = {}

    def rows(group_id: int, person_id: int) -> list[Participation]:
        found = world.members.get((group_id, person_id))
        if found is None:
            return []
        agency, role = found
        return [
            agencies.setdefault(agency, Participation(agency)),
            roles.setdefault(role, Participation(role)),
        ]

    for attendance in world.attendance:
        for row in rows(attendance.group_id, attendance.person_id):
            match attendance.status:
                case AttendanceStatus.ATTENDED:
                    row.attended += 1
                case AttendanceStatus.APOLOGIES:
                    row.apologies += 1
                case AttendanceStatus.ABSENT:
                    row.absent += 1
    for update in world.updates:
        returned = (
            update.state == UpdateState.COMPLETE
            and update.completed_at is not None
            and update.completed_at <= update.starts_at
        )
        for row in rows(update.group_id, update.person_id):
            row.updates_asked += 1
            row.updates_returned += returned
    for group_id in groups:
        for action in world.actions.get(group_id, []):
            status = ActionStatus(action.status)
            if action.due_on not in period or status in (
                ActionStatus.DECLINED,
                ActionStatus.CANCELLED,
            ):
                continue
            if status is not ActionStatus.DONE and action.due_on >= today:
                continue  # not due yet: neither on time nor late
            for row in rows(group_id, action.owner_id):
                row.actions_due += 1
                if status is ActionStatus.DONE:
                    on_time = _closed_by(world, action, action.due_on, locale)
                    row.actions_on_time += on_time
                    row.actions_late += not on_time
                else:
                    row.actions_not_done += 1
    for group_id, raised_by in world.disagreements:
        for row in rows(group_id, raised_by):
            row.disagreements += 1

    def ordered(found: dict[str, Participation]) -> list[Participation]:
        return sorted(found.values(), key=lambda p: (p.name in (FAMILY, NO_AGENCY), p.name))

    return ordered(agencies), ordered(roles)


def build_report(
    session: Session,
    *,
    team_ids: Sequence[int],
    period: Period,
    now: datetime,
    locale: Locale,
) -> Report:
    """The report for the teams' groups over `period`, as it stands at `now`."""
    world = _load(session, team_ids=team_ids, period=period, now=now, locale=locale)
    today = now.astimezone(locale.tz).date()
    as_of = min(period.end, today)
    groups = []
    counters: dict[int, _Counter] = {}
    for group, case, team in world.groups:
        assert group.id is not None
        line = GroupReport(group.id, case.reference, team)
        line.steps = _steps(
            world, group, case, period=period, now=now, locale=locale, counters=counters
        )
        _actions(world, line, as_of=as_of, locale=locale)
        _drift(world, line, as_of=as_of, locale=locale)
        groups.append(line)
    by_agency, by_role = _participation(
        world, groups={g.group_id for g in groups}, period=period, today=today, locale=locale
    )
    names = session.exec(select(Team.name).where(col(Team.id).in_(team_ids))).all()
    return Report(
        teams=sorted(names),
        period=period,
        today=today,
        groups=groups,
        by_agency=by_agency,
        by_role=by_role,
    )
