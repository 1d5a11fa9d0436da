"""The timeliness and participation report (issue 17): exact counts for a known quarter, a
fixed number of queries however many groups, and (through the chat and the CLI) who may see it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session

from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.report import Period, Report, Step, Timeliness, build_report
from storage.enums import AttendanceStatus, MeetingStatus, Role
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
from tests.scenarios.report_world import QUARTER, RUN_ON, Quarter, at, build_quarter


@pytest.fixture
def quarter(engine: Engine, clock: FakeClock) -> Quarter:
    """The synthetic first quarter of 2027 (tests/scenarios/report_world.py)."""
    return build_quarter(engine, clock)


def north_report(engine: Engine, world: Quarter) -> Report:
    with Session(engine) as s:
        return build_report(
            s, team_ids=[world.north_id], period=Period(*QUARTER), now=RUN_ON, locale=Locale()
        )


def test_each_statutory_step_is_on_time_late_by_working_days_or_missed(
    engine: Engine, quarter: Quarter
) -> None:
    report = north_report(engine, quarter)
    found = [(s.reference, s.step, s.due, s.status, s.working_days_late) for s in report.steps()]
    a, b = "CP-2027-0001", "CP-2027-0002"
    assert found == [
        (a, Step.FIRST_MEETING, date(2027, 1, 18), Timeliness.ON_TIME, 0),
        (a, Step.RECORD, date(2027, 1, 18), Timeliness.ON_TIME, 0),
        (a, Step.CIRCULATE, date(2027, 1, 21), Timeliness.LATE, 2),
        (a, Step.NEXT_MEETING, date(2027, 2, 25), Timeliness.LATE, 5),
        (a, Step.RECORD, date(2027, 3, 8), Timeliness.MISSED, 19),
        (a, Step.CIRCULATE, date(2027, 3, 11), Timeliness.MISSED, 16),
        (a, Step.RECORD, date(2027, 3, 30), Timeliness.ON_TIME, 0),
        (a, Step.AFTER_REVIEW, date(2027, 3, 31), Timeliness.ON_TIME, 0),
        (b, Step.FIRST_MEETING, date(2027, 3, 31), Timeliness.MISSED, 4),
    ]


def test_totals_and_rates_per_group_and_for_the_team(engine: Engine, quarter: Quarter) -> None:
    report = north_report(engine, quarter)
    assert report.teams == ["North Team"]
    total = report.total()
    assert (total.on_time, total.late, total.missed, total.pending) == (4, 2, 3, 0)
    assert total.on_time_rate == pytest.approx(4 / 9)
    assert total.working_days_late == 7
    first = report.total(Step.FIRST_MEETING)
    assert (first.on_time, first.missed, first.on_time_rate) == (1, 1, 0.5)
    by_ref = {g.reference: g for g in report.groups}
    assert set(by_ref) == {"CP-2027-0001", "CP-2027-0002"}
    a = by_ref["CP-2027-0001"]
    assert (a.tally().on_time, a.tally().late, a.tally().missed) == (4, 2, 2)
    assert (a.open_actions, a.overdue_actions, a.drifting_outcomes) == (2, 1, 2)
    assert (report.open_actions, report.overdue_actions, report.drifting_outcomes) == (2, 1, 2)
    months = {m.month: (t.on_time, t.late, t.missed) for m, t in report.by_month()}
    assert months == {1: (2, 1, 0), 2: (0, 1, 0), 3: (2, 0, 3)}


def test_participation_per_agency_and_role_is_counts_and_rates(
    engine: Engine, quarter: Quarter
) -> None:
    report = north_report(engine, quarter)
    agencies = {
        p.name: (
            p.attended,
            p.apologies,
            p.absent,
            p.updates_asked,
            p.updates_returned,
            p.actions_due,
            p.actions_on_time,
            p.actions_late,
            p.actions_not_done,
            p.disagreements,
        )
        for p in report.by_agency
    }
    assert agencies == {
        "Castle Surgery": (1, 2, 0, 1, 0, 2, 0, 1, 1, 0),
        "Children's Social Care": (3, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        "Oakfield Primary": (2, 0, 1, 1, 1, 1, 1, 0, 0, 1),
        "Family": (2, 0, 1, 1, 0, 0, 0, 0, 0, 0),
    }
    assert [p.name for p in report.by_agency][-1] == "Family"
    gp = next(p for p in report.by_agency if p.name == "Castle Surgery")
    assert gp.attendance_rate == pytest.approx(1 / 3)
    assert gp.updates_rate == 0
    assert gp.actions_rate == 0
    school = next(p for p in report.by_role if p.name == Role.SCHOOL.label)
    assert (school.attendance_rate, school.updates_rate, school.actions_rate) == (
        pytest.approx(2 / 3),
        1,
        1,
    )
    assert {p.name for p in report.by_role} == {
        Role.KEY_WORKER.label,
        Role.SCHOOL.label,
        Role.GP.label,
        Role.PARENT_CARER.label,
    }


def test_another_teams_groups_are_never_in_the_report(engine: Engine, quarter: Quarter) -> None:
    with Session(engine) as s:
        south = build_report(
            s, team_ids=[quarter.south_id], period=Period(*QUARTER), now=RUN_ON, locale=Locale()
        )
        both = build_report(
            s,
            team_ids=[quarter.north_id, quarter.south_id],
            period=Period(*QUARTER),
            now=RUN_ON,
            locale=Locale(),
        )
    assert [g.reference for g in south.groups] == ["CP-2027-0003"]
    assert {p.name: p.absent for p in south.by_agency} == {"Oakfield Primary": 1}
    assert both.teams == ["North Team", "South Team"]
    assert [g.reference for g in both.groups] == ["CP-2027-0001", "CP-2027-0002", "CP-2027-0003"]


# --- bounded cost -------------------------------------------------------------------------------


def build_groups(engine: Engine, clock: FakeClock, count: int, *, team: str) -> int:
    """`count` groups in a new team, each with members, meetings, attendance, actions, outcomes."""
    clock.set(at(date(2026, 12, 1), 9))
    with Session(engine, expire_on_commit=False) as s:
        made = make_team(session=s, name=team)
        people = [
            make_person(session=s, clock=clock, agency=agency, platform=None)
            for agency in ("Social Care", "School", "Health")
        ]
        for n in range(count):
            case = make_case(
                session=s,
                clock=clock,
                reference=f"CP-{made.id}-{n:04d}",
                icpc_date=date(2026, 12, 1) + timedelta(days=n % 20),
            )
            group = make_group(session=s, clock=clock, case=case, team_id=made.id)
            for person, role in zip(people, (Role.KEY_WORKER, Role.SCHOOL, Role.GP), strict=True):
                make_membership(session=s, clock=clock, group=group, person=person, role=role)
            outcome = make_outcome(session=s, clock=clock, group=group)
            for k in range(3):
                meeting = make_meeting(
                    session=s,
                    clock=clock,
                    group=group,
                    created_by=people[0],
                    starts_at=at(date(2026, 12, 14) + timedelta(weeks=5 * k, days=n % 3)),
                    status=MeetingStatus.HELD,
                )
                for person in people:
                    make_attendance(
                        session=s,
                        clock=clock,
                        meeting=meeting,
                        person=person,
                        status=AttendanceStatus.ATTENDED,
                    )
            make_action(
                session=s,
                clock=clock,
                group=group,
                owner=people[1],
                outcome=outcome,
                due_on=date(2027, 1, 20),
            )
        s.commit()
        assert made.id is not None
        return made.id


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on `engine` while the block runs."""
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_for(engine: Engine, team_id: int, groups: int) -> int:
    """How many statements the report for the team runs (checking it saw every group)."""
    with Session(engine) as s, counting(engine) as seen:
        report = build_report(
            s,
            team_ids=[team_id],
            period=Period(date(2026, 12, 1), date(2027, 3, 31)),
            now=RUN_ON,
            locale=Locale(),
        )
    assert len(report.groups) == groups
    assert sum(p.attended for p in report.by_agency) == groups * 3 * 3
    return len(seen)


def test_the_report_reads_a_fixed_number_of_queries_however_many_groups(
    engine: Engine, clock: FakeClock
) -> None:
    small = build_groups(engine, clock, 5, team="Small Team")
    large = build_groups(engine, clock, 50, team="Large Team")
    five, fifty = statements_for(engine, small, 5), statements_for(engine, large, 50)
    assert five == fifty
    assert five <= 12  # one query per table read, never one per group
