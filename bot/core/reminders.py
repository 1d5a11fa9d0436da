"""Reminders: what is due, derived from the current state, and the ledger that sends each once.

Derivation is a pure function of one group's state and a time window: it lists every reminder
occurrence ("meeting 12 at 10:00 on Wed, 5 working days before, to person 7") with a unique
de-duplication key. Planning upserts those keys into the `Reminder` ledger and withdraws pending
rows whose key is no longer derived (a moved meeting has new keys; a done action has none).
Only groups that changed, or whose look-ahead is running out, are planned on a tick, in batches
loaded with a handful of set-based queries, so the work per tick does not grow with the number
of groups. Sending re-derives the groups it is about to remind, so nothing stale goes out even
if planning has not caught up, then merges what is due for one person into one message.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from itertools import zip_longest
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Table, and_, bindparam, event, or_, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, func, select

from bot.core.calendar import Nation, WorkingCalendar, format_day
from bot.core.concerns import chair_message, escalates_at
from bot.core.context import Locale
from bot.core.deadline_plan import Lead, booked_too_late, plan_deadline_reminders
from bot.core.errors import Conflict, NotFound
from bot.core.groups import chairs, open_deadlines
from bot.core.meetings import format_when, place_pairs
from bot.core.oversight import MinutesDue
from bot.core.plan import action_message
from bot.core.policy import (
    Policy,
    circulate_deadline,
    pre_review_meeting_target,
    record_deadline,
    review_conference_deadlines,
)
from bot.core.updates import brief_message, nudge_message, open_update, pending_updates
from bot.core.working_hours import (
    FastCalendar,
    Hours,
    day_start,
    is_allowed,
    next_allowed,
    next_working_morning,
    person_hours,
    working_days_before,
    working_morning,
)
from bot.messages import (
    Block,
    Bullets,
    Button,
    Buttons,
    Context,
    Divider,
    Fields,
    Heading,
    Message,
    Text,
    ToGroup,
    ToPerson,
)
from storage.db import insert_for
from storage.enums import (
    ActionStatus,
    ConcernState,
    GroupStatus,
    MeetingStatus,
    OutcomeStatus,
    Platform,
    ReminderStatus,
    Role,
)
from storage.models import (
    Action,
    Case,
    Concern,
    CoreGroup,
    Meeting,
    Membership,
    Minutes,
    Outcome,
    Person,
    Reminder,
    ReminderPlanState,
    ReviewConference,
)

log = logging.getLogger(__name__)

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
    # Planning stops after the batch that passes the budget, so a tick stays short; groups
    # left over are planned on the next tick (what they already have is checked when sent).
    plan_batch: int = 200
    plan_budget: timedelta = timedelta(milliseconds=250)
    # A tick stops claiming after this long; the next tick carries on (nothing is lost).
    send_budget: timedelta = timedelta(minutes=5)
    send_workers: int = 4


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


# Conversations and the last-minute meeting notice make no sense to snooze until tomorrow.
NOT_SNOOZABLE = frozenset(
    {
        Kind.MEETING_SOON,
        Kind.UPDATE_OPEN,
        Kind.UPDATE_NUDGE,
        Kind.BRIEF,
        Kind.DELIVERY_FAILED,
        Kind.CONCERN,
    }
)
# Rows the planner did not derive (so never withdraws): snoozed copies and failure notices.
UNPLANNED_PREFIXES = ("snooze:", "failed:")


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


# --- the state a group's reminders are derived from ---------------------------------------------


@dataclass
class GroupState:
    """Everything about one group that decides its reminders."""

    group: CoreGroup
    case: Case
    members: list[tuple[Membership, Person]]
    meetings: list[Meeting]  # not cancelled, by start
    actions: list[Action]  # open ones
    outcomes: list[Outcome]  # active
    minutes: dict[int, Minutes]  # by meeting id
    reviews: list[ReviewConference]
    managers: list[Person]  # the team's managers
    touched: dict[int, datetime] = field(default_factory=dict)  # outcome: latest action change
    concerns: list[Concern] = field(default_factory=list)  # not answered yes or no

    # Derivation asks these many times per group: worked out once (after loading).
    @cached_property
    def id(self) -> int:
        """The group's id."""
        assert self.group.id is not None
        return self.group.id

    @cached_property
    def _by_person(self) -> dict[int | None, tuple[Membership, Person]]:
        return {p.id: (m, p) for m, p in self.members}

    @cached_property
    def _hours(self) -> dict[int | None, Hours]:
        people = [p for _, p in self.members] + self.managers
        return {p.id: person_hours(p) for p in people}

    def hours(self, person: Person) -> Hours:
        """When a member (or one of the team's managers) takes direct messages."""
        return self._hours.get(person.id) or person_hours(person)

    def member(self, person_id: int) -> tuple[Membership, Person] | None:
        """A current member's membership and person."""
        return self._by_person.get(person_id)

    def meeting(self, meeting_id: int | None) -> Meeting | None:
        """One of the group's meetings (not cancelled)."""
        return next((m for m in self.meetings if m.id == meeting_id), None)

    def action(self, action_id: int | None) -> Action | None:
        """One of the group's open actions."""
        return next((a for a in self.actions if a.id == action_id), None)

    def outcome(self, outcome_id: int | None) -> Outcome | None:
        """One of the group's active outcomes."""
        return next((o for o in self.outcomes if o.id == outcome_id), None)

    def concern(self, concern_id: int | None) -> Concern | None:
        """One of the group's questions about a concern still waiting for yes or no."""
        return next((c for c in self.concerns if c.id == concern_id), None)

    @cached_property
    def chairs(self) -> list[Person]:
        """The current chairs."""
        return [p for m, p in self.members if m.is_chair]

    @cached_property
    def writers(self) -> list[Person]:
        """Who answers for the minutes: the chairs and the minute-takers."""
        return [p for m, p in self.members if m.is_chair or m.is_minute_taker]

    def overseers(self) -> list[Person]:
        """Chairs, the team's managers and members in the team-manager role, each once."""
        found: dict[int, Person] = {}
        roles = [p for m, p in self.members if m.role == Role.TEAM_MANAGER]
        for person in [*self.chairs, *self.managers, *roles]:
            assert person.id is not None
            found.setdefault(person.id, person)
        return list(found.values())


def load_states(session: Session, group_ids: Iterable[int]) -> dict[int, GroupState]:
    """The state of many groups at once, in a fixed number of queries."""
    ids = sorted(set(group_ids))
    if not ids:
        return {}
    states: dict[int, GroupState] = {}
    for group, case in session.exec(
        select(CoreGroup, Case)
        .join(Case, col(Case.id) == CoreGroup.case_id)
        .where(col(CoreGroup.id).in_(ids))
    ).all():
        assert group.id is not None
        states[group.id] = GroupState(group, case, [], [], [], [], {}, [], [])
    for membership, person in session.exec(
        select(Membership, Person)
        .join(Person, col(Person.id) == Membership.person_id)
        .where(col(Membership.group_id).in_(ids), col(Membership.active).is_(True))
        .order_by(col(Membership.id))
    ).all():
        states[membership.group_id].members.append((membership, person))
    for meeting in session.exec(
        select(Meeting)
        .where(col(Meeting.group_id).in_(ids), Meeting.status != MeetingStatus.CANCELLED)
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    ).all():
        states[meeting.group_id].meetings.append(meeting)
    closed = [s.value for s in ActionStatus if s.is_closed]
    for action in session.exec(
        select(Action)
        .where(col(Action.group_id).in_(ids), col(Action.status).not_in(closed))
        .order_by(col(Action.id))
    ).all():
        states[action.group_id].actions.append(action)
    # Any change to an action, open or closed, is activity on its outcome.
    for group_id, outcome_id, last in session.exec(
        select(Action.group_id, Action.outcome_id, func.max(Action.updated_at))
        .where(col(Action.group_id).in_(ids), col(Action.outcome_id).is_not(None))
        .group_by(col(Action.group_id), col(Action.outcome_id))
    ).all():
        if outcome_id is not None:
            states[group_id].touched[outcome_id] = last
    for outcome in session.exec(
        select(Outcome)
        .where(col(Outcome.group_id).in_(ids), Outcome.status == OutcomeStatus.ACTIVE)
        .order_by(col(Outcome.number))
    ).all():
        states[outcome.group_id].outcomes.append(outcome)
    for minutes, group_id in session.exec(
        select(Minutes, Meeting.group_id)
        .join(Meeting, col(Meeting.id) == Minutes.meeting_id)
        .where(col(Meeting.group_id).in_(ids))
    ).all():
        states[group_id].minutes[minutes.meeting_id] = minutes
    for concern in session.exec(
        select(Concern)
        .where(
            col(Concern.group_id).in_(ids),
            col(Concern.state).in_([ConcernState.ASKED, ConcernState.LATER]),
        )
        .order_by(col(Concern.id))
    ).all():
        states[concern.group_id].concerns.append(concern)
    by_case = {s.case.id: s for s in states.values()}
    for review in session.exec(
        select(ReviewConference)
        .where(col(ReviewConference.case_id).in_(list(by_case)))
        .order_by(col(ReviewConference.held_on))
    ).all():
        by_case[review.case_id].reviews.append(review)
    by_team: dict[int, list[GroupState]] = defaultdict(list)
    for state in states.values():
        if state.group.team_id is not None:
            by_team[state.group.team_id].append(state)
    if by_team:
        for person in session.exec(
            select(Person)
            .where(col(Person.team_id).in_(list(by_team)), col(Person.is_team_manager).is_(True))
            .order_by(col(Person.id))
        ).all():
            for state in by_team[person.team_id or 0]:
                state.managers.append(person)
    return states


def digest_managers(session: Session) -> list[Person]:
    """Team managers whose team has at least one open group."""
    teams = select(CoreGroup.team_id).where(CoreGroup.status == GroupStatus.ACTIVE)
    return list(
        session.exec(
            select(Person)
            .where(col(Person.is_team_manager).is_(True), col(Person.team_id).in_(teams))
            .order_by(col(Person.id))
        ).all()
    )


# --- derivation ---------------------------------------------------------------------------------


def _lead(working_days: int) -> timedelta:
    """More calendar time than `working_days` working days can span (weekends, Christmas)."""
    return timedelta(days=2 * working_days + 10)


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


_DEADLINE_KINDS = {
    "first": Kind.FIRST_UNBOOKED,
    "next": Kind.NEXT_UNBOOKED,
    "review": Kind.REVIEW_UNBOOKED,
}


class _Found:
    """Collects occurrences inside the window [lo, hi], never from before their subject existed."""

    def __init__(self, lo: datetime, hi: datetime) -> None:
        self.lo, self.hi = lo, hi
        self.items: dict[str, Occurrence] = {}

    def add(self, occurrence: Occurrence, *, since: datetime) -> None:
        # Nothing is owed for a moment before the meeting, action or membership existed.
        if self.lo <= occurrence.due_at <= self.hi and occurrence.due_at > since:
            self.items.setdefault(occurrence.key, occurrence)


class Planner:
    """Derives reminder occurrences from group state, with calendars and policies cached."""

    def __init__(self, *, locale: Locale, settings: ReminderSettings) -> None:
        self.locale = locale
        self.settings = settings
        self.channel = Hours(*settings.channel_hours, locale.tz)
        self._calendars: dict[str, WorkingCalendar] = {}
        self._policies: dict[str, Policy] = {}

    def calendar(self, case: Case | None) -> WorkingCalendar:
        """The working-day calendar for a case's nation (or the digest nation without a case)."""
        nation = case.nation if case is not None else self.settings.digest_nation
        if nation not in self._calendars:
            plain = WorkingCalendar(Nation(nation), self.locale.closure_days)
            self._calendars[nation] = FastCalendar(plain)
        return self._calendars[nation]

    def policy(self, case: Case) -> Policy:
        """The timescale policy for a case's nation."""
        if case.nation not in self._policies:
            self._policies[case.nation] = self.locale.policy(case)
        return self._policies[case.nation]

    def local_date(self, when: datetime) -> date:
        """The date of `when` in the council's timezone."""
        return when.astimezone(self.locale.tz).date()

    def derive(self, state: GroupState, *, lo: datetime, hi: datetime) -> dict[str, Occurrence]:
        """Every reminder of one group due in [lo, hi], by key; nothing for a closed group."""
        if state.group.status != GroupStatus.ACTIVE:
            return {}
        found = _Found(lo, hi)
        self._meetings(state, found)
        self._actions(state, found)
        self._deadlines(state, found)
        self._review_updates(state, found)
        self._drift(state, found)
        self._concerns(state, found)
        return found.items

    def _concerns(self, st: GroupState, found: _Found) -> None:
        """An unanswered question about a possible new concern goes to the chairs."""
        for concern in st.concerns:
            due = escalates_at(concern)
            for chair in st.chairs:
                if chair.id == concern.author_id:
                    continue
                found.add(
                    Occurrence(
                        f"concern:{concern.id}:{chair.id}",
                        Kind.CONCERN,
                        st.id,
                        chair.id,
                        concern.id,
                        due,
                    ),
                    since=concern.raised_at,
                )

    # Meetings: notices, update conversations and the brief -----------------------------------

    def _meetings(self, st: GroupState, found: _Found) -> None:
        cal, s = self.calendar(st.case), self.settings
        update_days = self.policy(st.case).update_prompt_working_days
        lead = _lead(max(*s.meeting_notice_working_days, update_days, 1))
        for m in st.meetings:
            if m.status != MeetingStatus.SCHEDULED or m.starts_at <= found.lo:
                continue
            if m.starts_at - lead > found.hi:
                continue  # even its first notice is beyond the window
            assert m.id is not None
            day, start = self.local_date(m.starts_at), _stamp(m.starts_at)
            open_day = working_days_before(day, update_days, cal)
            for ms, person in st.members:
                assert person.id is not None
                pid, hours = person.id, st.hours(person)
                wanted: list[tuple[str, Kind, datetime, dict[str, Any]]] = [
                    (
                        f"meeting:{m.id}:{start}:{n}wd:{pid}",
                        Kind.MEETING_AHEAD,
                        hours.opens(working_days_before(day, n, cal)),
                        {"days": n},
                    )
                    for n in s.meeting_notice_working_days
                ]
                final = m.starts_at - s.meeting_final_notice
                opened = hours.opens(open_day)
                wanted += [
                    (
                        f"meeting:{m.id}:{start}:soon:{pid}",
                        Kind.MEETING_SOON,
                        next_allowed(final, hours=hours, calendar=cal),
                        {},
                    ),
                    (f"update:{m.id}:{start}:open:{pid}", Kind.UPDATE_OPEN, opened, {}),
                ]
                since = max(m.created_at, ms.joined_at)
                if opened > since:  # no nudge about an update that was never asked for
                    nudge = hours.opens(cal.next_working_day(open_day))
                    wanted.append(
                        (f"update:{m.id}:{start}:nudge:{pid}", Kind.UPDATE_NUDGE, nudge, {})
                    )
                for key, kind, due, detail in wanted:
                    if due < m.starts_at:
                        found.add(
                            Occurrence(key, kind, st.id, pid, m.id, due, m.starts_at, detail),
                            since=since,
                        )
            brief = self.channel.opens(working_days_before(day, 1, cal))
            if brief < m.starts_at:
                found.add(
                    Occurrence(
                        f"brief:{m.id}:{start}", Kind.BRIEF, st.id, None, m.id, brief, m.starts_at
                    ),
                    since=m.created_at,
                )

    # Actions: before, on and after the due date; the chair after the second overdue nudge -----

    def _overdue_days(
        self, due_on: date, cal: WorkingCalendar, hours: Hours, hi: datetime
    ) -> list[date]:
        """The days of the overdue reminders up to `hi` (the first one even if later)."""
        days = [cal.add_working_days(due_on, self.settings.action_overdue_every_working_days)]
        while hours.opens(days[-1]) <= hi:
            days.append(
                cal.add_working_days(days[-1], self.settings.action_overdue_every_working_days)
            )
        return days

    def _actions(self, st: GroupState, found: _Found) -> None:
        cal, s = self.calendar(st.case), self.settings
        horizon = (found.hi + _lead(s.action_before_working_days)).date()
        for a in st.actions:
            owned = st.member(a.owner_id)
            if ActionStatus(a.status).is_closed or owned is None or a.due_on > horizon:
                continue
            assert a.id is not None
            ms, owner = owned
            hours, since, d = st.hours(owner), max(a.created_at, ms.joined_at), a.due_on
            base = f"action:{a.id}:{d.isoformat()}"
            on_due = hours.opens(d if cal.is_working_day(d) else cal.previous_working_day(d))
            overdue = self._overdue_days(d, cal, hours, found.hi)
            first_overdue = hours.opens(overdue[0])
            before = s.action_before_working_days
            wanted: list[tuple[str, Kind, datetime, datetime | None, dict[str, Any]]] = [
                (
                    f"{base}:soon:{a.owner_id}",
                    Kind.ACTION_SOON,
                    hours.opens(working_days_before(d, before, cal)),
                    on_due,
                    {"days": before},
                ),
                (f"{base}:due:{a.owner_id}", Kind.ACTION_DUE, on_due, first_overdue, {}),
            ]
            wanted += [
                (
                    f"{base}:overdue{k}:{a.owner_id}",
                    Kind.ACTION_OVERDUE,
                    hours.opens(day),
                    None,
                    {"n": k},
                )
                for k, day in enumerate(overdue, start=1)
            ]
            for key, kind, due, not_after, detail in wanted:
                found.add(
                    Occurrence(key, kind, st.id, a.owner_id, a.id, due, not_after, detail),
                    since=since,
                )
            if len(overdue) >= s.escalate_after_overdue:
                day = overdue[s.escalate_after_overdue - 1]
                for chair in st.chairs:
                    if chair.id != a.owner_id:
                        found.add(
                            Occurrence(
                                f"{base}:escalate:{chair.id}",
                                Kind.ESCALATE,
                                st.id,
                                chair.id,
                                a.id,
                                st.hours(chair).opens(day),
                                None,
                                {"n": s.escalate_after_overdue},
                            ),
                            since=since,
                        )

    # Statutory deadlines, to the chairs -------------------------------------------------------

    def _to_chairs(
        self,
        st: GroupState,
        found: _Found,
        *,
        key: str,
        kind: Kind,
        day: date,
        since: datetime,
        subject: int | None = None,
        writers: bool = False,
        **detail: Any,
    ) -> None:
        cal = self.calendar(st.case)
        for chair in st.writers if writers else st.chairs:
            assert chair.id is not None
            due = working_morning(day, hours=st.hours(chair), calendar=cal)
            found.add(
                Occurrence(f"{key}:{chair.id}", kind, st.id, chair.id, subject, due, None, detail),
                since=since,
            )

    def _deadlines(self, st: GroupState, found: _Found) -> None:
        cal, s = self.calendar(st.case), self.settings
        dates = [self.local_date(m.starts_at) for m in st.meetings]
        lead = Lead(
            s.first_meeting_unbooked_working_days,
            s.next_meeting_warning_working_days,
            s.after_review_unbooked_working_days,
        )
        for r in plan_deadline_reminders(
            group_id=st.id,
            icpc=st.case.icpc_date,
            created=st.group.created_at,
            dates=dates,
            reviews=st.reviews,
            calendar=cal,
            policy=self.policy(st.case),
            lead=lead,
            tz=self.locale.tz,
        ):
            kind = _DEADLINE_KINDS[r.which]
            self._to_chairs(st, found, key=r.key, kind=kind, day=r.day, since=r.since, **r.detail)
        for m, held in zip(st.meetings, dates, strict=True):
            self._minutes(st, found, m, held)

    def _minutes(self, st: GroupState, found: _Found, m: Meeting, held: date) -> None:
        cal, policy = self.calendar(st.case), self.policy(st.case)
        minutes = st.minutes.get(m.id or 0)
        record = (
            minutes.record_due
            if minutes
            else record_deadline(meeting=held, calendar=cal, policy=policy).due
        )
        send = (
            minutes.circulate_due
            if minutes
            else circulate_deadline(meeting=held, calendar=cal, policy=policy).due
        )
        recorded = minutes.recorded_at if minutes else None
        circulated = minutes.circulated_at if minutes else None
        for done, due, kind, what in (
            (recorded, record, Kind.MINUTES_RECORD, "record"),
            (circulated, send, Kind.MINUTES_CIRCULATE, "circulate"),
        ):
            if done is None:
                self._to_chairs(
                    st,
                    found,
                    key=f"minutes:{m.id}:{due}:{what}",
                    kind=kind,
                    day=due,
                    since=m.created_at,
                    subject=m.id,
                    writers=True,
                    deadline=due.isoformat(),
                    drafted=minutes is not None,
                    published=minutes is not None and minutes.published_at is not None,
                )

    def _review_updates(self, st: GroupState, found: _Found) -> None:
        """Every agency is asked for a written update ahead of each review conference."""
        cal, policy = self.calendar(st.case), self.policy(st.case)
        statutory = review_conference_deadlines(
            icpc=st.case.icpc_date,
            reviews=[r.held_on for r in st.reviews],
            calendar=cal,
            policy=policy,
        )[-1].due
        known = {statutory: st.group.created_at}
        known.update({r.held_on: r.recorded_at for r in st.reviews})
        for review, recorded in known.items():
            day = working_days_before(review, self.settings.review_update_working_days, cal)
            aim = pre_review_meeting_target(review=review, calendar=cal, policy=policy).due
            for ms, person in st.members:
                if Role(ms.role).is_family:
                    continue
                assert person.id is not None
                found.add(
                    Occurrence(
                        f"review-update:{st.id}:{review}:{person.id}",
                        Kind.REVIEW_UPDATE,
                        st.id,
                        person.id,
                        None,
                        st.hours(person).opens(day),
                        day_start(review, self.locale.tz),
                        {"review": review.isoformat(), "aim": aim.isoformat()},
                    ),
                    since=max(recorded, ms.joined_at, st.group.created_at),
                )

    # Drift, to the chairs and the team's managers ---------------------------------------------

    def _drift(self, st: GroupState, found: _Found) -> None:
        cal, policy = self.calendar(st.case), self.policy(st.case)
        people, created = st.overseers(), st.group.created_at

        def tell(
            key: str, kind: Kind, day: date, subject: int | None, since: datetime, basis: date
        ) -> None:
            for person in people:
                assert person.id is not None
                due = working_morning(day, hours=st.hours(person), calendar=cal)
                occurrence = Occurrence(
                    f"{key}:{person.id}",
                    kind,
                    st.id,
                    person.id,
                    subject,
                    due,
                    None,
                    {"since": basis.isoformat()},
                )
                found.add(occurrence, since=since)

        bases = [st.case.icpc_date, *(self.local_date(m.starts_at) for m in st.meetings)]
        for basis, following in zip(bases, [*bases[1:], None], strict=True):
            # The first working day after the limit; a meeting that very day is not drift.
            day = cal.on_or_after(policy.meeting_gap_end(basis) + timedelta(days=1))
            if following is None or following > day:
                tell(
                    f"drift:meeting:{st.id}:{basis}", Kind.DRIFT_MEETING, day, None, created, basis
                )
        for outcome in st.outcomes:
            assert outcome.id is not None
            touched = st.touched.get(outcome.id, outcome.created_at)
            active = max(outcome.last_activity_at, touched)
            last = self.local_date(active)
            day = last + timedelta(days=self.settings.outcome_idle_days)
            since = max(created, outcome.created_at)
            tell(
                f"drift:outcome:{outcome.id}:{last}",
                Kind.DRIFT_OUTCOME,
                day,
                outcome.id,
                since,
                last,
            )

    # The weekly digest, to each team manager --------------------------------------------------

    def digests(
        self,
        managers: Sequence[Person],
        *,
        platforms: dict[int, Platform],
        lo: datetime,
        hi: datetime,
    ) -> dict[str, Occurrence]:
        """Each team manager's weekly digest, on the first working day of each week in [lo, hi]."""
        cal = self.calendar(None)
        found = _Found(lo, hi)
        first = self.local_date(lo)
        monday = first - timedelta(days=first.weekday())
        while day_start(monday, self.locale.tz) <= hi:
            day = cal.on_or_after(monday)
            year, week, _ = monday.isocalendar()
            if day < monday + timedelta(days=7):  # a whole week of holidays has no digest
                for person in managers:
                    assert person.id is not None
                    hours = person_hours(person)
                    platform = platforms.get(person.team_id or 0, Platform.LOCAL)
                    found.add(
                        Occurrence(
                            f"digest:{person.id}:{year}-W{week:02d}",
                            Kind.DIGEST,
                            None,
                            person.id,
                            person.team_id,
                            hours.opens(day),
                            day_start(monday + timedelta(days=7), hours.tz),
                            {"platform": platform.value, "week": monday.isoformat()},
                        ),
                        since=person.created_at,
                    )
            monday += timedelta(days=7)
        return found.items


# --- change tracking: which groups need planning --------------------------------------------------

_GROUP_ROWS = (Meeting, Action, Membership, Outcome, Concern)
_HOURS_FIELDS = ("timezone", "contact_start_hour", "contact_end_hour")


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


def track_changes() -> None:
    """Re-plan a group's reminders whenever a flush changes anything they are derived from.

    Every unit of work in the process is covered, whichever module made the change, so a moved
    meeting or a finished action is re-planned on the next tick.
    """
    if not event.contains(OrmSession, "after_flush", _after_flush):
        event.listen(OrmSession, "after_flush", _after_flush)


def _hours_changed(person: Person) -> bool:
    state = sa_inspect(person)
    return any(state.attrs[name].history.has_changes() for name in _HOURS_FIELDS)


def _after_flush(session: OrmSession, _context: object) -> None:
    groups: set[int] = set()
    meetings: set[int] = set()
    cases: set[int] = set()
    people: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _GROUP_ROWS):
            groups.add(obj.group_id)
        elif isinstance(obj, CoreGroup) and obj.id is not None:
            groups.add(obj.id)
        elif isinstance(obj, Minutes):
            meetings.add(obj.meeting_id)
        elif isinstance(obj, ReviewConference):
            cases.add(obj.case_id)
        elif isinstance(obj, Person) and obj.id is not None and _hours_changed(obj):
            people.add(obj.id)
    if not (groups or meetings or cases or people):
        return
    conn = session.connection()
    for found in (
        select(Meeting.group_id).where(col(Meeting.id).in_(meetings)) if meetings else None,
        select(CoreGroup.id).where(col(CoreGroup.case_id).in_(cases)) if cases else None,
        select(Membership.group_id).where(col(Membership.person_id).in_(people))
        if people
        else None,
    ):
        if found is not None:
            groups.update(conn.execute(found).scalars())
    mark_changed(conn, groups)


def mark_changed(conn: Connection, group_ids: Iterable[int]) -> None:
    """Ask for these groups to be re-planned on the next tick."""
    ids = sorted(set(group_ids))  # one fixed order, so concurrent writers never deadlock
    if not ids:
        return
    table = _table(ReminderPlanState)
    stmt = insert_for(conn.dialect.name)(table).values(
        [{"group_id": g, "changes": 1, "next_plan_at": ASAP} for g in ids]
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.group_id],
            set_={"changes": table.c.changes + 1, "next_plan_at": ASAP},
        )
    )


# --- planning: keeping the ledger in step with the state ---------------------------------------


@dataclass(frozen=True)
class PlanDue:
    """A group to plan, with the change count seen (to detect changes made meanwhile)."""

    group_id: int
    changes: int
    planned_until: datetime | None


def ensure_plan_states(session: Session) -> int:
    """Give each open group that has none a plan state (groups written without the ORM)."""
    has_state = select(ReminderPlanState.group_id).where(ReminderPlanState.group_id == CoreGroup.id)
    missing = session.exec(
        select(CoreGroup.id)
        .where(CoreGroup.status == GroupStatus.ACTIVE, ~has_state.exists())
        .order_by(col(CoreGroup.id))  # one order for every instance: no deadlock between them
    ).all()
    if not missing:
        return 0
    table = _table(ReminderPlanState)
    stmt = insert_for(session.get_bind().dialect.name)(table).on_conflict_do_nothing()
    rows = [{"group_id": g, "changes": 0, "next_plan_at": ASAP} for g in missing]
    for chunk in _chunks(rows, 5000):
        session.execute(stmt, chunk)
    return len(missing)


def groups_to_plan(session: Session, *, now: datetime, limit: int, lock: bool) -> list[PlanDue]:
    """Groups that changed or whose look-ahead runs out, oldest first (locked on PostgreSQL)."""
    query = (
        select(
            ReminderPlanState.group_id, ReminderPlanState.changes, ReminderPlanState.planned_until
        )
        .where(ReminderPlanState.next_plan_at <= now)
        .order_by(col(ReminderPlanState.next_plan_at), col(ReminderPlanState.group_id))
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    return [PlanDue(g, c, u) for g, c, u in session.exec(query).all()]


def plan_window(
    due: PlanDue, *, now: datetime, settings: ReminderSettings, locale: Locale
) -> tuple[datetime, datetime]:
    """What to plan: from where the last plan ended (or today's start) to the look-ahead.

    After downtime the window reaches back to the last plan, so what was missed is caught up,
    but never further than the catch-up limit.
    """
    today = day_start(now.astimezone(locale.tz).date(), locale.tz)
    lo = today if due.planned_until is None else min(today, due.planned_until)
    return max(lo, now - settings.catch_up), now + settings.horizon


def _chunks(rows: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _row(occurrence: Occurrence, now: datetime) -> dict[str, Any]:
    return {
        "dedup_key": occurrence.key,
        "kind": occurrence.kind.value,
        "group_id": occurrence.group_id,
        "person_id": occurrence.person_id,
        "subject_id": occurrence.subject_id,
        "due_at": occurrence.due_at,
        "not_after": occurrence.not_after,
        "status": ReminderStatus.PENDING.value,
        "attempts": 0,
        "payload": occurrence.detail or None,
        "created_at": now,
    }


def upsert(session: Session, occurrences: Iterable[Occurrence], *, now: datetime) -> int:
    """Add new occurrences as pending rows; move pending ones whose time changed; revive withdrawn
    ones derived again. Rows already sent, dropped, failed, claimed or retrying stay as they are.
    """
    rows = [_row(o, now) for o in {o.key: o for o in occurrences}.values()]
    if not rows:
        return 0
    table = _table(Reminder)
    stmt = insert_for(session.get_bind().dialect.name)(table)
    new = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.dedup_key],
        set_={
            "due_at": new.due_at,
            "not_after": new.not_after,
            "payload": new.payload,
            "status": ReminderStatus.PENDING.value,
            "attempts": 0,
            "batch_key": None,
            "last_error": None,
        },
        where=or_(
            table.c.status == ReminderStatus.WITHDRAWN.value,
            and_(
                table.c.status == ReminderStatus.PENDING.value,
                table.c.attempts == 0,
                or_(
                    table.c.due_at.is_distinct_from(new.due_at),
                    table.c.not_after.is_distinct_from(new.not_after),
                ),
            ),
        ),
    )
    for chunk in _chunks(rows, 1000):
        session.execute(stmt, chunk)
    return len(rows)


def withdraw_stale(
    session: Session, *, windows: dict[int, datetime], desired: dict[int, set[str]]
) -> list[int]:
    """Withdraw each group's pending rows from its window on that are no longer derived."""
    if not windows:
        return []
    rows = session.exec(
        select(Reminder.id, Reminder.group_id, Reminder.dedup_key, Reminder.due_at).where(
            col(Reminder.group_id).in_(list(windows)),
            Reminder.status == ReminderStatus.PENDING,
        )
    ).all()
    gone: list[int] = [
        rid
        for rid, gid, key, due in rows
        if rid is not None
        and gid is not None
        and due >= windows[gid]
        and key not in desired.get(gid, set())
        and not key.startswith(UNPLANNED_PREFIXES)
    ]
    for chunk in _chunks(gone, 1000):
        session.execute(
            update(_table(Reminder))
            .where(
                _table(Reminder).c.id.in_(chunk),
                _table(Reminder).c.status == ReminderStatus.PENDING.value,
            )
            .values(status=ReminderStatus.WITHDRAWN.value)
        )
    return gone


def finish_plans(session: Session, done: list[tuple[PlanDue, datetime, datetime]]) -> None:
    """Record each group's next planning time, unless it changed while being planned."""
    if not done:
        return
    table = _table(ReminderPlanState)
    stmt = (
        update(table)
        .where(table.c.group_id == bindparam("b_group"), table.c.changes == bindparam("b_seen"))
        .values(
            next_plan_at=bindparam("b_next", type_=table.c.next_plan_at.type),
            planned_until=bindparam("b_until", type_=table.c.planned_until.type),
        )
    )
    session.connection().execute(
        stmt,
        [
            {"b_group": d.group_id, "b_seen": d.changes, "b_next": nxt, "b_until": until}
            for d, nxt, until in done
        ],
    )


# --- claiming, marking, retrying ----------------------------------------------------------------


def release_expired(session: Session, *, now: datetime) -> list[int]:
    """Claims whose lease ran out (the process died) go back to pending, keeping their batch key
    so the next claim first asks the platform whether that message arrived."""
    table = _table(Reminder)
    expired = (table.c.status == ReminderStatus.CLAIMED.value, table.c.claimed_until < now)
    # Almost always there are none: look before writing, so a quiet tick writes nothing.
    if session.connection().execute(select(table.c.id).where(*expired).limit(1)).first() is None:
        return []
    result = session.connection().execute(
        update(table)
        .where(*expired)
        .values(status=ReminderStatus.PENDING.value, claimed_by=None, claimed_until=None)
        .returning(table.c.id)
    )
    return list(result.scalars())


def release_claims(session: Session, *, owners: Sequence[str]) -> list[int]:
    """Give back the rows `owners` claimed and did not send (a graceful shutdown): pending again
    at once, the attempt not counted, the batch key kept so a later claim asks the platform
    first."""
    if not owners:
        return []
    table = _table(Reminder)
    result = session.connection().execute(
        update(table)
        .where(
            table.c.status == ReminderStatus.CLAIMED.value,
            table.c.claimed_by.in_(list(owners)),
        )
        .values(
            status=ReminderStatus.PENDING.value,
            claimed_by=None,
            claimed_until=None,
            attempts=table.c.attempts - 1,
        )
        .returning(table.c.id)
    )
    return list(result.scalars())


def claim_due(
    session: Session, *, now: datetime, limit: int, owner: str, lease: timedelta, lock: bool
) -> list[Reminder]:
    """Claim up to `limit` due rows, plus every other due row for the same recipients (so they
    can be merged). PostgreSQL skips rows another instance holds, and leaves a recipient some of
    whose rows it holds to a later claim; the guarded UPDATE makes a second SQLite process
    harmless too."""
    due = (Reminder.status == ReminderStatus.PENDING, col(Reminder.due_at) <= now)
    first_query = (
        select(Reminder.id, Reminder.person_id, Reminder.group_id)
        .where(*due)
        .order_by(col(Reminder.due_at), col(Reminder.id))
        .limit(limit)
    )
    if lock:
        first_query = first_query.with_for_update(skip_locked=True)
    first = session.exec(first_query).all()
    if not first:
        return []
    ids = {rid for rid, _, _ in first}
    people = {pid for _, pid, _ in first if pid is not None}
    spaces = {gid for _, pid, gid in first if pid is None and gid is not None}
    same_recipient: list[ColumnElement[bool]] = []
    if people:
        same_recipient.append(col(Reminder.person_id).in_(people))
    if spaces:
        same_recipient.append(
            and_(col(Reminder.person_id).is_(None), col(Reminder.group_id).in_(spaces))
        )
    more_query = select(Reminder.id).where(*due, or_(*same_recipient), col(Reminder.id).not_in(ids))
    if lock:
        more_query = more_query.with_for_update(skip_locked=True)
    ids.update(session.exec(more_query).all())
    if lock:
        ids = _whole_recipients(session, ids, or_(*same_recipient), due)
    if not ids:
        return []
    table = _table(Reminder)
    session.connection().execute(
        update(table)
        .where(table.c.id.in_(ids), table.c.status == ReminderStatus.PENDING.value)
        .values(
            status=ReminderStatus.CLAIMED.value,
            claimed_by=owner,
            claimed_until=now + lease,
            attempts=table.c.attempts + 1,
        )
    )
    return list(
        session.exec(
            select(Reminder)
            .where(
                col(Reminder.id).in_(ids),
                Reminder.claimed_by == owner,
                Reminder.status == ReminderStatus.CLAIMED,
            )
            .order_by(col(Reminder.due_at), col(Reminder.id))
            .execution_options(populate_existing=True)
        ).all()
    )


def _whole_recipients(
    session: Session,
    ids: set[int | None],
    same_recipient: ColumnElement[bool],
    due: tuple[Any, ...],
) -> set[int | None]:
    """Drop the recipients of which another instance, claiming at this moment, locked some due
    rows (SKIP LOCKED passed them by): their rows are left for a later claim to take whole, so
    one person's reminders are never split into two messages by two instances."""
    visible = session.exec(
        select(Reminder.id, Reminder.person_id, Reminder.group_id).where(*due, same_recipient)
    ).all()
    rows: dict[tuple[str, int | None], set[int | None]] = {}
    for rid, pid, gid in visible:
        key = ("person", pid) if pid is not None else ("space", gid)
        rows.setdefault(key, set()).add(rid)
    return {rid for found in rows.values() if found <= ids for rid in found}


def renew_claims(
    session: Session,
    *,
    ids: Sequence[int],
    owner: str,
    until: datetime,
    also: Sequence[str] = (),
) -> bool:
    """Just before a send: extend the lease of every row `owner` (one claimed chunk) and `also`
    (the chunk waiting behind it) still hold, so chunks sent slowly keep their claims. True when
    all of `ids` (the message about to go) are still `owner`'s; otherwise (the claim lapsed and
    another took some) the ones still held are given back unsent, so the message is built afresh
    by whoever claims them next."""
    table = _table(Reminder)
    claimed = table.c.status == ReminderStatus.CLAIMED.value
    renewed = session.connection().execute(
        update(table)
        .where(claimed, table.c.claimed_by.in_([owner, *also]))
        .values(claimed_until=until)
        .returning(table.c.id, table.c.claimed_by)
    )
    mine = {row_id for row_id, by in renewed if by == owner}
    if set(ids) <= mine:
        return True
    session.connection().execute(
        update(table)
        .where(table.c.id.in_(list(ids)), claimed, table.c.claimed_by == owner)
        .values(
            status=ReminderStatus.PENDING.value,
            claimed_by=None,
            claimed_until=None,
            attempts=table.c.attempts - 1,
        )
    )
    return False


def mark_sent(session: Session, *, ids: Sequence[int], owner: str, ref: str, now: datetime) -> int:
    """Mark claimed rows sent with the platform's message id; returns how many were still ours."""
    table = _table(Reminder)
    result = session.connection().execute(
        update(table)
        .where(
            table.c.id.in_(list(ids)),
            table.c.status == ReminderStatus.CLAIMED.value,
            table.c.claimed_by == owner,
        )
        .values(
            status=ReminderStatus.SENT.value,
            sent_at=now,
            message_ref=ref[:200],
            claimed_until=None,
            last_error=None,
        )
    )
    return int(result.rowcount)


def record_failure(
    session: Session,
    *,
    ids: Sequence[int],
    owner: str,
    error: str,
    retryable: bool,
    now: datetime,
    settings: ReminderSettings,
) -> list[Reminder]:
    """After a failed send: retry later with exponential back-off, or give up; returns the rows
    that failed for good (their chair is to be told)."""
    rows = session.exec(
        select(Reminder).where(
            col(Reminder.id).in_(list(ids)),
            Reminder.status == ReminderStatus.CLAIMED,
            Reminder.claimed_by == owner,
        )
    ).all()
    failed = []
    for row in rows:
        row.last_error, row.claimed_by, row.claimed_until = error[:500], None, None
        if not retryable or row.attempts >= settings.max_attempts:
            row.status = ReminderStatus.FAILED
            failed.append(row)
        else:
            # The batch key stays: a timeout may have delivered it, which the retry checks first.
            row.status = ReminderStatus.PENDING
            row.due_at = now + settings.retry_after * 2 ** max(row.attempts - 1, 0)
        session.add(row)
    session.flush()
    return failed


def notify_failures(session: Session, failed: Sequence[Reminder], *, now: datetime) -> int:
    """Tell each group's chairs (or, if the chair was the one unreachable, the group's space)."""
    added = 0
    for row in failed:
        if row.kind == Kind.DELIVERY_FAILED or row.group_id is None:
            log.error("reminder %s (%s) failed; nobody else to tell", row.id, row.kind)
            continue
        others = [c.id for c in chairs(session, group_id=row.group_id) if c.id != row.person_id]
        for target in others or [None]:
            key = f"failed:{row.id}:{target if target is not None else 'space'}"
            if session.exec(select(Reminder.id).where(Reminder.dedup_key == key)).first():
                continue
            session.add(
                Reminder(
                    dedup_key=key,
                    kind=Kind.DELIVERY_FAILED.value,
                    group_id=row.group_id,
                    person_id=target,
                    subject_id=row.id,
                    due_at=now,
                    created_at=now,
                    payload={"kind": row.kind, "person": row.person_id, "tries": row.attempts},
                )
            )
            added += 1
    session.flush()
    return added


def settle_found(session: Session, rows: Sequence[Reminder], *, ref: str, now: datetime) -> None:
    """Rows whose earlier message the platform confirms arrived: sent, not sent again."""
    for row in rows:
        row.status, row.sent_at, row.message_ref = ReminderStatus.SENT, now, ref[:200]
        row.claimed_until = None
        session.add(row)
    session.flush()


def set_aside(session: Session, row: Reminder, *, status: ReminderStatus, reason: str) -> None:
    """Drop or withdraw a claimed row, with a log line naming only ids."""
    row.status, row.last_error, row.claimed_until = status, reason, None
    session.add(row)
    log.info("reminder %s (%s) %s: %s", row.id, row.kind, status.value, reason)


def defer(session: Session, row: Reminder, *, until: datetime) -> None:
    """Put a claimed row back for later (outside working hours, or not due after all)."""
    row.status, row.due_at, row.claimed_until = ReminderStatus.PENDING, until, None
    row.attempts = max(row.attempts - 1, 0)  # waiting is not a try
    session.add(row)


# --- deciding what goes out now ---------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Where a message goes: one person's direct messages, or a group's space, on a platform."""

    platform: Platform
    to: ToPerson | ToGroup


@dataclass(frozen=True)
class Part:
    """One reminder's share of a message."""

    summary: str
    blocks: tuple[Block, ...]
    reference: str | None
    conversation: bool = False  # a question the next reply answers: always a message of its own
    expects: str | None = None  # what a reply to it answers ("update:12", "action:7")


@dataclass
class Outgoing:
    """A message ready to send and the ledger rows it carries."""

    recipient: Recipient
    rows: list[Reminder]
    message: Message

    @property
    def ids(self) -> list[int]:
        """The ids of the rows it carries."""
        return [r.id for r in self.rows if r.id is not None]


@dataclass
class Prepared:
    """The outcome of looking at claimed rows: what to send, and how many were set aside."""

    outgoing: list[Outgoing] = field(default_factory=list)
    dropped: int = 0
    deferred: int = 0


def recipient_of(row: Reminder, group: CoreGroup | None) -> Recipient:
    """Where a row's message goes."""
    if group is not None:
        platform = Platform(group.platform)
    else:
        platform = Platform((row.payload or {}).get("platform", Platform.LOCAL.value))
    if row.person_id is None:
        assert row.group_id is not None
        return Recipient(platform, ToGroup(row.group_id))
    return Recipient(platform, ToPerson(row.person_id))


def _origin_key(row: Reminder) -> str:
    """The key of the occurrence a row stands for (a snoozed copy stands for its original)."""
    if row.dedup_key.startswith("snooze:"):
        return str((row.payload or {}).get("of", row.dedup_key))
    return row.dedup_key


def _nominal(row: Reminder, occurrence: Occurrence | None) -> datetime:
    if row.payload and "nominal" in row.payload:
        return datetime.fromisoformat(row.payload["nominal"])
    return occurrence.due_at if occurrence is not None else row.due_at


_FAMILY = {
    Kind.MEETING_AHEAD: "meeting",
    Kind.MEETING_SOON: "meeting",
    Kind.UPDATE_OPEN: "update",
    Kind.UPDATE_NUDGE: "update",
    Kind.ACTION_SOON: "action",
    Kind.ACTION_DUE: "action",
    Kind.ACTION_OVERDUE: "action",
}


def _supersede_key(row: Reminder) -> tuple[Any, ...]:
    kind = Kind(row.kind)
    if kind is Kind.DELIVERY_FAILED:
        return (kind, row.id)
    return (_FAMILY.get(kind, kind.value), row.group_id, row.subject_id, row.person_id)


def _rank(row: Reminder, occurrence: Occurrence | None) -> tuple[int, datetime, int]:
    # Of two update reminders the opening question wins; otherwise the latest occurrence does.
    first = 1 if row.kind == Kind.UPDATE_OPEN else 0
    return first, _nominal(row, occurrence), row.id or 0


class Triage:
    """Checks claimed rows against the current state: still wanted, still in time, in hours."""

    def __init__(
        self, session: Session, *, planner: Planner, now: datetime, read_at: datetime | None = None
    ) -> None:
        self.session, self.planner, self.now = session, planner, now
        self.read_at = max(now, read_at or now)
        self.states: dict[int, GroupState] = {}
        self.people: dict[int, Person] = {}
        self._derived: dict[int | None, dict[str, Occurrence]] = {}

    def load(self, rows: Sequence[Reminder]) -> None:
        """Load the groups and people the rows are about."""
        self.states = load_states(self.session, {r.group_id for r in rows if r.group_id})
        ids = {r.person_id for r in rows if r.person_id is not None}
        if ids:
            found = self.session.exec(select(Person).where(col(Person.id).in_(ids))).all()
            self.people = {p.id: p for p in found if p.id is not None}
        settings = self.planner.settings
        hi = self.now + settings.horizon
        for gid in {r.group_id for r in rows}:
            mine = [r for r in rows if r.group_id == gid]
            lo = min(r.created_at for r in mine) - settings.catch_up - timedelta(days=1)
            if gid is None:
                managers = [
                    self.people[r.person_id]
                    for r in mine
                    if r.person_id in self.people and self.people[r.person_id].is_team_manager
                ]
                self._derived[None] = self.planner.digests(managers, platforms={}, lo=lo, hi=hi)
            elif gid in self.states:
                self._derived[gid] = self.planner.derive(self.states[gid], lo=lo, hi=hi)

    def occurrence(self, row: Reminder) -> Occurrence | None:
        """The occurrence a row stands for, as derived from the state now."""
        return self._derived.get(row.group_id, {}).get(_origin_key(row))

    def verdict(self, row: Reminder) -> tuple[str, datetime | None] | None:
        """None when the row may go now; else why not, and when to try again (None: never)."""
        state = self.states.get(row.group_id or 0)
        if row.group_id is not None and (state is None or state.group.status != GroupStatus.ACTIVE):
            return "the group is closed", None
        if row.person_id is not None and row.person_id not in self.people:
            return "the person is gone", None
        if row.kind == Kind.DELIVERY_FAILED:
            return None
        occurrence = self.occurrence(row)
        if occurrence is None:
            return "no longer applies", None
        not_after = row.not_after if row.dedup_key.startswith("snooze:") else occurrence.not_after
        if not_after is not None and not_after <= self.read_at:
            return "too late", None
        if not row.dedup_key.startswith("snooze:") and occurrence.due_at > self.now:
            return "not due yet", occurrence.due_at
        return None

    def hours(self, row: Reminder) -> tuple[Hours, WorkingCalendar]:
        """The window a row's message must arrive in, and the calendar of its group's nation."""
        state = self.states.get(row.group_id or 0)
        calendar = self.planner.calendar(state.case if state else None)
        if row.person_id is None:
            return self.planner.channel, calendar
        return person_hours(self.people[row.person_id]), calendar


def prepare(
    session: Session,
    rows: Sequence[Reminder],
    *,
    planner: Planner,
    now: datetime,
    read_at: datetime | None = None,
) -> Prepared:
    """Turn claimed rows into merged messages; drop the stale, defer what may not go yet.
    `read_at`: when a catch-up's messages are read (later than `now`), for staleness."""
    result = Prepared()
    triage = Triage(session, planner=planner, now=now, read_at=read_at)
    triage.load(rows)
    keep: dict[tuple[Any, ...], Reminder] = {}
    for row in rows:
        verdict = triage.verdict(row)
        if verdict is not None:
            reason, later = verdict
            if later is not None:
                defer(session, row, until=later)
                result.deferred += 1
            else:
                set_aside(session, row, status=ReminderStatus.DROPPED, reason=reason)
                result.dropped += 1
            continue
        slot = _supersede_key(row)
        rival = keep.get(slot)
        if rival is not None:
            loser, winner = sorted((rival, row), key=lambda r: _rank(r, triage.occurrence(r)))
            keep[slot] = winner
            set_aside(session, loser, status=ReminderStatus.DROPPED, reason="superseded")
            result.dropped += 1
        else:
            keep[slot] = row
    by_recipient: dict[Recipient, list[Reminder]] = defaultdict(list)
    for row in sorted(keep.values(), key=lambda r: (r.due_at, r.id or 0)):
        hours, calendar = triage.hours(row)
        if not is_allowed(now, hours=hours, calendar=calendar):
            defer(session, row, until=next_allowed(now, hours=hours, calendar=calendar))
            result.deferred += 1
            continue
        state = triage.states.get(row.group_id or 0)
        by_recipient[recipient_of(row, state.group if state else None)].append(row)
    messages = []
    for recipient, mine in by_recipient.items():
        outgoing = _outgoing(session, recipient, mine, triage=triage, now=now)
        result.dropped += len(mine) - sum(len(o.rows) for o in outgoing)
        messages.append(outgoing)
    # Everyone's first message, then anyone's second: a platform paces each channel (Slack about
    # one message a second), so a person's two messages are best sent apart.
    result.outgoing = [o for turn in zip_longest(*messages) for o in turn if o is not None]
    session.flush()
    return result


def _outgoing(
    session: Session, recipient: Recipient, rows: list[Reminder], *, triage: Triage, now: datetime
) -> list[Outgoing]:
    parts: list[Part] = []
    sending: list[Reminder] = []
    for row in rows:
        state = triage.states.get(row.group_id or 0)
        person = triage.people.get(row.person_id or 0)
        part = build_part(
            session,
            row=row,
            occurrence=triage.occurrence(row),
            state=state,
            person=person,
            planner=triage.planner,
            now=now,
        )
        if part is None:
            set_aside(session, row, status=ReminderStatus.DROPPED, reason="nothing to send")
            continue
        parts.append(part)
        sending.append(row)
    if not sending:
        return []
    # A question the next reply answers (an update) goes alone: nothing merged into it can
    # catch the answers meant for it. The rest share one message.
    news = [(p, r) for p, r in zip(parts, sending, strict=True) if not p.conversation]
    batches = [news] if news else []
    batches += [[(p, r)] for p, r in zip(parts, sending, strict=True) if p.conversation]
    result = []
    for batch in batches:
        rows = [r for _, r in batch]
        key = batch_key(rows)
        snooze = None
        if isinstance(recipient.to, ToPerson):
            snooze = next((r.id for r in rows if r.kind not in NOT_SNOOZABLE), None)
        for row in rows:
            row.batch_key = key
            session.add(row)
        message = compose([p for p, _ in batch], key=key, snooze=snooze)
        result.append(Outgoing(recipient, rows, message))
    return result


def batch_key(rows: Sequence[Reminder]) -> str:
    """The idempotency key of the message carrying `rows`: the row's own key when alone."""
    if len(rows) == 1:
        return rows[0].dedup_key
    digest = hashlib.sha256("\n".join(sorted(r.dedup_key for r in rows)).encode()).hexdigest()
    return f"merged:{digest[:32]}"


def compose(parts: Sequence[Part], *, key: str, snooze: int | None) -> Message:
    """One message from several parts: the news, a snooze button, then any question last."""
    news = [p.blocks for p in parts if not p.conversation]
    questions = [p.blocks for p in parts if p.conversation]
    if snooze is not None and news:
        button = Button("Snooze until tomorrow", SNOOZE_ACTION, str(snooze))
        news[-1] = (*news[-1], Buttons((button,)))
    blocks: list[Block] = [Heading(f"{len(parts)} reminders")] if len(parts) > 1 else []
    for i, section in enumerate([*news, *questions]):
        if i:
            blocks.append(Divider())
        blocks.extend(section)
    if len(parts) == 1:
        text = parts[0].summary
    else:
        refs = sorted({p.reference for p in parts if p.reference})
        text = f"{len(parts)} reminders" + (f" for {', '.join(refs)}" if refs else "")
    return Message(text=text, blocks=tuple(blocks), key=key, expects=_expects(parts))


def _expects(parts: Sequence[Part]) -> str | None:
    """What a reply to the message answers: its question, or the actions it reminds about."""
    questions = [p.expects for p in parts if p.conversation and p.expects]
    if questions:
        return questions[0]
    actions = [
        p.expects.partition(":")[2] for p in parts if p.expects and p.expects.startswith("action:")
    ]
    return f"action:{','.join(actions)}" if actions else None


# --- what each reminder says --------------------------------------------------------------------


@dataclass(frozen=True)
class _About:
    """Everything a reminder's wording may need."""

    session: Session
    row: Reminder
    occurrence: Occurrence
    state: GroupState
    person: Person | None
    planner: Planner
    now: datetime

    @property
    def ref(self) -> str:
        return self.state.case.reference

    @property
    def to_family(self) -> bool:
        """Whether the reminder goes to a parent, carer or young person (family words)."""
        if self.person is None or self.person.id is None:
            return False
        member = self.state.member(self.person.id)
        return Role(member[0].role).is_family if member else bool(self.person.is_family)

    @property
    def tz(self) -> ZoneInfo:
        return self.planner.locale.tz

    @property
    def policy(self) -> Policy:
        return self.planner.policy(self.state.case)

    def day(self, name: str) -> str:
        """A date from the occurrence's details, written the chat way."""
        return format_day(date.fromisoformat(self.occurrence.detail[name]))

    def schedule_button(self, label: str) -> Buttons:
        """The button that books a meeting for this group."""
        return Buttons((Button(label, "meeting.schedule", str(self.state.id), ask=SCHEDULE_ASK),))


def _span(days: int) -> str:
    if days % 7 == 0:
        weeks = days // 7
        return "1 week" if weeks == 1 else f"{weeks} weeks"
    return f"{days} days"


def _meeting_ahead(a: _About) -> Part | None:
    m = a.state.meeting(a.row.subject_id)
    if m is None:
        return None
    when = format_when(m.starts_at, a.tz)
    if a.to_family:
        blocks = (
            Heading("Your family's meeting is coming up"),
            Text(f"The group supporting your family meets on {when}."),
            Fields((("When", f"{when} (about {m.duration_minutes} minutes)"), *place_pairs(m))),
            Context(
                "Can't make it? Let your key worker know, or say so when I ask how things are."
            ),
        )
        return Part(f"Your family's meeting is on {when}", blocks, a.ref)
    days = int(a.occurrence.detail.get("days", 1))
    soon = "on the next working day" if days == 1 else f"in {days} working days"
    blocks = (
        Heading(f"Core group meeting {soon} · {a.ref}"),
        Text(f"The core group for {a.ref} meets on {when}."),
        Fields((("When", f"{when} (about {m.duration_minutes} minutes)"), *place_pairs(m))),
        Context("Can't make it? Let the chair know, or say so in your update before the meeting."),
    )
    return Part(f"{a.ref}: core group meeting on {when}", blocks, a.ref)


def _meeting_soon(a: _About) -> Part | None:
    m = a.state.meeting(a.row.subject_id)
    if m is None:
        return None
    at = f"{m.starts_at.astimezone(a.tz):%H:%M}"
    if a.to_family:
        blocks = (
            Heading("Starting soon"),
            Text(f"Your family's meeting starts at {at} ({format_when(m.starts_at, a.tz)})."),
            Fields(tuple(place_pairs(m))),
        )
        return Part(f"Your family's meeting starts at {at}", blocks, a.ref)
    blocks = (
        Heading(f"Starting soon · {a.ref}"),
        Text(
            f"The core group meeting for {a.ref} starts at {at} ({format_when(m.starts_at, a.tz)})."
        ),
        Fields(tuple(place_pairs(m))),
    )
    return Part(f"{a.ref}: core group meeting at {at}", blocks, a.ref)


def _update_open(a: _About) -> Part | None:
    m = a.state.meeting(a.row.subject_id)
    if m is None or a.person is None:
        return None
    question = open_update(a.session, meeting=m, person=a.person, now=a.now, tz=a.tz)
    if question is None:
        return None
    return Part(question.text, question.blocks, a.ref, conversation=True, expects=question.expects)


def _update_nudge(a: _About) -> Part | None:
    m = a.state.meeting(a.row.subject_id)
    if m is None or a.person is None:
        return None
    if a.person.id not in {p.id for p in pending_updates(a.session, meeting=m)}:
        return None
    nudge = nudge_message(a.session, meeting=m, person=a.person, tz=a.tz, now=a.now)
    return Part(nudge.text, nudge.blocks, a.ref, conversation=True, expects=nudge.expects)


def _brief(a: _About) -> Part | None:
    m = a.state.meeting(a.row.subject_id)
    if m is None:
        return None
    brief = brief_message(
        a.session,
        meeting=m,
        tz=a.tz,
        now=a.now,
        calendar=a.planner.calendar(a.state.case),
        policy=a.policy,
    )
    return Part(brief.text, brief.blocks, a.ref)


def _open_action(a: _About) -> Action | None:
    action = a.state.action(a.row.subject_id)
    return None if action is None or ActionStatus(action.status).is_closed else action


def _action(a: _About) -> Part | None:
    action = _open_action(a)
    if action is None:
        return None
    owner = a.state.member(action.owner_id)
    family = owner is not None and Role(owner[0].role).is_family
    card = action_message(
        a.session, action=action, tz=a.tz, now=a.now, family=family, to_family=family
    )
    due, n = format_day(action.due_on), action.number
    kind = Kind(a.row.kind)
    if family:
        today = a.now.astimezone(a.tz).date() == action.due_on
        if kind is Kind.ACTION_SOON:
            intro = f"A reminder: you agreed to do this by {due}."
        elif kind is Kind.ACTION_DUE:
            intro = f"A reminder: you agreed to do this by {'today' if today else due}."
        else:
            intro = f"This was due on {due}. How is it going? It's fine to say if you're stuck."
            if int(a.occurrence.detail.get("n", 1)) >= a.planner.settings.escalate_after_overdue:
                intro += " Your key worker knows too, so they can help."
        summary = f"A reminder about something you agreed to do by {due}"
    elif kind is Kind.ACTION_SOON:
        days = a.occurrence.detail.get("days", 2)
        intro = f"Action {n} for {a.ref} is due on {due}, in {days} working days."
        summary = f"{a.ref}: action {n} is due on {due}"
    elif kind is Kind.ACTION_DUE:
        today = a.now.astimezone(a.tz).date() == action.due_on
        intro = f"Action {n} for {a.ref} is due {'today' if today else 'on ' + due}."
        summary = f"{a.ref}: action {n} is due {'today' if today else 'on ' + due}"
    else:
        intro = f"Action {n} for {a.ref} was due on {due} and is still open."
        if int(a.occurrence.detail.get("n", 1)) >= a.planner.settings.escalate_after_overdue:
            intro += " The chair has been told too, so the group can help."
        summary = f"{a.ref}: action {n} is overdue (due {due})"
    how = Context(
        f"Reply to this message in words to update action {n}, e.g. \u201cdone \u2014 referral "
        "sent\u201d or \u201cneed until next Friday\u201d."
        if not family
        else "Reply to this message in your own words, e.g. \u201cdone\u201d or \u201cneed "
        "until next Friday\u201d."
    )
    return Part(summary, (Text(intro), *card.blocks, how), a.ref, expects=f"action:{action.id}")


def _escalate(a: _About) -> Part | None:
    action = _open_action(a)
    if action is None:
        return None
    owner = a.state.member(action.owner_id)
    who = owner[1].display_name if owner else "its owner"
    times = int(a.occurrence.detail.get("n", 2))
    card = action_message(a.session, action=action, tz=a.tz, now=a.now)
    intro = (
        f"Action {action.number} for {a.ref} ({who}) was due on {format_day(action.due_on)} "
        f"and is still open after {times} overdue reminders. It may be time to check in: is "
        "something in the way, or does it need a new date?"
    )
    blocks = (Heading(f"An action needs a nudge · {a.ref}"), Text(intro), *card.blocks)
    return Part(f"{a.ref}: action {action.number} is still overdue", blocks, a.ref)


def _conference(a: _About) -> tuple[str, str]:
    if a.state.case.nation == Nation.SCOTLAND.value:
        return "CPPM", "review CPPM"
    return "ICPC", "review conference"


def _unbooked(a: _About) -> str:
    return "booked too late" if "booked" in a.occurrence.detail else "not booked yet"


def _first_unbooked(a: _About) -> Part | None:
    deadline, icpc = a.day("deadline"), format_day(a.state.case.icpc_date)
    days = a.policy.first_meeting_working_days
    blocks = (
        Heading(f"First meeting {_unbooked(a)} · {a.ref}"),
        Text(
            f"The first core group for {a.ref} must meet by {deadline} — within {days} working "
            f"days of the {_conference(a)[0]} on {icpc} "
            f"({a.policy.source_of('first_meeting_working_days')}). "
            + booked_too_late(a.occurrence.detail, unbooked="None is booked yet.")
        ),
        a.schedule_button("Schedule the first meeting"),
    )
    return Part(f"{a.ref}: first core group {_unbooked(a)} (due by {deadline})", blocks, a.ref)


def _next_unbooked(a: _About) -> Part | None:
    deadline, span = a.day("deadline"), a.policy.meeting_interval
    blocks = (
        Heading(f"Next meeting {_unbooked(a)} · {a.ref}"),
        Text(
            f"The next core group for {a.ref} must meet by {deadline} — within {span} of the "
            f"meeting on {a.day('last')} ({a.policy.meeting_interval_source}). "
            + booked_too_late(a.occurrence.detail, unbooked="None is booked yet.")
        ),
        a.schedule_button("Schedule the next meeting"),
    )
    return Part(f"{a.ref}: next core group {_unbooked(a)} (due by {deadline})", blocks, a.ref)


def _review_unbooked(a: _About) -> Part | None:
    deadline, days = a.day("deadline"), a.policy.after_review_working_days
    blocks = (
        Heading(f"Meeting after the review {_unbooked(a)} · {a.ref}"),
        Text(
            f"A core group must meet within {days} working days of the {_conference(a)[1]} on "
            f"{a.day('review')}, so by {deadline}. "
            + booked_too_late(a.occurrence.detail, unbooked="None is booked yet.")
        ),
        a.schedule_button("Schedule the meeting"),
    )
    return Part(f"{a.ref}: core group after the review {_unbooked(a)}", blocks, a.ref)


def _minutes_due(a: _About) -> Part | None:
    m = a.state.meeting(a.row.subject_id)
    if m is None:
        return None
    held, deadline = format_day(m.starts_at.astimezone(a.tz).date()), a.day("deadline")
    if a.row.kind == Kind.MINUTES_RECORD:
        blocks: list[Block] = [
            Heading(f"Minutes due on the case system · {a.ref}"),
            Text(
                f"The record of the core group meeting on {held} must be on the case system by "
                f"{deadline} (within {a.policy.record_working_days} working days)."
            ),
        ]
        done = f"Once it's there, type `/coregroup {a.ref} recorded`."
        summary = f"{a.ref}: minutes to record on the case system by {deadline}"
    else:
        blocks = [
            Heading(f"Minutes due to every member · {a.ref}"),
            Text(
                f"The minutes of the core group meeting on {held} must be sent to every member by "
                f"{deadline} (within {a.policy.circulate_working_days} working days)."
            ),
        ]
        done = f"Publishing them sends everyone a copy: `/coregroup {a.ref} publish`."
        if a.occurrence.detail.get("published"):
            done = (
                f"They're published, but not every member has their copy yet: `/coregroup {a.ref} "
                "minutes` shows who. Log a copy given another way with `/coregroup minutes sent "
                '@name "by post"`.'
            )
        summary = f"{a.ref}: minutes to send to members by {deadline}"
    if not a.occurrence.detail.get("drafted", True):
        blocks.append(Text(f"They haven't been drafted yet: `/coregroup {a.ref} draft` starts."))
    blocks.append(Context(done))
    return Part(summary, tuple(blocks), a.ref)


def _review_update(a: _About) -> Part | None:
    member = a.state.member(a.row.person_id or 0)
    if member is None:
        return None
    ms, person = member
    agency = ms.agency or person.agency or "your agency"
    review, aim = a.day("review"), a.day("aim")
    verb = "is on" if a.occurrence.detail.get("booked") else "is due by"
    blocks: list[Block] = [
        Heading(f"Written update for the review · {a.ref}"),
        Text(
            f"The {_conference(a)[1]} for {a.ref} {verb} {review}. Please prepare a written "
            f"update from {agency} for the last core group before it (aim for about {aim}), so "
            "everyone can read it beforehand."
        ),
    ]
    if ms.is_chair:
        blocks.append(Context("Every agency in the group has been asked for one."))
    return Part(f"{a.ref}: written update needed for the review ({review})", tuple(blocks), a.ref)


def _concern(a: _About) -> Part | None:
    """The chair hears of a possible new concern its author has not answered about in time."""
    concern = a.state.concern(a.row.subject_id)
    if concern is None:
        return None
    message = chair_message(a.session, concern=concern, reference=a.ref, tz=a.tz, confirmed=False)
    return Part(message.text, message.blocks, a.ref)


def _drift_meeting(a: _About) -> Part | None:
    since, span = a.day("since"), a.policy.meeting_interval
    if a.occurrence.detail["since"] == a.state.case.icpc_date.isoformat():
        last = f"hasn't met since the {_conference(a)[0]} on {since}"
    else:
        last = f"last met on {since}"
    blocks = (
        Heading(f"No meeting for over {span} · {a.ref}"),
        Text(
            f"The core group for {a.ref} {last} — over {span} ago. Core groups should meet at "
            f"least every {span} ({a.policy.meeting_interval_source}), so the plan doesn't drift."
        ),
        a.schedule_button("Schedule a meeting"),
    )
    return Part(f"{a.ref}: no core group meeting for over {span}", blocks, a.ref)


def _drift_outcome(a: _About) -> Part | None:
    outcome = a.state.outcome(a.row.subject_id)
    if outcome is None:
        return None
    span = _span(a.planner.settings.outcome_idle_days)
    blocks = (
        Heading(f"A plan outcome has gone quiet · {a.ref}"),
        Text(
            f"Nothing has moved on outcome {outcome.number} of the plan for {a.ref} since "
            f"{a.day('since')} — {span}. Is it still on track?"
        ),
        Fields((("Outcome", f"{outcome.number}. {outcome.title}"),)),
        Context(f"See its actions with `/coregroup {a.ref} actions all`."),
    )
    return Part(f"{a.ref}: no activity on outcome {outcome.number} for {span}", blocks, a.ref)


_WHAT = {
    Kind.MEETING_AHEAD: "a meeting reminder",
    Kind.MEETING_SOON: "a meeting reminder",
    Kind.UPDATE_OPEN: "the request for their update",
    Kind.UPDATE_NUDGE: "a reminder about their update",
    Kind.BRIEF: "the pre-meeting brief",
    Kind.ACTION_SOON: "an action reminder",
    Kind.ACTION_DUE: "an action reminder",
    Kind.ACTION_OVERDUE: "an action reminder",
    Kind.ESCALATE: "a note about an overdue action",
    Kind.FIRST_UNBOOKED: "a deadline reminder",
    Kind.NEXT_UNBOOKED: "a deadline reminder",
    Kind.REVIEW_UNBOOKED: "a deadline reminder",
    Kind.MINUTES_RECORD: "a minutes deadline reminder",
    Kind.MINUTES_CIRCULATE: "a minutes deadline reminder",
    Kind.REVIEW_UPDATE: "the request for a written update",
    Kind.DRIFT_MEETING: "a note about the gap between meetings",
    Kind.DRIFT_OUTCOME: "a note about a quiet outcome",
    Kind.DIGEST: "the weekly digest",
    Kind.DELIVERY_FAILED: "a delivery notice",
    Kind.CONCERN: "a note about a possible new concern",
}


def _delivery_failed(session: Session, *, row: Reminder, state: GroupState) -> Part:
    facts = row.payload or {}
    person = session.get(Person, facts["person"]) if facts.get("person") else None
    who = person.display_name if person else "the group's space"
    what = _WHAT.get(Kind(facts.get("kind", Kind.DELIVERY_FAILED)), "a message")
    tries = int(facts.get("tries", 1))
    ref = state.case.reference
    blocks = (
        Heading(f"A reminder couldn't be delivered · {ref}"),
        Text(
            f"I couldn't deliver {what} to {who} for {ref}"
            + (f", even after {tries} tries" if tries > 1 else "")
            + ". Please pass it on another way, and check they can get messages from me."
        ),
    )
    return Part(f"{ref}: a reminder couldn't be delivered", blocks, ref)


@dataclass
class _Watched:
    """What a team manager's digest needs about one group: much less than its full state."""

    case: Case
    meetings: list[Meeting] = field(default_factory=list)  # not cancelled, by start
    reviews: list[date] = field(default_factory=list)
    minutes: dict[int, Minutes] = field(default_factory=dict)
    overdue: int = 0


def _watched(session: Session, *, team_id: int, today: date) -> list[_Watched]:
    """A team's open groups for the digest, in five queries, by case reference."""
    groups = {
        group.id: _Watched(case)
        for group, case in session.exec(
            select(CoreGroup, Case)
            .join(Case, col(Case.id) == CoreGroup.case_id)
            .where(CoreGroup.team_id == team_id, CoreGroup.status == GroupStatus.ACTIVE)
        ).all()
    }
    ids = list(groups)
    for meeting in session.exec(
        select(Meeting)
        .where(col(Meeting.group_id).in_(ids), Meeting.status != MeetingStatus.CANCELLED)
        .order_by(col(Meeting.starts_at))
    ).all():
        groups[meeting.group_id].meetings.append(meeting)
    for minutes, group_id in session.exec(
        select(Minutes, Meeting.group_id)
        .join(Meeting, col(Meeting.id) == Minutes.meeting_id)
        .where(col(Meeting.group_id).in_(ids))
    ).all():
        groups[group_id].minutes[minutes.meeting_id] = minutes
    by_case = {w.case.id: w for w in groups.values()}
    for case_id, held_on in session.exec(
        select(col(ReviewConference.case_id), col(ReviewConference.held_on))
        .where(col(ReviewConference.case_id).in_(list(by_case)))
        .order_by(col(ReviewConference.held_on))
    ).all():
        by_case[case_id].reviews.append(held_on)
    closed = [s.value for s in ActionStatus if s.is_closed]
    for group_id, count in session.exec(
        select(Action.group_id, func.count())
        .where(
            col(Action.group_id).in_(ids),
            col(Action.status).not_in(closed),
            col(Action.due_on) < today,
        )
        .group_by(col(Action.group_id))
    ).all():
        groups[group_id].overdue = count
    return sorted(groups.values(), key=lambda w: w.case.reference)


def _minutes_owed(w: _Watched, planner: Planner, now: datetime) -> list[MinutesDue]:
    """Minutes not yet recorded or sent, and the latest meeting's if nobody has drafted them."""
    cal, policy = planner.calendar(w.case), planner.policy(w.case)
    found = []
    started = [m for m in w.meetings if m.starts_at <= now]
    for m in started:
        minutes = w.minutes.get(m.id or 0)
        day = planner.local_date(m.starts_at)
        if minutes is not None and (minutes.recorded_at is None or minutes.circulated_at is None):
            found.append(MinutesDue(m, day, minutes, minutes.record_due, minutes.circulate_due))
        elif minutes is None and m is started[-1]:
            record = record_deadline(meeting=day, calendar=cal, policy=policy).due
            send = circulate_deadline(meeting=day, calendar=cal, policy=policy).due
            found.append(MinutesDue(m, day, None, record, send))
    return found


def _digest_lines(
    w: _Watched, *, planner: Planner, now: datetime, horizon: date
) -> tuple[list[str], list[str]]:
    """One group's missed deadlines, and those coming up by `horizon`."""
    today = planner.local_date(now)
    dates = [(planner.local_date(m.starts_at), m.starts_at <= now) for m in w.meetings]
    deadlines = open_deadlines(
        icpc=w.case.icpc_date,
        held=sorted(d for d, past in dates if past),
        booked=sorted(d for d, past in dates if not past),
        reviews=w.reviews,
        today=today,
        calendar=planner.calendar(w.case),
        policy=planner.policy(w.case),
    )
    minutes = _minutes_owed(w, planner, now)
    missed = [d.describe() for d in deadlines if d.overdue]
    missed += [
        f"Minutes of the meeting on {format_day(m.day)}: {why}"
        for m in minutes
        if (why := m.late(today))
    ]
    if w.overdue:
        missed.append(f"{w.overdue} overdue action{'s' if w.overdue != 1 else ''}")
    coming = [d.describe() for d in deadlines if not d.overdue and d.deadline.due <= horizon]
    coming += [
        f"Minutes of the meeting on {format_day(m.day)}: {m.todo()}"
        for m in minutes
        if today <= min(m.record_due, m.circulate_due) <= horizon
    ]
    return missed, coming


def _digest(session: Session, *, person: Person, planner: Planner, now: datetime) -> Part | None:
    if person.team_id is None:
        return None
    today = planner.local_date(now)
    watched = _watched(session, team_id=person.team_id, today=today)
    if not watched:
        return None
    days = planner.settings.digest_coming_days
    count = len(watched)
    blocks: list[Block] = [
        Heading("Weekly digest · your team's core groups"),
        Text(
            f"{count} open group{'s' if count != 1 else ''}: deadlines missed, and those coming "
            f"up in the next {days} days."
        ),
    ]
    missed_total = 0
    for w in watched:
        horizon = today + timedelta(days=days)
        missed, coming = _digest_lines(w, planner=planner, now=now, horizon=horizon)
        missed_total += len(missed)
        if missed or coming:
            lines = [f"Missed: {line}" for line in missed] + [f"Coming up: {c}" for c in coming]
            blocks += [Text(f"{w.case.reference}:"), Bullets(tuple(lines))]
    if len(blocks) == 2:
        blocks.append(Text("Nothing missed, and nothing due in that time."))
    reference = watched[0].case.reference
    blocks.append(Context(f"Look into one group with `/coregroup status {reference}`."))
    summary = f"Weekly digest: {count} open groups, {missed_total} missed deadline(s)"
    return Part(summary, tuple(blocks), None)


_BUILDERS = {
    Kind.MEETING_AHEAD: _meeting_ahead,
    Kind.MEETING_SOON: _meeting_soon,
    Kind.UPDATE_OPEN: _update_open,
    Kind.UPDATE_NUDGE: _update_nudge,
    Kind.BRIEF: _brief,
    Kind.ACTION_SOON: _action,
    Kind.ACTION_DUE: _action,
    Kind.ACTION_OVERDUE: _action,
    Kind.ESCALATE: _escalate,
    Kind.FIRST_UNBOOKED: _first_unbooked,
    Kind.NEXT_UNBOOKED: _next_unbooked,
    Kind.REVIEW_UNBOOKED: _review_unbooked,
    Kind.MINUTES_RECORD: _minutes_due,
    Kind.MINUTES_CIRCULATE: _minutes_due,
    Kind.REVIEW_UPDATE: _review_update,
    Kind.DRIFT_MEETING: _drift_meeting,
    Kind.DRIFT_OUTCOME: _drift_outcome,
    Kind.CONCERN: _concern,
}


def build_part(
    session: Session,
    *,
    row: Reminder,
    occurrence: Occurrence | None,
    state: GroupState | None,
    person: Person | None,
    planner: Planner,
    now: datetime,
) -> Part | None:
    """What one reminder says; None when there is nothing to say any more."""
    kind = Kind(row.kind)
    if kind is Kind.DIGEST:
        return _digest(session, person=person, planner=planner, now=now) if person else None
    if state is None:
        return None
    if kind is Kind.DELIVERY_FAILED:
        return _delivery_failed(session, row=row, state=state)
    if occurrence is None:
        return None
    return _BUILDERS[kind](_About(session, row, occurrence, state, person, planner, now))


# --- snoozing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snoozed:
    """What a snooze did: how many reminders come back, when, and in which groups."""

    count: int
    until: datetime
    group_ids: tuple[int, ...]


def _not_yours() -> NotFound:
    return NotFound(
        "I can't find that reminder.",
        hint="Snooze works on a reminder sent to you: press its Snooze button.",
    )


def snooze(
    session: Session, *, reminder_id: int, person: Person, locale: Locale, now: datetime
) -> Snoozed:
    """Send the reminders of one message again on the person's next working morning."""
    first = session.get(Reminder, reminder_id)
    if (
        first is None
        or first.person_id != person.id
        or first.status != ReminderStatus.SENT
        or first.batch_key is None
    ):
        raise _not_yours()
    rows = session.exec(
        select(Reminder).where(
            Reminder.batch_key == first.batch_key,
            Reminder.person_id == person.id,
            Reminder.status == ReminderStatus.SENT,
        )
    ).all()
    hours = person_hours(person)
    planner = Planner(locale=locale, settings=ReminderSettings())
    made: list[tuple[Reminder, datetime]] = []
    for row in rows:
        if Kind(row.kind) in NOT_SNOOZABLE:
            continue
        group = session.get(CoreGroup, row.group_id) if row.group_id else None
        case = session.get(Case, group.case_id) if group else None
        until = next_working_morning(now, hours=hours, calendar=planner.calendar(case))
        if row.not_after is not None and row.not_after <= until:
            continue
        made.append((row, until))
    if not made:
        raise Conflict(
            "It's too late to snooze this reminder: what it's about happens before then.",
            hint="Reply to it instead, or ask the chair.",
        )
    for row, until in made:
        key = f"snooze:{row.id}:{until.astimezone(hours.tz).date()}"
        if session.exec(select(Reminder.id).where(Reminder.dedup_key == key)).first():
            continue
        payload = dict(row.payload or {})
        payload.setdefault("of", row.dedup_key)
        payload.setdefault("nominal", row.due_at.isoformat())
        session.add(
            Reminder(
                dedup_key=key,
                kind=row.kind,
                group_id=row.group_id,
                person_id=row.person_id,
                subject_id=row.subject_id,
                due_at=until,
                not_after=row.not_after,
                payload=payload,
                created_at=now,
            )
        )
    session.flush()
    groups = tuple(sorted({r.group_id for r, _ in made if r.group_id is not None}))
    return Snoozed(len(made), min(u for _, u in made), groups)
