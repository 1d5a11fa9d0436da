"""How long the timeliness report takes for 200 groups over a year, and how many queries it runs.

Usage:  python bench/report.py [--groups 200] [--rounds 5] [--database-url URL]

Fills a throw-away SQLite file (or the PostgreSQL database at --database-url, which must hold no
core groups; it is migrated first) with one team's groups: six members each, a core group every
five to seven weeks over 2027 with attendance, updates and minutes (some recorded or sent late,
some never), fifteen actions each (some done late, some still open), three outcomes and a review
conference. Then it
builds the report for the year and renders it as the chat message, CSV, PNG and PDF, again and
again. It prints the statements the report ran (the same for any number of groups) and wall time
per part: the first run (cold: matplotlib is imported, fonts are read) and the median of the rest.
Target: under 2 s for the report with its chart and CSV (what `/coregroup report` sends).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
TARGET = 2.0
LONDON = ZoneInfo("Europe/London")
YEAR = (date(2027, 1, 1), date(2027, 12, 31))
RUN_ON = datetime(2028, 1, 10, 9, tzinfo=LONDON)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)


def fill(engine: object, groups: int) -> int:
    """One team with `groups` busy groups over 2027; returns the team's id."""
    from sqlmodel import Session

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
        Attendance,
        Case,
        CoreGroup,
        Meeting,
        Membership,
        MemberUpdate,
        Minutes,
        Outcome,
        Person,
        ReviewConference,
        Team,
    )

    roles = (
        (Role.KEY_WORKER, "Children's Social Care"),
        (Role.PARENT_CARER, ""),
        (Role.SCHOOL, "Oakfield Primary School"),
        (Role.HEALTH_VISITOR, "Community Health"),
        (Role.GP, "Riverside Surgery"),
        (Role.POLICE, "Police"),
    )
    statuses = (AttendanceStatus.ATTENDED, AttendanceStatus.APOLOGIES, AttendanceStatus.ABSENT)
    with Session(engine) as s:  # type: ignore[call-overload]
        team = Team(name="Bench Team")
        s.add(team)
        s.flush()
        for n in range(groups):
            icpc = date(2026, 12, 1) + timedelta(days=n % 60)
            case = Case(reference=f"CP-2027-{n:04d}", icpc_date=icpc, created_at=at(icpc))
            s.add(case)
            s.flush()
            group = CoreGroup(case_id=case.id, team_id=team.id, created_at=at(icpc))
            people = [
                Person(display_name=f"P{n}-{i}", agency=agency, created_at=at(icpc))
                for i, (_, agency) in enumerate(roles)
            ]
            s.add_all([group, *people])
            s.flush()
            s.add_all(
                Membership(
                    group_id=group.id,
                    person_id=p.id,
                    role=role,
                    agency=agency,
                    joined_at=at(icpc),
                )
                for p, (role, agency) in zip(people, roles, strict=True)
            )
            review = icpc + timedelta(days=90)
            s.add(ReviewConference(case_id=case.id, held_on=review, recorded_at=at(review)))
            outcomes = [
                Outcome(
                    group_id=group.id,
                    number=k + 1,
                    title="An outcome",
                    created_at=at(icpc),
                    last_activity_at=at(icpc + timedelta(days=30 * k)),
                )
                for k in range(3)
            ]
            day = icpc + timedelta(days=8 + n % 5)
            meetings = []
            while day <= YEAR[1]:
                if day.weekday() < 5:
                    meetings.append(
                        Meeting(
                            group_id=group.id,
                            kind=MeetingKind.REGULAR,
                            starts_at=at(day),
                            status=MeetingStatus.HELD,
                            created_by=people[0].id,
                            created_at=at(icpc),
                            updated_at=at(day),
                        )
                    )
                day += timedelta(days=35 + (n + len(meetings)) % 14)
            s.add_all([*outcomes, *meetings])
            s.flush()
            for k, meeting in enumerate(meetings):
                held = meeting.starts_at.astimezone(LONDON).date()
                s.add_all(
                    Attendance(
                        meeting_id=meeting.id,
                        person_id=p.id,
                        status=statuses[(n + k + i) % 3],
                        updated_at=meeting.starts_at,
                    )
                    for i, p in enumerate(people)
                )
                s.add_all(
                    MemberUpdate(
                        meeting_id=meeting.id,
                        person_id=p.id,
                        state=UpdateState.COMPLETE if (k + i) % 4 else UpdateState.NOT_STARTED,
                        completed_at=meeting.starts_at - timedelta(days=1) if (k + i) % 4 else None,
                        updated_at=meeting.starts_at,
                    )
                    for i, p in enumerate(people)
                )
                if k % 5 != 4:
                    s.add(
                        Minutes(
                            meeting_id=meeting.id,
                            status=MinutesStatus.PUBLISHED,
                            record_due=held + timedelta(days=2),
                            circulate_due=held + timedelta(days=7),
                            recorded_at=at(held + timedelta(days=1 + k % 4)),
                            circulated_at=at(held + timedelta(days=5 + k % 6)),
                            created_at=at(held),
                        )
                    )
            actions = [
                Action(
                    group_id=group.id,
                    number=k + 1,
                    outcome_id=outcomes[k % 3].id,
                    owner_id=people[k % 6].id,
                    description="An action",
                    due_on=date(2027, 1, 15) + timedelta(days=24 * k),
                    status=ActionStatus.DONE if k % 3 else ActionStatus.OPEN,
                    created_by=people[0].id,
                    created_at=at(icpc),
                    updated_at=at(date(2027, 1, 15) + timedelta(days=24 * k + k % 7 - 3)),
                )
                for k in range(15)
            ]
            s.add_all(actions)
            s.flush()
            s.add_all(
                ActionEvent(
                    action_id=a.id,
                    at=a.updated_at,
                    actor_id=a.owner_id,
                    kind=ActionEventKind.STATUS,
                    old_value=ActionStatus.OPEN,
                    new_value=ActionStatus.DONE,
                )
                for a in actions
                if a.status == ActionStatus.DONE
            )
        s.commit()
        assert team.id is not None
        return team.id


def timed(rounds: int, run: Callable[[], object]) -> tuple[float, float, float]:
    """The first run's wall time, and the median wall and CPU time of the next `rounds`.

    CPU time is this process's own: on a machine shared with other work it is the steadier
    figure (wall time includes waiting for a core).
    """
    start = time.perf_counter()
    run()
    first = time.perf_counter() - start
    wall, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return first, statistics.median(wall), statistics.median(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="runs after the first")
    parser.add_argument("--database-url", help="a database with no groups yet (default: SQLite)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from storage.crypto import new_key_text

    os.environ.setdefault("DATA_KEY", new_key_text())  # throw-away data, a throw-away key

    from sqlalchemy import event, func, select
    from sqlmodel import Session

    from bot.core.context import Locale
    from bot.core.report import Period, build_report
    from bot.core.report_render import render_csv, render_pdf, render_png, summary_message
    from storage.db import make_engine, upgrade
    from storage.models import Attendance, Meeting

    with tempfile.TemporaryDirectory(prefix="coregroup-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        start = time.perf_counter()
        team_id = fill(engine, args.groups)
        filled = time.perf_counter() - start
        with Session(engine) as s:
            meetings = s.exec(select(func.count()).select_from(Meeting)).one()[0]
            attendance = s.exec(select(func.count()).select_from(Attendance)).one()[0]
        locale, period = Locale(), Period(*YEAR)
        statements: list[str] = []

        def count(_c: object, _cur: object, statement: str, *_: object) -> None:
            statements.append(statement)

        def build() -> object:
            with Session(engine) as s:
                return build_report(s, team_ids=[team_id], period=period, now=RUN_ON, locale=locale)

        event.listen(engine, "before_cursor_execute", count)
        report = build()
        event.remove(engine, "before_cursor_execute", count)
        queries = len(statements)

        def sent() -> object:
            found = build()
            return summary_message(found), render_png(found), render_csv(found)  # type: ignore[arg-type]

        parts = {
            "build (queries + working out)": build,
            "chat message": lambda: summary_message(report),  # type: ignore[arg-type]
            "CSV": lambda: render_csv(report),  # type: ignore[arg-type]
            "PNG chart": lambda: render_png(report),  # type: ignore[arg-type]
            "PDF (chart inside)": lambda: render_pdf(report, marking="OFFICIAL-SENSITIVE"),  # type: ignore[arg-type]
        }
        print(
            f"{args.groups} groups, {meetings} meetings, {attendance} attendance rows over 2027 "
            f"({engine.dialect.name}; filled in {filled:.1f} s)"
        )
        print(f"statements run by the report: {queries}")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"load average {load:.1f} on {os.cpu_count()} cores")
        for name, run in parts.items():
            first, wall, cpu = timed(args.rounds, run)
            print(f"{name:<32} first {first:6.3f} s   median {wall:6.3f} s (CPU {cpu:6.3f} s)")
        _, wall, cpu = timed(args.rounds, sent)
        verdict = "within" if wall < TARGET else "OVER"
        print(
            f"{'report + chart + CSV (as sent)':<32} median {wall:6.3f} s (CPU {cpu:6.3f} s) — "
            f"{verdict} the {TARGET:.0f} s target"
        )
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
