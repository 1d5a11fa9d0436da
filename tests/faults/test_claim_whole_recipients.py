"""Two instances claiming at the same moment on PostgreSQL never split one person's due reminders
between them: each recipient's rows are claimed by one instance, so they stay one merged message.

The second instance's whole claim runs between two statements of the first one's, at each point.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.reminders import claim_due
from bot.scheduler import ReminderEngine
from storage.db import make_engine
from storage.enums import ReminderStatus
from storage.models import Reminder
from tests.faults.burst import BURST, CREATED, SETTINGS, seed

LEASE = timedelta(minutes=1)


def _claim(engine: Engine, owner: str) -> list[int]:
    with Session(engine) as session:
        rows = claim_due(session, now=BURST, limit=8, owner=owner, lease=LEASE, lock=True)
        ids = [row.id or 0 for row in rows]
        session.commit()
    return ids


@pytest.mark.parametrize("after_statement", [1, 2, 3, 4, 5])
def test_a_claim_interleaved_with_another_never_splits_a_recipient(
    database_url: str, engine: Engine, clock: FakeClock, after_statement: int
) -> None:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("concurrent claims need PostgreSQL; set TEST_DATABASE_URL to run this")
    clock.set(CREATED)
    with Session(engine) as session:
        seed(session, clock, groups=4)
        session.commit()
    ReminderEngine(
        engine=engine, clock=clock, outboxes={}, locale=Locale(), settings=SETTINGS
    ).plan(BURST)
    first, second = make_engine(database_url), make_engine(database_url)
    statements = 0

    @event.listens_for(first, "after_cursor_execute")
    def _interleave(*_: Any) -> None:
        nonlocal statements
        statements += 1
        if statements == after_statement:
            _claim(second, "second")

    _claim(first, "first")
    first.dispose()
    second.dispose()

    owners: dict[tuple[int | None, int | None], set[str]] = defaultdict(set)
    with Session(engine) as session:
        for row in session.exec(
            select(Reminder).where(Reminder.status == ReminderStatus.CLAIMED)
        ).all():
            recipient = (row.person_id, row.group_id if row.person_id is None else None)
            owners[recipient].add(row.claimed_by or "")
    assert owners, "nothing was claimed"
    split = {recipient: names for recipient, names in owners.items() if len(names) > 1}
    assert split == {}
