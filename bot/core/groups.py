"""Core groups: starting one for a case, members and roles, reviews, closing, open deadlines.

Everything here takes the session and plain values (keyword-only), so the scheduler and the
oversight views can reuse it without an acting person; authorisation happens in commands/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select

from bot.core import key_worker
from bot.core.calendar import Nation, WorkingCalendar, format_day
from bot.core.errors import BadInput, Conflict
from bot.core.policy import (
    Deadline,
    DeadlineKind,
    Policy,
    after_review_deadline,
    conference_names,
    first_meeting_deadline,
    timescales,
)
from storage.enums import GroupStatus, MeetingStatus, PlanStatus, Role
from storage.models import (
    Case,
    CoreGroup,
    Meeting,
    Membership,
    Person,
    ReviewConference,
)

# Letters, a separator, then digits: CP-2026-0142, CP/2026/142, ABC-12345.
REFERENCE = re.compile(r"^[A-Za-z]{1,6}[-/][0-9][A-Za-z0-9/-]*$")
NEW_EXAMPLE = "/coregroup new CP-2026-0142 icpc 18/12/2026"

# Practice guidance: a functional group of about six.
ADVISED_SIZE = 6


def check_reference(text: str) -> str:
    """The case reference in capitals; BadInput for anything else (above all, a child's name)."""
    reference = text.strip().upper()
    if len(reference) > 40 or not REFERENCE.match(reference):
        # The text is not repeated: it may be a name, and error replies are shown in channels.
        raise BadInput(
            "That doesn't look like a case reference. Please use the case reference from the "
            "case system, never the child's name.",
            hint=f"A reference is letters, a dash, then numbers. For example: `{NEW_EXAMPLE}`",
        )
    return reference


def check_initials(text: str) -> str:
    """Up to four letters (dots and spaces dropped); anything longer may be a name, so refused."""
    letters = re.sub(r"[.\s]", "", text).upper()
    if not letters.isalpha() or len(letters) > 4:
        raise BadInput(
            "Initials must be just letters, at most four, never a name.",
            hint=f"For example: `{NEW_EXAMPLE} initials AB`",
        )
    return letters


def space_name(reference: str) -> str:
    """The group's space name: "cg-" and the reference, lower case, other characters as dashes."""
    return "cg-" + re.sub(r"[^a-z0-9]+", "-", reference.lower()).strip("-")


def space_topic(reference: str) -> str:
    """The space's topic: the reference and what the space is for (never a name)."""
    return f"Core group for case {reference}: meetings, the plan and its actions"


def group_label(case: Case) -> str:
    """How a group is named in chat: its case reference and nothing else."""
    return case.reference


def find_case(session: Session, reference: str) -> Case | None:
    """The case with this reference, ignoring case (visibility is checked by the caller)."""
    return session.exec(
        select(Case).where(func.upper(col(Case.reference)) == reference.upper())
    ).first()


def create_group(
    session: Session,
    *,
    reference: str,
    icpc: date,
    nation: Nation,
    initials: str | None,
    creator: Person,
    now: datetime,
) -> tuple[Case, CoreGroup]:
    """A new case and its core group in the creator's team; the creator is key worker and chair."""
    assert creator.id is not None
    case = Case(
        reference=reference, initials=initials, nation=nation.value, icpc_date=icpc, created_at=now
    )
    session.add(case)
    session.flush()
    assert case.id is not None
    group = CoreGroup(case_id=case.id, team_id=creator.team_id, created_at=now)
    session.add(group)
    session.flush()
    assert group.id is not None
    session.add(
        Membership(
            group_id=group.id,
            person_id=creator.id,
            role=Role.KEY_WORKER,
            agency=creator.agency,
            is_chair=True,
            joined_at=now,
        )
    )
    session.flush()
    return case, group


def holidays_between(calendar: WorkingCalendar, start: date, end: date) -> list[tuple[date, str]]:
    """The weekday bank holidays and closure days in (start, end], with their names."""
    found = []
    day = start + timedelta(days=1)
    while day <= end:
        why = calendar.why_not_working(day)
        if why is not None and day.weekday() < 5:
            found.append((day, why))
        day += timedelta(days=1)
    return found


def _holiday_phrase(day: date, name: str) -> str:
    short = f"{day:%a} {day.day} {day:%b}"
    if name.endswith(" (substitute day)"):
        return f"the {name.removesuffix(' (substitute day)')} substitute day on {short}"
    return f"{name} on {short}"


def _skipping(calendar: WorkingCalendar, start: date, end: date) -> str:
    """ ", skipping Christmas Day on Fri 25 Dec and …" for the holidays in (start, end]."""
    skipped = [_holiday_phrase(d, name) for d, name in holidays_between(calendar, start, end)]
    if not skipped:
        return ""
    listed = skipped[0] if len(skipped) == 1 else ", ".join(skipped[:-1]) + " and " + skipped[-1]
    return f", skipping {listed}"


def first_meeting_sentence(
    *, icpc: date, calendar: WorkingCalendar, policy: Policy
) -> tuple[Deadline, str]:
    """The first-meeting deadline and a sentence saying how it was worked out."""
    deadline = first_meeting_deadline(icpc=icpc, calendar=calendar, policy=policy)
    conference = conference_names(calendar)[0]
    sentence = (
        f"The first core group must meet by {format_day(deadline.due)} — within "
        f"{policy.first_meeting_working_days} working days of the {conference} on "
        f"{format_day(icpc)}"
    )
    sentence += _skipping(calendar, icpc, deadline.due)
    return deadline, sentence + f" ({calendar.nation.label} bank holidays)."


# --- membership ---------------------------------------------------------------------------------


class Joined(StrEnum):
    """What adding someone did."""

    ADDED = "added"
    REJOINED = "rejoined"
    ROLE_CHANGED = "role-changed"
    UNCHANGED = "unchanged"


def membership_of(session: Session, *, group_id: int, person_id: int) -> Membership | None:
    """A person's membership row in a group, active or not."""
    return session.exec(
        select(Membership).where(Membership.group_id == group_id, Membership.person_id == person_id)
    ).first()


def active_membership(session: Session, *, group_id: int, person_id: int) -> Membership | None:
    """A person's current membership of a group, if any."""
    row = membership_of(session, group_id=group_id, person_id=person_id)
    return row if row is not None and row.active else None


def member_count(session: Session, *, group_id: int) -> int:
    """How many people are in the group now."""
    return session.exec(
        select(func.count())
        .select_from(Membership)
        .where(Membership.group_id == group_id, col(Membership.active).is_(True))
    ).one()


def add_member(
    session: Session,
    *,
    group_id: int,
    person: Person,
    role: Role,
    agency: str | None,
    reference: str,
    now: datetime,
) -> tuple[Membership, Joined]:
    """Add a person (or bring back a former member, or change a member's role or agency)."""
    assert person.id is not None
    if agency:
        person.agency = person.agency or agency
    if role.is_family:
        person.is_family = True
    session.add(person)
    row = membership_of(session, group_id=group_id, person_id=person.id)
    last_chair = (
        row is not None and row.active and row.is_chair and _chair_count(session, group_id) == 1
    )
    if last_chair and role.is_family:
        raise Conflict(
            f"{person.display_name} is the only chair, and family members don't chair.",
            hint="Make someone else a chair first, e.g. `/coregroup chair @alex`.",
        )
    changing = row is not None and row.active and role not in (row.role, Role.KEY_WORKER)
    if changing and row is not None and key_worker.needs_successor(session, row=row):
        raise Conflict(
            f"{person.display_name} is {_social_work(row)} for {reference}, so someone takes "
            "over before their role changes.",
            hint="Hand over to a social worker in the group first, e.g. "
            "`/coregroup key-worker @alex`.",
        )
    held = key_worker.current(session, group_id=group_id)
    if role is Role.KEY_WORKER and held is not None and held.person_id != person.id:
        role = Role.SOCIAL_WORKER  # one key worker per group: handed over by name
    if row is None:
        row = Membership(
            group_id=group_id,
            person_id=person.id,
            role=role,
            agency=agency or ("" if role.is_family else person.agency),
            joined_at=now,
        )
        result = Joined.ADDED
    elif not row.active:
        row.active, row.left_at, row.joined_at = True, None, now
        row.role, row.agency = role, agency or row.agency
        result = Joined.REJOINED
    elif row.role != role or (agency and agency != row.agency):
        row.role, row.agency = role, agency or row.agency
        result = Joined.ROLE_CHANGED
    else:
        result = Joined.UNCHANGED
    if Role(row.role).is_family:
        # Chairing and minuting are for practitioners.
        row.is_chair = row.is_minute_taker = False
    session.add(row)
    session.flush()
    return row, result


def _member_row(session: Session, *, group_id: int, person: Person, reference: str) -> Membership:
    """The person's current membership of the group; refused when they are not a member."""
    assert person.id is not None
    row = active_membership(session, group_id=group_id, person_id=person.id)
    if row is None:
        raise BadInput(
            f"{person.display_name} isn't a member of the core group for {reference}.",
            hint="Add them first, e.g. `/coregroup add @sam school`. "
            "`/coregroup members` lists who is in the group.",
        )
    return row


def _chair_count(session: Session, group_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.group_id == group_id,
            col(Membership.active).is_(True),
            col(Membership.is_chair).is_(True),
        )
    ).one()


def remove_member(
    session: Session,
    *,
    group_id: int,
    person: Person,
    reference: str,
    now: datetime,
    typed: str,
    successor: Person | None = None,
) -> Membership:
    """Mark a member as having left (their history stays); never the last chair, and the key
    worker (or last social worker) only with a `successor`, who takes over key work (and the
    chairing, from the only chair)."""
    row = _member_row(session, group_id=group_id, person=person, reference=reference)
    needed = key_worker.needs_successor(session, row=row)
    if successor is not None and not needed:
        raise BadInput(
            f"{person.display_name} isn't the key worker, so nobody needs to take over.",
            hint=f"Remove them with `/coregroup remove {typed}`; to change the key worker: "
            "`/coregroup key-worker @alex`.",
        )
    if successor is not None:
        _hand_over(session, row, person, successor, reference)
    elif needed:
        raise Conflict(
            f"{person.display_name} is {_social_work(row)} for {reference}, so someone must "
            "take over before they leave.",
            hint="Name the social worker who takes over (add them first if they aren't in the "
            f"group), e.g. `/coregroup remove {typed} successor @alex`.",
        )
    if row.is_chair and _chair_count(session, group_id) == 1:
        raise Conflict(
            f"{person.display_name} is the only chair of the core group for {reference}, "
            "so can't be removed yet.",
            hint="Make someone else a chair first (`/coregroup chair @alex`), then remove them.",
        )
    row.active, row.left_at = False, now
    row.is_chair = row.is_minute_taker = False
    session.add(row)
    session.flush()
    return row


def _social_work(row: Membership) -> str:
    return "the key worker" if row.role == Role.KEY_WORKER else "the last social worker"


def _hand_over(
    session: Session, row: Membership, person: Person, successor: Person, reference: str
) -> None:
    """The successor of a member who is leaving takes over key work (and the only chair's)."""
    if successor.id == person.id:
        raise BadInput(
            f"{person.display_name} can't take over from themselves.",
            hint="Name another social worker in the group, e.g. `successor @alex`.",
        )
    taking = _member_row(session, group_id=row.group_id, person=successor, reference=reference)
    key_worker.take_over(session, row=taking, name=successor.display_name)
    if row.is_chair and _chair_count(session, row.group_id) == 1:
        taking.is_chair = True
        session.add(taking)
        session.flush()


def hand_over_key_work(session: Session, *, group_id: int, person: Person, reference: str) -> bool:
    """Make a member the key worker (the one before stays as a social worker); False if they
    already are."""
    row = _member_row(session, group_id=group_id, person=person, reference=reference)
    if row.role == Role.KEY_WORKER:
        return False
    key_worker.take_over(session, row=row, name=person.display_name)
    return True


def set_chair(session: Session, *, group_id: int, person: Person, reference: str, on: bool) -> bool:
    """Make a member a (co-)chair or stop them chairing; False if nothing changed."""
    row = _member_row(session, group_id=group_id, person=person, reference=reference)
    if row.is_chair == on:
        return False
    if on and Role(row.role).is_family:
        raise BadInput(
            "Family members can't chair the core group; a practitioner in the group chairs.",
            hint="For example: `/coregroup chair @priya`",
        )
    if not on and _chair_count(session, group_id) == 1:
        raise Conflict(
            f"{person.display_name} is the only chair of the core group for {reference}; "
            "a group always has at least one.",
            hint="Make someone else a chair first, e.g. `/coregroup chair @alex`.",
        )
    row.is_chair = on
    session.add(row)
    session.flush()
    return True


def set_minute_taker(
    session: Session, *, group_id: int, person: Person, reference: str, on: bool
) -> bool:
    """Make a member a minute-taker (it can be shared) or stop; False if nothing changed."""
    row = _member_row(session, group_id=group_id, person=person, reference=reference)
    if row.is_minute_taker == on:
        return False
    if on and Role(row.role).is_family:
        raise BadInput(
            "Family members aren't asked to take the minutes; a practitioner does.",
            hint="For example: `/coregroup minute-taker @alex`",
        )
    row.is_minute_taker = on
    session.add(row)
    session.flush()
    return True


def _people(session: Session, group_id: int, condition: ColumnElement[bool]) -> list[Person]:
    rows = session.exec(
        select(Person)
        .join(Membership, col(Membership.person_id) == Person.id)
        .where(Membership.group_id == group_id, col(Membership.active).is_(True), condition)
        .order_by(col(Membership.id))
    ).all()
    return list(rows)


def chairs(session: Session, *, group_id: int) -> list[Person]:
    """The group's current chairs (chairing can be shared)."""
    return _people(session, group_id, col(Membership.is_chair).is_(True))


def minute_takers(session: Session, *, group_id: int) -> list[Person]:
    """The group's current minute-takers (minuting can be shared)."""
    return _people(session, group_id, col(Membership.is_minute_taker).is_(True))


def team_managers(session: Session, *, group_id: int) -> list[Person]:
    """Who oversees the group: its team's managers and any member in the team-manager role."""
    group = session.get(CoreGroup, group_id)
    found: dict[int, Person] = {}
    if group is not None and group.team_id is not None:
        for person in session.exec(
            select(Person)
            .where(Person.team_id == group.team_id, col(Person.is_team_manager).is_(True))
            .order_by(col(Person.id))
        ).all():
            assert person.id is not None
            found[person.id] = person
    for person in _people(session, group_id, col(Membership.role) == Role.TEAM_MANAGER):
        assert person.id is not None
        found.setdefault(person.id, person)
    return list(found.values())


# --- reviews and closing ------------------------------------------------------------------------


def review_dates(session: Session, *, case_id: int) -> list[date]:
    """The dates of the case's review conferences, oldest first."""
    rows = session.exec(
        select(col(ReviewConference.held_on))
        .where(ReviewConference.case_id == case_id)
        .order_by(col(ReviewConference.held_on))
    ).all()
    return list(rows)


def record_review(
    session: Session,
    *,
    case: Case,
    held_on: date,
    plan_continues: bool,
    actor_id: int,
    now: datetime,
) -> tuple[ReviewConference, bool]:
    """Record a review conference (or update the one on that day); True when it is new."""
    assert case.id is not None
    row = session.exec(
        select(ReviewConference).where(
            ReviewConference.case_id == case.id, ReviewConference.held_on == held_on
        )
    ).first()
    created = row is None
    if row is None:
        row = ReviewConference(case_id=case.id, held_on=held_on, recorded_at=now)
    row.plan_continues, row.recorded_by, row.recorded_at = plan_continues, actor_id, now
    session.add(row)
    session.flush()
    return row, created


def after_review_sentence(
    *, review: date, calendar: WorkingCalendar, policy: Policy
) -> tuple[Deadline, str]:
    """The deadline for the core group after a review conference, as a sentence."""
    deadline = after_review_deadline(review=review, calendar=calendar, policy=policy)
    name = conference_names(calendar)[1]
    sentence = (
        f"The next core group must meet by {format_day(deadline.due)} — within "
        f"{policy.after_review_working_days} working days of the {name} on {format_day(review)}"
    )
    return deadline, sentence + _skipping(calendar, review, deadline.due) + "."


def may_start_groups(person: Person) -> bool:
    """Only social workers and managers in a team (`coregroup team`) may start a core group:
    its creator becomes key worker and chair of a child-protection group."""
    return person.team_id is not None and not person.is_family


def close_group(
    session: Session, *, group: CoreGroup, case: Case, reason: str | None, now: datetime
) -> list[Meeting]:
    """Close the group and end the plan; meetings still booked are cancelled and returned."""
    group.status, group.closed_at, group.close_reason = GroupStatus.CLOSED, now, reason
    case.plan_status, case.ended_at = PlanStatus.ENDED, now
    booked = list(
        session.exec(
            select(Meeting).where(
                Meeting.group_id == group.id,
                Meeting.status == MeetingStatus.SCHEDULED,
                Meeting.starts_at > now,
            )
        ).all()
    )
    for meeting in booked:
        meeting.status, meeting.cancel_reason, meeting.updated_at = (
            MeetingStatus.CANCELLED,
            "The core group closed.",
            now,
        )
        session.add(meeting)
    session.add_all([group, case])
    session.flush()
    return booked


# --- deadlines for the status views -------------------------------------------------------------

_MEETING_KINDS = (DeadlineKind.FIRST_MEETING, DeadlineKind.NEXT_MEETING, DeadlineKind.AFTER_REVIEW)
_REVIEW_KINDS = (DeadlineKind.FIRST_REVIEW, DeadlineKind.NEXT_REVIEW)


@dataclass(frozen=True)
class OpenDeadline:
    """A statutory deadline not met yet, and what is booked towards it."""

    deadline: Deadline
    overdue: bool
    booked: date | None = None  # the next booked meeting, when it is after the basis
    in_time: bool = False  # whether `booked` meets the deadline

    @property
    def is_meeting(self) -> bool:
        """Whether a core group meeting meets this deadline."""
        return self.deadline.kind in _MEETING_KINDS

    def describe(self) -> str:
        """One line: what is due by when, the rule, and what is booked."""
        d = self.deadline
        what = {
            DeadlineKind.FIRST_MEETING: "First core group",
            DeadlineKind.NEXT_MEETING: "Next core group",
            DeadlineKind.AFTER_REVIEW: "Core group after the review",
            DeadlineKind.PRE_REVIEW_MEETING: "Last core group before the review",
            DeadlineKind.FIRST_REVIEW: "First review conference",
            DeadlineKind.NEXT_REVIEW: "Next review conference",
        }.get(d.kind, "Deadline")
        line = f"{what} by {format_day(d.due)}"
        if d.kind is DeadlineKind.PRE_REVIEW_MEETING:
            line = f"{what}: aim for about {format_day(d.due)}"
        if self.overdue:
            line = f"⚠ OVERDUE: {line}"
        if self.booked is not None:
            line += (
                f" — booked for {format_day(self.booked)}"
                if self.in_time
                else f" — ⚠ the next meeting ({format_day(self.booked)}) is after this deadline"
            )
        elif self.is_meeting:
            line += " — not booked yet"
        return f"{line}. Rule: {d.rule}."


def meeting_dates(
    session: Session, *, group_id: int, now: datetime, tz: ZoneInfo
) -> tuple[list[date], list[date]]:
    """The local dates of the group's meetings so far and of those booked ahead (not cancelled).

    A meeting counts as held once its start time has passed, whether or not anyone has marked it
    held yet: the deadlines are about meeting, not about the paperwork.
    """
    rows = session.exec(
        select(Meeting.starts_at).where(
            Meeting.group_id == group_id, Meeting.status != MeetingStatus.CANCELLED
        )
    ).all()
    held = sorted(s.astimezone(tz).date() for s in rows if s <= now)
    booked = sorted(s.astimezone(tz).date() for s in rows if s > now)
    return held, booked


def open_deadlines(
    *,
    icpc: date,
    held: list[date],
    booked: list[date],
    reviews: list[date],
    today: date,
    calendar: WorkingCalendar,
    policy: Policy,
) -> list[OpenDeadline]:
    """The meeting and review deadlines not met yet, soonest first.

    A meeting deadline is met by any meeting held after the date it counts from (late or not:
    a missed one shows as late in the record, not for ever here); a review deadline by any
    review after it. Record and circulation deadlines come from the minutes themselves.
    """
    result = []
    for d in timescales(
        icpc=icpc, meetings=held, reviews=reviews, calendar=calendar, policy=policy
    ):
        if d.kind in _MEETING_KINDS:
            if any(m > d.basis for m in held):
                continue
            after = [b for b in booked if b > d.basis]
            first = after[0] if after else None
            result.append(
                OpenDeadline(d, d.due < today, first, in_time=first is not None and first <= d.due)
            )
        elif d.kind in _REVIEW_KINDS:
            if any(r > d.basis for r in reviews):
                continue
            result.append(OpenDeadline(d, d.due < today))
        elif d.kind is DeadlineKind.PRE_REVIEW_MEETING and d.basis >= today:
            result.append(OpenDeadline(d, False))
    return result
