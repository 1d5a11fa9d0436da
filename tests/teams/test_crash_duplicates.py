"""Reminders to Teams across crashes: the bot is killed again and again while it sends a burst,
either just after the Bot Connector accepted a message (before the bot heard back) or after the
send but before the reminder ledger marked it sent. Nothing is lost; a message is sent twice only
when the kill fell inside the call (Teams cannot be asked whether it arrived), never after it."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.adapters.teams_outbox import Connector, TeamsOutbox
from bot.clock import FakeClock
from bot.core.context import Locale
from bot.messages import Message, ToGroup, ToPerson
from bot.scheduler import ReminderEngine
from storage.enums import Platform, ReminderStatus
from storage.models import Reminder
from tests.faults.burst import BURST, CREATED, SETTINGS, seed
from tests.teams.conftest import FakeConnector, TeamsDriver

GROUPS = 6  # 18 messages: each of 3 members a meeting reminder, two merged with an action
DIE_AT = 2  # each run of the bot is killed at its second send


class Killed(BaseException):
    """The process dying at this point (nothing after it runs)."""


class DyingConnector:
    """The real Bot Connector client, killed once the service accepted the `die_at`-th post."""

    def __init__(self, real: Connector, die_at: int | None) -> None:
        self.real, self.die_at, self.posts = real, die_at, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def send(self, service_url: str, conversation_id: str, activity: dict[str, Any]) -> str:
        if self.die_at is not None and self.posts >= self.die_at:
            raise Killed  # already dead: the sends queued behind the kill never happen
        activity_id = await self.real.send(service_url, conversation_id, activity)
        self.posts += 1
        if self.posts == self.die_at:
            raise Killed
        return activity_id


class DyingOutbox:
    """A Teams outbox killed after its `die_at`-th send returned (before the ledger's mark)."""

    def __init__(self, outbox: TeamsOutbox, die_at: int | None) -> None:
        self.outbox, self.die_at, self.sends = outbox, die_at, 0

    def send(self, to: ToGroup | ToPerson, message: Message) -> str:
        if self.die_at is not None and self.sends >= self.die_at:
            raise Killed  # already dead
        ref = self.outbox.send(to, message)
        self.sends += 1
        if self.sends == self.die_at:
            raise Killed
        return ref

    def find_sent(self, to: ToGroup | ToPerson, key: str) -> str | None:
        return self.outbox.find_sent(to, key)


def _restarted(running: TeamsOutbox, *, die_in_call: int | None) -> TeamsOutbox:
    """A new process's outbox: nothing remembered in memory, the same database and services."""
    return TeamsOutbox(
        dispatcher=running.dispatcher,
        io=running.io,
        connector=DyingConnector(running.connector, die_in_call),  # type: ignore[arg-type]
        bot_id=running.bot_id,
        service_url=running.service_url,
        tenant_id=running.tenant_id,
    )


def test_kills_during_a_burst_lose_nothing_and_double_only_the_call_in_flight(
    teams: TeamsDriver, connector: FakeConnector, engine: Engine, clock: FakeClock
) -> None:
    clock.set(CREATED)
    with Session(engine) as session:
        rows = seed(session, clock, groups=GROUPS, platform=Platform.TEAMS)
        session.commit()
    clock.set(BURST)
    kills = {"in the call": 0, "after the call": 0}
    for trial in range(50):
        in_call = trial % 2 == 0
        outbox = _restarted(teams.runtime.outbox, die_in_call=DIE_AT if in_call else None)
        reminders = ReminderEngine(
            engine=engine,
            clock=clock,
            outboxes={Platform.TEAMS: DyingOutbox(outbox, None if in_call else DIE_AT)},
            locale=Locale(),
            settings=SETTINGS,
            instance=f"run-{trial}",
        )
        try:
            reminders.tick()
        except Killed:
            kills["in the call" if in_call else "after the call"] += 1
            clock.advance(SETTINGS.lease * 2)  # the restart: the dead run's claims lapse
            continue
        break
    else:
        raise AssertionError("the burst never finished")

    keys = [s.activity.get("channelData", {}).get("coregroupKey") for s in connector.sent]
    counts = Counter(key for key in keys if key)
    doubled = sum(n - 1 for n in counts.values())
    with Session(engine) as session:
        unsent = session.exec(
            select(Reminder.id).where(
                Reminder.status != ReminderStatus.SENT, Reminder.due_at <= BURST
            )
        ).all()
    assert kills["in the call"] >= 2 and kills["after the call"] >= 2, kills
    assert len(counts) == 3 * GROUPS and unsent == [], (counts, unsent)  # nothing lost
    # Only a kill inside the call (the message accepted, the answer not yet recorded) doubles
    # one message; a kill after it doubles nothing, on restart the record says it went out.
    assert doubled <= kills["in the call"], (doubled, kills)
    assert rows == 5 * GROUPS
    logging.getLogger(__name__).warning(
        "teams kills: %s, messages %s, doubled %s, lost 0", kills, len(counts), doubled
    )
