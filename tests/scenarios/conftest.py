"""Scenario tests drive the whole product through the local chat, like a person would."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.adapters.local import LocalChat, LocalDirectory
from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.reminders import ReminderSettings
from bot.distribution import Distributor
from bot.scheduler import ReminderEngine
from commands import build_registry
from commands.dispatch import Dispatcher
from storage.enums import Platform


class ChatDriver:
    """Types lines into the local chat and returns the transcript they produced."""

    def __init__(
        self,
        engine: Engine,
        clock: FakeClock,
        files: Path | None = None,
        *,
        locale: Locale | None = None,
        mailer: object = None,
        links: object = None,
        distribution: object = None,
    ) -> None:
        self.out = io.StringIO()
        self.dispatcher = Dispatcher(
            engine=engine,
            clock=clock,
            locale=locale or Locale(),
            platform=Platform.LOCAL,
            directory=LocalDirectory(),
            registry=build_registry(),
        )
        self.local = LocalChat(
            dispatcher=self.dispatcher, clock=clock, out=self.out, files_dir=files
        )
        # Moving the clock (`clock +3d`) fires the reminders that fell due meanwhile.
        self.reminders = ReminderEngine(
            engine=engine,
            clock=clock,
            outboxes={Platform.LOCAL: self.local},
            locale=self.dispatcher.locale,
            settings=ReminderSettings(send_workers=1),
        )
        # Copies of published minutes go out as soon as a reply queues them, and retries when the
        # clock moves.
        self.copies = Distributor(
            engine=engine,
            clock=clock,
            outboxes={Platform.LOCAL: self.local},
            locale=self.dispatcher.locale,
            mailer=mailer,  # type: ignore[arg-type]
            links=links,  # type: ignore[arg-type]
            settings=distribution,  # type: ignore[arg-type]
        )
        self.local.after_reply = self.copies.run_pending

        def on_clock() -> None:
            self.reminders.on_clock()
            self.copies.run_pending()

        self.local.on_clock = on_clock
        self._seen = 0

    def __call__(self, script: str) -> str:
        """Feed each line of `script`; return only the new transcript."""
        self.local.run(textwrap.dedent(script).strip().splitlines())
        text = self.out.getvalue()
        new, self._seen = text[self._seen :], len(text)
        return new


@pytest.fixture
def chat(engine: Engine, clock: FakeClock, tmp_path: Path) -> ChatDriver:
    """A local chat over a fresh database and a fake clock; files it sends land in tmp_path."""
    return ChatDriver(engine, clock, tmp_path / "files")
