"""A data key per case: each case's sealed values are under its own key, rows of no case under
the shared one, the cache is bounded and survives rolled-back transactions, and erasing a closed
group destroys its key so saved copies of its ciphertext no longer open. SQLite, or PostgreSQL
when TEST_DATABASE_URL is set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

import storage.keys
from bot.clock import FakeClock
from bot.core.retention import ERASED, RetentionPolicy, erase
from storage.case_keys import PARENTS, SHARED, case_of
from storage.crypto import WontOpen, key_id_of, row_of
from storage.db import make_engine
from storage.keys import DATAKEY, SEAL, KeyDestroyed
from storage.models import ENCRYPTED_COLUMNS, Action, Case, HeldReply, Outcome
from tests.factories import build_core_group, make_case, make_person
from tests.unit.test_retention import CLOSED, SIX_MONTHS_ON, TYPED, closed_group

SEALED_TABLES = sorted({place.split(".")[0] for place in ENCRYPTED_COLUMNS})


def live_case_keys(engine: Engine) -> dict[int, set[int]]:
    """The live data key ids of each case, as stored."""
    found: dict[int, set[int]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(DATAKEY.c.case_id, DATAKEY.c.id).where(
                DATAKEY.c.case_id.is_not(None), DATAKEY.c.destroyed_at.is_(None)
            )
        )
        for case_id, key_id in rows:
            found.setdefault(case_id, set()).add(key_id)
    return found


def shared_keys(engine: Engine) -> set[int]:
    """The ids of the shared data keys (0010 made the first; a test's emptied PostgreSQL schema
    makes one when it is first needed, so after the index key if a person came first)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(DATAKEY.c.id).where(DATAKEY.c.case_id.is_(None), DATAKEY.c.purpose == SEAL)
        )
        return set(rows.scalars())


def stored_keys(engine: Engine) -> list[tuple[str, int | None, int]]:
    """(place, case of the row, data key id the stored value names) for every sealed value,
    each checked to be bound to the row it is stored in."""
    found = []
    with engine.connect() as conn:
        for place in ENCRYPTED_COLUMNS:
            table_name, column_name = place.split(".")
            if table_name in SHARED:
                fk = None
            else:
                fk = "id" if table_name == "case" else PARENTS[table_name][0]
            parent = f'"{fk}"' if fk else "NULL"
            rows = conn.execute(
                text(
                    f'SELECT id, {parent}, "{column_name}" FROM "{table_name}" '
                    f'WHERE "{column_name}" IS NOT NULL'
                )
            ).all()
            for row_id, parent_id, value in rows:
                assert row_of(str(value), place) == row_id, place
                case_id = case_of(conn, table_name, parent_id) if fk else None
                found.append((place, case_id, key_id_of(str(value), place)))
    return found


def test_every_sealed_table_says_how_it_reaches_its_case_or_that_it_has_none() -> None:
    assert all(t == "case" or t in PARENTS or t in SHARED for t in SEALED_TABLES)


def test_each_case_seals_under_its_own_key_and_people_under_the_shared_one(
    engine: Engine, clock: FakeClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        first = build_core_group(session=s, clock=clock, reference="CP-2026-0001")
        second = build_core_group(session=s, clock=clock, reference="CP-2026-0002")
        closed_group(s, clock, "CP-2026-0003", CLOSED)  # minutes, reviews, updates, concerns
        person = first.chair
        assert person.id is not None
        s.add(HeldReply(person_id=person.id, text=TYPED, held_at=clock.now()))
        first.actions[0].description = "changed after it was written"
        s.add(first.actions[0])
        s.commit()
    keys = live_case_keys(engine)
    assert len(keys) == 3 and all(len(ids) == 1 for ids in keys.values())
    assert first.case.id != second.case.id and keys[first.case.id] != keys[second.case.id]
    stored = stored_keys(engine)
    places = {place for place, _, _ in stored}
    assert {"case.concerns", "minutesversion.body", "updateanswer.answer", "heldreply.text"} <= (
        places
    )
    for place, case_id, key_id in stored:
        if case_id is None:
            assert key_id == 1, place  # the shared key (0010's)
        else:
            assert {key_id} == keys[case_id], place
    with Session(engine) as s:
        action = s.get(Action, first.actions[0].id)
        assert action is not None and action.description == "changed after it was written"


def test_a_rolled_back_case_leaves_no_stale_key_behind(engine: Engine, clock: FakeClock) -> None:
    with Session(engine) as s:
        make_case(session=s, clock=clock, reference="CP-2026-0009").initials = "AB"
        s.flush()
        s.rollback()
    with Session(engine) as s:  # SQLite hands out the same ids again: a different key now
        case = make_case(session=s, clock=clock, reference="CP-2026-0010")
        case.concerns = TYPED
        s.add(case)
        s.commit()
        case_id = case.id
    fresh = make_engine(str(engine.url.render_as_string(hide_password=False)))
    try:
        with Session(fresh) as s:
            stored = s.get(Case, case_id)
            assert stored is not None and stored.concerns == TYPED
    finally:
        fresh.dispose()


def test_the_key_cache_is_bounded_and_reloads_what_it_dropped(
    engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage.keys, "CACHE_SIZE", 2)
    small = make_engine(str(engine.url.render_as_string(hide_password=False)))
    try:
        with Session(small) as s:
            groups = [
                build_core_group(session=s, clock=clock, reference=f"CP-2026-00{n}")
                for n in range(10, 14)
            ]
            s.commit()
        with Session(small) as s:
            titles = s.exec(select(Outcome.title).order_by(Outcome.id)).all()
        assert len(titles) == 3 * len(groups) and all(titles)
    finally:
        small.dispose()


def test_erasing_a_closed_group_destroys_its_key_and_old_copies_no_longer_open(
    engine: Engine, clock: FakeClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        old = closed_group(s, clock, "CP-2026-0001", CLOSED)
        kept = closed_group(s, clock, "CP-2026-0002", CLOSED + timedelta(days=40))
        s.commit()
    action_id = old.actions[0].id
    with engine.connect() as conn:  # a backup of one row's sealed text
        saved = conn.execute(
            text(f"SELECT description FROM action WHERE id = {action_id}")
        ).scalar_one()
    (old_key,) = live_case_keys(engine)[old.case.id]
    with Session(engine) as s:
        erase(s, RetentionPolicy(), SIX_MONTHS_ON)
        s.commit()
    keys = live_case_keys(engine)
    assert old.case.id not in keys and kept.case.id in keys
    with engine.connect() as conn:
        wrapped = conn.execute(
            select(DATAKEY.c.wrapped).where(DATAKEY.c.id == old_key)
        ).scalar_one()
    assert wrapped == ""
    # What the erasure left still reads; the other group is untouched.
    with Session(engine) as s:
        assert set(s.exec(select(Action.description).where(Action.group_id == old.group.id))) == {
            ERASED
        }
        assert s.get(Action, kept.actions[0].id) is not None
    # The backup, restored into its row, no longer opens, in this process or any new one.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE action SET description = :saved WHERE id = :id"),
            {"saved": saved, "id": action_id},
        )
    for eng in (engine, make_engine(str(engine.url.render_as_string(hide_password=False)))):
        with Session(eng) as s, pytest.raises(KeyDestroyed):
            s.exec(select(Action.description).where(Action.id == action_id)).one()
        if eng is not engine:
            eng.dispose()


def test_a_person_row_is_sealed_under_the_shared_key(engine: Engine, clock: FakeClock) -> None:
    with Session(engine) as s:
        person = make_person(session=s, clock=clock)
        assert person.id is not None
        s.add(HeldReply(person_id=person.id, text=TYPED, held_at=clock.now()))
        s.commit()
    with engine.connect() as conn:
        value = conn.execute(text("SELECT text FROM heldreply")).scalar_one()
    assert {key_id_of(value, "heldreply.text")} == shared_keys(engine)
    assert live_case_keys(engine) == {}


# --- values bound to their row ------------------------------------------------------------------


def _swap(engine: Engine, first: int, second: int) -> None:
    """Exchange two actions' stored descriptions behind the bot's back."""
    with engine.begin() as conn:
        rows = dict(
            conn.execute(
                text("SELECT id, description FROM action WHERE id IN (:a, :b)"),
                {"a": first, "b": second},
            ).all()
        )
        for row_id, other in ((first, second), (second, first)):
            conn.execute(
                text("UPDATE action SET description = :v WHERE id = :id"),
                {"v": rows[other], "id": row_id},
            )


@pytest.mark.parametrize("where", ["same group", "another group"])
def test_a_ciphertext_moved_to_another_row_fails_to_open(
    engine: Engine, clock: FakeClock, where: str
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        one = build_core_group(session=s, clock=clock, reference="CP-2026-0001")
        two = build_core_group(session=s, clock=clock, reference="CP-2026-0002")
        one.actions[1].description = "rewritten, so sealed by an UPDATE"
        s.add(one.actions[1])
        s.commit()
    first = one.actions[1].id
    second = (one if where == "same group" else two).actions[2].id
    assert first is not None and second is not None
    with Session(engine) as s:  # before the swap both open
        assert s.get(Action, first) is not None and s.get(Action, second) is not None
    _swap(engine, first, second)
    for row_id in (first, second):
        with Session(engine) as s, pytest.raises(WontOpen, match="moved from another row"):
            s.get(Action, row_id)
        with engine.connect() as conn, pytest.raises(WontOpen):  # a Core read is checked too
            conn.execute(select(Action.description).where(Action.id == row_id)).one()
    _swap(engine, first, second)  # put back, they open again
    with Session(engine) as s:
        action = s.get(Action, first)
        assert action is not None and action.description == "rewritten, so sealed by an UPDATE"


def test_text_copied_from_a_rewritten_row_to_another_case_is_sealed_for_its_new_row(
    engine: Engine, clock: FakeClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        one = build_core_group(session=s, clock=clock, reference="CP-2026-0001")
        two = build_core_group(session=s, clock=clock, reference="CP-2026-0002")
        source, target = one.actions[0], two.actions[0]
        source.description = "the same words in two cases"
        s.add(source)
        s.flush()
        assert type(source.description) is str  # no key or row label left on the row
        target.description = source.description
        s.add(target)
        s.commit()
    with Session(engine) as s:
        for action_id in (source.id, target.id):
            action = s.get(Action, action_id)
            assert action is not None and action.description == "the same words in two cases"
