"""Oversight: a team manager's view of the team's groups (journey 5), drilling into one of them
but never into another team's, and each person's own summary across their groups (`home`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.core.oversight import make_team_manager
from storage.enums import AuditKind, MeetingStatus, Role, UpdateState
from storage.models import AuditEntry, CoreGroup, MemberUpdate, Minutes, Person, Team
from tests.factories import (
    make_action,
    make_case,
    make_group,
    make_meeting,
    make_membership,
    make_person,
    make_team,
    named,
)
from tests.scenarios.conftest import ChatDriver

LONDON = ZoneInfo("Europe/London")
# The manager looks on Wed 13 Jan 2027 (the clock is moved there before each look).
TODAY = "clock 2027-01-13 09:00"


def at(day: date, hour: int = 10) -> datetime:
    """A London wall-clock time."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)


def reply(out: str, typed: str) -> str:
    """What the bot answered to the line `typed` (reminders fired by clock moves left out)."""
    tail = out[out.index(f"> {typed}") :]
    end = tail.find("\n> ", 1)
    return tail if end == -1 else tail[:end]


@dataclass
class Team5:
    """Four groups in the manager's team, one in another team, and the people involved."""

    group_ids: dict[str, int]


@pytest.fixture
def team5(engine: Engine, clock: FakeClock) -> Team5:
    """Journey 5's world: each of the manager's groups has one thing needing attention."""
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
        sam = make_person(session=s, clock=clock, display_name="Sam", user_id="sam")
        priya = make_person(session=s, clock=clock, display_name="Priya", user_id="priya")
        ids: dict[str, int] = {}

        def group(ref: str, icpc: date, team: Team) -> CoreGroup:
            made = make_group(
                session=s,
                clock=clock,
                case=make_case(session=s, clock=clock, reference=ref, icpc_date=icpc),
                team_id=team.id,
            )
            make_membership(
                session=s, clock=clock, group=made, person=sam, role=Role.KEY_WORKER, is_chair=True
            )
            make_membership(session=s, clock=clock, group=made, person=priya, role=Role.SCHOOL)
            assert made.id is not None
            ids[ref] = made.id
            return made

        # First meeting due in the next 10 working days: Fri 15 Jan 2027, after Thu 31 Dec 2026.
        group("CP-2027-0001", date(2026, 12, 31), north)
        # Last met on Mon 23 Nov 2026: seven weeks ago, nothing booked since.
        quiet = group("CP-2027-0002", date(2026, 11, 10), north)
        make_meeting(
            session=s, clock=clock, group=quiet, created_by=sam,
            starts_at=at(date(2026, 11, 23)), status=MeetingStatus.HELD,
        )  # fmt: skip
        # Minutes of Mon 4 Jan 2027 drafted but not recorded on the case system (due Wed 6 Jan).
        late = group("CP-2027-0003", date(2026, 12, 14), north)
        held = make_meeting(
            session=s, clock=clock, group=late, created_by=sam,
            starts_at=at(date(2027, 1, 4)), status=MeetingStatus.HELD,
        )  # fmt: skip
        assert held.id is not None
        s.add(
            Minutes(
                meeting_id=held.id,
                record_due=date(2027, 1, 6),
                circulate_due=date(2027, 1, 11),
                created_at=clock.now(),
            )
        )
        # Two overdue actions.
        busy = group("CP-2027-0004", date(2026, 12, 14), north)
        make_meeting(
            session=s, clock=clock, group=busy, created_by=sam,
            starts_at=at(date(2027, 1, 5)), status=MeetingStatus.HELD,
        )  # fmt: skip
        for due in (date(2027, 1, 4), date(2027, 1, 8)):
            make_action(session=s, clock=clock, group=busy, owner=priya, due_on=due)
        # Another team's group with plenty wrong: the manager must not see any of it.
        other = group("CP-2027-0005", date(2026, 12, 31), south)
        make_action(session=s, clock=clock, group=other, owner=priya, due_on=date(2027, 1, 4))
        s.commit()
    return Team5(group_ids=ids)


def test_journey_5_manager_sees_what_needs_attention_in_the_team(
    chat: ChatDriver, team5: Team5
) -> None:
    out = reply(chat(f"{TODAY}\nas tamsin\n/coregroup team"), "/coregroup team")
    assert "== North Team — your team's core groups ==" in out
    assert "4 open groups, as of Wed 13 Jan 2027." in out
    assert "First meetings due in the next 10 working days, not booked in time:" in out
    assert "CP-2027-0001: first core group due by Fri 15 Jan 2027 — not booked yet" in out
    assert "No core group for over 6 weeks:" in out
    assert "CP-2027-0002: last met Mon 23 Nov 2026 (7 weeks ago); nothing booked" in out
    assert "Late minutes:" in out
    assert (
        "CP-2027-0003: minutes of the meeting on Mon 4 Jan 2027 not recorded on the case system "
        "(due Wed 6 Jan 2027, 7 days late)" in out
    )
    assert "Overdue actions:" in out
    assert "CP-2027-0004: 2 overdue actions, the oldest by 9 days (Priya)" in out
    assert "CP-2027-0005" not in out
    assert "`/coregroup status CP-2027-0001`" in out


def test_manager_drills_into_their_teams_groups_but_no_others(
    chat: ChatDriver, team5: Team5, engine: Engine
) -> None:
    out = reply(chat(f"{TODAY}\nas tamsin\n/coregroup status CP-2027-0004"), "/coregroup status")
    assert "== CP-2027-0004 — the core group at a glance ==" in out
    assert "Overdue actions (2):" in out
    other = chat("/coregroup status CP-2027-0005")
    missing = chat("/coregroup status CP-2027-0099")
    assert "I can't find a core group matching CP-2027-0005 that you belong to." in other
    assert other.replace("0005", "0099") == missing
    with Session(engine) as s:
        entries = s.exec(select(AuditEntry).where(AuditEntry.what == "command:status")).all()
        assert [(e.group_id, e.kind) for e in entries] == [
            (team5.group_ids["CP-2027-0004"], AuditKind.READ)
        ]


def test_team_view_is_audited_per_group_it_read(
    chat: ChatDriver, team5: Team5, engine: Engine
) -> None:
    chat(f"{TODAY}\nas tamsin\n/coregroup team")
    with Session(engine) as s:
        read = s.exec(select(AuditEntry.group_id).where(AuditEntry.what == "command:team")).all()
    north = {team5.group_ids[r] for r in ("CP-2027-0001", "CP-2027-0002", "CP-2027-0003")}
    assert set(read) == north | {team5.group_ids["CP-2027-0004"]}


def test_team_view_refuses_people_who_are_not_managers_kindly(
    chat: ChatDriver, team5: Team5
) -> None:
    out = chat("as sam\n/coregroup team")
    assert "The team view is for team managers." in out
    assert "/coregroup home" in out
    for ref in team5.group_ids:
        assert ref not in out


def test_a_manager_with_nothing_to_worry_about_is_told_so(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    chat("as tamsin\n/coregroup home")
    with Session(engine, expire_on_commit=False) as s:
        tamsin = s.exec(select(Person).where(named(s, "Tamsin"))).one()
        team = make_team_manager(s, person=tamsin, team_name="  East   Team ")
        s.commit()
    assert team.name == "East Team"
    out = chat("/coregroup team")
    assert "== East Team — your team's core groups ==" in out
    assert "0 open groups" in out and "Nothing needs your attention today." in out


def test_make_team_manager_reuses_an_existing_team(session: Session, clock: FakeClock) -> None:
    team = make_team(session=session, name="West Team")
    person = make_person(session=session, clock=clock)
    assert make_team_manager(session, person=person, team_name="West Team").id == team.id
    assert person.team_id == team.id and person.is_team_manager
    assert len(session.exec(select(Team)).all()) == 1


# --- home ---------------------------------------------------------------------------------------


def test_home_shows_my_actions_overdue_first_meetings_updates_owed_and_groups_i_chair(
    chat: ChatDriver, team5: Team5, engine: Engine, clock: FakeClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        priya = s.exec(select(Person).where(named(s, "Priya"))).one()
        sam = s.exec(select(Person).where(named(s, "Sam"))).one()
        first = s.get(CoreGroup, team5.group_ids["CP-2027-0001"])
        assert first is not None and priya.id is not None
        make_action(
            session=s, clock=clock, group=first, owner=priya,
            description="Share the attendance record", due_on=date(2027, 1, 20),
        )  # fmt: skip
        meeting = make_meeting(
            session=s, clock=clock, group=first, created_by=sam,
            starts_at=at(date(2027, 1, 14), 14), venue="Oak Family Centre",
        )  # fmt: skip
        assert meeting.id is not None
        s.add(
            MemberUpdate(
                meeting_id=meeting.id,
                person_id=priya.id,
                state=UpdateState.IN_PROGRESS,
                updated_at=clock.now(),
            )
        )
        s.commit()
    home = reply(chat(f"{TODAY}\nas priya\n/coregroup home"), "/coregroup home")
    assert "== Your core groups ==" in home
    actions = home[home.index("Your actions:") : home.index("Your next meetings:")]
    lines = [line.strip() for line in actions.splitlines()[1:]]
    assert lines[0].startswith("• CP-2027-0004: ⚠ OVERDUE by 9 days: #1")
    assert lines[1].startswith("• CP-2027-0005: ⚠ OVERDUE by 9 days: #1")
    assert lines[2].startswith("• CP-2027-0004: ⚠ OVERDUE by 5 days: #2")
    assert lines[3] == "• CP-2027-0001: #1 Share the attendance record — due Wed 20 Jan 2027"
    assert "CP-2027-0001: Thu 14 Jan 2027, 14:00 — Oak Family Centre" in home
    assert "Updates you owe:" in home
    assert "CP-2027-0001: your update for the meeting on Thu 14 Jan 2027" in home
    assert "Groups you chair" not in home  # Priya chairs none
    sams = chat("as sam\n/coregroup home")
    assert "Groups you chair:" in sams
    assert "CP-2027-0001: First core group by Fri 15 Jan 2027 — booked for Thu 14 Jan 2027" in sams
    assert "Your actions: nothing open." in sams


def test_home_for_someone_in_no_group_says_how_to_join(chat: ChatDriver, engine: Engine) -> None:
    out = chat("as newbie\n/coregroup home")
    assert "You're not in any core group yet. A chair can add you." in out
    with Session(engine) as s:
        assert s.exec(select(AuditEntry).where(AuditEntry.what == "command:home")).all() == []
