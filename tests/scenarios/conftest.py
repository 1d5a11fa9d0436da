"""Scenario tests drive the whole product through the local chat, like a person would."""

from __future__ import annotations

import io
import textwrap

import pytest
from sqlalchemy import Engine

from bot.adapters.local import LocalChat, LocalDirectory
from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.reminders import ReminderSettings
from bot.scheduler import ReminderEngine
from commands import build_registry
from commands.dispatch import Dispatcher
from storage.enums import Platform


class ChatDriver:
    """Types lines into the local chat and returns the transcript they produced."""

    def __init__(self, engine: Engine, clock: FakeClock) -> None:
        self.out = io.StringIO()
        self.dispatcher = Dispatcher(
            engine=engine,
            clock=clock,
            locale=Locale(),
            platform=Platform.LOCAL,
            directory=LocalDirectory(),
            registry=build_registry(),
        )
        self.local = LocalChat(dispatcher=self.dispatcher, clock=clock, out=self.out)
        # Moving the clock (`clock +3d`) fires the reminders that fell due meanwhile.
        self.reminders = ReminderEngine(
            engine=engine,
            clock=clock,
            outboxes={Platform.LOCAL: self.local},
            locale=self.dispatcher.locale,
            settings=ReminderSettings(send_workers=1),
        )
        self.local.on_clock = self.reminders.on_clock
        self._seen = 0

    def __call__(self, script: str) -> str:
        """Feed each line of `script`; return only the new transcript."""
        self.local.run(textwrap.dedent(script).strip().splitlines())
        text = self.out.getvalue()
        new, self._seen = text[self._seen :], len(text)
        return new


@pytest.fixture
def chat(engine: Engine, clock: FakeClock) -> ChatDriver:
    """A local chat over a fresh database and a fake clock."""
    return ChatDriver(engine, clock)
