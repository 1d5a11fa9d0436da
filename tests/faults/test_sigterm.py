"""SIGTERM a real `coregroup run` on Slack in the middle of a burst of reminders: the sends in
flight finish and are recorded, every other claim goes back to the ledger at once (no lease to wait
out), the process exits 0, and a restarted instance sends the rest — each message once.

The instance is the real command (`bot.cli.main(["run"])`) against the fake Slack Web API, with its
clock moved to the burst's morning (it still runs at the real pace). The fake holds chat.postMessage
calls in flight from the sixth on, so the signal arrives while sends are under way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.reminders import ReminderSettings
from bot.messages import Message, ToGroup, ToPerson
from bot.scheduler import ReminderEngine
from storage.enums import Platform, ReminderStatus
from storage.models import ChatIdentity, CoreGroup, Reminder
from tests.faults.burst import BURST, CREATED, FileOutbox, seed
from tests.faults.burst import delivered as burst_delivered
from tests.slack.fake_slack import BOT_TOKEN, Channel, FakeSlack
from tests.slack.signing import SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[2]
ANSWERED_FIRST = 5
SENDERS = ReminderSettings().send_workers
RUN = """
import sys
from datetime import datetime
import bot.clock

real = bot.clock.SystemClock


class BurstMorning(real):
    offset = datetime.fromisoformat(sys.argv[1]) - real().now()

    def now(self):
        return real.now(self) + self.offset


bot.clock.SystemClock = BurstMorning
from bot.cli import main

raise SystemExit(main(["run"]))
"""


class Instance:
    """A `coregroup run` subprocess whose stdout is collected line by line."""

    def __init__(self, database_url: str, fake: FakeSlack, cwd: Path) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "MICROSOFT_", "TEAMS_"))
        }
        env |= {
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "DATABASE_URL": database_url,
            "PORT": "0",
            "LOG_LEVEL": "WARNING",
        }
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RUN, BURST.isoformat()],
            env=env,
            cwd=cwd,  # away from any .env file
            stdout=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def said(self, words: str) -> bool:
        return any(words in line for line in self.lines)

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.wait()

    def wait(self) -> int:
        code = self.proc.wait(timeout=120)
        self._reader.join(timeout=10)
        return code


def statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(str(row.status) for row in session.exec(select(Reminder)).all())


def due_and_waiting(engine: Engine) -> list[Reminder]:
    """Rows due by the burst that are not sent yet."""
    with Session(engine) as session:
        rows = session.exec(select(Reminder).where(Reminder.status == ReminderStatus.PENDING))
        return [row for row in rows.all() if row.due_at <= BURST]


def delivered(fake: FakeSlack) -> list[tuple[str, str, str]]:
    """(channel, ts, key) of every reminder message the fake Slack received."""
    found = []
    for channel in list(fake.channels.values()):
        for message in channel.messages:
            key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key")
            if key:
                found.append((channel.id, message["ts"], key))
    return found


def assert_recorded_once(engine: Engine, fake: FakeSlack) -> set[str]:
    """No message was posted twice; each one posted is recorded against its sent rows."""
    posts = delivered(fake)
    keys = [key for _, _, key in posts]
    assert len(keys) == len(set(keys)), "a reminder message was posted twice"
    with Session(engine) as session:
        sent = session.exec(select(Reminder).where(Reminder.status == ReminderStatus.SENT)).all()
    refs = {row.message_ref for row in sent}
    assert refs == {f"{channel}:{ts}" for channel, ts, _ in posts}
    return refs  # type: ignore[return-value]


def test_sigterm_mid_burst_loses_nothing_and_doubles_nothing(
    engine: Engine, database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    clock.set(CREATED)
    with Session(engine) as session:
        expected = seed(session, clock, groups=12, platform=Platform.SLACK)
        session.commit()
        users = session.exec(select(ChatIdentity.user_id)).all()
        channels = session.exec(select(CoreGroup.channel_id)).all()
    fake = FakeSlack().start()
    try:
        for user_id in users:
            fake.add_user(user_id, f"Member {user_id[-5:]}")
        for channel_id in channels:
            assert channel_id is not None
            fake.channels[channel_id] = Channel(id=channel_id, name=channel_id.lower())
        fake.hold("chat.postMessage", after=ANSWERED_FIRST)

        first = Instance(database_url, fake, tmp_path)
        # Every sender thread is in the middle of a post when the signal comes.
        fake.wait_for(lambda: fake.held == SENDERS, timeout=120)
        first.proc.send_signal(signal.SIGTERM)
        fake.wait_for(lambda: first.said("is stopping"), timeout=60)
        fake.release()
        assert first.wait() == 0
        assert first.said("Core Group Bot stopped.")

        # What was in flight was delivered and recorded; nothing is left claimed.
        after_stop = statuses(engine)
        assert after_stop[ReminderStatus.CLAIMED] == 0
        assert len(delivered(fake)) == ANSWERED_FIRST + SENDERS
        assert_recorded_once(engine, fake)
        waiting = due_and_waiting(engine)
        assert waiting, "the burst was not interrupted"
        assert all(row.attempts == 0 and row.claimed_by is None for row in waiting)

        # A new instance sends the rest straight away (no lease to wait out), each message once.
        second = Instance(database_url, fake, tmp_path)
        fake.wait_for(lambda: statuses(engine)[ReminderStatus.SENT] == expected, timeout=120)
        assert second.terminate() == 0
    finally:
        fake.release()
        fake.stop()

    final = statuses(engine)
    assert final[ReminderStatus.SENT] == expected
    assert final[ReminderStatus.CLAIMED] == final[ReminderStatus.FAILED] == 0
    assert due_and_waiting(engine) == []  # what is still pending falls due later in the week
    refs = assert_recorded_once(engine, fake)
    assert len(refs) == len(delivered(fake)) == 12 * 3  # one merged message per member


class StoppingOutbox(FileOutbox):
    """The file platform, whose `stop_at`-th send arrives just as the engine is told to stop."""

    def __init__(self, path: Path, stop: Callable[[], None], stop_at: int) -> None:
        super().__init__(path)
        self.stop, self.stop_at = stop, stop_at

    def send(self, to: ToGroup | ToPerson, message: Message) -> str:
        if self.count + 1 == self.stop_at:
            self.stop()
        return super().send(to, message)


def test_a_stopped_tick_finishes_its_send_and_gives_back_the_rest(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    """The same guarantee in-process, on the engine itself: a quick check of the mechanism."""
    clock.set(CREATED)
    with Session(engine) as session:
        expected = seed(session, clock, groups=6)
        session.commit()
    platform = tmp_path / "platform.jsonl"

    def engine_with(outbox: FileOutbox) -> ReminderEngine:
        return ReminderEngine(
            engine=engine,
            clock=clock,
            outboxes={Platform.LOCAL: outbox},
            locale=Locale(),
            settings=ReminderSettings(send_workers=1),
        )

    holder: list[ReminderEngine] = []
    stopping = engine_with(StoppingOutbox(platform, lambda: holder[0].stop(), stop_at=3))
    holder.append(stopping)
    report = stopping.tick(BURST)

    assert len(burst_delivered(platform)) == 3  # the send under way when told to stop finished
    assert report.returned > 0 and report.sent + report.returned <= report.claimed
    assert statuses(engine)[ReminderStatus.CLAIMED] == 0
    assert all(row.attempts == 0 for row in due_and_waiting(engine))
    assert stopping.tick(BURST).claimed == 0  # a stopped engine starts nothing new

    engine_with(FileOutbox(platform)).tick(BURST)
    keys = burst_delivered(platform)
    assert len(keys) == len(set(keys)) == 6 * 3
    assert statuses(engine)[ReminderStatus.SENT] == expected
