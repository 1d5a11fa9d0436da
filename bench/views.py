"""Statements and CPU of the views across groups: `team`, `home`, `actions mine`, `status REF`.

Usage:  python bench/views.py [--groups 200] [--runs 5] [--database-url postgresql+psycopg://...]

A team manager chairs `--groups` groups of their team (and a second manager one group, for
comparison); each group has a held meeting with minutes owed, a meeting booked, two overdue
actions and one open. Each command runs through the real dispatcher (parse, access, handler,
audit, commit) on SQLite in a fresh temporary file unless --database-url names an empty
database. Printed per command: statements (SQLAlchemy `before_cursor_execute`), the median
process CPU (time.process_time: this process, so the Python and the SQLite engine; on
PostgreSQL the server's CPU is not in it), and the median wall time, which on a busy shared
machine is the least trustworthy of the three.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.local import LocalDirectory  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.core.context import Locale  # noqa: E402
from bot.core.people import Who  # noqa: E402
from commands import build_registry  # noqa: E402
from commands.dispatch import Dispatcher  # noqa: E402
from storage.db import make_engine, upgrade  # noqa: E402
from storage.enums import Platform  # noqa: E402
from tests.factories import managed_team  # noqa: E402

LONDON = ZoneInfo("Europe/London")
TODAY = date(2027, 1, 13)
COMMANDS = ("team", "home", "actions mine", "status {ref}")


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)


def seed(engine: Engine, clock: FakeClock, *, name: str, user: str, year: int, groups: int) -> str:
    """A team of `groups` groups chaired by its manager `user`; returns one group's reference."""
    with Session(engine) as s:
        reference = managed_team(
            s, clock, name=name, manager=user, year=year, groups=groups, today=TODAY
        )
        s.commit()
    return reference


def measure(run: Callable[[], Any], engine: Engine, runs: int) -> tuple[int, float, float]:
    """Statements of one run, then the median CPU and wall seconds of `runs` runs."""
    seen: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    run()
    event.remove(engine, "before_cursor_execute", count)
    cpu, wall = [], []
    for _ in range(runs):
        c0, w0 = time.process_time(), time.perf_counter()
        run()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return len(seen), statistics.median(cpu), statistics.median(wall)


def main() -> None:
    from storage.crypto import new_key_text

    os.environ.setdefault("DATA_KEY", new_key_text())  # throw-away data, a throw-away key
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/views.db"
    engine = make_engine(url)
    upgrade(engine)
    clock = FakeClock(datetime(2026, 11, 23, 9, tzinfo=LONDON).astimezone(UTC))
    refs = {
        "one": seed(engine, clock, name="North Team", user="tamsin", year=2026, groups=1),
        "many": seed(engine, clock, name="South Team", user="tilly", year=2027, groups=args.groups),
    }
    clock.set(_at(TODAY, 9))
    dispatcher = Dispatcher(
        engine=engine, clock=clock, locale=Locale(), platform=Platform.LOCAL,
        directory=LocalDirectory(), registry=build_registry(),
    )  # fmt: skip
    print(f"{engine.dialect.name}, today {TODAY}: statements, median CPU ms, median wall ms")
    for who, user in (("one", "tamsin"), ("many", "tilly")):
        person = Who(Platform.LOCAL, user, user.title())
        dispatcher.command(person, "help")  # first contact: identity and welcome
        groups = 1 if who == "one" else args.groups
        for command in COMMANDS:
            text = command.format(ref=refs[who])
            run = lambda t=text, p=person: dispatcher.command(p, t)  # noqa: E731
            n, cpu, wall = measure(run, engine, args.runs)
            print(
                f"  manager of {groups:>4} group(s)  {command.split(' {')[0]:<13} "
                f"{n:>5} statements  {cpu * 1000:8.1f} ms CPU  {wall * 1000:8.1f} ms wall"
            )


if __name__ == "__main__":
    main()
