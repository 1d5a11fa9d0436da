"""audit chain: hash-chained audit rows with daily seals, refused UPDATE/DELETE on PostgreSQL,
and which kinds of each closed group's working copies retention has erased

Revision ID: 0011_audit_chain
Revises: 0012_chair_rules
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types
from storage.audit_chain import GENESIS, HEAD_ID, canonical, link

revision: str = "0011_audit_chain"
down_revision: str | None = "0012_chair_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Row triggers: TRUNCATE (what a test fixture or a DBA's deliberate reset uses) is not blocked.
_TRIGGER = """
CREATE FUNCTION auditentry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER auditentry_append_only BEFORE UPDATE OR DELETE ON auditentry
  FOR EACH ROW EXECUTE FUNCTION auditentry_append_only();
"""


def upgrade() -> None:
    with op.batch_alter_table("auditentry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("row_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    seq, last = _hash_existing_rows()
    with op.batch_alter_table("auditentry", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        for name in ("prev_hash", "row_hash"):
            batch_op.alter_column(
                name, existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
            )
        batch_op.create_index(batch_op.f("ix_auditentry_seq"), ["seq"], unique=True)
    head = op.create_table(
        "auditchain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(head, [{"id": HEAD_ID, "seq": seq, "last_hash": last}])
    op.create_table(
        "auditseal",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("mac", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sealed_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "erasure",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("erased_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["coregroup.id"]),
        sa.PrimaryKeyConstraint("group_id", "kind"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_TRIGGER)


def _hash_existing_rows() -> tuple[int, str]:
    """Chain the rows already there, in id order; the last place and hash."""
    conn = op.get_bind()
    table = sa.table(
        "auditentry",
        sa.column("id", sa.Integer),
        sa.column("at", storage.types.UTCDateTime(timezone=True)),
        sa.column("actor_id", sa.Integer),
        sa.column("group_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("what", sa.String),
        sa.column("detail", sa.Text),
        sa.column("seq", sa.Integer),
        sa.column("prev_hash", sa.String),
        sa.column("row_hash", sa.String),
    )
    seq, last = 0, GENESIS
    rows = conn.execute(
        sa.select(
            table.c.id,
            table.c.at,
            table.c.actor_id,
            table.c.group_id,
            table.c.kind,
            table.c.what,
            table.c.detail,
        ).order_by(table.c.id)
    ).all()
    for row in rows:
        seq += 1
        content = canonical(
            at=row.at,
            actor=row.actor_id,
            group=row.group_id,
            kind=row.kind,
            what=row.what,
            detail=row.detail,
        )
        new = link(last, content)
        conn.execute(
            table.update().where(table.c.id == row.id).values(seq=seq, prev_hash=last, row_hash=new)
        )
        last = new
    return seq, last


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS auditentry_append_only ON auditentry")
        op.execute("DROP FUNCTION IF EXISTS auditentry_append_only()")
    op.drop_table("erasure")
    op.drop_table("auditseal")
    op.drop_table("auditchain")
    with op.batch_alter_table("auditentry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auditentry_seq"))
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
