"""Snoozing: the reminders of one message sent again on the next working morning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.core.context import Locale
from bot.core.errors import Conflict, NotFound
from bot.core.reminders.plan import Planner
from bot.core.reminders.settings import (
    NOT_SNOOZABLE,
    Kind,
    ReminderSettings,
)
from bot.core.working_hours import (
    next_working_morning,
    person_hours,
)
from storage.enums import (
    ReminderStatus,
)
from storage.models import (
    Case,
    CoreGroup,
    Person,
    Reminder,
)


@dataclass(frozen=True)
class Snoozed:
    """What a snooze did: how many reminders come back, when, and in which groups."""

    count: int
    until: datetime
    group_ids: tuple[int, ...]


def _not_yours() -> NotFound:
    return NotFound(
        "I can't find that reminder.",
        hint="Snooze works on a reminder sent to you: press its Snooze button.",
    )


def snooze(
    session: Session, *, reminder_id: int, person: Person, locale: Locale, now: datetime
) -> Snoozed:
    """Send the reminders of one message again on the person's next working morning."""
    first = session.get(Reminder, reminder_id)
    if (
        first is None
        or first.person_id != person.id
        or first.status != ReminderStatus.SENT
        or first.batch_key is None
    ):
        raise _not_yours()
    rows = session.exec(
        select(Reminder).where(
            Reminder.batch_key == first.batch_key,
            Reminder.person_id == person.id,
            Reminder.status == ReminderStatus.SENT,
        )
    ).all()
    hours = person_hours(person)
    planner = Planner(locale=locale, settings=ReminderSettings())
    made: list[tuple[Reminder, datetime]] = []
    for row in rows:
        if Kind(row.kind) in NOT_SNOOZABLE:
            continue
        group = session.get(CoreGroup, row.group_id) if row.group_id else None
        case = session.get(Case, group.case_id) if group else None
        until = next_working_morning(now, hours=hours, calendar=planner.calendar(case))
        if row.not_after is not None and row.not_after <= until:
            continue
        made.append((row, until))
    if not made:
        raise Conflict(
            "It's too late to snooze this reminder: what it's about happens before then.",
            hint="Reply to it instead, or ask the chair.",
        )
    for row, until in made:
        key = f"snooze:{row.id}:{until.astimezone(hours.tz).date()}"
        if session.exec(select(Reminder.id).where(Reminder.dedup_key == key)).first():
            continue
        payload = dict(row.payload or {})
        payload.setdefault("of", row.dedup_key)
        payload.setdefault("nominal", row.due_at.isoformat())
        session.add(
            Reminder(
                dedup_key=key,
                kind=row.kind,
                group_id=row.group_id,
                person_id=row.person_id,
                subject_id=row.subject_id,
                due_at=until,
                not_after=row.not_after,
                payload=payload,
                created_at=now,
            )
        )
    session.flush()
    groups = tuple(sorted({r.group_id for r, _ in made if r.group_id is not None}))
    return Snoozed(len(made), min(u for _, u in made), groups)
