"""Migration 0016: a database from 0015, with people's names, handles and copies' details in
clear, is sealed (names under the shared key, details under their case's key, each bound to its
row) with the names' and handles' blind indexes filled, and reads back the same; downgrading
gives the clear columns back. SQLite, or PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.core.people import name_candidates
from storage.db import alembic_config, current_revision, head_revision, upgrade
from storage.enums import DeliveryMethod, DeliveryStatus, Platform
from storage.keys import keys_of
from storage.models import ChatIdentity, Distribution, Minutes, Person
from tests.unit.test_case_keys import live_case_keys, shared_keys, stored_keys
from tests.unit.test_retention import CLOSED, closed_group

HOW = "by post to Mum at 12 Acacia Road"


def _world(engine: Engine, clock: FakeClock) -> int:
    """A closed group with a copy of its minutes given by post; returns the case's id."""
    with Session(engine, expire_on_commit=False) as s:
        data = closed_group(s, clock, "CP-2026-0001", CLOSED)
        minutes = s.exec(select(Minutes)).one()
        assert minutes.id is not None and data.chair.id is not None
        s.add(
            Distribution(
                minutes_id=minutes.id,
                person_id=data.chair.id,
                method=DeliveryMethod.OTHER,
                status=DeliveryStatus.DELIVERED,
                sent_at=clock.now(),
                detail=HOW,
            )
        )
        s.commit()
        assert data.case.id is not None
        return data.case.id


def _names(engine: Engine) -> dict[int, str]:
    with Session(engine) as s:
        return {p.id or 0: p.display_name for p in s.exec(select(Person)).all()}


def test_upgrading_from_0015_seals_names_and_details_and_fills_their_indexes(
    engine: Engine, clock: FakeClock
) -> None:
    case_id = _world(engine, clock)
    names = _names(engine)
    assert len(names) > 5

    command.downgrade(alembic_config(engine), "0015_sent_refs")
    assert current_revision(engine) == "0015_sent_refs"
    with engine.begin() as conn:  # 0015's database: names, handles and details in clear
        stored = dict(conn.execute(text("SELECT id, display_name FROM person")).all())
        assert stored == names
        handles = conn.execute(text("SELECT person_id, handle FROM chatidentity")).all()
        assert handles and all(h == names[p].split(" ")[0].lower() for p, h in handles)
        assert conn.execute(text("SELECT detail FROM distribution")).scalars().all() == [HOW]
        # A person and an identity written in clear before the upgrade, as 0015's bot would.
        conn.execute(
            text(
                "INSERT INTO person (display_name, agency, is_family, timezone, "
                "contact_start_hour, contact_end_hour, is_team_manager, outside_chat, created_at) "
                "VALUES ('Nia  Newcomer', '', false, 'Europe/London', 9, 17, false, false, "
                ":at)"
            ),
            {"at": clock.now()},
        )
        nia = conn.execute(
            text("SELECT id FROM person WHERE display_name = 'Nia  Newcomer'")
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO chatidentity (person_id, platform, user_id, handle) "
                "VALUES (:p, 'local', 'u-nia', 'nia')"
            ),
            {"p": nia},
        )

    upgrade(engine)
    assert current_revision(engine) == head_revision()
    keys_of(engine.dialect).forget()
    assert _names(engine) == {**names, nia: "Nia  Newcomer"}
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT display_name FROM person")).scalars().all()
        assert all(v.startswith("v2:") for v in raw)
        assert conn.execute(text("SELECT detail FROM distribution")).scalar_one() != HOW
    # Every sealed value is bound to its row: names under the shared key, details the case's.
    (case_key,) = live_case_keys(engine)[case_id]
    (shared,) = shared_keys(engine)
    places = {}
    for place, row_case, key_id in stored_keys(engine):
        assert key_id == (case_key if row_case is not None else shared), place
        places.setdefault(place, set()).add(row_case)
    assert places["person.display_name"] == {None}
    assert places["distribution.detail"] == {case_id}
    with Session(engine) as s:
        assert s.exec(select(Distribution.detail)).one() == HOW
        found = name_candidates(s, "NIA newcomer", platform=Platform.LOCAL, group_id=None)
        assert [p.id for p, _ in found] == [nia]
        found = name_candidates(s, "Nia", platform=Platform.LOCAL, group_id=None)  # the handle
        assert [p.id for p, _ in found] == [nia]
        assert all(i.handle_index for i in s.exec(select(ChatIdentity)).all())

    command.downgrade(alembic_config(engine), "0015_sent_refs")
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT id, display_name FROM person")).all())
        assert stored == {**names, nia: "Nia  Newcomer"}
        handles = conn.execute(text("SELECT person_id, handle FROM chatidentity")).all()
        assert all(h == stored[p].split(" ")[0].lower() for p, h in handles)
        assert conn.execute(text("SELECT detail FROM distribution")).scalars().all() == [HOW]
    upgrade(engine)
    keys_of(engine.dialect).forget()
    assert _names(engine) == {**names, nia: "Nia  Newcomer"}
