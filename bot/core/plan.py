"""The plan: outcomes (what needs to change) and actions (who does what by when), with history.

Every change to an action writes an ActionEvent and every change to an outcome an OutcomeEvent,
so nothing is overwritten without a trace; anything that happens under an outcome touches its
`last_activity_at` (drift detection reads it). Functions take the session and plain values
(keyword-only) so the scheduler and update conversations reuse them without an acting person;
authorisation happens in commands/.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from bot.core.access import takes_part_as_family
from bot.core.calendar import format_day
from bot.core.errors import Conflict
from bot.core.meetings import case_of_group, format_when
from bot.messages import Button, Buttons, Context, Fields, Heading, Message, Text
from storage.enums import (
    ActionEventKind,
    ActionStatus,
    GroupStatus,
    OutcomeEventKind,
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
    Person,
    Reminder,
)

OPEN_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)

STATUS_LABELS = {
    ActionStatus.OPEN: "Open",
    ActionStatus.IN_PROGRESS: "In progress",
    ActionStatus.DONE: "Done",
    ActionStatus.DECLINED: "Can't be done",
    ActionStatus.CANCELLED: "Cancelled",
}

# The questions the action card's buttons ask (shared with the reply-in-words clarifications).
ASK_PROGRESS = "What's the latest?"
ASK_CANNOT = "What's stopping it? The chair will be told."
ASK_DATE = 'When by? e.g. "next Friday" or "15/1"'

# An undo is recorded as the reverse change with this note, straight after the change it undoes
# (only the latest change can be undone); undoing a note records a note event marked WITHDRAWN.
UNDO_NOTE = "undo"
WITHDRAWN = "withdrawn"


# --- queries ------------------------------------------------------------------------------------


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


# --- outcomes -----------------------------------------------------------------------------------


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


# --- actions ------------------------------------------------------------------------------------


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


# --- showing actions ----------------------------------------------------------------------------


def names_of(session: Session, person_ids: Iterable[int]) -> dict[int, str]:
    """Display names by person id."""
    ids = set(person_ids)
    if not ids:
        return {}
    rows = session.exec(select(Person).where(col(Person.id).in_(ids))).all()
    return {p.id: p.display_name for p in rows if p.id is not None}


def days_phrase(days: int) -> str:
    """ "1 day" / "3 days"."""
    return f"{days} day" if days == 1 else f"{days} days"


def due_phrase(action: Action, today: date) -> str:
    """The due date, and how overdue it is when unfinished and late."""
    text = format_day(action.due_on)
    if is_overdue(action, today):
        text += f" — OVERDUE by {days_phrase((today - action.due_on).days)}"
    return text


def _status_event(events: Sequence[ActionEvent], status: ActionStatus) -> ActionEvent | None:
    """The latest event that put the action into `status`."""
    for event in reversed(events):
        if event.kind in (ActionEventKind.STATUS, ActionEventKind.NOTE) and (
            event.new_value == status
        ):
            return event
    return None


def is_note(event: ActionEvent) -> bool:
    """Whether an event carries words someone wrote (not the action's own wording or an undo)."""
    return bool(event.note) and event.note != UNDO_NOTE and event.kind != ActionEventKind.CREATED


def notes_of(events: Sequence[ActionEvent]) -> list[ActionEvent]:
    """The events with a note, oldest first: `note 1`, `note 2`… of an action."""
    return [e for e in events if is_note(e)]


def note_visible(event: ActionEvent, *, family: bool) -> bool:
    """Whether a note may be shown: to professionals always, to the family once shared."""
    return not family or event.shared_with_family


def latest_note(events: Sequence[ActionEvent], *, family: bool = False) -> ActionEvent | None:
    """The latest note that is not part of an undone change (an undo follows what it undoes);
    for the family, the latest one shared with them."""
    undone = {events[i - 1].id for i in range(1, len(events)) if events[i].note == UNDO_NOTE}
    for event in reversed(events):
        if is_note(event) and event.id not in undone and note_visible(event, family=family):
            return event
    return None


def status_phrase(
    action: Action,
    events: Sequence[ActionEvent],
    names: dict[int, str],
    tz: ZoneInfo,
    *,
    family: bool = False,
) -> str:
    """The status as shown on the card: "Done — by Sam, Tue 24 Nov 2026, 10:02"."""
    status = ActionStatus(action.status)
    label = STATUS_LABELS[status]
    if status == ActionStatus.OPEN:
        return label
    event = _status_event(events, status)
    if event is None:
        return label
    who = names.get(event.actor_id, "someone")
    text = f"{label} — by {who}, {format_when(event.at, tz)}"
    if (
        status in (ActionStatus.DECLINED, ActionStatus.CANCELLED)
        and event.note
        and note_visible(event, family=family)
    ):
        text += f". Reason: {event.note}"
    return text


def action_message(
    session: Session,
    *,
    action: Action,
    tz: ZoneInfo,
    now: datetime,
    family: bool = False,
    to_family: bool = False,
    events: Sequence[ActionEvent] | None = None,
    names: dict[int, str] | None = None,
) -> Message:
    """The action card: outcome, owner, what, due date, status, and buttons while it is open.

    `events` (its history) and `names` (of its owner and everyone in that history) may be given
    when already loaded, as for a chunk of reminders; otherwise they are looked up.

    `to_family` is for a card addressed to a parent, carer or young person: no case reference.

    `family` is for a card the family can see (theirs, or in a space they are in): it shows only
    the notes shared with the family.
    """
    assert action.id is not None
    reference = case_of_group(session, group_id=action.group_id).reference
    events = history(session, action_id=action.id) if events is None else events
    if names is None:
        names = names_of(session, [action.owner_id, *(e.actor_id for e in events)])
    owner = session.get(Person, action.owner_id)
    outcome = session.get(Outcome, action.outcome_id) if action.outcome_id else None
    today = now.astimezone(tz).date()
    pairs = []
    if outcome is not None:
        # A family member's own card never shows a professionals-only outcome's wording.
        hide = not outcome.shared_with_family and owner is not None and owner.is_family
        pairs.append(
            ("Outcome", f"{outcome.number}" if hide else f"{outcome.number}. {outcome.title}")
        )
    owner_name = names.get(action.owner_id, "someone")
    if owner is not None and owner.agency:
        owner_name += f" ({owner.agency})"
    pairs += [
        ("Who", owner_name),
        ("Due", due_phrase(action, today)),
        ("Status", status_phrase(action, events, names, tz, family=family)),
    ]
    heading = f"Action {action.number}" if to_family else f"Action {action.number} · {reference}"
    blocks: list = [Heading(heading), Text(action.description)]
    blocks.append(Fields(tuple(pairs)))
    note = latest_note(events, family=family)
    if note is not None and note.note:
        who = names.get(note.actor_id, "someone")
        private = "" if note.shared_with_family else " (professionals only)"
        blocks.append(
            Context(f"Latest note from {who}, {format_when(note.at, tz)}: {note.note}{private}")
        )
    if not action.shared_with_family:
        blocks.append(Context("Professionals only: not shared with the family."))
    if action.status in (*OPEN_STATUSES, ActionStatus.DECLINED):
        value = str(action.id)
        blocks.append(
            Buttons(
                (
                    Button("Done", "action.done", value, style="primary"),
                    Button("In progress", "action.progress", value, ask=ASK_PROGRESS),
                    Button("Can't do", "action.cannot", value, style="danger", ask=ASK_CANNOT),
                    Button("New date", "action.newdate", value, ask=ASK_DATE),
                )
            )
        )
    summary = (
        f"{'Your' if to_family else reference + ':'} action {action.number}, due "
        f"{format_day(action.due_on)} ({STATUS_LABELS[ActionStatus(action.status)].lower()})"
    )
    return Message(text=summary, blocks=tuple(blocks), card=action_card_id(action))


def action_card_id(action: Action) -> str:
    """The id every copy of an action's card shares, so a click on one replaces them all."""
    return f"action:{action.id}"


def describe_event(
    event: ActionEvent,
    names: dict[int, str],
    tz: ZoneInfo,
    *,
    number: int | None = None,
    family: bool = False,
) -> str:
    """One line of an action's history: when, who, what changed (old → new), and the note.

    A note carries its `number` (for `/coregroup share action 2 note 1`) and who may see it;
    in the family's view a note not shared with them is left out.
    """
    who = names.get(event.actor_id, "someone")
    what = _event_text(event, names)
    line = f"{format_when(event.at, tz)} — {who} {what}"
    if event.note == UNDO_NOTE:
        line += "" if event.new_value == WITHDRAWN else ", undoing the change above"
    elif is_note(event) and note_visible(event, family=family):
        line += f". Note: {event.note}"
        if not family:
            seen_by = "shared with the family" if event.shared_with_family else "professionals only"
            line += f" (note {number}, {seen_by})" if number else f" ({seen_by})"
    return line


def _day_text(value: str | None) -> str:
    return format_day(date.fromisoformat(value)) if value else "no date"


def _event_text(event: ActionEvent, names: dict[int, str]) -> str:
    old, new = event.old_value, event.new_value
    match event.kind:
        case ActionEventKind.CREATED:
            return f"added it: {new}"
        case ActionEventKind.STATUS:
            return f"changed the status: {_status_text(old)} → {_status_text(new)}"
        case ActionEventKind.NOTE if new == WITHDRAWN:
            return "withdrew the note above"
        case ActionEventKind.NOTE:
            return "added a note"
        case ActionEventKind.REASSIGNED:
            return f"reassigned it: {_person_text(old, names)} → {_person_text(new, names)}"
        case ActionEventKind.DUE_CHANGED:
            return f"changed the due date: {_day_text(old)} → {_day_text(new)}"
        case ActionEventKind.DATE_PROPOSED:
            return f"asked for a new date: {_day_text(old)} → {_day_text(new)}"
        case ActionEventKind.DATE_DECLINED:
            return f"kept the due date {_day_text(new)} (not {_day_text(old)})"
        case ActionEventKind.EDITED:
            return f'reworded it: "{old}" → "{new}"'
    return f"changed it ({event.kind})"


def _status_text(value: str | None) -> str:
    return STATUS_LABELS[ActionStatus(value)].lower() if value else "none"


def _person_text(value: str | None, names: dict[int, str]) -> str:
    return names.get(int(value), "someone") if value and value.isdigit() else "someone"


def history_lines(
    session: Session, *, action: Action, tz: ZoneInfo, family: bool = False
) -> list[str]:
    """The action's full history, oldest first, one line per change (for the family, without
    the notes that are not shared with them)."""
    assert action.id is not None
    events = history(session, action_id=action.id)
    ids = {e.actor_id for e in events}
    ids |= {
        int(v)
        for e in events
        if e.kind == ActionEventKind.REASSIGNED
        for v in (e.old_value, e.new_value)
        if v and v.isdigit()
    }
    names = names_of(session, ids)
    numbers = {e.id: n for n, e in enumerate(notes_of(events), 1)}
    return [
        describe_event(e, names, tz, number=numbers.get(e.id), family=family)
        for e in events
        # A note on its own says nothing to the family once its words are left out.
        if not (family and e.kind == ActionEventKind.NOTE and not note_visible(e, family=True))
    ]
