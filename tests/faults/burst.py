"""A burst of reminders for the fault tests, a fake platform that writes to a file, and a worker
process (`python -m tests.faults.burst …`) that sends them and can be told to die mid-way.

The platform's record is the truth about what was delivered: each message is one line appended
with a single write() (atomic for a short line), so a SIGKILL leaves it either there or not.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlmodel import Session

from bot.clock import Clock, FakeClock
from bot.core.context import Locale
from bot.core.meetings import book_meeting
from bot.core.plan import add_action
from bot.core.reminders import ReminderSettings
from bot.messages import Message, ToGroup, ToPerson
from bot.scheduler import ReminderEngine
from storage.db import make_engine
from storage.enums import MeetingKind, Platform, Role
from tests.factories import make_case, make_group, make_membership, make_person

LONDON = ZoneInfo("Europe/London")
CREATED = datetime(2026, 11, 23, 8, tzinfo=LONDON)  # Mon 23 Nov 2026, 08:00
BURST = datetime(2026, 11, 23, 9, tzinfo=LONDON)  # everything below falls due at 09:00
# Short leases so a restart two simulated minutes later may recover what a dead worker claimed.
SETTINGS = ReminderSettings(lease=timedelta(minutes=1), claim_chunk=8, send_workers=1)


def seed(
    session: Session, clock: Clock, *, groups: int, platform: Platform = Platform.LOCAL
) -> int:
    """`groups` groups of three, each meeting at 10:00 with two actions due today: at 09:00 each
    member is reminded of the meeting, and two of them of their action too (merged). Returns the
    number of reminder rows that will fall due. On Slack, user ids look like Slack's."""
    for n in range(groups):
        case = make_case(session=session, clock=clock, icpc_date=date(2026, 11, 16))
        group = make_group(session=session, clock=clock, case=case, platform=platform)
        people = []
        for i, role in enumerate((Role.KEY_WORKER, Role.SCHOOL, Role.HEALTH_VISITOR)):
            user_id = f"U0G{n:04d}R{i}" if platform is Platform.SLACK else f"g{n}-{role.value}"
            person = make_person(session=session, clock=clock, platform=platform, user_id=user_id)
            make_membership(
                session=session,
                clock=clock,
                group=group,
                person=person,
                role=role,
                is_chair=role is Role.KEY_WORKER,
            )
            people.append(person)
        assert group.id is not None
        chair = people[0].id or 0
        for owner in people[1:]:
            add_action(
                session,
                group_id=group.id,
                outcome=None,
                owner_id=owner.id or 0,
                description="Visit",
                due_on=BURST.date(),
                shared=True,
                actor_id=chair,
                now=clock.now(),
            )
        book_meeting(
            session,
            group_id=group.id,
            when=BURST + timedelta(hours=1),
            kind=MeetingKind.FIRST,
            venue="Family Centre",
            link="",
            actor_id=chair,
            now=clock.now(),
        )
    return groups * 5


def _address(to: ToGroup | ToPerson) -> str:
    return f"person:{to.person_id}" if isinstance(to, ToPerson) else f"group:{to.group_id}"


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class FileOutbox:
    """A fake platform whose delivered messages are lines in a file."""

    def __init__(self, path: Path, *, die_at: int | None = None, after_write: bool = False) -> None:
        self.path = path
        self.die_at = die_at
        self.after_write = after_write
        self.count = 0

    def send(self, to: ToGroup | ToPerson, message: Message) -> str:
        self.count += 1
        dying = self.count == self.die_at
        if dying and not self.after_write:
            _die()
        line = json.dumps({"to": _address(to), "key": message.key}) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        if dying:
            _die()
        return f"{_address(to)}|{message.key}"

    def find_sent(self, to: ToGroup | ToPerson, key: str | None) -> str | None:
        for record in delivered(self.path):
            if record == (_address(to), key):
                return f"{record[0]}|{record[1]}"
        return None


def delivered(path: Path) -> list[tuple[str, str]]:
    """Every (address, key) the platform received, in order."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [(r["to"], r["key"]) for r in map(json.loads, lines)]


def main(argv: list[str]) -> int:
    """Tick until nothing is left to send; optionally die at the n-th SQL statement or send."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--outbox", required=True, type=Path)
    parser.add_argument("--now", required=True, type=datetime.fromisoformat)
    parser.add_argument("--die-at-sql", type=int)
    parser.add_argument("--die-at-send", type=int)
    parser.add_argument("--after-write", action="store_true")
    args = parser.parse_args(argv)
    engine = make_engine(args.db)
    if args.die_at_sql:
        statements = iter(range(1, args.die_at_sql + 1))

        @event.listens_for(engine, "after_cursor_execute")
        def _count(*_: object) -> None:
            if next(statements, None) is None:
                _die()

    outbox = FileOutbox(args.outbox, die_at=args.die_at_send, after_write=args.after_write)
    reminders = ReminderEngine(
        engine=engine,
        clock=FakeClock(args.now),
        outboxes={Platform.LOCAL: outbox},
        locale=Locale(),
        settings=SETTINGS,
    )
    while True:
        report = reminders.tick(args.now)
        if not (report.claimed or report.planned):
            break
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
