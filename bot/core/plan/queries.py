"""Reading the plan: outcomes, actions, their history and who may see what."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from bot.core.plan.words import OPEN_STATUSES
from storage.enums import (
    GroupStatus,
    OutcomeStatus,
    ReminderStatus,
)
from storage.models import (
    Action,
    ActionEvent,
    CoreGroup,
    Membership,
    Outcome,
    OutcomeEvent,
    Reminder,
)


def next_number(session: Session, model: type[Outcome] | type[Action], group_id: int) -> int:
    """The next free number for an outcome or action in a group (numbers are never reused)."""
    current = session.exec(select(func.max(model.number)).where(model.group_id == group_id)).one()
    return (current or 0) + 1


def outcomes_of(session: Session, *, group_id: int) -> list[Outcome]:
    """Every outcome of the group's plan, by number."""
    return list(
        session.exec(
            select(Outcome).where(Outcome.group_id == group_id).order_by(col(Outcome.number))
        ).all()
    )


def active_outcomes(session: Session, *, group_id: int) -> list[Outcome]:
    """The outcomes still being worked on, by number."""
    return [o for o in outcomes_of(session, group_id=group_id) if o.status == OutcomeStatus.ACTIVE]


def outcome_by_number(session: Session, *, group_id: int, number: int) -> Outcome | None:
    """The group's outcome with this number."""
    return session.exec(
        select(Outcome).where(Outcome.group_id == group_id, Outcome.number == number)
    ).first()


def action_by_number(session: Session, *, group_id: int, number: int) -> Action | None:
    """The group's action with this number."""
    return session.exec(
        select(Action).where(Action.group_id == group_id, Action.number == number)
    ).first()


def actions_of(session: Session, *, group_id: int) -> list[Action]:
    """Every action of the group, by number."""
    return list(
        session.exec(
            select(Action).where(Action.group_id == group_id).order_by(col(Action.number))
        ).all()
    )


def actions_of_groups(session: Session, *, group_ids: Sequence[int]) -> dict[int, list[Action]]:
    """Every action of each of these groups, by number, in one query."""
    found: dict[int, list[Action]] = {g: [] for g in group_ids}
    if group_ids:
        for action in session.exec(
            select(Action)
            .where(col(Action.group_id).in_(list(group_ids)))
            .order_by(col(Action.group_id), col(Action.number))
        ).all():
            found[action.group_id].append(action)
    return found


def open_actions_for(session: Session, *, group_id: int, person_id: int) -> list[Action]:
    """A person's unfinished actions (open or in progress) in one group, soonest first."""
    return list(
        session.exec(
            select(Action)
            .where(
                Action.group_id == group_id,
                Action.owner_id == person_id,
                col(Action.status).in_(OPEN_STATUSES),
            )
            .order_by(col(Action.due_on), col(Action.number))
        ).all()
    )


def overdue_actions(session: Session, *, group_id: int, today: date) -> list[Action]:
    """The group's actions past their due date and not finished, most overdue first."""
    return list(
        session.exec(
            select(Action)
            .where(
                Action.group_id == group_id,
                col(Action.status).in_(OPEN_STATUSES),
                col(Action.due_on) < today,
            )
            .order_by(col(Action.due_on), col(Action.number))
        ).all()
    )


def owned_open_actions(session: Session, *, person_id: int) -> list[Action]:
    """A person's unfinished actions in every open group they are still a member of."""
    return list(
        session.exec(
            select(Action)
            .join(CoreGroup, col(CoreGroup.id) == Action.group_id)
            .join(
                Membership,
                (col(Membership.group_id) == Action.group_id)
                & (col(Membership.person_id) == Action.owner_id),
            )
            .where(
                Action.owner_id == person_id,
                col(Action.status).in_(OPEN_STATUSES),
                CoreGroup.status == GroupStatus.ACTIVE,
                col(Membership.active).is_(True),
            )
            .order_by(col(Action.due_on), col(Action.group_id), col(Action.number))
        ).all()
    )


def is_still_owner(session: Session, *, action: Action, person_id: int) -> bool:
    """Whether the person owns the action and is still an active member of its open group."""
    if action.owner_id != person_id:
        return False
    group = session.get(CoreGroup, action.group_id)
    member = session.exec(
        select(Membership).where(
            Membership.group_id == action.group_id,
            Membership.person_id == person_id,
            col(Membership.active).is_(True),
        )
    ).first()
    return group is not None and group.status == GroupStatus.ACTIVE and member is not None


def latest_action_reminder(
    session: Session, *, person_id: int, since: datetime
) -> tuple[list[Action], datetime] | None:
    """The actions of the latest action reminder sent to this person since `since`, and when
    it was sent (None if there was none)."""
    rows = session.exec(
        select(Reminder)
        .where(
            Reminder.person_id == person_id,
            col(Reminder.kind).startswith("action"),
            Reminder.status == ReminderStatus.SENT,
            col(Reminder.sent_at) >= since,
            col(Reminder.subject_id).is_not(None),
        )
        .order_by(col(Reminder.sent_at).desc(), col(Reminder.id).desc())
    ).all()
    if not rows or rows[0].sent_at is None:
        return None
    latest = [r for r in rows if r.sent_at == rows[0].sent_at]
    ids = list(dict.fromkeys(r.subject_id for r in latest if r.subject_id is not None))
    found = {a.id: a for a in session.exec(select(Action).where(col(Action.id).in_(ids))).all()}
    return [found[i] for i in ids if i in found], rows[0].sent_at


def history(session: Session, *, action_id: int) -> list[ActionEvent]:
    """Every change to an action, oldest first."""
    return list(
        session.exec(
            select(ActionEvent)
            .where(ActionEvent.action_id == action_id)
            .order_by(col(ActionEvent.id))
        ).all()
    )


def last_event(session: Session, *, action_id: int) -> ActionEvent | None:
    """The most recent change to an action."""
    return session.exec(
        select(ActionEvent)
        .where(ActionEvent.action_id == action_id)
        .order_by(col(ActionEvent.id).desc())
    ).first()


def outcome_history(session: Session, *, outcome_id: int) -> list[OutcomeEvent]:
    """Every change to an outcome, oldest first."""
    return list(
        session.exec(
            select(OutcomeEvent)
            .where(OutcomeEvent.outcome_id == outcome_id)
            .order_by(col(OutcomeEvent.id))
        ).all()
    )


def family_may_see(action: Action, person_id: int) -> bool:
    """Whether a family member may see an action: shared with the family, or their own."""
    return action.shared_with_family or action.owner_id == person_id


def is_overdue(action: Action, today: date) -> bool:
    """Whether the action is unfinished and past its due date."""
    return action.status in OPEN_STATUSES and action.due_on < today
