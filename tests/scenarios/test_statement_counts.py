"""Views across groups cost a fixed number of database statements however many groups a person
sees: a team manager of 200 groups waits no longer than one of a single group (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event
from sqlmodel import Session

from bot.clock import FakeClock
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
