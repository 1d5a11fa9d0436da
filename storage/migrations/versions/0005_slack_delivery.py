"""slack delivery: posts and channels Slack deferred (HTTP 429), kept until they are done,
and each channel's next free posting slot, shared by all the bot's processes

Revision ID: 0005_slack_delivery
Revises: 0007_family_web
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0005_slack_delivery"
down_revision: str | None = "0007_family_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slackdelivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("thread_ts", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_try_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["coregroup.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("slackdelivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slackdelivery_group_id"), ["group_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_slackdelivery_next_try_at"), ["next_try_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_slackdelivery_done_at"), ["done_at"], unique=False)
    op.create_table(
        "slackchannelpace",
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("next_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel"),
    )


def downgrade() -> None:
    op.drop_table("slackchannelpace")
    with op.batch_alter_table("slackdelivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slackdelivery_done_at"))
        batch_op.drop_index(batch_op.f("ix_slackdelivery_next_try_at"))
        batch_op.drop_index(batch_op.f("ix_slackdelivery_group_id"))
    op.drop_table("slackdelivery")
