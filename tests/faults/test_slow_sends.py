"""Slow sends (a platform answering 429s) with a second instance ticking meanwhile: a chunk that
takes longer than the lease to send keeps its claim, so nothing is sent twice."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.reminders import ReminderSettings
from bot.messages import Message, ToGroup, ToPerson
from bot.scheduler import ReminderEngine, TickReport
from storage.enums import Platform
from tests.faults.burst import BURST, CREATED, FileOutbox, delivered, seed

LEASE = timedelta(seconds=60)
EACH_SEND = timedelta(seconds=25)  # a chunk of 8 messages takes 200 s: over three leases
SETTINGS = ReminderSettings(lease=LEASE, claim_chunk=8, send_workers=1)


class SlowOutbox(FileOutbox):
    """Each send takes EACH_SEND of the injected clock; after each, the other instance ticks."""

    def __init__(self, path: Path, clock: FakeClock) -> None:
        super().__init__(path)
        self.clock = clock
        self.meanwhile: ReminderEngine | None = None
        self.reports: list[TickReport] = []

    def send(self, to: ToGroup | ToPerson, message: Message) -> str:
        self.clock.advance(EACH_SEND)
        ref = super().send(to, message)
        if self.meanwhile is not None:
            self.reports.append(self.meanwhile.tick())
        return ref


def test_a_chunk_sent_slower_than_its_lease_is_never_sent_twice(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    clock.set(CREATED)
    with Session(engine) as session:
        seed(session, clock, groups=4)
        session.commit()
    clock.set(BURST)
    path = tmp_path / "platform.jsonl"
    slow = SlowOutbox(path, clock)
    first = ReminderEngine(
        engine=engine,
        clock=clock,
        outboxes={Platform.LOCAL: slow},
        locale=Locale(),
        settings=SETTINGS,
        instance="slow",
    )
    slow.meanwhile = ReminderEngine(
        engine=engine,
        clock=clock,
        outboxes={Platform.LOCAL: FileOutbox(path)},
        locale=Locale(),
        settings=SETTINGS,
        instance="other",
    )
    report = first.tick()
    slow.meanwhile = None
    for _ in range(5):  # whatever is left, later
        clock.advance(timedelta(minutes=5))
        report.add(first.tick())

    sent = delivered(path)
    doubled = {key: n for key, n in Counter(sent).items() if n > 1}
    assert doubled == {}
    # The whole burst went out (4 groups: 3 meeting reminders and 2 merged with an action each,
    # so 3 messages a group), and the slow instance really did send for longer than its lease.
    assert len(sent) == 12
    assert report.messages * EACH_SEND > LEASE
    assert sum(r.released for r in slow.reports) == 0  # no claim lapsed
