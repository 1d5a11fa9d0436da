"""Sharing a professional's words with the family: one note or answer at a time, on purpose.

Professionals' notes on actions and their update answers are for professionals only until their
author or the chair shares them; then they appear wherever the family looks (their action cards,
the family's copy of the minutes). An item is named in buttons as "note:<event id>" or
"answer:<answer id>".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.core.plan import history, notes_of
from storage.models import Action, ActionEvent, Concern, Meeting, MemberUpdate, UpdateAnswer

SHARE = "share.item"
UNSHARE = "share.undo"


@dataclass(frozen=True)
class Shareable:
    """A note or an answer that may be shared: where it lives and who wrote it."""

    value: str  # "note:14" / "answer:9"
    row: ActionEvent | UpdateAnswer
    group_id: int
    author_id: int
    text: str
    label: str  # "note 2 on action 3" / "the answer to “Worries”"

    @property
    def shared(self) -> bool:
        """Whether the family can see it now."""
        return self.row.shared_with_family


def note_item(session: Session, *, event: ActionEvent) -> Shareable | None:
    """An action's note as something to share (None for an event without a note)."""
    action = session.get(Action, event.action_id)
    if action is None or action.id is None:
        return None
    numbers = {e.id: n for n, e in enumerate(notes_of(history(session, action_id=action.id)), 1)}
    if event.id not in numbers:
        return None
    return Shareable(
        f"note:{event.id}",
        event,
        action.group_id,
        event.actor_id,
        event.note or "",
        f"note {numbers[event.id]} on action {action.number}",
    )


def answer_item(session: Session, *, answer: UpdateAnswer, label: str) -> Shareable | None:
    """An update answer as something to share (None when skipped or empty)."""
    update = session.get(MemberUpdate, answer.update_id)
    meeting = session.get(Meeting, update.meeting_id) if update is not None else None
    if update is None or meeting is None or answer.skipped or not answer.answer.strip():
        return None
    return Shareable(
        f"answer:{answer.id}",
        answer,
        meeting.group_id,
        update.person_id,
        answer.answer,
        f"your answer to \u201c{label}\u201d" if label else "an update answer",
    )


def item_of(session: Session, value: str, *, label_of: dict[str, str]) -> Shareable | None:
    """The item a button names; None if there is none (`label_of` names answers' questions)."""
    kind, _, raw = value.partition(":")
    if not raw.isdigit():
        return None
    if kind == "note":
        event = session.get(ActionEvent, int(raw))
        return note_item(session, event=event) if event is not None else None
    if kind == "answer":
        answer = session.get(UpdateAnswer, int(raw))
        if answer is None:
            return None
        return answer_item(session, answer=answer, label=label_of.get(answer.question, ""))
    return None


def flagged(session: Session, item: Shareable) -> bool:
    """Whether the item was asked about as a possible new concern (the chair decides those)."""
    column = (
        Concern.action_event_id if isinstance(item.row, ActionEvent) else Concern.update_answer_id
    )
    return session.exec(select(Concern.id).where(col(column) == item.row.id)).first() is not None


def set_shared(session: Session, item: Shareable, *, shared: bool) -> None:
    """Share the item with the family, or make it professionals-only again.

    An answer about an action was also kept as a note on the action: that note follows it.
    """
    item.row.shared_with_family = shared
    session.add(item.row)
    row = item.row
    if isinstance(row, UpdateAnswer) and row.question.startswith("action:"):
        action_id = row.question.split(":")[1]
        if action_id.isdigit():
            # Notes are sealed at rest, so the one matching the answer is found here, not in SQL.
            for event in session.exec(
                select(ActionEvent).where(
                    ActionEvent.action_id == int(action_id),
                    ActionEvent.actor_id == item.author_id,
                )
            ).all():
                if event.note != row.answer:
                    continue
                event.shared_with_family = shared
                session.add(event)
    session.flush()
