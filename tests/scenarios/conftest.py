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
from bot.core.people import identity_of
from bot.core.reminders import ReminderSettings
from bot.distribution import Distributor
from bot.scheduler import ReminderEngine
from commands import build_registry
from commands.dispatch import Dispatcher
from storage.db import session_scope
from storage.enums import Platform
from storage.models import Person
from tests.factories import in_team


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
        self._teamed = False

    def __call__(self, script: str) -> str:
        """Feed each line of `script`; return only the new transcript."""
        if not self._teamed:
            self._teamed = True
            _sam_in_a_team(self.dispatcher.engine, self.dispatcher.clock)
        self.local.run(textwrap.dedent(script).strip().splitlines())
        text = self.out.getvalue()
        new, self._seen = text[self._seen :], len(text)
        return new


def _sam_in_a_team(engine: Engine, clock: FakeClock) -> None:
    """Sam, the key worker of most scenarios, is a social worker in a team, so he may start
    groups (as `coregroup team` makes him). Done when the chat is first used, after any test
    data: a Sam the test made stays as made if he is already in a team or is family."""
    with session_scope(engine) as session:
        ident = identity_of(session, Platform.LOCAL, "sam")
        person = session.get(Person, ident.person_id) if ident is not None else None
        if person is not None and (person.team_id is not None or person.is_family):
            return
    in_team(engine, clock, platform=Platform.LOCAL, user_id="sam", name="Sam")


@pytest.fixture
def chat(engine: Engine, clock: FakeClock, tmp_path: Path) -> ChatDriver:
    """A local chat over a fresh database and a fake clock; files it sends land in tmp_path.

    Sam is a social worker in a team (as `coregroup team` makes him), so he may start groups;
    nobody else may until a test puts them in a team."""
    return ChatDriver(engine, clock, tmp_path / "files")
