"""documents and distribution: members' email addresses, a per-person log of copies sent

Revision ID: 0003_documents
Revises: 0002_card_copies
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0003_documents'
down_revision: str | None = '0002_card_copies'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True)
        )
        batch_op.add_column(
            sa.Column('outside_chat', sa.Boolean(), nullable=False, server_default=sa.false())
        )

    # Copies logged before this revision were sent in chat as the full or family text and
    # counted as delivered when published.
    with op.batch_alter_table('distribution', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('copy_kind', sa.String(length=32), nullable=False, server_default='full')
        )
        batch_op.add_column(
            sa.Column('method', sa.String(length=32), nullable=False, server_default='chat')
        )
        batch_op.add_column(
            sa.Column('status', sa.String(length=32), nullable=False, server_default='delivered')
        )
        batch_op.add_column(
            sa.Column('attempts', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(
            sa.Column('claimed_until', storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('message_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column('detail', sa.Text(), nullable=False, server_default=''))
        batch_op.create_foreign_key(
            'fk_distribution_version_id', 'minutesversion', ['version_id'], ['id']
        )
        batch_op.create_index('ix_distribution_status', ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('distribution', schema=None) as batch_op:
        batch_op.drop_index('ix_distribution_status')
        batch_op.drop_constraint('fk_distribution_version_id', type_='foreignkey')
        for column in (
            'detail',
            'message_ref',
            'claimed_until',
            'attempts',
            'status',
            'method',
            'copy_kind',
            'version_id',
        ):
            batch_op.drop_column(column)

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('outside_chat')
        batch_op.drop_column('email')
