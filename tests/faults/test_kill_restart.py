"""Kill the reminder worker (SIGKILL) at random points in a burst and restart it: every reminder
is delivered, none twice.

Each round runs a real worker process that dies at a chosen point: inside any SQL statement
(claiming, planning, marking), just before the platform gets a message, or just after it got
one but before the database heard. Rounds are 61 simulated seconds apart, so what a dead worker
claimed (a one-minute lease) is recovered by the next one, which asks the platform first. The
points come from a seeded generator, so a failure can be replayed.
"""

from __future__ import annotations

import multiprocessing
import random
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import FakeClock
from storage.enums import ReminderStatus
from storage.models import Reminder
from tests.faults import burst
from tests.faults.burst import BURST, CREATED, delivered, seed

SEED = 20261123


def run_worker(database_url: str, outbox: Path, round_: int, *kill: str) -> int:
    """One worker process, forked so it starts at once; its exit code (-9 when killed)."""
    # Rounds are 61 simulated seconds apart: just past the one-minute lease.
    now = (BURST + timedelta(seconds=61 * round_)).isoformat()
    argv = ["--db", database_url, "--outbox", str(outbox), "--now", now, *kill]
    worker = multiprocessing.get_context("fork").Process(target=burst.main, args=(argv,))
    worker.start()
    worker.join(timeout=120)
    assert worker.exitcode in (0, -signal.SIGKILL), worker.exitcode
    return worker.exitcode


def test_killed_and_restarted_worker_delivers_every_reminder_exactly_once(
    engine: Engine, database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    clock.set(CREATED)
    with Session(engine) as session:
        expected = seed(session, clock, groups=12)
        session.commit()
    outbox = tmp_path / "platform.jsonl"
    rng = random.Random(SEED)
    kills: Counter[str] = Counter()
    for round_ in range(55):
        point = rng.choice(["sql", "before-send", "after-send"])
        if point == "sql":
            kill = ["--die-at-sql", str(rng.randint(1, 40))]
        else:
            kill = ["--die-at-send", str(rng.randint(1, 3))]
            kill += ["--after-write"] if point == "after-send" else []
        if run_worker(database_url, outbox, round_, *kill) == 0:
            break  # it finished the burst before reaching its kill point
        kills[point] += 1
    else:
        raise AssertionError("the burst never finished")
    assert sum(kills.values()) >= 12 and min(kills.values()) >= 3, kills

    with Session(engine) as session:
        rows = session.exec(select(Reminder).where(Reminder.due_at <= BURST)).all()
    assert len(rows) == expected
    assert Counter(r.status for r in rows) == {ReminderStatus.SENT: expected}
    messages = delivered(outbox)
    assert len(messages) == len(set(messages)), "a message was delivered twice"
    # Every message the platform got is accounted for by the rows it carried, and vice versa:
    # a row sent again under a new key would leave its first message unaccounted for.
    by_key = dict((key, address) for address, key in messages)
    assert set(by_key) == {r.batch_key for r in rows}
    assert all(r.message_ref == f"{by_key[r.batch_key or '']}|{r.batch_key}" for r in rows)
