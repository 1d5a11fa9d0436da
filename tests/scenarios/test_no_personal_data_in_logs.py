"""A fault never puts a child's name in the log: statement parameters are hidden and the error
boundary logs the exception's type, where it was raised and an error id, never its message. A
whole journey at DEBUG writes JSON lines, each request with its own id, and no personal data."""

from __future__ import annotations

import json
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


TYPED = ("Zanzibar-heater", "Quillfeather club", "worried about Marmaduke")
EMAIL = "george.elm@example.org"
JOURNEY = f"""
clock 2026-12-21 09:00
as sam
/coregroup new CP-2026-0142 icpc 18/12/2026
in #cg-cp-2026-0142
/coregroup add @alex parent agency "Family"
/coregroup add @priya school agency "Oak Primary School"
/coregroup add @george gp agency "Elm Street Surgery"
/coregroup minute-taker @priya
/coregroup outcome add "The home is warm, clean and safe for the children"
/coregroup action @alex to fix the {TYPED[0]} with the landlord by 8/1 outcome 1
/coregroup action @priya to set up a {TYPED[1]} place by 15/1 outcome 1
/coregroup schedule 5/1 10am at "Family Centre, Oak Road"
/coregroup status
/coregroup actions all
/coregroup action 1
as priya
in dm
/coregroup actions mine
{TYPED[2]}
clock 2026-12-31 09:00
as priya
in dm
{TYPED[2]}
yes
as george
in dm
/coregroup meetings
as alex
in dm
hello {TYPED[2]}
clock 2027-01-05 12:00
as priya
in #cg-cp-2026-0142
/coregroup draft
/coregroup minutes
as sam
/coregroup nonsense {EMAIL}
/coregroup close
"""


def test_a_journey_at_debug_logs_json_lines_with_request_ids_and_no_personal_data(
    engine: Engine, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlmodel import Session, select

    from bot.logs import configure_logging
    from storage.models import Person

    configure_logging("DEBUG", "json")  # LOG_LEVEL=DEBUG LOG_FORMAT=json, on this test's stderr
    chat = ChatDriver(engine, clock)
    transcript = chat(JOURNEY)
    assert "has joined the core group" in transcript  # the journey really ran
    lines = capsys.readouterr().err.splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert entries and {"time", "level", "logger", "message", "request_id"} <= entries[0].keys()
    requests = [e for e in entries if e["message"].startswith("handling a request")]
    assert len({e["request_id"] for e in requests}) == len(requests) > 10
    with Session(engine) as s:
        names = [p.display_name for p in s.exec(select(Person)).all()]
    forbidden = [*TYPED, EMAIL, "Marmaduke", *[n for n in names if len(n) > 2]]
    forbidden += ["xoxb-", "xapp-", "Bearer ", "password", "secret="]
    for line in lines:
        for word in forbidden:
            assert word not in line, (word, line)
