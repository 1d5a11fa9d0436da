"""Change tracking: which groups need their reminders planned again."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import col, select

from bot.core.reminders.settings import (
    ASAP,
)
from storage.db import insert_for
from storage.models import (
    Action,
    Concern,
    CoreGroup,
    Meeting,
    Membership,
    Minutes,
    Outcome,
    Person,
    ReminderPlanState,
    ReviewConference,
)

_GROUP_ROWS = (Meeting, Action, Membership, Outcome, Concern)
MARK_CHUNK = 5000
_HOURS_FIELDS = ("timezone", "contact_start_hour", "contact_end_hour")


def table_of(model: type[Any]) -> Table:
    """The Core table of a model."""
    table: Table = model.__table__
    return table


def track_changes() -> None:
    """Re-plan a group's reminders whenever a flush changes anything they are derived from.

    Every unit of work in the process is covered, whichever module made the change, so a moved
    meeting or a finished action is re-planned on the next tick.
    """
    if not event.contains(OrmSession, "after_flush", _after_flush):
        event.listen(OrmSession, "after_flush", _after_flush)


def _hours_changed(person: Person) -> bool:
    state = sa_inspect(person)
    return any(state.attrs[name].history.has_changes() for name in _HOURS_FIELDS)


def _after_flush(session: OrmSession, _context: object) -> None:
    groups: set[int] = set()
    meetings: set[int] = set()
    cases: set[int] = set()
    people: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _GROUP_ROWS):
            groups.add(obj.group_id)
        elif isinstance(obj, CoreGroup) and obj.id is not None:
            groups.add(obj.id)
        elif isinstance(obj, Minutes):
            meetings.add(obj.meeting_id)
        elif isinstance(obj, ReviewConference):
            cases.add(obj.case_id)
        elif isinstance(obj, Person) and obj.id is not None and _hours_changed(obj):
            people.add(obj.id)
    if not (groups or meetings or cases or people):
        return
    conn = session.connection()
    for found in (
        select(Meeting.group_id).where(col(Meeting.id).in_(meetings)) if meetings else None,
        select(CoreGroup.id).where(col(CoreGroup.case_id).in_(cases)) if cases else None,
        select(Membership.group_id).where(col(Membership.person_id).in_(people))
        if people
        else None,
    ):
        if found is not None:
            groups.update(conn.execute(found).scalars())
    mark_changed(conn, groups)


def mark_changed(conn: Connection, group_ids: Iterable[int]) -> None:
    """Ask for these groups to be re-planned on the next tick."""
    ids = sorted(set(group_ids))  # one fixed order, so concurrent writers never deadlock
    if not ids:
        return
    table = table_of(ReminderPlanState)
    insert = insert_for(conn.dialect.name)
    # Three bind parameters a group: chunks stay far below every driver's limit (PostgreSQL's
    # 65,535 is passed above 21,845 groups in one statement).
    for start in range(0, len(ids), MARK_CHUNK):
        stmt = insert(table).values(
            [
                {"group_id": g, "changes": 1, "next_plan_at": ASAP}
                for g in ids[start : start + MARK_CHUNK]
            ]
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c.group_id],
                set_={"changes": table.c.changes + 1, "next_plan_at": ASAP},
            )
        )
