"""Writing one batch of planned groups into the ledger in a few set-based statements.

The batch's derived rows and windows go into two temporary tables (COPY on PostgreSQL, one
executemany on SQLite); then one INSERT … SELECT … ON CONFLICT adds, moves and revives rows under
the same rule as `upsert`, and one anti-join UPDATE withdraws the pending rows of each group, from
its window on, that were not derived again (as `withdraw_stale` does, without reading them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    exists,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import JSON as PG_JSON
from sqlalchemy.schema import CreateTable
from sqlmodel import Session

from bot.core.reminders.changes import table_of
from bot.core.reminders.ledger import on_conflict_replan
from bot.core.reminders.queries import among_ids
from bot.core.reminders.settings import UNPLANNED_PREFIXES, Occurrence
from storage.db import insert_for
from storage.enums import ReminderStatus
from storage.models import Reminder
from storage.types import UTCDateTime

_SCRATCH = MetaData()
# What this batch derived (one row per key) and from when each group was planned.
_DERIVED = Table(
    "plan_derived",
    _SCRATCH,
    Column("dedup_key", Text, primary_key=True),
    Column("kind", Text),
    Column("group_id", Integer),
    Column("person_id", Integer),
    Column("subject_id", Integer),
    Column("due_at", UTCDateTime),
    Column("not_after", UTCDateTime),
    Column("payload", Text),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",  # emptied by every commit: an aborted batch leaves none
)
_WINDOWS = Table(
    "plan_windows",
    _SCRATCH,
    Column("group_id", Integer, primary_key=True),
    Column("lo", UTCDateTime),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)
_COLUMNS = ("dedup_key", "kind", "group_id", "person_id", "subject_id", "due_at", "not_after")


def write_batch(
    session: Session,
    occurrences: Iterable[Occurrence],
    *,
    windows: dict[int, datetime],
    now: datetime,
) -> list[int]:
    """Upsert a batch's derived occurrences and withdraw what each group (planned from its
    window's start) no longer derives; returns the withdrawn rows' ids."""
    if not windows:
        return []
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    _scratch(session, postgres)
    derived = [
        (o.key, o.kind.value, o.group_id, o.person_id, o.subject_id, o.due_at, o.not_after,
         json.dumps(o.detail) if o.detail else None)
        for o in {o.key: o for o in occurrences}.values()  # the last one of a key, as `upsert`
    ]  # fmt: skip
    spans = list(windows.items())
    if postgres:
        _copy(session, _DERIVED, derived)
        _copy(session, _WINDOWS, spans)
    else:
        if derived:
            conn.execute(
                _DERIVED.insert(), [dict(zip(_DERIVED.c.keys(), r, strict=True)) for r in derived]
            )
        conn.execute(_WINDOWS.insert(), [{"group_id": g, "lo": lo} for g, lo in spans])
    if derived:
        _insert_derived(session, now=now)
    return _withdraw_underived(session, list(windows))


def _scratch(session: Session, postgres: bool) -> None:
    """Empty temporary tables for this batch (made once per connection; keyed, so the joins
    below look rows up whatever the planner guesses of their size)."""
    conn = session.connection()
    for table in (_DERIVED, _WINDOWS):
        conn.execute(CreateTable(table, if_not_exists=True))
        if not postgres:  # PostgreSQL empties them at commit
            conn.execute(table.delete())


def _copy(session: Session, table: Table, rows: list[tuple[Any, ...]]) -> None:
    """COPY rows into a temporary table, on the session's own connection and transaction."""
    if not rows:
        return
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cursor:  # type: ignore[attr-defined]
        names = ", ".join(c.name for c in table.c)
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _insert_derived(session: Session, *, now: datetime) -> None:
    ledger = table_of(Reminder)
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    payload: Any = _DERIVED.c.payload
    if postgres:
        payload = payload.cast(PG_JSON)
    rows = select(
        *(_DERIVED.c[name] for name in _COLUMNS),
        literal(ReminderStatus.PENDING.value),
        literal(0),
        payload,
        literal(now, UTCDateTime),
    ).where(true())  # SQLite reads ON CONFLICT after a bare SELECT as part of a join
    stmt = insert_for(conn.dialect.name)(ledger).from_select(
        [*_COLUMNS, "status", "attempts", "payload", "created_at"], rows
    )
    conn.execute(on_conflict_replan(stmt))


def _withdraw_underived(session: Session, group_ids: list[int]) -> list[int]:
    ledger = table_of(Reminder)
    dialect = session.connection().dialect.name
    derived = exists().where(
        _DERIVED.c.dedup_key == ledger.c.dedup_key, _DERIVED.c.group_id == ledger.c.group_id
    )
    in_window = exists().where(
        _WINDOWS.c.group_id == ledger.c.group_id, ledger.c.due_at >= _WINDOWS.c.lo
    )
    unplanned = [ledger.c.dedup_key.startswith(prefix) for prefix in UNPLANNED_PREFIXES]
    result = session.connection().execute(
        update(ledger)
        .where(
            # Only this batch's groups, through their index: not every pending row in the ledger.
            among_ids(dialect, ledger.c.group_id, group_ids),
            ledger.c.status == ReminderStatus.PENDING.value,
            in_window,
            ~derived,
            ~or_(*unplanned),
        )
        .values(status=ReminderStatus.WITHDRAWN.value)
        .returning(ledger.c.id)
    )
    return sorted(result.scalars())
