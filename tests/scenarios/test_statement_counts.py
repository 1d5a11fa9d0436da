"""Views across groups cost a fixed number of database statements however many groups a person
sees: a team manager of 200 groups waits no longer than one of a single group (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event
from sqlmodel import Session

from bot.clock import FakeClock
from storage.enums import MeetingStatus, Role
from storage.models import Minutes
from tests.factories import (
    make_action,
    make_case,
    make_group,
    make_meeting,
    make_membership,
    make_person,
    make_team,
)
from tests.scenarios.conftest import ChatDriver

LONDON = ZoneInfo("Europe/London")
TODAY = date(2027, 1, 13)  # Wed 13 Jan 2027
COMMANDS = ("/coregroup team", "/coregroup home", "/coregroup actions mine")
LIMIT = 25


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)


def _team(s: Session, clock: FakeClock, *, name: str, manager: str, year: int, groups: int) -> None:
    """A manager who chairs each of the team's `groups` groups; each group has a held meeting
    whose minutes are not recorded yet, one booked ahead, and overdue and open actions."""
    team = make_team(session=s, name=name)
    boss = make_person(
        session=s,
        clock=clock,
        display_name=manager.title(),
        user_id=manager,
        team_id=team.id,
        is_team_manager=True,
    )
    school = make_person(session=s, clock=clock, display_name=f"School of {name}")
    for n in range(1, groups + 1):
        case = make_case(
            session=s, clock=clock, reference=f"CP-{year}-{n:04d}",
            icpc_date=date(2026, 11, 10),
        )  # fmt: skip
        group = make_group(session=s, clock=clock, case=case, team_id=team.id)
        make_membership(
            session=s, clock=clock, group=group, person=boss, role=Role.KEY_WORKER, is_chair=True
        )
        make_membership(session=s, clock=clock, group=group, person=school, role=Role.SCHOOL)
        held = make_meeting(
            session=s, clock=clock, group=group, created_by=boss,
            starts_at=_at(date(2027, 1, 4)), status=MeetingStatus.HELD,
        )  # fmt: skip
        make_meeting(
            session=s, clock=clock, group=group, created_by=boss, starts_at=_at(date(2027, 1, 20))
        )
        assert held.id is not None
        s.add(
            Minutes(
                meeting_id=held.id,
                record_due=date(2027, 1, 6),
                circulate_due=date(2027, 1, 11),
                created_at=clock.now(),
            )
        )
        for owner, due in ((school, -5), (boss, -2), (boss, 7)):
            make_action(
                session=s, clock=clock, group=group, owner=owner, due_on=TODAY + timedelta(days=due)
            )


@contextmanager
def _counting(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _statements(chat: ChatDriver, engine: Engine, *, manager: str, ref: str) -> dict[str, int]:
    """The statements each command costs the manager, once their first contact is over and the
    database has had its first audit entry (an emptied test schema makes the chain's head then)."""
    chat(f"as {manager}\n/coregroup help\n{COMMANDS[0]}")
    counts = {}
    for command in (*COMMANDS, f"/coregroup status {ref}"):
        with _counting(engine) as seen:
            out = chat(command)
        assert "at a glance" in out or not command.startswith("/coregroup status"), out
        counts[command.split(" CP-")[0]] = len(seen)
    return counts


def test_a_manager_of_200_groups_costs_the_statements_of_a_manager_of_1(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    with Session(engine) as s:
        _team(s, clock, name="North Team", manager="tamsin", year=2026, groups=1)
        _team(s, clock, name="South Team", manager="tilly", year=2027, groups=200)
        s.commit()
    chat.local.after_reply = lambda: None  # count the command, not the copies' outbox
    chat(f"clock {TODAY.isoformat()} 09:00")
    one = _statements(chat, engine, manager="tamsin", ref="CP-2026-0001")
    many = _statements(chat, engine, manager="tilly", ref="CP-2027-0200")
    assert one == many
    assert all(n <= LIMIT for n in many.values()), many
