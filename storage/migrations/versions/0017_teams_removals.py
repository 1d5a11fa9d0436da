"""teams removals: a removal from a group chat that Microsoft Graph refused, kept and retried,
and the group's posts held (sealed) until the person is out

Revision ID: 0017_teams_removals
Revises: 0015_sent_refs
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0017_teams_removals"
down_revision: str | None = "0016_sealed_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "teamspending",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("chat", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_try_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["coregroup.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("teamspending", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_teamspending_group_id"), ["group_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_teamspending_next_try_at"), ["next_try_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_teamspending_done_at"), ["done_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("teamspending", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_teamspending_done_at"))
        batch_op.drop_index(batch_op.f("ix_teamspending_next_try_at"))
        batch_op.drop_index(batch_op.f("ix_teamspending_group_id"))
    op.drop_table("teamspending")
