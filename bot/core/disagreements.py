"""Disagreements that reached no team manager or conference chair yet: forwarded to one when
they become known."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core.meetings import format_when
from storage.models import Disagreement, Person

NOT_SHARED = "Not shared yet"


def unsent(session: Session, *, group_id: int, to_chair: bool) -> list[Disagreement]:
    """The group's disagreements no conference chair (or no team manager) was told of."""
    told = Disagreement.chair_told_at if to_chair else Disagreement.manager_told_at
    return list(
        session.exec(
            select(Disagreement)
            .where(Disagreement.group_id == group_id, col(told).is_(None))
            .order_by(col(Disagreement.raised_at))
        ).all()
    )


def mark_forwarded(
    session: Session,
    rows: list[Disagreement],
    *,
    to: Person,
    to_chair: bool,
    now: datetime,
    tz: ZoneInfo,
) -> None:
    """Record that these went to `to` now, in the words section 10 of the minutes shows."""
    who = "the conference chair" if to_chair else "the team manager"
    note = f"Forwarded to {who} ({to.display_name}) on {format_when(now, tz)}."
    for row in rows:
        if to_chair:
            row.chair_told_at = now
        else:
            row.manager_told_at = now
        kept = "" if row.escalated_to.startswith(NOT_SHARED) else row.escalated_to
        row.escalated_to = f"{kept} {note}".strip()
        session.add(row)
    session.flush()
