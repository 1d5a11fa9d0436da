"""The timeliness and participation report (issue 17): exact counts for a known quarter, a
fixed number of queries however many groups, and (through the chat and the CLI) who may see it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from bot.cli import main
from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.report import Period, Report, Step, Timeliness, build_report
from bot.core.report_render import CHART_SIZE
from storage.enums import AttendanceStatus, AuditKind, MeetingStatus, Role
from storage.models import AuditEntry, Membership, Person
from tests.factories import (
    clear_settings_environment,
    make_action,
    make_attendance,
    make_case,
    make_group,
    make_meeting,
    make_membership,
    make_outcome,
    make_person,
    make_team,
    named,
)
from tests.scenarios.conftest import ChatDriver
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


# --- in chat ------------------------------------------------------------------------------------

RUN = "clock 2027-04-06 09:00"
NORTH_Q1 = "report-north-team-2027-01-01-to-2027-03-31"


def reply_to(out: str, typed: str) -> str:
    """What the bot answered to the line `typed`."""
    tail = out[out.index(f"> {typed}") :]
    end = tail.find("\n> ", 1)
    return tail if end == -1 else tail[:end]


def test_manager_gets_the_report_privately_with_the_chart_and_the_csv(
    chat: ChatDriver, quarter: Quarter, engine: Engine, tmp_path: Path
) -> None:
    typed = "/coregroup report 1/1/2027 to 31/3/2027"
    out = reply_to(chat(f"{RUN}\nas tamsin\n{typed}"), typed)
    assert "[DM to tamsin]" in out
    assert "== North Team — core group timeliness, Fri 1 Jan 2027 to Wed 31 Mar 2027 ==" in out
    assert "Overall: 4 of 9 on time (44%), 2 late (by 7 working days in all), 3 missed." in out
    assert "First core group: 1 of 2 on time (50%), 1 missed" in out
    assert "CP-2027-0002: 0 of 1 on time (0%), 1 missed" in out
    assert (
        "Castle Surgery: attended 1 of 3 meetings (33%), 2 apologies, 0 absent; 0 of 1 updates "
        "returned before the meeting (0%); 0 of 2 actions done on time (0%)" in out
    )
    assert (
        "The chart, in words: Chart 1, statutory steps by the month they were due — January "
        "2027: 2 on time, 1 late, 0 missed; February 2027: 0 on time, 1 late, 0 missed; March "
        "2027: 2 on time, 0 late, 3 missed." in out
    )
    assert f"I've sent you the report in your direct messages with me ({NORTH_Q1}.png and " in out
    said = "\n".join(line for line in out.splitlines() if not line.strip().startswith("["))
    for name in ("Tamsin", "Priya", "Khan", "Jo", "Sam"):
        assert not re.search(rf"\b{name}\b", said, re.IGNORECASE)
    folder = tmp_path / "files" / "dm-to-tamsin"
    with Image.open(folder / f"{NORTH_Q1}.png") as image:
        assert image.format == "PNG"
        assert image.size == CHART_SIZE
    rows = list(csv.DictReader(io.StringIO((folder / f"{NORTH_Q1}.csv").read_text("utf-8-sig"))))
    total = next(r for r in rows if r["section"] == "group" and r["case_reference"] == "ALL")
    assert (total["on_time"], total["late"], total["missed"], total["on_time_rate"]) == (
        "4",
        "2",
        "3",
        "0.444",
    )
    assert (total["open_actions"], total["overdue_actions"], total["drifting_outcomes"]) == (
        "2",
        "1",
        "2",
    )
    sent = next(
        r
        for r in rows
        if r["section"] == "step"
        and r["case_reference"] == "CP-2027-0001"
        and r["subject"] == "minutes sent"
    )
    assert (sent["on_time"], sent["late"], sent["missed"], sent["working_days_late"]) == (
        "0",
        "1",
        "1",
        "2",
    )
    school = next(r for r in rows if (r["section"], r["subject"]) == ("agency", "Oakfield Primary"))
    assert (school["attended"], school["absent"], school["attendance_rate"]) == ("2", "1", "0.667")
    assert (school["updates_returned"], school["actions_on_time"], school["disagreements"]) == (
        "1",
        "1",
        "1",
    )
    assert {r["section"] for r in rows} == {"step", "group", "month", "agency", "role"}
    assert {r["case_reference"] for r in rows} <= {"CP-2027-0001", "CP-2027-0002", "ALL", ""}
    with Session(engine) as s:
        audited = s.exec(select(AuditEntry).where(AuditEntry.what == "command:report")).all()
    assert sorted((e.group_id or 0) for e in audited) == sorted(
        [0, quarter.group_ids["CP-2027-0001"], quarter.group_ids["CP-2027-0002"]]
    )
    run = next(e for e in audited if e.group_id is None)
    assert run.kind == AuditKind.READ
    assert run.detail == f"teams={quarter.north_id} from=2027-01-01 to=2027-03-31 format=png+csv"


def test_a_manager_of_another_team_gets_nothing_about_these_groups(
    chat: ChatDriver, quarter: Quarter, tmp_path: Path
) -> None:
    typed = "/coregroup report last quarter"
    out = reply_to(chat(f"{RUN}\nas sean\n{typed}"), typed)
    assert "== South Team — core group timeliness, Fri 1 Jan 2027 to Wed 31 Mar 2027 ==" in out
    assert "1 core group." in out
    assert "CP-2027-0001" not in out and "CP-2027-0002" not in out
    folder = tmp_path / "files" / "dm-to-sean"
    text = (folder / "report-south-team-2027-01-01-to-2027-03-31.csv").read_text("utf-8-sig")
    assert "CP-2027-0003" in text
    assert "CP-2027-0001" not in text and "CP-2027-0002" not in text
    assert "Castle Surgery" not in text and "Children's Social Care" not in text


def test_people_who_are_not_managers_are_refused_and_see_no_group(
    chat: ChatDriver, quarter: Quarter
) -> None:
    typed = "/coregroup report last quarter"
    out = reply_to(chat(f"{RUN}\nas sam\n{typed}"), typed)
    assert "The report is for team managers" in out
    assert "CP-2027-000" not in out
    assert "[DM to" not in out


@pytest.mark.parametrize(
    ("period", "said"),
    [
        (
            "31/02 to 5/3",
            'I can\'t read "31/02 to 5/3" as a period: 31/02/2027 is not a real date: February '
            "has 28 days in 2027.",
        ),
        (
            "31/3/2027 to 1/1/2027",
            "The period ends (2027-01-01) before it starts (2027-03-31).",
        ),
        ("sometime in spring", 'I can\'t read "sometime in spring" as a period'),
        ("1/1/2025 to 31/3/2027", "Please ask for two years at most in one report."),
    ],
)
def test_a_bad_period_gets_a_clear_message_with_an_example(
    chat: ChatDriver, quarter: Quarter, period: str, said: str
) -> None:
    typed = f"/coregroup report {period}"
    out = reply_to(chat(f"{RUN}\nas tamsin\n{typed}"), typed)
    assert said in out
    assert "/coregroup report 1/1/2027 to 31/3/2027" in out
    assert "[DM to tamsin]" not in out


@pytest.mark.parametrize(
    ("words", "start", "end"),
    [
        ("", "Thu 1 Apr 2027", "Wed 30 Jun 2027"),
        ("this quarter", "Thu 1 Apr 2027", "Wed 30 Jun 2027"),
        ("last month", "Mon 1 Mar 2027", "Wed 31 Mar 2027"),
        ("this month", "Thu 1 Apr 2027", "Fri 30 Apr 2027"),
        ("last year", "Thu 1 Jan 2026", "Thu 31 Dec 2026"),
        # Without a year, a day means the latest such day: 1 Feb 2027, not 2028.
        ("from 1/2 to 28/2", "Mon 1 Feb 2027", "Sun 28 Feb 2027"),
        ("1 Dec 2026 - 31 Jan 2027", "Tue 1 Dec 2026", "Sun 31 Jan 2027"),
    ],
)
def test_periods_can_be_named_or_given_as_two_days(
    chat: ChatDriver, quarter: Quarter, words: str, start: str, end: str
) -> None:
    out = chat(f"{RUN}\nas tamsin\n/coregroup report {words}")
    assert f"core group timeliness, {start} to {end} ==" in out


def test_a_pdf_carries_the_chart_and_its_words(
    chat: ChatDriver, quarter: Quarter, tmp_path: Path
) -> None:
    typed = "/coregroup report last quarter pdf"
    out = reply_to(chat(f"{RUN}\nas tamsin\n{typed}"), typed)
    assert f"({NORTH_Q1}.pdf)" in out
    assert ".csv" not in out
    pdf = PdfReader(tmp_path / "files" / "dm-to-tamsin" / f"{NORTH_Q1}.pdf")
    page = pdf.pages[0]
    assert len(page.images) == 1
    text = " ".join(page.extract_text().split())
    assert "OFFICIAL-SENSITIVE" in text
    assert "Overall: 4 of 9 on time (44%)" in text
    assert "The chart, in words: Chart 1" in text
    assert "CP-2027-0003" not in text


def test_csv_cells_a_spreadsheet_would_run_are_quoted(
    chat: ChatDriver, quarter: Quarter, engine: Engine, tmp_path: Path
) -> None:
    with Session(engine) as s:
        priya = s.exec(select(Person).where(named(s, "Priya"))).one()
        for membership in s.exec(select(Membership).where(Membership.person_id == priya.id)):
            membership.agency = '=HYPERLINK("http://example.org","x")'
            s.add(membership)
        s.commit()
    chat(f"{RUN}\nas tamsin\n/coregroup report last quarter csv")
    text = (tmp_path / "files" / "dm-to-tamsin" / f"{NORTH_Q1}.csv").read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    agencies = {r["subject"] for r in rows if r["section"] == "agency"}
    assert '\'=HYPERLINK("http://example.org","x")' in agencies


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> pytest.MonkeyPatch:
    """The CLI's environment: only DATABASE_URL set, run in tmp_path."""
    clear_settings_environment(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_writes_a_partnership_wide_csv_and_audits_the_run(
    quarter: Quarter,
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    engine: Engine,
) -> None:
    code, out, err = run_cli(
        capsys,
        *("report", "--team", "North Team", "--team", "South Team"),
        *("--from", "2027-01-01", "--to", "2027-03-31", "--format", "csv"),
    )
    assert code == 0, err
    path = tmp_path / "report-north-team-south-team-2027-01-01-to-2027-03-31.csv"
    assert out.strip() == f"Wrote the report on 3 core groups to {path}"
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))
    groups = {r["case_reference"]: r["team"] for r in rows if r["section"] == "group"}
    assert groups == {
        "CP-2027-0001": "North Team",
        "CP-2027-0002": "North Team",
        "CP-2027-0003": "South Team",
        "ALL": "North Team and South Team",
    }
    with Session(engine) as s:
        audited = s.exec(select(AuditEntry).where(AuditEntry.what == "report:cli")).all()
    assert len(audited) == 4
    assert all(e.actor_id is None and e.kind == AuditKind.READ for e in audited)


def test_cli_prints_the_summary_and_explains_bad_input(
    quarter: Quarter, cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys, "report", "--team", "north  team", "--from", "2027-01-01", "--to", "2027-03-31"
    )
    assert code == 2 and "no team is called 'north team' (teams: North Team, South Team)" in err
    code, out, err = run_cli(
        capsys, "report", "--team", "North Team", "--from", "2027-01-01", "--to", "2027-03-31"
    )
    assert code == 0, err
    assert "== North Team — core group timeliness, Fri 1 Jan 2027 to Wed 31 Mar 2027 ==" in out
    code, _, err = run_cli(
        capsys, "report", "--team", "North Team", "--from", "2027-03-31", "--to", "2027-01-01"
    )
    assert code == 2
    assert "The period ends (2027-01-01) before it starts (2027-03-31)." in err
    assert "--from 2027-01-01 --to 2027-03-31" in err
    code, _, err = run_cli(
        capsys, "report", "--team", "North Team", "--from", "31/02/2027", "--to", "2027-03-31"
    )
    assert code == 2 and '"31/02/2027" is not a date' in err


def test_a_scottish_case_is_judged_by_scotlands_timescales_and_bank_holidays(
    engine: Engine, clock: FakeClock
) -> None:
    clock.set(at(date(2026, 11, 23), 9))
    with Session(engine, expire_on_commit=False) as s:
        team = make_team(session=s, name="Border Team")
        case = make_case(
            session=s,
            clock=clock,
            reference="CP-2026-0901",
            nation="scotland",
            icpc_date=date(2026, 11, 23),
        )
        group = make_group(session=s, clock=clock, case=case, team_id=team.id)
        chair = make_person(session=s, clock=clock, agency="Social Work")
        make_membership(session=s, clock=clock, group=group, person=chair, role=Role.KEY_WORKER)
        make_meeting(
            session=s,
            clock=clock,
            group=group,
            created_by=chair,
            starts_at=at(date(2026, 12, 16)),
            status=MeetingStatus.HELD,
        )
        s.commit()
        assert team.id is not None
        report = build_report(
            s,
            team_ids=[team.id],
            period=Period(date(2026, 12, 1), date(2027, 1, 31)),
            now=at(date(2027, 1, 20), 9),
            locale=Locale(),
        )
    found = [(r.step, r.due, r.status, r.working_days_late) for r in report.steps()]
    assert found == [
        # 15 working days after the CPPM; St Andrew's Day (Mon 30 Nov) is not one.
        (Step.FIRST_MEETING, date(2026, 12, 15), Timeliness.LATE, 1),
        (Step.CIRCULATE, date(2026, 12, 23), Timeliness.MISSED, 16),
        # Scotland records within 10 working days: Christmas and New Year's holidays skipped.
        (Step.RECORD, date(2027, 1, 5), Timeliness.MISSED, 11),
        (Step.NEXT_MEETING, date(2027, 1, 27), Timeliness.PENDING, 0),
    ]
