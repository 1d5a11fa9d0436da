"""sent refs: every message the bot posts is recorded by its platform id, so retention can
delete it through the platform's API later and retry until it can

Revision ID: 0015_sent_refs
Revises: 0010_encryption
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0015_sent_refs"
down_revision: str | None = "0014_case_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sentmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("service_url", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("sent_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("erase_from", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("erased_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["coregroup.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "place", "message_id"),
    )
    with op.batch_alter_table("sentmessage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sentmessage_place"), ["place"], unique=False)
        batch_op.create_index(batch_op.f("ix_sentmessage_group_id"), ["group_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sentmessage_erase_from"), ["erase_from"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sentmessage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sentmessage_erase_from"))
        batch_op.drop_index(batch_op.f("ix_sentmessage_group_id"))
        batch_op.drop_index(batch_op.f("ix_sentmessage_place"))
    op.drop_table("sentmessage")
