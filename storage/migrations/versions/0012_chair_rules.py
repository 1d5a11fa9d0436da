"""chair rules: when a disagreement reached a team manager and the conference chair, so one
recorded before either was known is forwarded when they are added

Revision ID: 0012_chair_rules
Revises: 0013_delivery_safety
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0012_chair_rules"
down_revision: str | None = "0013_delivery_safety"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("disagreement", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("manager_told_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("chair_told_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
    # Those already recorded went to whoever was known then: not forwarded again.
    op.execute(
        "UPDATE disagreement SET manager_told_at = raised_at "
        "WHERE escalated_to LIKE '%the team manager (%'"
    )
    op.execute(
        "UPDATE disagreement SET chair_told_at = raised_at "
        "WHERE escalated_to LIKE '%the conference chair (%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("disagreement", schema=None) as batch_op:
        batch_op.drop_column("chair_told_at")
        batch_op.drop_column("manager_told_at")
