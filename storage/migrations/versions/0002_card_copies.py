"""Every copy of a live card the bot posted, so a click on one updates them all.

Revision ID: 0002_card_copies
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0002_card_copies"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cardcopy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("service_url", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("sent_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "place", "message_id"),
    )
    with op.batch_alter_table("cardcopy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cardcopy_card"), ["card"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cardcopy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cardcopy_card"))
    op.drop_table("cardcopy")
