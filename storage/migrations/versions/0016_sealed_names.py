"""sealed names: people's names are sealed (under the shared key, bound to their row) with a
blind index `person.name_index`; a chat identity's handle is kept only as its blind index
(`chatidentity.handle_index`); what was said of a copy of the minutes (`distribution.detail`)
is sealed under its case's key

Needs DATA_KEY (or DATA_KEY_FILE) as 0014 does. Downgrading opens the names and details again
and derives each handle from its person's name (its first word, lower case), as it was made.

Revision ID: 0016_sealed_names
Revises: 0015_sent_refs
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.blind_index import handle_of, name_index
from storage.case_keys import case_of
from storage.crypto import KeysMissing, key_id_of, open_sealed, seal
from storage.keys import DATAKEY, SEAL, DataKeys, add_data_key, keys_of, open_data_key

revision: str = "0016_sealed_names"
down_revision: str | None = "0015_sent_refs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME, DETAIL = "person.display_name", "distribution.detail"
PERSON = sa.table("person", sa.column("id"), sa.column("display_name"), sa.column("name_index"))
IDENTITY = sa.table(
    "chatidentity",
    sa.column("id"),
    sa.column("person_id"),
    sa.column("handle"),
    sa.column("handle_index"),
)
COPY = sa.table("distribution", sa.column("id"), sa.column("minutes_id"), sa.column("detail"))


def upgrade() -> None:
    conn = op.get_bind()
    keys = _keys(conn)
    with _sqlite_rebuilds():
        with op.batch_alter_table("person") as batch:
            batch.alter_column("display_name", type_=sa.Text(), existing_type=sa.String(120))
            batch.add_column(sa.Column("name_index", sa.String(length=64), nullable=True))
            batch.create_index(batch.f("ix_person_name_index"), ["name_index"], unique=False)
        with op.batch_alter_table("chatidentity") as batch:
            batch.add_column(sa.Column("handle_index", sa.String(length=64), nullable=True))
            batch.create_index(
                batch.f("ix_chatidentity_handle_index"), ["handle_index"], unique=False
            )
    # The index key, made here if the database has none yet (no email was ever indexed), so a
    # running bot never makes it: two first writes at once must not each make their own.
    keys.index_key(conn)
    people = conn.execute(sa.select(PERSON.c.id, PERSON.c.display_name)).all()
    if people:
        shared_id, shared = _shared(conn, keys)
        for person_id, name in people:
            conn.execute(
                sa.update(PERSON)
                .where(PERSON.c.id == person_id)
                .values(
                    display_name=seal(shared, shared_id, NAME, name, person_id),
                    name_index=name_index(conn, name),
                )
            )
    for identity_id, handle in conn.execute(sa.select(IDENTITY.c.id, IDENTITY.c.handle)).all():
        conn.execute(
            sa.update(IDENTITY)
            .where(IDENTITY.c.id == identity_id)
            .values(handle_index=name_index(conn, handle))
        )
    for copy_id, minutes_id, detail in conn.execute(sa.select(*COPY.c)).all():
        key_id, cipher = keys.for_case(conn, _case(conn, minutes_id))
        conn.execute(
            sa.update(COPY)
            .where(COPY.c.id == copy_id)
            .values(detail=seal(cipher, key_id, DETAIL, detail, copy_id))
        )
    with _sqlite_rebuilds(), op.batch_alter_table("chatidentity") as batch:
        batch.drop_index(batch.f("ix_chatidentity_handle"))
        batch.drop_column("handle")
    keys.forget()


def downgrade() -> None:
    conn = op.get_bind()
    keys = _keys(conn)
    with _sqlite_rebuilds(), op.batch_alter_table("chatidentity") as batch:
        batch.add_column(
            sa.Column("handle", sa.String(length=120), nullable=False, server_default="")
        )
        batch.create_index(batch.f("ix_chatidentity_handle"), ["handle"], unique=False)
    # SQLite rebuilds tables before any row changes; PostgreSQL checks lengths, so narrows last.
    if conn.dialect.name == "sqlite":
        _narrow()
        _open_rows(conn, keys)
    else:
        _open_rows(conn, keys)
        _narrow()
    keys.forget()


def _open_rows(conn: sa.Connection, keys: DataKeys) -> None:
    """Every sealed name and detail back to clear text, and each identity's handle."""
    ciphers = _live_ciphers(conn, keys)
    names = {}
    for person_id, stored in conn.execute(sa.select(PERSON.c.id, PERSON.c.display_name)).all():
        names[person_id] = _opened(ciphers, NAME, stored)[:120]
        conn.execute(
            sa.update(PERSON).where(PERSON.c.id == person_id).values(display_name=names[person_id])
        )
    for identity_id, person_id in conn.execute(sa.select(IDENTITY.c.id, IDENTITY.c.person_id)):
        handle = handle_of(names.get(person_id, "")).lower()
        conn.execute(sa.update(IDENTITY).where(IDENTITY.c.id == identity_id).values(handle=handle))
    for copy_id, _minutes_id, stored in conn.execute(sa.select(*COPY.c)).all():
        detail = _opened(ciphers, DETAIL, stored)
        conn.execute(sa.update(COPY).where(COPY.c.id == copy_id).values(detail=detail))


def _narrow() -> None:
    """The columns as they were before this revision: clear names, handles, no indexes."""
    with _sqlite_rebuilds():
        with op.batch_alter_table("chatidentity") as batch:
            batch.drop_index(batch.f("ix_chatidentity_handle_index"))
            batch.drop_column("handle_index")
        with op.batch_alter_table("person") as batch:
            batch.drop_index(batch.f("ix_person_name_index"))
            batch.drop_column("name_index")
            batch.alter_column("display_name", type_=sa.String(120), existing_type=sa.Text())


def _opened(ciphers: dict[int, AESGCM], place: str, stored: str) -> str:
    """A sealed value's text; empty if its key was destroyed (its case's copies were erased)."""
    cipher = ciphers.get(key_id_of(stored, place))
    return "" if cipher is None else open_sealed(cipher, stored, place)


def _case(conn: sa.Connection, minutes_id: int) -> int:
    case_id = case_of(conn, "distribution", minutes_id)
    assert case_id is not None, "a copy of minutes whose meeting has no group"
    return case_id


def _keys(conn: sa.Connection) -> DataKeys:
    keys = keys_of(conn.dialect)
    keys.forget()
    if keys.keks is None:
        raise KeysMissing(
            "This migration seals people's names and needs the key the bot runs with: "
            "set DATA_KEY or DATA_KEY_FILE"
        )
    return keys


def _live_ciphers(conn: sa.Connection, keys: DataKeys) -> dict[int, AESGCM]:
    """Every data key not destroyed, opened, on the migration's connection."""
    assert keys.keks is not None
    live = conn.execute(
        sa.select(DATAKEY.c.id, DATAKEY.c.wrapped, DATAKEY.c.kek_id).where(
            DATAKEY.c.destroyed_at.is_(None), DATAKEY.c.purpose == SEAL
        )
    )
    by_id = keys.keks.by_id()
    return {
        key_id: AESGCM(open_data_key(by_id, key_id, wrapped, kek_id))
        for key_id, wrapped, kek_id in live
    }


def _shared(conn: sa.Connection, keys: DataKeys) -> tuple[int, AESGCM]:
    """The newest shared data key, read (or, in a database with none, made) on `conn`."""
    assert keys.keks is not None
    newest = sa.select(sa.func.max(DATAKEY.c.id)).where(
        DATAKEY.c.case_id.is_(None), DATAKEY.c.purpose == SEAL
    )
    shared_id = conn.execute(newest).scalar_one() or add_data_key(conn, keys.keks)
    wrapped, kek_id = conn.execute(
        sa.select(DATAKEY.c.wrapped, DATAKEY.c.kek_id).where(DATAKEY.c.id == shared_id)
    ).one()
    return shared_id, AESGCM(open_data_key(keys.keks.by_id(), shared_id, wrapped, kek_id))


@contextmanager
def _sqlite_rebuilds() -> Iterator[None]:
    """SQLite rebuilds a table to change a column; rows referring to it must not fail while the
    old copy is dropped (as in 0010 and 0014: foreign keys off, or deferred in a transaction)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA foreign_keys = OFF")
        op.execute("PRAGMA defer_foreign_keys = ON")
    yield
    if sqlite:
        op.execute("PRAGMA foreign_keys = ON")
