"""Changing outcomes: adding, editing and ending them, each change an OutcomeEvent."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from bot.core.errors import Conflict
from bot.core.plan.queries import next_number
from storage.enums import (
    ActionStatus,
    OutcomeEventKind,
    OutcomeStatus,
)
from storage.models import (
    Action,
    Outcome,
    OutcomeEvent,
)


def _outcome_event(
    session: Session,
    outcome: Outcome,
    *,
    actor_id: int,
    kind: OutcomeEventKind,
    old: str | None,
    new: str | None,
    note: str | None,
    now: datetime,
) -> OutcomeEvent:
    assert outcome.id is not None
    event = OutcomeEvent(
        outcome_id=outcome.id,
        at=now,
        actor_id=actor_id,
        kind=kind,
        old_value=old,
        new_value=new,
        note=note,
    )
    outcome.last_activity_at = now
    session.add_all([outcome, event])
    session.flush()
    return event


def add_outcome(
    session: Session, *, group_id: int, title: str, shared: bool, actor_id: int, now: datetime
) -> Outcome:
    """Add an outcome to the plan, numbered after the group's last."""
    outcome = Outcome(
        group_id=group_id,
        number=next_number(session, Outcome, group_id),
        title=title,
        shared_with_family=shared,
        created_at=now,
        last_activity_at=now,
    )
    session.add(outcome)
    session.flush()
    _outcome_event(
        session,
        outcome,
        actor_id=actor_id,
        kind=OutcomeEventKind.CREATED,
        old=None,
        new=title,
        note=None,
        now=now,
    )
    return outcome


def edit_outcome(
    session: Session, *, outcome: Outcome, title: str, actor_id: int, now: datetime
) -> OutcomeEvent:
    """Reword an outcome, keeping the old wording in its history."""
    old, outcome.title = outcome.title, title
    return _outcome_event(
        session,
        outcome,
        actor_id=actor_id,
        kind=OutcomeEventKind.EDITED,
        old=old,
        new=title,
        note=None,
        now=now,
    )


def end_outcome(
    session: Session,
    *,
    outcome: Outcome,
    achieved: bool,
    reason: str | None,
    actor_id: int,
    now: datetime,
) -> OutcomeEvent:
    """Mark an outcome achieved or ended (no longer part of the plan), with the reason."""
    if outcome.status != OutcomeStatus.ACTIVE:
        raise Conflict(
            f"Outcome {outcome.number} has already ended ({outcome.status}).",
            hint="`/coregroup outcomes` shows the plan.",
        )
    old = outcome.status
    outcome.status = OutcomeStatus.ACHIEVED if achieved else OutcomeStatus.ENDED
    outcome.ended_at = now
    return _outcome_event(
        session,
        outcome,
        actor_id=actor_id,
        kind=OutcomeEventKind.ENDED,
        old=old,
        new=outcome.status,
        note=reason,
        now=now,
    )


def outcome_progress(actions: Iterable[Action]) -> tuple[int, int]:
    """(done, total) for an outcome's actions; cancelled ones do not count."""
    counted = [a for a in actions if a.status != ActionStatus.CANCELLED]
    return sum(a.status == ActionStatus.DONE for a in counted), len(counted)
