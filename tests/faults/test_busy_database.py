"""A busy SQLite database while a sent message is being recorded: waited for and tried again,
so the tick carries on and nothing is sent twice (issue 15)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, func, select

import bot.scheduler
from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.reminders import ReminderSettings
from bot.messages import Message, ToGroup, ToPerson
from bot.scheduler import ReminderEngine
from storage.enums import Platform, ReminderStatus
from storage.models import Reminder
from tests.factories import build_core_group


class Recorder:
    """An outbox that keeps what it was given."""

    def __init__(self) -> None:
        self.sent: list[str | None] = []

    def send(self, to: ToGroup | ToPerson, message: Message) -> str:
        self.sent.append(message.key)
        return f"m{len(self.sent)}"

    def find_sent(self, to: ToGroup | ToPerson, key: str) -> str | None:
        return None


def test_a_locked_database_after_a_send_is_retried_and_the_tick_carries_on(
    engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(engine) as s:
        build_core_group(session=s, clock=clock)
        s.commit()
    outbox = Recorder()
    reminders = ReminderEngine(
        engine=engine,
        clock=clock,
        outboxes={Platform.LOCAL: outbox},
        locale=Locale(),
        settings=ReminderSettings(send_workers=1),
    )
    reminders.plan(clock.now())
    real, busy = bot.scheduler.mark_all_sent, iter(range(3))

    def mark_all_sent(session: Session, *args: Any, **kw: Any) -> list[int]:
        if next(busy, None) is not None:  # the first three tries find the database locked
            raise OperationalError("UPDATE reminder", {}, Exception("database is locked"))
        return real(session, *args, **kw)

    monkeypatch.setattr(bot.scheduler, "mark_all_sent", mark_all_sent)
    monkeypatch.setattr(bot.scheduler, "_LOCKED_WAIT", 0.0)
    clock.set(clock.now() + timedelta(days=1, hours=1))  # Tue 10:00: meeting notices are due
    report = reminders.tick()
    assert report.messages == len(outbox.sent) > 0
    with Session(engine) as s:
        unsent = s.exec(
            select(func.count()).select_from(Reminder).where(Reminder.status != ReminderStatus.SENT)
            .where(Reminder.due_at <= clock.now())
        ).one()  # fmt: skip
    assert unsent == 0
    assert len(set(outbox.sent)) == len(outbox.sent)
