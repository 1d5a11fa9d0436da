"""`coregroup report`: the timeliness and participation report from the command line.

For the partnership as well as one team: `--team` may be given more than once. The run is
audited like the chat's (no person: the CLI is run by whoever administers the bot).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli import (
    Subparsers,
    UsageError,
    _add_command,
    _database,
    _date_option,
    _out,
)
from bot.config import load_settings


def add_report(subparsers: Subparsers) -> None:
    """Add `coregroup report`."""
    sub = _add_command(
        subparsers,
        "report",
        cmd_report,
        summary="Timeliness of each statutory step and participation per agency, for a team's "
        "core groups over a period (text, or a CSV, PDF or PNG file).",
        epilog='Example: coregroup report --team "North Team" --from 2027-01-01 --to 2027-03-31 '
        "--format csv. Give --team more than once for a partnership-wide report.",
    )
    sub.add_argument(
        "--team", action="append", required=True, help="a team's name; repeat for several"
    )
    sub.add_argument(
        "--from", dest="start", required=True, type=_date_option("--from", "2027-01-01")
    )
    sub.add_argument("--to", dest="end", required=True, type=_date_option("--to", "2027-03-31"))
    sub.add_argument("--format", choices=["csv", "pdf", "png"], help="write a file, not text")
    sub.add_argument("--out", default=".", help="a folder or file name to write (default: here)")


def cmd_report(args: argparse.Namespace) -> int:
    """Print the report, or write it as a file; audited per group."""
    from sqlmodel import col, select

    from bot.clock import SystemClock
    from bot.core.context import Locale
    from bot.core.errors import UserError
    from bot.core.report import build_report, checked_period
    from bot.core.report_render import render, summary_message
    from bot.render.text import render_text
    from storage.db import check_schema, session_scope
    from storage.enums import AuditKind
    from storage.models import AuditEntry, Team

    try:
        period = checked_period(args.start, args.end, example="--from 2027-01-01 --to 2027-03-31")
    except UserError as err:
        raise UsageError(f"{err.message} {err.hint}") from None
    settings = load_settings()
    locale = Locale.from_settings(settings)
    clock = SystemClock()
    names = [" ".join(name.split()) for name in args.team]
    with _database(settings) as engine:
        check_schema(engine)
        with session_scope(engine) as session:
            teams = session.exec(select(Team).where(col(Team.name).in_(names))).all()
            missing = sorted(set(names) - {t.name for t in teams})
            if missing:
                known = ", ".join(sorted(session.exec(select(Team.name)).all())) or "none yet"
                raise UsageError(f"no team is called {missing[0]!r} (teams: {known})")
            team_ids = [t.id for t in teams if t.id is not None]
            report = build_report(
                session, team_ids=team_ids, period=period, now=clock.now(), locale=locale
            )
            detail = (
                f"teams={','.join(map(str, sorted(team_ids)))} from={period.start} "
                f"to={period.end} format={args.format or 'text'}"
            )
            now = clock.now()
            session.add(
                AuditEntry(
                    at=now, kind=AuditKind.READ, what="report:cli", detail=detail, group_id=None
                )
            )
            session.add_all(
                AuditEntry(at=now, kind=AuditKind.READ, what="report:cli", group_id=g.group_id)
                for g in report.groups
            )
            if args.format is None:
                _out(render_text(summary_message(report), lambda _button: 0))
                return 0
            file = render(report, args.format, marking=locale.documents.marking)
            out = Path(args.out)
            path = out / file.filename if out.is_dir() else out
            try:
                path.write_bytes(file.data)
            except OSError as exc:
                raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    _out(f"Wrote the report on {len(report.groups)} core groups to {path.resolve()}")
    return 0
