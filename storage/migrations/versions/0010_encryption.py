"""encryption at rest: the wrapped data keys, and every free-text column holding case information
sealed with AES-256-GCM (existing clear rows sealed here; short columns widened to text)

Needs the key-encryption key (DATA_KEY or DATA_KEY_FILE) the bot will run with: the first data
key is made and wrapped under it. Downgrading opens every value again and drops the keys.

Revision ID: 0010_encryption
Revises: 0011_audit_chain
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import storage.types
from storage.crypto import KeysMissing, key_id_of, open_sealed, seal
from storage.keys import DATAKEY, add_data_key, keys_of, open_data_key

revision: str = "0010_encryption"
down_revision: str | None = "0011_audit_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The sealed columns as of this revision ("table.column"); later columns seal from their start.
SEALED = (
    "action.description",
    "actionevent.new_value",
    "actionevent.note",
    "actionevent.old_value",
    "attendance.note",
    "case.concerns",
    "case.initials",
    "concern.signals",
    "concern.text",
    "coregroup.close_reason",
    "disagreement.detail",
    "disagreement.escalated_to",
    "heldreply.text",
    "meeting.cancel_reason",
    "meeting.contingency",
    "meeting.decisions",
    "minutes.override_reason",
    "minutesreview.comment",
    "minutesversion.body",
    "minutesversion.change_note",
    "outcome.title",
    "outcomeevent.new_value",
    "outcomeevent.note",
    "outcomeevent.old_value",
    "slackdelivery.payload",
    "slotchoice.note",
    "updateanswer.answer",
)


def upgrade() -> None:
    op.create_table(
        "datakey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.String(length=200), nullable=False),
        sa.Column("kek_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rewrapped_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("datakey") as batch:
        batch.create_index(batch.f("ix_datakey_kek_id"), ["kek_id"], unique=False)
    # Ciphertext is longer than the clear text: the bounded columns become unbounded text.
    with _sqlite_rebuilds():
        with op.batch_alter_table("case") as batch:
            batch.alter_column("initials", type_=sa.Text(), existing_type=sa.String(length=8))
        with op.batch_alter_table("concern") as batch:
            batch.alter_column("signals", type_=sa.Text(), existing_type=sa.String(length=400))
        with op.batch_alter_table("slackdelivery") as batch:
            batch.alter_column(
                "payload",
                type_=sa.Text(),
                existing_type=sa.JSON(),
                postgresql_using="payload::text",
            )
    conn = op.get_bind()
    keys = keys_of(conn.dialect)
    keys.forget()
    keks = keys.keks
    if keks is None:
        raise KeysMissing(
            "This upgrade encrypts case text at rest and needs the key the bot will run with: "
            "set DATA_KEY (base64 of 32 bytes, e.g. `openssl rand -base64 32`) or DATA_KEY_FILE"
        )
    key_id = add_data_key(conn, keks)
    wrapped, kek_id = conn.execute(
        sa.select(DATAKEY.c.wrapped, DATAKEY.c.kek_id).where(DATAKEY.c.id == key_id)
    ).one()
    cipher = AESGCM(open_data_key(keks.by_id(), key_id, wrapped, kek_id))
    _rewrite(conn, lambda place, value: seal(cipher, key_id, place, value))


def downgrade() -> None:
    conn = op.get_bind()
    keys = keys_of(conn.dialect)
    keys.forget()
    keks = keys.keks
    if keks is None:
        raise KeysMissing("Opening the sealed columns again needs DATA_KEY or DATA_KEY_FILE")
    ciphers = {
        key_id: AESGCM(open_data_key(keks.by_id(), key_id, wrapped, kek_id))
        for key_id, wrapped, kek_id in conn.execute(
            sa.select(DATAKEY.c.id, DATAKEY.c.wrapped, DATAKEY.c.kek_id)
        )
    }

    def open_value(place: str, value: str) -> str:
        return open_sealed(ciphers[key_id_of(value, place)], value, place)

    # SQLite keeps any length and its JSON is text, but must rebuild tables outside a transaction
    # (before any row changes); PostgreSQL checks lengths and JSON, so it narrows last.
    if conn.dialect.name == "sqlite":
        _narrow()
        _rewrite(conn, open_value)
    else:
        _rewrite(conn, open_value)
        _narrow()
    with op.batch_alter_table("datakey") as batch:
        batch.drop_index(batch.f("ix_datakey_kek_id"))
    op.drop_table("datakey")


def _narrow() -> None:
    """The three columns back to their types before this revision."""
    with _sqlite_rebuilds():
        with op.batch_alter_table("slackdelivery") as batch:
            batch.alter_column(
                "payload",
                type_=sa.JSON(),
                existing_type=sa.Text(),
                postgresql_using="payload::json",
            )
        with op.batch_alter_table("concern") as batch:
            batch.alter_column("signals", type_=sa.String(length=400), existing_type=sa.Text())
        with op.batch_alter_table("case") as batch:
            batch.alter_column("initials", type_=sa.String(length=8), existing_type=sa.Text())


@contextmanager
def _sqlite_rebuilds() -> Iterator[None]:
    """SQLite rebuilds a table to change a column's type; rows referring to it must not fail
    while the old copy is dropped. Foreign keys are off for the rebuild (outside a transaction,
    the usual case) or deferred to the commit (inside one)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA foreign_keys = OFF")
        op.execute("PRAGMA defer_foreign_keys = ON")
    yield
    if sqlite:
        op.execute("PRAGMA foreign_keys = ON")


def _rewrite(conn: sa.Connection, change: Callable[[str, str], str]) -> None:
    """Replace every non-null value of every sealed column by `change(place, value)`."""
    for place in SEALED:
        table_name, column_name = place.split(".")
        t = sa.table(table_name, sa.column("id"), sa.column(column_name))
        value_col = t.c[column_name]
        rows = conn.execute(sa.select(t.c.id, value_col).where(value_col.is_not(None))).all()
        for row_id, value in rows:
            conn.execute(
                sa.update(t).where(t.c.id == row_id).values({column_name: change(place, value)})
            )
