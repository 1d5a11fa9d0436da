"""`coregroup retention`: what the retention policy erases, listed (--dry-run) or done now."""

from __future__ import annotations

import argparse
from collections import defaultdict

from bot.cli import Subparsers, _add_command, _database, _out
from bot.config import load_settings


def add_retention(subparsers: Subparsers) -> None:
    """Add `coregroup retention`."""
    sub = _add_command(
        subparsers,
        "retention",
        cmd_retention,
        summary="List (--dry-run) or erase the working copies of closed groups past their "
        "retention period (RETENTION_MONTHS, default 6, and RETENTION_<KIND>_MONTHS).",
        epilog="The running bot does this daily, and deletes the chat messages it sent too; "
        "--now marks those messages and leaves deleting them to the bot's next daily run.",
    )
    how = sub.add_mutually_exclusive_group(required=True)
    how.add_argument("--dry-run", action="store_true", help="only list what would go")
    how.add_argument("--now", action="store_true", help="erase it now")


def cmd_retention(args: argparse.Namespace) -> int:
    """Counts per kind for each case reference; erasing is audited by kind and count."""
    from bot.clock import SystemClock
    from bot.core.retention import due, erase
    from bot.housekeeping import retention_policy
    from storage.db import check_schema, session_scope

    settings = load_settings()
    policy = retention_policy(settings)
    now = SystemClock().now()
    with _database(settings) as engine:
        check_schema(engine)
        with session_scope(engine) as session:
            found = due(session, policy, now) if args.dry_run else erase(session, policy, now)
    by_case: dict[str, list[str]] = defaultdict(list)
    for item in found:
        by_case[item.reference].append(f"{item.kind.replace('_', ' ')} {item.rows}")
    if not by_case:
        _out("Nothing has passed its retention period.")
        return 0
    _out("Would erase:" if args.dry_run else "Erased:")
    for reference, kinds in sorted(by_case.items()):
        _out(f"  {reference}: {', '.join(kinds)}")
    return 0
