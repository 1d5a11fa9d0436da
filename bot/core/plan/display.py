"""Showing actions: due and status phrases, the action card and the history in words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core.calendar import format_day
from bot.core.meetings import case_of_group, format_when
from bot.core.plan.queries import history, is_overdue
from bot.core.plan.words import (
    ASK_CANNOT,
    ASK_DATE,
    ASK_PROGRESS,
    OPEN_STATUSES,
    STATUS_LABELS,
    UNDO_NOTE,
    WITHDRAWN,
)
from bot.messages import Button, Buttons, Context, Fields, Heading, Message, Text
from storage.enums import (
    ActionEventKind,
    ActionStatus,
)
from storage.models import (
    Action,
    ActionEvent,
    Outcome,
    Person,
)


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
