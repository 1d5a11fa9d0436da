"""`coregroup export`: a subject access export as a ZIP of JSON, for a case or one person."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli import CommandFailed, Subparsers, UsageError, _add_command, _database, _out
from bot.config import load_settings

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.core.context import Locale
    from storage.models import CoreGroup


def add_export(subparsers: Subparsers) -> None:
    """Add `coregroup export`."""
    sub = _add_command(
        subparsers,
        "export",
        cmd_export,
        summary="Subject access: every row about a case, or one person across cases (other "
        "people's words redacted and listed), as a ZIP of JSON with a SHA-256 manifest.",
        epilog="Example: coregroup export --case CP-2026-0142 --out sar.zip",
    )
    whom = sub.add_mutually_exclusive_group(required=True)
    whom.add_argument("--case", help="a case reference")
    whom.add_argument("--person", help="a person's email address or chat user id")
    sub.add_argument("--out", required=True, help="the ZIP file to write")


def cmd_export(args: argparse.Namespace) -> int:
    """Write the ZIP and audit the export (by ids only)."""
    from sqlmodel import select

    from bot.clock import SystemClock
    from bot.core.context import Locale
    from bot.core.groups import find_case
    from bot.core.subject_access import export_case, export_person, find_person
    from storage.db import check_schema, session_scope
    from storage.enums import AuditKind
    from storage.models import AuditEntry, CoreGroup

    settings = load_settings()
    locale = Locale.from_settings(settings)
    now = SystemClock().now()
    out = Path(args.out)
    with _database(settings) as engine:
        check_schema(engine)
        with session_scope(engine) as session:
            if args.case:
                case = find_case(session, args.case)
                group = (
                    session.exec(select(CoreGroup).where(CoreGroup.case_id == case.id)).first()
                    if case is not None
                    else None
                )
                if case is None or group is None:
                    raise UsageError(f"no core group has the case reference {args.case!r}")
                export = export_case(session, case, group, _documents(session, group, locale))
                what, group_id, detail = "export:case", group.id, f"case={case.id}"
            else:
                people = find_person(session, args.person)
                if len(people) != 1:
                    found = "nobody" if not people else f"{len(people)} people"
                    raise UsageError(f"{found} has that email address or chat id; give another")
                export = export_person(session, people[0])
                what, group_id, detail = "export:person", None, f"person={people[0].id}"
            data = export.zip_bytes(now)
            try:
                out.write_bytes(data)
            except OSError as exc:
                raise CommandFailed(f"cannot write {out}: {exc.strerror}") from None
            detail += f" files={len(export.files)} redactions={len(export.redactions)}"
            session.add(
                AuditEntry(
                    at=now,
                    actor_id=None,
                    group_id=group_id,
                    kind=AuditKind.READ,
                    what=what,
                    detail=detail,
                )
            )
    _out(
        f"Wrote {len(export.files)} files ({len(export.redactions)} redactions) to {out.resolve()}"
    )
    return 0


def _documents(session: Session, group: CoreGroup, locale: Locale) -> dict[str, bytes]:
    """The published minutes of the group, each as the full copy in Word format."""
    from sqlmodel import col, select

    from bot.core.documents.build import published
    from bot.core.documents.delivery import rendered_copy
    from bot.core.documents.model import Format
    from storage.enums import CopyKind, MinutesStatus
    from storage.models import Meeting, Minutes

    found = {}
    meetings = select(Meeting.id).where(Meeting.group_id == group.id)
    for minutes in session.exec(
        select(Minutes).where(
            col(Minutes.meeting_id).in_(meetings), Minutes.status == MinutesStatus.PUBLISHED
        )
    ):
        pub = published(session, minutes=minutes, tz=locale.tz)
        rendered = rendered_copy(
            pub, CopyKind.FULL, tz=locale.tz, options=locale.documents, fmt=Format.DOCX
        )
        found[rendered.filename] = rendered.data
    return found
