"""A team manager added later hears of the disagreements already recorded in the team's open
groups: one private notice per group, queued in the reminder ledger (so `coregroup team`, run
apart from the bot, has the running bot send it)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.core import disagreements
from bot.core.oversight import team_groups
from bot.core.reminders.settings import Kind
from storage.models import Person, Reminder


def tell_of_disagreements(
    session: Session, *, person: Person, team_id: int, now: datetime, tz: ZoneInfo
) -> int:
    """Queue for `person`, just made a manager of the team, a notice per open group listing its
    disagreements (those no manager was told of are marked forwarded); how many groups."""
    assert person.id is not None
    queued = 0
    for group, _case in team_groups(session, team_id=team_id):
        assert group.id is not None
        rows = disagreements.of_group(session, group_id=group.id)
        if not rows:
            continue
        ids = [r.id for r in rows if r.id is not None]
        # Made a manager again later, they hear again only if the group recorded more since.
        key = f"told:{group.id}:{person.id}:{max(ids)}"
        if session.exec(select(Reminder.id).where(Reminder.dedup_key == key)).first():
            continue
        unsent = [r for r in rows if r.manager_told_at is None]
        if unsent:
            disagreements.mark_forwarded(session, unsent, to=person, to_chair=False, now=now, tz=tz)
        session.add(
            Reminder(
                dedup_key=key,
                kind=Kind.EARLIER_DISAGREEMENTS.value,
                group_id=group.id,
                person_id=person.id,
                due_at=now,
                created_at=now,
                payload={"ids": ids},
            )
        )
        queued += 1
    session.flush()
    return queued
