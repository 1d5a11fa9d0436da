"""A new user's first requests arriving together (a double click, a key worker's first commands
after a start-up): every one is answered, and the user is one person with one identity."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import Session, select

from bot.adapters.local import LocalDirectory
from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.people import Who
from commands import build_registry
from commands.dispatch import Dispatcher
from storage.enums import Platform
from storage.keys import keys_of
from storage.models import ChatIdentity, Person
from tests.factories import named

REQUESTS = 6


def test_concurrent_first_requests_from_a_new_user_all_succeed(
    engine: Engine, clock: FakeClock
) -> None:
    dispatcher = Dispatcher(
        engine=engine,
        clock=clock,
        locale=Locale(),
        platform=Platform.LOCAL,
        directory=LocalDirectory(),
        registry=build_registry(),
    )
    # A migrated database holds the blind indexes' key (migration 0016 makes it); a reused
    # PostgreSQL test schema has been emptied of it, and the requests below would each make one.
    with engine.begin() as conn:
        keys_of(conn.dialect).index_key(conn)
    # Every request has looked the user up and found nobody before any of them creates them:
    # the race, made certain rather than left to luck.
    together = threading.Barrier(REQUESTS, timeout=20)
    waited: set[int] = set()

    @event.listens_for(engine, "before_cursor_execute")
    def _meet(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        me = threading.get_ident()
        if statement.lstrip().upper().startswith("INSERT INTO PERSON") and me not in waited:
            waited.add(me)
            together.wait()

    who = Who(Platform.LOCAL, "newcomer", "Nia Newcomer")
    answers: list[str] = []

    def first_request() -> None:
        reply = dispatcher.command(who, "help")
        answers.append(reply.outbound[0].message.text)

    threads = [threading.Thread(target=first_request) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    event.remove(engine, "before_cursor_execute", _meet)

    assert len(waited) == REQUESTS  # all of them raced to create the newcomer
    assert answers == ["Core group assistant — commands"] * REQUESTS
    with Session(engine) as s:
        [ident] = s.exec(select(ChatIdentity).where(ChatIdentity.user_id == "newcomer")).all()
        people = s.exec(select(Person).where(named(s, "Nia Newcomer"))).all()
        assert [p.id for p in people] == [ident.person_id]  # no stray half-made person
