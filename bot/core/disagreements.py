"""Disagreements that reached no team manager or conference chair yet: forwarded to one when
they become known; and the notice listing a group's earlier disagreements for someone newly
overseeing it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core.calendar import format_day
from bot.core.groups import membership_of
from bot.core.meetings import format_when
from bot.messages import Block, Context, Heading, Message, Text
from storage.enums import Role
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


def of_group(
    session: Session, *, group_id: int, ids: list[int] | None = None
) -> list[Disagreement]:
    """The group's disagreements (only `ids` when given), oldest first."""
    query = select(Disagreement).where(Disagreement.group_id == group_id)
    if ids is not None:
        query = query.where(col(Disagreement.id).in_(ids))
    return list(session.exec(query.order_by(col(Disagreement.raised_at), col(Disagreement.id))))


def earlier_notice(
    session: Session,
    rows: list[Disagreement],
    *,
    group_id: int,
    reference: str,
    intro: str,
    tz: ZoneInfo,
) -> Message:
    """A private notice listing `rows` (who raised each, their role, the day, what it is), under
    `intro`; only the case reference in the notification text (previews show on lock screens)."""
    blocks: list[Block] = [
        Heading(f"Disagreements recorded earlier — {reference}"),
        Text(intro),
        *(Text(_line(session, row, group_id=group_id, tz=tz)) for row in rows),
        Context(
            "Guidance asks for a significant disagreement to be shared with the team manager "
            "and brought to the conference chair's attention. The group's chair knows of each."
        ),
    ]
    return Message(
        text=f"{reference}: a disagreement in the core group needs your attention",
        blocks=tuple(blocks),
    )


def count_words(n: int) -> str:
    """How many disagreements, in words: "a disagreement", "3 disagreements"."""
    return "a disagreement" if n == 1 else f"{n} disagreements"


def _line(session: Session, row: Disagreement, *, group_id: int, tz: ZoneInfo) -> str:
    raiser = session.get(Person, row.raised_by)
    membership = membership_of(session, group_id=group_id, person_id=row.raised_by)
    role = f" ({Role(membership.role).label})" if membership is not None else ""
    name = raiser.display_name if raiser is not None else "A former member"
    day = format_day(row.raised_at.astimezone(tz).date())
    return f"{name}{role}, {day}: {row.detail}"


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
