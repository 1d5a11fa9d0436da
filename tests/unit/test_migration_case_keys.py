"""Migration 0014: a database whose case text is sealed under 0010's one shared key is sealed
again under a key per case, and every value reads back the same. SQLite, or PostgreSQL when
TEST_DATABASE_URL is set."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, select, text
from sqlmodel import Session, SQLModel

from bot.clock import FakeClock
from bot.core.subject_access import find_person
from storage.crypto import key_id_of
from storage.db import alembic_config, current_revision, head_revision, upgrade
from storage.keys import keys_of
from storage.models import ENCRYPTED_COLUMNS, HeldReply
from tests.factories import build_core_group
from tests.unit.test_case_keys import live_case_keys, stored_keys
from tests.unit.test_retention import CLOSED, TYPED, closed_group


def _every_value(engine: Engine) -> dict[str, list[object]]:
    """Every sealed column's values, opened through the column types, in row order."""
    found = {}
    with engine.connect() as conn:
        for place in ENCRYPTED_COLUMNS:
            table_name, column_name = place.split(".")
            t = SQLModel.metadata.tables[table_name]
            found[place] = list(conn.execute(select(t.c[column_name]).order_by(t.c.id)).scalars())
    return found


def test_upgrading_from_one_shared_key_seals_each_case_under_its_own(
    engine: Engine, clock: FakeClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        first = closed_group(s, clock, "CP-2026-0001", CLOSED)
        second = build_core_group(session=s, clock=clock, reference="CP-2026-0002")
        assert first.chair.id is not None
        s.add(HeldReply(person_id=first.chair.id, text=TYPED, held_at=clock.now()))
        first.chair.email = "Key.Worker@council.example"
        s.add(first.chair)
        s.commit()
    before = _every_value(engine)
    assert TYPED in before["minutesversion.body"] and TYPED in before["heldreply.text"]

    command.downgrade(alembic_config(engine), "0010_encryption")
    assert current_revision(engine) == "0010_encryption"
    with engine.connect() as conn:  # 0010's database: one key, sealing all but five columns
        assert conn.execute(text("SELECT count(*) FROM datakey")).scalar_one() == 1
        clear = {"meeting.venue", "meetingslot.venue", "person.email"}
        clear |= {"person.display_name", "distribution.detail"}  # until 0016
        for place in clear:
            table_name, column_name = place.split(".")
            sql = f'SELECT "{column_name}" FROM "{table_name}" ORDER BY id'
            assert list(conn.execute(text(sql)).scalars()) == before[place]
        made_later = {n for n in SQLModel.metadata.tables if not inspect(conn).has_table(n)}
        for place in set(ENCRYPTED_COLUMNS) - clear:
            table_name, column_name = place.split(".")
            if table_name in made_later:  # a table a later revision makes (teamspending)
                continue
            sql = f'SELECT "{column_name}" FROM "{table_name}" WHERE "{column_name}" IS NOT NULL'
            for value in conn.execute(text(sql)).scalars():
                assert key_id_of(str(value), place) == 1

    upgrade(engine)
    assert current_revision(engine) == head_revision()
    keys_of(engine.dialect).forget()
    assert _every_value(engine) == before
    keys = live_case_keys(engine)
    assert set(keys) == {first.case.id, second.case.id}
    stored = stored_keys(engine)
    assert len(stored) > 50
    for place, case_id, key_id in stored:
        assert {key_id} == (keys[case_id] if case_id is not None else {1}), place
    with Session(engine) as s:  # the email is found by its blind index, whatever its case
        assert [p.id for p in find_person(s, "key.worker@council.example")] == [first.chair.id]
