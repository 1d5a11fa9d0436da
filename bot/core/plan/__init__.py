"""The plan: outcomes (what needs to change) and actions (who does what by when), with history.

Every change to an action writes an ActionEvent and every change to an outcome an OutcomeEvent,
so nothing is overwritten without a trace; anything that happens under an outcome touches its
`last_activity_at` (drift detection reads it). Functions take the session and plain values
(keyword-only) so the scheduler and update conversations reuse them without an acting person;
authorisation happens in commands/.

Where things are: `words` (labels, questions, undo markers), `queries` (reading outcomes,
actions and history), `outcomes` and `actions` (the changes, each with its event), `display`
(phrases, the action card, history in words). Import from `bot.core.plan`.
"""

from __future__ import annotations

from bot.core.plan.actions import (
    add_action,
    add_note,
    change_due,
    change_status,
    decline_date,
    edit_action,
    proposal_settled_by,
    propose_date,
    reassign,
    undo,
)
from bot.core.plan.display import (
    action_card_id,
    action_message,
    days_phrase,
    describe_event,
    due_phrase,
    history_lines,
    is_note,
    latest_note,
    names_of,
    note_visible,
    notes_of,
    status_phrase,
)
from bot.core.plan.outcomes import (
    add_outcome,
    edit_outcome,
    end_outcome,
    outcome_progress,
)
from bot.core.plan.queries import (
    action_by_number,
    actions_of,
    actions_of_groups,
    active_outcomes,
    family_may_see,
    history,
    is_overdue,
    is_still_owner,
    last_event,
    latest_action_reminder,
    next_number,
    open_actions_for,
    outcome_by_number,
    outcome_history,
    outcomes_of,
    overdue_actions,
    owned_open_actions,
)
from bot.core.plan.words import (
    ASK_CANNOT,
    ASK_DATE,
    ASK_PROGRESS,
    OPEN_STATUSES,
    STATUS_LABELS,
    UNDO_NOTE,
    WITHDRAWN,
)

__all__ = [
    "ASK_CANNOT",
    "ASK_DATE",
    "ASK_PROGRESS",
    "OPEN_STATUSES",
    "STATUS_LABELS",
    "UNDO_NOTE",
    "WITHDRAWN",
    "action_by_number",
    "action_card_id",
    "action_message",
    "actions_of",
    "actions_of_groups",
    "active_outcomes",
    "add_action",
    "add_note",
    "add_outcome",
    "change_due",
    "change_status",
    "days_phrase",
    "decline_date",
    "describe_event",
    "due_phrase",
    "edit_action",
    "edit_outcome",
    "end_outcome",
    "family_may_see",
    "history",
    "history_lines",
    "is_note",
    "is_overdue",
    "is_still_owner",
    "last_event",
    "latest_action_reminder",
    "latest_note",
    "names_of",
    "next_number",
    "note_visible",
    "notes_of",
    "open_actions_for",
    "outcome_by_number",
    "outcome_history",
    "outcome_progress",
    "outcomes_of",
    "overdue_actions",
    "owned_open_actions",
    "proposal_settled_by",
    "propose_date",
    "reassign",
    "status_phrase",
    "undo",
]
