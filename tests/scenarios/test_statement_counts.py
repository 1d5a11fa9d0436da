"""Views across groups cost a fixed number of database statements however many groups a person
sees: a team manager of 200 groups waits no longer than one of a single group; and wording a
chunk of due reminders costs the same statements however many it holds (issue 15)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from itertools import zip_longest
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.reminders import Kind, Planner, ReminderSettings, prepare
from bot.scheduler import ReminderEngine
from storage.enums import ReminderStatus
from storage.models import Reminder
from tests.factories import managed_team
from tests.scenarios.conftest import ChatDriver

LONDON = ZoneInfo("Europe/London")
TODAY = date(2027, 1, 13)  # Wed 13 Jan 2027
COMMANDS = ("/coregroup team", "/coregroup home", "/coregroup actions mine")
LIMIT = 25


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
        managed_team(
            s, clock, name="North Team", manager="tamsin", year=2026, groups=1, today=TODAY
        )
        managed_team(
            s, clock, name="South Team", manager="tilly", year=2027, groups=200, today=TODAY
        )
        s.commit()
    chat.local.after_reply = lambda: None  # count the command, not the copies' outbox
    chat(f"clock {TODAY.isoformat()} 09:00")
    one = _statements(chat, engine, manager="tamsin", ref="CP-2026-0001")
    many = _statements(chat, engine, manager="tilly", ref="CP-2027-0200")
    assert one == many
    assert all(n <= LIMIT for n in many.values()), many


WORDING_DAY = datetime(2027, 1, 19, 9, 0, tzinfo=LONDON)  # Tue: a mix of every kind is due


def _round_robin(rows: list[Reminder], size: int) -> list[int]:
    """`size` due rows taking each kind in turn, so a small chunk has every kind a large one has."""
    by_kind: dict[str, list[Reminder]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: -(r.id or 0)):  # the latest planned first
        by_kind[row.kind].append(row)
    order = [r for turn in zip_longest(*by_kind.values()) for r in turn if r is not None]
    return [r.id for r in order[:size] if r.id is not None]


def _wording_statements(engine: Engine, ids: list[int]) -> tuple[int, int]:
    """The statements `prepare` issues for the rows `ids`, and how many rows it sends (the
    session is rolled back after, so every chunk starts from the same ledger)."""
    planner = Planner(locale=Locale(), settings=ReminderSettings())
    with Session(engine) as session:
        rows = list(session.exec(select(Reminder).where(col(Reminder.id).in_(ids))).all())
        with _counting(engine) as seen:
            prepared = prepare(session, rows, planner=planner, now=WORDING_DAY)
        session.rollback()
    return len(seen), sum(len(o.rows) for o in prepared.outgoing)


def test_wording_a_chunk_of_100_reminders_costs_the_statements_of_a_chunk_of_10(
    engine: Engine, clock: FakeClock
) -> None:
    with Session(engine) as s:
        managed_team(s, clock, name="East Team", manager="tess", year=2027, groups=12, today=TODAY)
        s.commit()
    for days in range(6, -1, -1):  # planned each morning of the week before, nothing sent
        morning = WORDING_DAY - timedelta(days=days)
        reminders = ReminderEngine(
            engine=engine, clock=FakeClock(morning), outboxes={}, locale=Locale()
        )
        reminders.plan(morning)
    with Session(engine) as s:
        due = list(
            s.exec(
                select(Reminder).where(
                    Reminder.status == ReminderStatus.PENDING, col(Reminder.due_at) <= WORDING_DAY
                )
            ).all()
        )
    kinds = {r.kind for r in due}
    assert {Kind.UPDATE_OPEN, Kind.UPDATE_NUDGE, Kind.BRIEF, Kind.DIGEST} <= kinds
    small, small_sent = _wording_statements(engine, _round_robin(due, 10))
    large, large_sent = _wording_statements(engine, _round_robin(due, 100))
    assert small_sent >= 5 and large_sent >= 50  # most of each chunk goes out
    assert large == small, (small, large)
