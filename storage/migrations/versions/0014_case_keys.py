"""case keys: a data key per case (wrapped by the KEK like the shared one), destroyed when
retention erases the case; every sealed value is sealed again under its case's key (the shared
one for rows of no case) and bound to its row id; meeting and slot venues and people's emails
are sealed too, with a blind index of the email (its key wrapped in `datakey`, purpose "index")

Needs DATA_KEY (or DATA_KEY_FILE) as 0010 does. Downgrading seals everything under the shared
key again and drops the per-case keys.

Revision ID: 0014_case_keys
Revises: 0010_encryption
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import storage.types
from storage.blind_index import email_index
from storage.case_keys import PARENTS, case_of
from storage.crypto import KeyEncryptionKeys, KeysMissing, WontOpen, key_id_of, open_sealed, seal
from storage.keys import DATAKEY, SEAL, DataKeys, add_data_key, keys_of, open_data_key

revision: str = "0014_case_keys"
down_revision: str | None = "0010_encryption"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The sealed columns as of this revision, by table.
SEALED_COLUMNS = {
    "action": ("description",),
    "actionevent": ("new_value", "note", "old_value"),
    "attendance": ("note",),
    "case": ("concerns", "initials"),
    "concern": ("signals", "text"),
    "coregroup": ("close_reason",),
    "heldreply": ("text",),
    "disagreement": ("detail", "escalated_to"),
    "meeting": ("cancel_reason", "contingency", "decisions", "venue"),
    "meetingslot": ("venue",),
    "minutes": ("override_reason",),
    "minutesreview": ("comment",),
    "minutesversion": ("body", "change_note"),
    "outcome": ("title",),
    "outcomeevent": ("new_value", "note", "old_value"),
    "person": ("email",),
    "slackdelivery": ("payload",),
    "slotchoice": ("note",),
    "updateanswer": ("answer",),
}


# Clear until this revision: sealed here for the first time (and given wider types).
NEWLY_SEALED = {("meeting", "venue"), ("meetingslot", "venue"), ("person", "email")}
_WAS = {"venue": sa.String(length=200), "email": sa.String(length=254)}


def upgrade() -> None:
    # Ciphertext is longer than the clear text: the newly sealed columns become unbounded text.
    with _sqlite_rebuilds():
        for table_name, column_name in NEWLY_SEALED:
            with op.batch_alter_table(table_name) as batch:
                batch.alter_column(column_name, type_=sa.Text(), existing_type=_WAS[column_name])
        with op.batch_alter_table("person") as batch:
            batch.add_column(sa.Column("email_index", sa.String(length=64), nullable=True))
            batch.create_index(batch.f("ix_person_email_index"), ["email_index"], unique=False)
    with op.batch_alter_table("datakey") as batch:
        batch.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("destroyed_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("purpose", sa.String(length=16), nullable=False, server_default=SEAL)
        )
        batch.create_index(batch.f("ix_datakey_case_id"), ["case_id"], unique=False)
    conn = op.get_bind()
    keys = _keys(conn)
    opened = _opener(conn, keys.keks)
    shared = _shared(conn, opened, keys.keks)
    person = sa.table("person", sa.column("id"), sa.column("email"), sa.column("email_index"))
    for person_id, email in conn.execute(
        sa.select(person.c.id, person.c.email).where(person.c.email.is_not(None))
    ).all():
        conn.execute(
            sa.update(person)
            .where(person.c.id == person_id)
            .values(email_index=email_index(conn, email))
        )

    def reseal(table_name: str, row: sa.Row, column_name: str, value: str) -> str:
        place = f"{table_name}.{column_name}"
        plain = value if (table_name, column_name) in NEWLY_SEALED else opened(place, value)
        case_id = case_of(conn, table_name, row._mapping[_parent(table_name)])
        key_id, cipher = shared if case_id is None else keys.for_case(conn, case_id)
        return seal(cipher, key_id, place, plain, row._mapping["id"])

    _rewrite(conn, reseal)
    keys.forget()


def downgrade() -> None:
    conn = op.get_bind()
    keys = _keys(conn)
    opened = _opener(conn, keys.keks)
    shared_id, shared = _shared(conn, opened, keys.keks)

    def reseal(table_name: str, _row: sa.Row, column_name: str, value: str) -> str:
        place = f"{table_name}.{column_name}"
        plain = opened(place, value)
        if (table_name, column_name) in NEWLY_SEALED:
            return plain
        return seal(shared, shared_id, place, plain)

    # SQLite rebuilds tables before any row changes; PostgreSQL checks lengths, so narrows last.
    if conn.dialect.name == "sqlite":
        _narrow()
        _rewrite(conn, reseal)
    else:
        _rewrite(conn, reseal)
        _narrow()
    conn.execute(
        sa.delete(DATAKEY).where(sa.or_(DATAKEY.c.case_id.is_not(None), DATAKEY.c.purpose != SEAL))
    )
    keys.forget()
    with op.batch_alter_table("datakey") as batch:
        batch.drop_index(batch.f("ix_datakey_case_id"))
        batch.drop_column("purpose")
        batch.drop_column("destroyed_at")
        batch.drop_column("case_id")


def _narrow() -> None:
    """The newly sealed columns back to their types before this revision, and no email index."""
    with _sqlite_rebuilds():
        with op.batch_alter_table("person") as batch:
            batch.drop_index(batch.f("ix_person_email_index"))
            batch.drop_column("email_index")
        for table_name, column_name in NEWLY_SEALED:
            with op.batch_alter_table(table_name) as batch:
                batch.alter_column(column_name, type_=_WAS[column_name], existing_type=sa.Text())


@contextmanager
def _sqlite_rebuilds() -> Iterator[None]:
    """SQLite rebuilds a table to change a column; rows referring to it must not fail while the
    old copy is dropped (as in 0010: foreign keys off, or deferred inside a transaction)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA foreign_keys = OFF")
        op.execute("PRAGMA defer_foreign_keys = ON")
    yield
    if sqlite:
        op.execute("PRAGMA foreign_keys = ON")


def _shared(
    conn: sa.Connection, opened: _Opener, keks: KeyEncryptionKeys | None
) -> tuple[int, AESGCM]:
    """The newest shared data key, read (or, in a database emptied of keys, made) on the
    migration's connection."""
    assert keks is not None
    newest = sa.select(sa.func.max(DATAKEY.c.id)).where(
        DATAKEY.c.case_id.is_(None), DATAKEY.c.purpose == SEAL
    )
    shared_id = conn.execute(newest).scalar_one()
    if shared_id is None:
        shared_id = add_data_key(conn, keks)
        wrapped, kek_id = conn.execute(
            sa.select(DATAKEY.c.wrapped, DATAKEY.c.kek_id).where(DATAKEY.c.id == shared_id)
        ).one()
        opened.ciphers[shared_id] = AESGCM(open_data_key(keks.by_id(), shared_id, wrapped, kek_id))
    return shared_id, opened.ciphers[shared_id]


def _keys(conn: sa.Connection) -> DataKeys:
    keys = keys_of(conn.dialect)
    keys.forget()
    if keys.keks is None:
        raise KeysMissing(
            "This upgrade seals each case's text under its own key and needs the key the bot "
            "runs with: set DATA_KEY or DATA_KEY_FILE"
        )
    return keys


class _Opener:
    """Opens any value sealed under a live data key of the database being migrated."""

    def __init__(self, ciphers: dict[int, AESGCM]) -> None:
        self.ciphers = ciphers

    def __call__(self, place: str, value: str) -> str:
        return open_sealed(self.ciphers[key_id_of(value, place)], value, place)


def _opener(conn: sa.Connection, keks: KeyEncryptionKeys | None) -> _Opener:
    assert keks is not None
    live = conn.execute(
        sa.select(DATAKEY.c.id, DATAKEY.c.wrapped, DATAKEY.c.kek_id).where(
            DATAKEY.c.destroyed_at.is_(None)
        )
    )
    return _Opener(
        {
            key_id: AESGCM(open_data_key(keks.by_id(), key_id, wrapped, kek_id))
            for key_id, wrapped, kek_id in live
        }
    )


def _parent(table_name: str) -> str:
    """The column `case_of` follows from a row of `table_name` (its own id for a case and for
    the rows of no case)."""
    return PARENTS[table_name][0] if table_name in PARENTS else "id"


def _rewrite(conn: sa.Connection, change: Callable[[str, sa.Row, str, str], str]) -> None:
    """Replace every non-null sealed value by `change(table, row, column, value)`, one UPDATE
    per row; values under a destroyed key are left as they are."""
    destroyed = set(
        conn.execute(sa.select(DATAKEY.c.id).where(DATAKEY.c.destroyed_at.is_not(None))).scalars()
    )
    for table_name, names in SEALED_COLUMNS.items():
        fk = _parent(table_name)
        t = sa.table(table_name, *{sa.column(n) for n in ("id", fk, *names)})
        for row in conn.execute(sa.select(*t.c)).all():
            values = {
                name: change(table_name, row, name, value)
                for name in names
                if (value := row._mapping[name]) is not None
                and _key_id(value, f"{table_name}.{name}") not in destroyed
            }
            if values:
                conn.execute(sa.update(t).where(t.c.id == row._mapping["id"]).values(values))


def _key_id(value: str, place: str) -> int | None:
    """The data key a stored value names; None for clear text (a column sealed from now)."""
    try:
        return key_id_of(value, place)
    except WontOpen:
        return None
