"""Changing actions: adding, status, notes, dates, owners and undo, each change an ActionEvent
that touches the outcome it serves."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from bot.core.access import takes_part_as_family
from bot.core.errors import Conflict
from bot.core.plan.queries import last_event, next_number
from bot.core.plan.words import UNDO_NOTE, WITHDRAWN
from storage.enums import (
    ActionEventKind,
    ActionStatus,
)
from storage.models import (
    Action,
    ActionEvent,
    Outcome,
)


def _record(
    session: Session,
    action: Action,
    *,
    actor_id: int,
    kind: ActionEventKind,
    old: str | None,
    new: str | None,
    note: str | None,
    now: datetime,
) -> ActionEvent:
    """Write one history event, and mark the action and its outcome as active now.

    A note is for professionals only unless its author takes part as family (their own words):
    a professional's note reaches the family only when its author or the chair shares it.
    """
    assert action.id is not None
    event = ActionEvent(
        action_id=action.id,
        at=now,
        actor_id=actor_id,
        kind=kind,
        old_value=old,
        new_value=new,
        note=note or None,
        shared_with_family=bool(note)
        and takes_part_as_family(session, group_id=action.group_id, person_id=actor_id),
    )
    action.updated_at = now
    session.add_all([action, event])
    if action.outcome_id is not None:
        outcome = session.get(Outcome, action.outcome_id)
        if outcome is not None:
            outcome.last_activity_at = now
            session.add(outcome)
    session.flush()
    return event


def add_action(
    session: Session,
    *,
    group_id: int,
    outcome: Outcome | None,
    owner_id: int,
    description: str,
    due_on: date,
    shared: bool,
    actor_id: int,
    now: datetime,
) -> Action:
    """Add an action; it is shared with the family only if its outcome is too."""
    action = Action(
        group_id=group_id,
        number=next_number(session, Action, group_id),
        outcome_id=outcome.id if outcome else None,
        owner_id=owner_id,
        description=description,
        due_on=due_on,
        shared_with_family=shared and (outcome is None or outcome.shared_with_family),
        created_by=actor_id,
        created_at=now,
        updated_at=now,
    )
    session.add(action)
    session.flush()
    _record(
        session,
        action,
        actor_id=actor_id,
        kind=ActionEventKind.CREATED,
        old=None,
        new=description,
        note=None,
        now=now,
    )
    return action


def change_status(
    session: Session,
    *,
    action: Action,
    actor_id: int,
    status: ActionStatus,
    note: str | None,
    now: datetime,
) -> ActionEvent:
    """Set an action's status with a note; an unchanged status is recorded as a note."""
    old = ActionStatus(action.status)
    action.status = status
    kind = ActionEventKind.STATUS if old != status else ActionEventKind.NOTE
    return _record(
        session, action, actor_id=actor_id, kind=kind, old=old, new=status, note=note, now=now
    )


def add_note(
    session: Session, *, action: Action, actor_id: int, note: str, now: datetime
) -> ActionEvent:
    """Add a note to an action's history without changing it."""
    return _record(
        session,
        action,
        actor_id=actor_id,
        kind=ActionEventKind.NOTE,
        old=None,
        new=None,
        note=note,
        now=now,
    )


def change_due(
    session: Session,
    *,
    action: Action,
    actor_id: int,
    due_on: date,
    note: str | None,
    now: datetime,
) -> ActionEvent:
    """Move an action's due date, keeping the old one in its history."""
    old, action.due_on = action.due_on, due_on
    return _record(
        session,
        action,
        actor_id=actor_id,
        kind=ActionEventKind.DUE_CHANGED,
        old=old.isoformat(),
        new=due_on.isoformat(),
        note=note,
        now=now,
    )


def propose_date(
    session: Session,
    *,
    action: Action,
    actor_id: int,
    due_on: date,
    note: str | None,
    now: datetime,
) -> ActionEvent:
    """Record the owner's request for a new due date, for the chair to accept or decline."""
    return _record(
        session,
        action,
        actor_id=actor_id,
        kind=ActionEventKind.DATE_PROPOSED,
        old=action.due_on.isoformat(),
        new=due_on.isoformat(),
        note=note,
        now=now,
    )


_SETTLES_PROPOSAL = (
    ActionEventKind.DUE_CHANGED,
    ActionEventKind.DATE_DECLINED,
    ActionEventKind.DATE_PROPOSED,
)


def proposal_settled_by(session: Session, *, proposal: ActionEvent) -> ActionEvent | None:
    """The event that settled a date proposal (accepted, declined or superseded), if any."""
    return session.exec(
        select(ActionEvent)
        .where(
            ActionEvent.action_id == proposal.action_id,
            col(ActionEvent.id) > proposal.id,
            col(ActionEvent.kind).in_(_SETTLES_PROPOSAL),
        )
        .order_by(col(ActionEvent.id))
    ).first()


def decline_date(
    session: Session,
    *,
    action: Action,
    proposal: ActionEvent,
    actor_id: int,
    note: str | None,
    now: datetime,
) -> ActionEvent:
    """Record that the chair kept the due date rather than the one proposed."""
    return _record(
        session,
        action,
        actor_id=actor_id,
        kind=ActionEventKind.DATE_DECLINED,
        old=proposal.new_value,
        new=action.due_on.isoformat(),
        note=note,
        now=now,
    )


def reassign(
    session: Session,
    *,
    action: Action,
    actor_id: int,
    owner_id: int,
    note: str | None,
    now: datetime,
) -> ActionEvent:
    """Give an action to someone else; a declined action becomes open again for them."""
    old = action.owner_id
    action.owner_id = owner_id
    if action.status == ActionStatus.DECLINED:
        action.status = ActionStatus.OPEN
    return _record(
        session,
        action,
        actor_id=actor_id,
        kind=ActionEventKind.REASSIGNED,
        old=str(old),
        new=str(owner_id),
        note=note,
        now=now,
    )


def edit_action(
    session: Session, *, action: Action, actor_id: int, description: str, now: datetime
) -> ActionEvent:
    """Reword an action, keeping the old wording in its history."""
    old, action.description = action.description, description
    return _record(
        session,
        action,
        actor_id=actor_id,
        kind=ActionEventKind.EDITED,
        old=old,
        new=description,
        note=None,
        now=now,
    )


def undo(session: Session, *, event: ActionEvent, actor_id: int, now: datetime) -> ActionEvent:
    """Reverse a status, date or note change, recording the reversal; only the latest change."""
    action = session.get(Action, event.action_id)
    assert action is not None
    latest = last_event(session, action_id=event.action_id)
    if latest is None or latest.id != event.id:
        raise Conflict(
            f"Action {action.number} has changed since then (or this was already undone), "
            "so I can't undo it automatically.",
            hint=f"`/coregroup action {action.number}` shows its history; use its buttons "
            "to set it right.",
        )
    if event.kind == ActionEventKind.STATUS and event.old_value:
        return change_status(
            session,
            action=action,
            actor_id=actor_id,
            status=ActionStatus(event.old_value),
            note=UNDO_NOTE,
            now=now,
        )
    if event.kind == ActionEventKind.DUE_CHANGED and event.old_value:
        return change_due(
            session,
            action=action,
            actor_id=actor_id,
            due_on=date.fromisoformat(event.old_value),
            note=UNDO_NOTE,
            now=now,
        )
    if event.kind == ActionEventKind.NOTE and event.new_value != WITHDRAWN:
        return _record(
            session,
            action,
            actor_id=actor_id,
            kind=ActionEventKind.NOTE,
            old=str(event.id),
            new=WITHDRAWN,
            note=UNDO_NOTE,
            now=now,
        )
    raise Conflict(
        "That change can't be undone here.",
        hint=f"Ask the chair to change action {action.number}.",
    )
