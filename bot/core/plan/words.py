"""The words and markers the plan's modules share: status labels, the action card's questions,
and how an undo is recorded."""

from __future__ import annotations

from storage.enums import ActionStatus

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
