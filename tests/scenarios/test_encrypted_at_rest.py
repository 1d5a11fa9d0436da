"""After a whole journey typed into the local chat (a group, its members' names, its plan,
updates, the meeting, its minutes, a disagreement), the database holds none of what people typed
in clear: not in the SQLite file's bytes, nor in a plain SELECT of any column of any table (the
sealed ones included). The bot still reads it all, names included."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from storage.models import ENCRYPTED_COLUMNS
from tests.scenarios.conftest import ChatDriver
from tests.unit.test_case_keys import live_case_keys, shared_keys, stored_keys

REF = "CP-2026-0142"
# Typed by users, in pieces that each land in a sealed column.
SENTINEL = "quokka-lantern"

JOURNEY = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026 initials QL
in #cg-cp-2026-0142
/coregroup add @jo parent
/coregroup add @alex hv
/coregroup add @dan police
/coregroup add "Surgery {SENTINEL} Lane" gp email reception@surgery.example
/coregroup minute-taker @alex
/coregroup outcome add "The home is warm and safe, {SENTINEL} outcome"
/coregroup action @alex to arrange a {SENTINEL} check by 15/1 outcome 1
/coregroup action @jo to keep the heating on by 15/1 outcome 1
/coregroup schedule 6/1 2pm at "Family Centre"
clock 2026-12-31 10:00
/coregroup updates
as alex
in progress
booked the {SENTINEL} clinic for 5 Jan
Mum {SENTINEL} keeps appointments
damp in the {SENTINEL} bedroom
skip
yes
clock 2027-01-06 15:30
as sam
in #cg-cp-2026-0142
/coregroup decision "Visits stay weekly, {SENTINEL} decision"
/coregroup disagree "The police disagree, {SENTINEL} dissent"
as alex
/coregroup draft
"""


def test_a_whole_journey_leaves_no_clear_text_in_the_database(
    chat: ChatDriver, engine: Engine
) -> None:
    out = chat(JOURNEY)
    # The bot reads back what was typed: it is in its own replies and the draft minutes.
    assert out.count(SENTINEL) >= 5, out
    assert "Your update is complete" in out
    assert f"Surgery {SENTINEL} Lane has joined the core group as GP." in out

    by_place = _sealed_values(engine)
    typed_into = {"case.initials", "outcome.title", "action.description", "actionevent.note"}
    typed_into |= {"updateanswer.answer", "meeting.decisions", "disagreement.detail"}
    typed_into |= {"minutesversion.body", "person.display_name", "person.email"}
    assert typed_into <= {place for place, values in by_place.items() if values}
    sealed = [v for values in by_place.values() for v in values]
    assert not any(SENTINEL in v for v in sealed)
    assert not _clear_anywhere(engine, SENTINEL)
    # Every value is bound to its row and sealed under its case's own key (none was missed).
    (case_key,) = live_case_keys(engine).values()
    shared = shared_keys(engine)
    for place, case_id, key_id in stored_keys(engine):
        assert {key_id} == (case_key if case_id is not None else shared), place
    if engine.dialect.name == "sqlite":
        engine.dispose()  # checkpoints the WAL into the file
        url = make_url(str(engine.url))
        assert url.database is not None
        raw = b"".join(p.read_bytes() for p in Path(url.database).parent.glob("coregroup.db*"))
        assert SENTINEL.encode() not in raw


def _clear_anywhere(engine: Engine, phrase: str) -> list[str]:
    """The "table.column" of every stored value, in any table, whose text holds `phrase`."""
    found = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for column in table.columns:
                sql = f'SELECT CAST("{column.name}" AS TEXT) FROM "{table.name}"'
                if any(phrase in (v or "") for v in conn.execute(text(sql)).scalars()):
                    found.append(f"{table.name}.{column.name}")
    return found


def _sealed_values(engine: Engine) -> dict[str, list[str]]:
    """Each sealed column's non-null values as stored, read by a plain connection."""
    values: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for place in ENCRYPTED_COLUMNS:
            table, column = place.split(".")
            rows = conn.execute(text(f'SELECT "{column}" FROM "{table}"')).scalars()
            values[place] = [str(v) for v in rows if v is not None]
    return values
