"""/coregroup plan commands: outcomes and actions, the action card's buttons, and replies in words
to action reminders ("done — referral sent", "need until next Friday", "can't, they moved GP").

Where things are: `shared` (examples, limits and helpers the commands share), `outcomes`
(`outcome`, `outcomes`), `actions` (`action`, `actions`), `changes` (the chair's changes and the
owner's, from buttons and replies), `buttons` (the action card's buttons), `replies` (replies in
words to reminders), `registration` (the command table and `register`). Import from
`commands.plan`.
"""

from __future__ import annotations

from commands.plan.registration import register
from commands.plan.replies import reminded_actions, reply_about_actions
from commands.plan.shared import MAX_ACTION, MAX_OUTCOME

__all__ = [
    "MAX_ACTION",
    "MAX_OUTCOME",
    "register",
    "reminded_actions",
    "reply_about_actions",
]
