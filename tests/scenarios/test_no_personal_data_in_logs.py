"""A fault never puts a child's name in the log: statement parameters are hidden and the error
boundary logs the exception's type, where it was raised and an error id, never its message."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import Engine, event

from bot.clock import FakeClock
from tests.scenarios.conftest import ChatDriver

SENTINEL = "Jamie Zebedee-Smith"
SETUP = """
clock 2026-12-18 15:00
as sam
/coregroup new CP-2026-0142 icpc 18/12/2026
/coregroup add @jo parent
/coregroup outcome add "The children's home is warm and safe"
"""


def test_a_database_fault_is_logged_without_what_was_typed(
    engine: Engine, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    chat = ChatDriver(engine, clock)
    chat(SETUP)
    caplog.set_level(logging.DEBUG)

    # The database fails the write of the action's history, as a dropped connection would.
    def fail(conn: object, cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ACTIONEVENT"):
            raise engine.dialect.loaded_dbapi.OperationalError("server closed the connection")

    event.listen(engine, "before_cursor_execute", fail)
    try:
        out = chat(f"/coregroup action @jo to take {SENTINEL} to the dentist by Friday")
    finally:
        event.remove(engine, "before_cursor_execute", fail)

    assert "Sorry, something went wrong on my side; nothing was changed." in out
    assert SENTINEL in out  # what they typed is given back to them, so nothing is lost
    found = re.search(r"Error reference ([0-9a-f]{8})", out)
    assert found is not None
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1
    line = failures[0].getMessage()
    assert found.group(1) in line and "unexpected error handling a request from sam" in line
    assert re.search(r"OperationalError at \w+\.py:\d+", line)
    assert failures[0].exc_info is None  # no traceback, whose message would carry the text
    assert SENTINEL not in caplog.text and "Zebedee" not in caplog.text
