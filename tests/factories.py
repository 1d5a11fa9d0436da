"""Builders for realistic test data; every time comes from the given clock, so all are aware.

Each builder adds its row, flushes so the id is set, and returns it; nothing is committed.
Defaults are sensible and unique where the schema demands it; any model field can be overridden.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from bot.clock import Clock
from storage.blind_index import handle_of, name_index
from storage.enums import (
    ActionEventKind,
    ActionStatus,
    AttendanceStatus,
    MeetingKind,
    MeetingStatus,
    Platform,
    Role,
)
from storage.models import (
    Action,
    ActionEvent,
    Attendance,
    Case,
    ChatIdentity,
    CoreGroup,
    Meeting,
    Membership,
    Minutes,
    Outcome,
    Person,
    Team,
)

LONDON = ZoneInfo("Europe/London")
_serial = itertools.count(1)


def _next() -> int:
    return next(_serial)


def local_today(clock: Clock) -> date:
    """The clock's date in London."""
    return clock.now().astimezone(LONDON).date()


def at_london(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware datetime for a wall-clock time in London."""
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def named(session: Session, name: str) -> Any:
    """A WHERE clause for the people called `name` (names are sealed: found by their index)."""
    return col(Person.name_index) == name_index(session.connection(), name)


def make_team(*, session: Session, name: str | None = None) -> Team:
    """A social-work team."""
    team = Team(name=name or f"Children's Services Team {_next()}")
    session.add(team)
    session.flush()
    return team


def make_person(
    *,
    session: Session,
    clock: Clock,
    display_name: str | None = None,
    agency: str = "",
    is_family: bool = False,
    platform: Platform | None = Platform.LOCAL,
    user_id: str | None = None,
    **fields: Any,
) -> Person:
    """A person, with a chat identity on `platform` unless it is None."""
    n = _next()
    person = Person(
        display_name=display_name or f"Person {n}",
        agency=agency,
        is_family=is_family,
        created_at=clock.now(),
        **fields,
    )
    session.add(person)
    session.flush()
    if platform is not None:
        assert person.id is not None
        session.add(
            ChatIdentity(
                person_id=person.id,
                platform=platform,
                user_id=user_id or f"U{n:05d}",
                handle_index=name_index(session.connection(), handle_of(person.display_name)),
            )
        )
        session.flush()
    return person


def make_case(
    *,
    session: Session,
    clock: Clock,
    reference: str | None = None,
    nation: str = "england",
    icpc_date: date | None = None,
    **fields: Any,
) -> Case:
    """A case with an active plan; the ICPC was the working day before the clock's date."""
    if icpc_date is None:
        icpc_date = local_today(clock) - timedelta(days=1)
        while icpc_date.weekday() >= 5:
            icpc_date -= timedelta(days=1)
    case = Case(
        reference=reference or f"CP-2026-{_next():04d}",
        nation=nation,
        icpc_date=icpc_date,
        created_at=clock.now(),
        **fields,
    )
    session.add(case)
    session.flush()
    return case


def make_group(
    *,
    session: Session,
    clock: Clock,
    case: Case | None = None,
    platform: Platform = Platform.LOCAL,
    **fields: Any,
) -> CoreGroup:
    """A core group (and its case, unless given) with a private channel named from the reference."""
    case = case or make_case(session=session, clock=clock)
    assert case.id is not None
    slug = case.reference.lower().replace("/", "-")
    fields.setdefault("channel_id", f"C-{slug}")
    fields.setdefault("channel_name", f"cg-{slug}")
    group = CoreGroup(case_id=case.id, platform=platform, created_at=clock.now(), **fields)
    session.add(group)
    session.flush()
    return group


def make_membership(
    *,
    session: Session,
    clock: Clock,
    group: CoreGroup,
    person: Person | None = None,
    role: Role = Role.OTHER,
    **fields: Any,
) -> Membership:
    """A person's membership of `group` (a new person, unless given) in `role`."""
    if person is None:
        person = make_person(
            session=session,
            clock=clock,
            display_name=f"{role.label.capitalize()} {_next()}",
            is_family=role.is_family,
            platform=group.platform,
        )
    assert group.id is not None and person.id is not None
    fields.setdefault("agency", person.agency)
    membership = Membership(
        group_id=group.id, person_id=person.id, role=role, joined_at=clock.now(), **fields
    )
    session.add(membership)
    session.flush()
    return membership


def _next_number(session: Session, model: type[Outcome] | type[Action], group_id: int) -> int:
    current = session.exec(select(func.max(model.number)).where(model.group_id == group_id)).one()
    return (current or 0) + 1


def make_outcome(
    *,
    session: Session,
    clock: Clock,
    group: CoreGroup,
    title: str = "The children are safe at home and their basic needs are met",
    number: int | None = None,
    **fields: Any,
) -> Outcome:
    """One outcome of the plan, numbered after the group's last."""
    assert group.id is not None
    outcome = Outcome(
        group_id=group.id,
        number=number or _next_number(session, Outcome, group.id),
        title=title,
        created_at=clock.now(),
        last_activity_at=clock.now(),
        **fields,
    )
    session.add(outcome)
    session.flush()
    return outcome


def make_action(
    *,
    session: Session,
    clock: Clock,
    group: CoreGroup,
    owner: Person,
    outcome: Outcome | None = None,
    description: str = "Visit the family at home and see the children",
    due_on: date | None = None,
    status: ActionStatus = ActionStatus.OPEN,
    created_by: Person | None = None,
    number: int | None = None,
    **fields: Any,
) -> Action:
    """An action (due in two weeks unless given) with its `created` history event."""
    assert group.id is not None and owner.id is not None
    creator = created_by or owner
    assert creator.id is not None
    action = Action(
        group_id=group.id,
        number=number or _next_number(session, Action, group.id),
        outcome_id=outcome.id if outcome else None,
        owner_id=owner.id,
        description=description,
        due_on=due_on or local_today(clock) + timedelta(days=14),
        status=status,
        created_by=creator.id,
        created_at=clock.now(),
        updated_at=clock.now(),
        **fields,
    )
    session.add(action)
    session.flush()
    assert action.id is not None
    session.add(
        ActionEvent(
            action_id=action.id,
            at=clock.now(),
            actor_id=creator.id,
            kind=ActionEventKind.CREATED,
            new_value=description,
        )
    )
    session.flush()
    return action


def make_meeting(
    *,
    session: Session,
    clock: Clock,
    group: CoreGroup,
    created_by: Person | None = None,
    kind: MeetingKind = MeetingKind.REGULAR,
    starts_at: datetime | None = None,
    venue: str = "Family Centre, Room 2",
    **fields: Any,
) -> Meeting:
    """A scheduled meeting, by default a week from the clock's date at 10:00 London time."""
    assert group.id is not None
    if created_by is None:
        created_by = make_person(session=session, clock=clock, display_name="Chair")
    assert created_by.id is not None
    meeting = Meeting(
        group_id=group.id,
        kind=kind,
        starts_at=starts_at or at_london(local_today(clock) + timedelta(days=7), 10),
        venue=venue,
        created_by=created_by.id,
        created_at=clock.now(),
        updated_at=clock.now(),
        **fields,
    )
    session.add(meeting)
    session.flush()
    return meeting


def make_attendance(
    *,
    session: Session,
    clock: Clock,
    meeting: Meeting,
    person: Person,
    status: AttendanceStatus = AttendanceStatus.INVITED,
    note: str = "",
) -> Attendance:
    """A member's attendance record for a meeting."""
    assert meeting.id is not None and person.id is not None
    row = Attendance(
        meeting_id=meeting.id,
        person_id=person.id,
        status=status,
        note=note,
        updated_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


# --- a whole group ------------------------------------------------------------------------------

# The six members of a typical group (DOMAIN.md asks for six or fewer): name, role, agency.
MEMBERS = (
    ("Sam Okafor", Role.KEY_WORKER, "Children's Services"),
    ("Jo Reed", Role.PARENT_CARER, ""),
    ("Priya Shah", Role.SCHOOL, "Oakfield Primary School"),
    ("Alex Kerr", Role.HEALTH_VISITOR, "Community Health"),
    ("Dr Ruth Mills", Role.GP, "Riverside Surgery"),
    ("PC Dan Hughes", Role.POLICE, "Police"),
)

OUTCOMES = (
    "The children live in a home that is clean, warm and safe",
    "Jo gets support with her mental health and keeps appointments",
    "The children go to school every day and are on time",
)


@dataclass
class GroupData:
    """A realistic core group as built by `build_core_group`."""

    case: Case
    group: CoreGroup
    members: dict[Role, Person]
    memberships: list[Membership]
    outcomes: list[Outcome]
    actions: list[Action] = field(default_factory=list)
    meetings: list[Meeting] = field(default_factory=list)

    @property
    def chair(self) -> Person:
        """The key worker, who chairs."""
        return self.members[Role.KEY_WORKER]


def build_core_group(*, session: Session, clock: Clock, reference: str | None = None) -> GroupData:
    """Six members, three outcomes, ten actions with history, three meetings with attendance.

    The key worker chairs and the health visitor takes minutes; the ICPC was eleven weeks before
    the clock's date, two meetings have been held (the GP sent apologies) and one is booked.
    """
    today = local_today(clock)
    # The ICPC was eleven weeks ago; two meetings have been held and the third is booked.
    icpc = _weekday_on_or_before(today - timedelta(weeks=11))
    case = make_case(
        session=session, clock=clock, reference=reference, icpc_date=icpc, category="neglect"
    )
    group = make_group(session=session, clock=clock, case=case)
    members: dict[Role, Person] = {}
    memberships = []
    for name, role, agency in MEMBERS:
        person = make_person(
            session=session,
            clock=clock,
            display_name=name,
            agency=agency,
            is_family=role.is_family,
        )
        members[role] = person
        memberships.append(
            make_membership(
                session=session,
                clock=clock,
                group=group,
                person=person,
                role=role,
                is_chair=role is Role.KEY_WORKER,
                is_minute_taker=role is Role.HEALTH_VISITOR,
            )
        )
    data = GroupData(
        case=case,
        group=group,
        members=members,
        memberships=memberships,
        outcomes=[
            make_outcome(session=session, clock=clock, group=group, title=title)
            for title in OUTCOMES
        ],
    )
    owners = [p for role, p in members.items() if role is not Role.PARENT_CARER]
    for i in range(10):
        action = make_action(
            session=session,
            clock=clock,
            group=group,
            owner=owners[i % len(owners)],
            outcome=data.outcomes[i % 3],
            description=f"Action {i + 1}: agreed task for outcome {i % 3 + 1}",
            due_on=today + timedelta(days=7 + i),
            created_by=data.chair,
        )
        if i % 3 == 0:
            _change_status(session, clock, action, data.chair, ActionStatus.IN_PROGRESS)
        if i % 4 == 0:
            _change_status(session, clock, action, action_owner(data, action), ActionStatus.DONE)
        data.actions.append(action)
    schedule = [
        (at_london(_weekday_on_or_before(icpc + timedelta(days=8)), 10), MeetingKind.FIRST),
        (at_london(_weekday_on_or_before(icpc + timedelta(weeks=6)), 14), MeetingKind.REGULAR),
        (at_london(_weekday_on_or_before(today + timedelta(days=8)), 10), MeetingKind.REGULAR),
    ]
    for starts_at, kind in schedule:
        held = starts_at < clock.now()
        meeting = make_meeting(
            session=session,
            clock=clock,
            group=group,
            created_by=data.chair,
            kind=kind,
            starts_at=starts_at,
            status=MeetingStatus.HELD if held else MeetingStatus.SCHEDULED,
        )
        for role, person in members.items():
            away = role is Role.GP
            status = (
                (AttendanceStatus.APOLOGIES if away else AttendanceStatus.ATTENDED)
                if held
                else AttendanceStatus.INVITED
            )
            make_attendance(
                session=session,
                clock=clock,
                meeting=meeting,
                person=person,
                status=status,
                note="Surgery commitments; written update sent" if held and away else "",
            )
        data.meetings.append(meeting)
    return data


def _weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def action_owner(data: GroupData, action: Action) -> Person:
    """The member who owns `action`."""
    return next(p for p in data.members.values() if p.id == action.owner_id)


def _change_status(
    session: Session, clock: Clock, action: Action, actor: Person, status: ActionStatus
) -> None:
    assert action.id is not None and actor.id is not None
    session.add(
        ActionEvent(
            action_id=action.id,
            at=clock.now(),
            actor_id=actor.id,
            kind=ActionEventKind.STATUS,
            old_value=action.status.value,
            new_value=status.value,
        )
    )
    action.status = status
    action.updated_at = clock.now()
    session.flush()


def in_team(
    engine: Any,
    clock: Clock,
    *,
    platform: Platform,
    user_id: str,
    name: str,
    team: str = "Key Workers",
    manager: bool = False,
) -> None:
    """Put a chat user in a social-work team, as `coregroup team` does (they may then start
    groups); the person is created as the bot would on first contact."""
    from bot.core.oversight import join_team
    from bot.core.people import Who, person_for
    from storage.db import session_scope

    with session_scope(engine) as session:
        person = person_for(session, Who(platform, user_id, name), clock)
        join_team(session, person=person, team_name=team, manager=manager)


def clear_settings_environment(monkeypatch: Any) -> None:
    """Unset every setting's environment variable except the suite's DATA_KEY (an encrypted
    database cannot be opened without it), as on a machine where nothing is configured."""
    from bot.config import Settings

    for name in Settings.model_fields:
        if name != "data_key":
            monkeypatch.delenv(name.upper(), raising=False)


def managed_team(
    session: Session, clock: Clock, *, name: str, manager: str, year: int, groups: int, today: date
) -> str:
    """A team whose manager `manager` chairs each of its `groups` groups (CP-<year>-0001…); each
    has a held meeting whose minutes are not recorded yet, one booked a week after `today`, and
    overdue and open actions. Returns the last group's reference."""
    team = make_team(session=session, name=name)
    boss = make_person(
        session=session, clock=clock, display_name=manager.title(), user_id=manager,
        team_id=team.id, is_team_manager=True,
    )  # fmt: skip
    school = make_person(session=session, clock=clock, display_name=f"School of {name}")
    for n in range(1, groups + 1):
        case = make_case(
            session=session, clock=clock, reference=f"CP-{year}-{n:04d}",
            icpc_date=date(2026, 11, 10),
        )  # fmt: skip
        group = make_group(session=session, clock=clock, case=case, team_id=team.id)
        make_membership(
            session=session, clock=clock, group=group, person=boss, role=Role.KEY_WORKER,
            is_chair=True,
        )  # fmt: skip
        make_membership(session=session, clock=clock, group=group, person=school, role=Role.SCHOOL)
        held = make_meeting(
            session=session, clock=clock, group=group, created_by=boss,
            starts_at=at_london(date(2027, 1, 4), 10), status=MeetingStatus.HELD,
        )  # fmt: skip
        make_meeting(
            session=session, clock=clock, group=group, created_by=boss,
            starts_at=at_london(today + timedelta(days=7), 10),
        )  # fmt: skip
        assert held.id is not None
        session.add(
            Minutes(
                meeting_id=held.id, record_due=date(2027, 1, 6),
                circulate_due=date(2027, 1, 11), created_at=clock.now(),
            )
        )  # fmt: skip
        for owner, due in ((school, -5), (boss, -2), (boss, 7)):
            make_action(
                session=session, clock=clock, group=group, owner=owner,
                due_on=today + timedelta(days=due),
            )  # fmt: skip
    return f"CP-{year}-{groups:04d}"
