"""The audit log's hash chain: each row's hash covers the previous row's hash and its own content.

`row_hash = SHA-256(prev_hash ‖ canonical JSON of at, actor, group, kind, what, detail)`, so
changing, removing or reordering any row breaks every later link. The chain head (the last place
and hash) lives in a one-row table that each writer locks before it appends, so several instances
on PostgreSQL append one after another; SQLite has a single writer anyway.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import Column, Integer, MetaData, String, Table, select, update
from sqlalchemy.engine import Connection

from storage.db import insert_for

GENESIS = "0" * 64
HEAD_ID = 1


def canonical(
    *, at: datetime, actor: int | None, group: int | None, kind: str, what: str, detail: str
) -> bytes:
    """The stable bytes a row's hash covers: sorted-key compact JSON, times in UTC."""
    content = {
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "group": group,
        "kind": str(kind),
        "what": what,
        "detail": detail,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(prev_hash: str, content: bytes) -> str:
    """The hash of a row whose predecessor's hash is `prev_hash`."""
    return hashlib.sha256(prev_hash.encode("ascii") + content).hexdigest()


# Core tables for the lock, so appending does not go through the ORM inside a flush.
_meta = MetaData()
_head = Table(
    "auditchain",
    _meta,
    Column("id", Integer, primary_key=True),
    Column("seq", Integer),
    Column("last_hash", String(64)),
)
_entries = Table("auditentry", _meta, Column("seq", Integer), Column("row_hash", String(64)))


def lock_head(conn: Connection) -> tuple[int, str]:
    """Lock the chain head for this transaction and return its (last place, last hash).

    A no-op UPDATE … RETURNING takes the row lock on PostgreSQL (the write lock on SQLite) and
    reads the head in one round trip; on PostgreSQL a writer that waited for the lock gets the
    head as the previous writer committed it. A missing head (a new or emptied database) is
    rebuilt from the last row.
    """
    bump = (
        update(_head)
        .where(_head.c.id == HEAD_ID)
        .values(seq=_head.c.seq)
        .returning(_head.c.seq, _head.c.last_hash)
    )
    row = conn.execute(bump).first()
    if row is None:
        last = conn.execute(
            select(_entries.c.seq, _entries.c.row_hash).order_by(_entries.c.seq.desc()).limit(1)
        ).first()
        seq, hashed = (last[0], last[1]) if last is not None else (0, GENESIS)
        conn.execute(
            insert_for(conn.dialect.name)(_head)
            .values(id=HEAD_ID, seq=seq, last_hash=hashed)
            .on_conflict_do_nothing()
        )
        row = conn.execute(bump).one()
    return int(row[0]), str(row[1])


def move_head(conn: Connection, seq: int, last_hash: str) -> None:
    """Record the new end of the chain (the head is locked by `lock_head`)."""
    conn.execute(update(_head).where(_head.c.id == HEAD_ID).values(seq=seq, last_hash=last_hash))
