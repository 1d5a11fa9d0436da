"""A synthetic first quarter of 2027 whose every step's timeliness is known, for the report tests.

North Team (manager Tamsin) has two groups; South Team (manager Sean) one. Dates are England's:
Good Friday is 26 Mar 2027 and Easter Monday 29 Mar 2027. The report is run on Tue 6 Apr 2027.

CP-2027-0001 (ICPC Mon 4 Jan): core groups on Thu 14 Jan, Thu 4 Mar and Wed 24 Mar (all held);
a review conference on Mon 15 Mar.
  first core group due Mon 18 Jan, held 14 Jan .................... on time
  minutes of 14 Jan recorded Mon 18 Jan (due 18 Jan) ................ on time
  minutes of 14 Jan sent Mon 25 Jan (due Thu 21 Jan) ................ late by 2 working days
  next core group due Thu 25 Feb (6 weeks), held Thu 4 Mar ........... late by 5 working days
  minutes of 4 Mar: never drafted; record due Mon 8 Mar ............. missed
                                     send due Thu 11 Mar .............. missed
  core group after the review, due Wed 31 Mar, held 24 Mar .......... on time
  minutes of 24 Mar recorded Tue 30 Mar (due 30 Mar: Easter skipped)  on time
  (later deadlines fall in April: outside the quarter)
CP-2027-0002 (ICPC Mon 15 Mar): no meeting yet.
  first core group due Wed 31 Mar (Easter skipped) ................... missed
CP-2027-0003 (South Team): its own steps, never in North Team's report.

Participation in CP-2027-0001 (agency, role):
  Sam, Children's Social Care, key worker: attended 3
  Priya, Oakfield Primary, school: attended 2, absent 1; update for 4 Mar returned before it;
     action due 1 Feb done 29 Jan (on time); raised a disagreement on 4 Mar
  Dr Khan, Castle Surgery, GP: attended 1, apologies 2; update for 4 Mar returned after it
     started; action due 15 Feb done 1 Mar (late); action due 10 Mar still open (not done)
  Jo, family, parent / carer: attended 2, absent 1; update for 4 Mar never started
Open actions at 31 Mar: Khan's (overdue) and Sam's due 30 Apr. Two of three outcomes drift (no
change for 4 weeks at 31 Mar): one quiet since 1 Feb, one whose only action was done on 29 Jan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from bot.clock import FakeClock
from storage.enums import (
    ActionEventKind,
    ActionStatus,
    AttendanceStatus,
    MeetingKind,
    MeetingStatus,
    MinutesStatus,
    Role,
    UpdateState,
)
from storage.models import (
    Action,
    ActionEvent,
    CoreGroup,
    Disagreement,
    Meeting,
    MemberUpdate,
    Minutes,
    Person,
    ReviewConference,
)
from tests.factories import (
    make_action,
    make_attendance,
    make_case,
    make_group,
    make_meeting,
    make_membership,
    make_outcome,
    make_person,
    make_team,
)

LONDON = ZoneInfo("Europe/London")
RUN_ON = datetime(2027, 4, 6, 9, 0, tzinfo=LONDON)
QUARTER = (date(2027, 1, 1), date(2027, 3, 31))


def at(day: date, hour: int = 10) -> datetime:
    """A London wall-clock time."""
    return datetime.combine(day, time(hour), tzinfo=LONDON)


@dataclass
class Quarter:
    """Ids of what the world holds."""

    north_id: int
    south_id: int
    group_ids: dict[str, int]


def _done(session: Session, action: Action, actor: Person, when: datetime) -> None:
    assert action.id is not None and actor.id is not None
    action.status, action.updated_at = ActionStatus.DONE, when
    session.add(action)
    session.add(
        ActionEvent(
            action_id=action.id,
            at=when,
            actor_id=actor.id,
            kind=ActionEventKind.STATUS,
            old_value=ActionStatus.OPEN,
            new_value=ActionStatus.DONE,
        )
    )


def _held(
    session: Session, clock: FakeClock, group: CoreGroup, chair: Person, day: date
) -> Meeting:
    return make_meeting(
        session=session,
        clock=clock,
        group=group,
        created_by=chair,
        kind=MeetingKind.REGULAR,
        starts_at=at(day),
        status=MeetingStatus.HELD,
    )


def build_quarter(engine: Engine, clock: FakeClock) -> Quarter:
    """Build the world described above and commit it; the clock is left at RUN_ON."""
    clock.set(at(date(2027, 1, 4), 9))
    with Session(engine, expire_on_commit=False) as s:
        north = make_team(session=s, name="North Team")
        south = make_team(session=s, name="South Team")
        make_person(
            session=s,
            clock=clock,
            display_name="Tamsin",
            user_id="tamsin",
            team_id=north.id,
            is_team_manager=True,
        )
        make_person(
            session=s,
            clock=clock,
            display_name="Sean",
            user_id="sean",
            team_id=south.id,
            is_team_manager=True,
        )
        sam = make_person(
            session=s,
            clock=clock,
            display_name="Sam",
            user_id="sam",
            agency="Children's Social Care",
        )
        priya = make_person(
            session=s, clock=clock, display_name="Priya", user_id="priya", agency="Oakfield Primary"
        )
        khan = make_person(
            session=s, clock=clock, display_name="Dr Khan", user_id="khan", agency="Castle Surgery"
        )
        jo = make_person(session=s, clock=clock, display_name="Jo", user_id="jo", is_family=True)
        ids: dict[str, int] = {}

        def group(ref: str, icpc: date, team_id: int | None) -> CoreGroup:
            made = make_group(
                session=s,
                clock=clock,
                case=make_case(session=s, clock=clock, reference=ref, icpc_date=icpc),
                team_id=team_id,
            )
            make_membership(
                session=s, clock=clock, group=made, person=sam, role=Role.KEY_WORKER, is_chair=True
            )
            assert made.id is not None
            ids[ref] = made.id
            return made

        a = group("CP-2027-0001", date(2027, 1, 4), north.id)
        for person, role in ((priya, Role.SCHOOL), (khan, Role.GP), (jo, Role.PARENT_CARER)):
            make_membership(session=s, clock=clock, group=a, person=person, role=role)
        m1 = _held(s, clock, a, sam, date(2027, 1, 14))
        m2 = _held(s, clock, a, sam, date(2027, 3, 4))
        m3 = _held(s, clock, a, sam, date(2027, 3, 24))
        for meeting, statuses in (
            (m1, ("attended", "attended", "apologies", "attended")),
            (m2, ("attended", "absent", "apologies", "attended")),
            (m3, ("attended", "attended", "attended", "absent")),
        ):
            for person, status in zip((sam, priya, khan, jo), statuses, strict=True):
                make_attendance(
                    session=s,
                    clock=clock,
                    meeting=meeting,
                    person=person,
                    status=AttendanceStatus(status),
                )
        assert m1.id is not None and m3.id is not None and m2.id is not None
        s.add(
            Minutes(
                meeting_id=m1.id,
                status=MinutesStatus.PUBLISHED,
                record_due=date(2027, 1, 18),
                circulate_due=date(2027, 1, 21),
                recorded_at=at(date(2027, 1, 18), 15),
                circulated_at=at(date(2027, 1, 25), 11),
                created_at=at(date(2027, 1, 14), 15),
            )
        )
        s.add(
            Minutes(
                meeting_id=m3.id,
                status=MinutesStatus.DRAFT,
                record_due=date(2027, 3, 30),
                circulate_due=date(2027, 4, 2),
                recorded_at=at(date(2027, 3, 30), 16),
                created_at=at(date(2027, 3, 24), 15),
            )
        )
        assert a.case_id is not None
        s.add(
            ReviewConference(
                case_id=a.case_id, held_on=date(2027, 3, 15), recorded_at=at(date(2027, 3, 15))
            )
        )
        for person, state, completed in (
            (priya, UpdateState.COMPLETE, at(date(2027, 3, 3), 16)),
            (khan, UpdateState.COMPLETE, at(date(2027, 3, 4), 10).replace(minute=30)),
            (jo, UpdateState.NOT_STARTED, None),
        ):
            assert person.id is not None
            s.add(
                MemberUpdate(
                    meeting_id=m2.id,
                    person_id=person.id,
                    state=state,
                    completed_at=completed,
                    updated_at=completed or at(date(2027, 3, 1)),
                )
            )
        quiet = make_outcome(session=s, clock=clock, group=a, title="Outcome one")
        quiet.last_activity_at = at(date(2027, 2, 1))
        busy = make_outcome(session=s, clock=clock, group=a, title="Outcome two")
        busy.last_activity_at = at(date(2027, 3, 25))
        third = make_outcome(session=s, clock=clock, group=a, title="Outcome three")
        third.last_activity_at = at(date(2027, 1, 4))
        on_time = make_action(
            session=s, clock=clock, group=a, owner=priya, due_on=date(2027, 2, 1), outcome=third
        )
        late = make_action(session=s, clock=clock, group=a, owner=khan, due_on=date(2027, 2, 15))
        make_action(session=s, clock=clock, group=a, owner=khan, due_on=date(2027, 3, 10))
        make_action(session=s, clock=clock, group=a, owner=sam, due_on=date(2027, 4, 30))
        cancelled = make_action(
            session=s, clock=clock, group=a, owner=sam, due_on=date(2027, 1, 20)
        )
        cancelled.status = ActionStatus.CANCELLED
        _done(s, on_time, priya, at(date(2027, 1, 29), 12))
        # Outcome three was touched when its action was done on 29 Jan: quiet since then.
        _done(s, late, khan, at(date(2027, 3, 1), 12))
        assert priya.id is not None
        s.add(
            Disagreement(
                group_id=a.id,
                meeting_id=m2.id,
                raised_by=priya.id,
                detail="x",
                raised_at=at(date(2027, 3, 4), 11),
            )
        )
        group("CP-2027-0002", date(2027, 3, 15), north.id)
        c = group("CP-2027-0003", date(2027, 1, 11), south.id)
        make_membership(session=s, clock=clock, group=c, person=priya, role=Role.SCHOOL)
        c1 = _held(s, clock, c, sam, date(2027, 2, 1))
        make_attendance(
            session=s, clock=clock, meeting=c1, person=priya, status=AttendanceStatus.ABSENT
        )
        assert north.id is not None and south.id is not None
        s.commit()
    clock.set(RUN_ON)
    return Quarter(north.id, south.id, ids)
