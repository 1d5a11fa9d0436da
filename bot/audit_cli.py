"""`coregroup audit verify` and `coregroup audit seal`: check and seal the audit hash chain."""

from __future__ import annotations

import argparse

from bot.cli import RUNTIME_ERROR, Subparsers, _add_command, _database, _out
from bot.config import load_settings


def add_audit(subparsers: Subparsers) -> None:
    """Add `coregroup audit …`."""
    audit = _add_command(subparsers, "audit", None, summary="The tamper-evident audit log.")
    actions = audit.add_subparsers(title="audit commands", metavar="AUDIT_COMMAND")
    _add_command(
        actions,
        "verify",
        cmd_verify,
        summary="Walk the hash chain and the daily seals; name the first broken row (exit 1).",
    )
    _add_command(
        actions,
        "seal",
        cmd_seal,
        summary="Seal the finished days not sealed yet (the running bot does this daily).",
    )


def cmd_verify(args: argparse.Namespace) -> int:
    """Check every row and seal; exit code 1 at the first break, which is named by id and date."""
    from bot.audit_key import audit_key
    from bot.core.audit_log import verify
    from storage.db import check_schema, session_scope

    settings = load_settings()
    key = audit_key(settings)
    with _database(settings) as engine:
        check_schema(engine)
        with session_scope(engine) as session:
            result = verify(session, key)
    if result.broken is None:
        _out(f"The audit log is intact: {result.rows} rows, {result.seals} sealed days.")
        return 0
    broken = result.broken
    where = []
    if broken.row_id is not None:
        where.append(f"row {broken.row_id}")
    if broken.day is not None:
        where.append(f"of {broken.day.isoformat()}" if where else f"the seal of {broken.day}")
    _out(f"The audit log is BROKEN at {' '.join(where) or 'its end'}: {broken.reason}.")
    _out(f"{result.rows} rows before it are intact.")
    return RUNTIME_ERROR


def cmd_seal(args: argparse.Namespace) -> int:
    """Seal the finished UTC days."""
    from bot.audit_key import audit_key
    from bot.clock import SystemClock
    from bot.core.audit_log import seal_days
    from storage.db import check_schema, session_scope

    settings = load_settings()
    key = audit_key(settings)
    with _database(settings) as engine:
        check_schema(engine)
        with session_scope(engine) as session:
            days = seal_days(session, key, SystemClock().now())
    _out(
        f"Sealed {len(days)} day(s)"
        + (f": {', '.join(d.isoformat() for d in days)}." if days else ".")
    )
    return 0
