"""Two reminder instances on one PostgreSQL database, started together on one burst: every
reminder goes out once, and both did part of the work (so they really ran side by side)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.core.context import Locale
from bot.scheduler import ReminderEngine, TickReport
from storage.db import make_engine
from storage.enums import Platform, ReminderStatus
from storage.models import Reminder
from tests.faults.burst import BURST, CREATED, SETTINGS, FileOutbox, delivered, seed

INSTANCES = 3


@pytest.fixture
def postgres_url(database_url: str) -> str:
    """The test database's URL; these tests need PostgreSQL (SQLite runs one instance)."""
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("several instances share PostgreSQL only; set TEST_DATABASE_URL to run this")
    return database_url


def sent(engine: Engine) -> int:
    """How many of the burst's reminders have gone out."""
    with Session(engine) as session:
        query = select(Reminder.id).where(
            Reminder.status == ReminderStatus.SENT, Reminder.due_at <= BURST
        )
        return len(session.exec(query).all())


def test_instances_sharing_postgresql_never_send_anything_twice(
    postgres_url: str, engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    clock.set(CREATED)
    with Session(engine) as session:
        expected = seed(session, clock, groups=40)
        session.commit()
    outbox_path = tmp_path / "platform.jsonl"
    start = threading.Barrier(INSTANCES)
    reports: dict[int, TickReport] = {}
    failures: list[BaseException] = []

    def instance(n: int) -> None:
        own = make_engine(postgres_url)  # its own connection pool, like another process
        reminders = ReminderEngine(
            engine=own,
            clock=FakeClock(BURST),
            outboxes={Platform.LOCAL: FileOutbox(outbox_path)},
            locale=Locale(),
            settings=SETTINGS,
            instance=f"instance-{n}",
        )
        total = TickReport()
        try:
            start.wait(timeout=60)
            # Tick again and again, as each one's scheduler would, until the burst is out.
            for step in range(500):
                total.add(reminders.tick(BURST + timedelta(seconds=step)))
                if sent(own) == expected:
                    break
        except BaseException as err:  # surfaced in the main thread below
            failures.append(err)
        finally:
            reports[n] = total
            own.dispose()

    threads = [threading.Thread(target=instance, args=(n,)) for n in range(INSTANCES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures

    with Session(engine) as session:
        rows = session.exec(select(Reminder).where(Reminder.due_at <= BURST)).all()
    assert Counter(r.status for r in rows) == {ReminderStatus.SENT: expected}
    messages = delivered(outbox_path)
    assert len(messages) == len(set(messages)), "a message was delivered twice"
    assert {key for _, key in messages} == {r.batch_key for r in rows}
    assert sum(r.sent for r in reports.values()) == expected
    # Each instance claimed and sent a share: they ran side by side.
    assert all(r.messages > 0 for r in reports.values()), {
        n: r.messages for n, r in reports.items()
    }
    assert len({r.claimed_by.split("#")[0] for r in rows if r.claimed_by}) == INSTANCES
