"""Pre-meeting updates by conversation, the nudge for those who have not replied, and the brief.

Each member's conversation lives in MemberUpdate (where they are: `current_question`) and
UpdateAnswer (one row per answered question, saved the moment it is given), so it resumes after
a restart or a pause of days. The questions are worked out afresh each time from the member's
open actions and the answers so far, so a conditional question (seen alone? a written update?)
appears only when it applies. Parents and carers get the same questions in family wording.

Where things are: `questions` (the options and questions, reading a typed choice),
`conversation` (one member's `Conversation`), `queries` (reading update rows), `flow` (the steps:
opening, replies, clicks, changes, the web form), `nudges` (who has not replied, the nudge),
`brief` (the pre-meeting brief). Import from `bot.core.updates`.

Question keys (UpdateAnswer.question), for anyone reading the answers (the minutes):
`action:<id>:status` ("done" / "in-progress" / "stuck"), `action:<id>:note`, `going_well`,
`worries`, `must_know`, `attend` ("yes" / "apologies"), `written_update`; for the key worker
`child_seen` and `child_seen_alone` ("yes" / "no", optionally followed by " — " and what was
said) and `child_says`. A skipped question has `skipped` set and an empty answer.
"""

from __future__ import annotations

from bot.core.updates.brief import BriefFacts, brief_message
from bot.core.updates.conversation import Conversation
from bot.core.updates.flow import (
    Asking,
    Step,
    answer_click,
    answered,
    answers_message,
    ask_again,
    change,
    current_question,
    open_update,
    opening,
    reply_to,
    require_open,
    resume,
    save_answer,
    start_update,
)
from bot.core.updates.nudges import member_label, nudge, nudge_message, pending_updates, updates_of
from bot.core.updates.queries import active_update, answers_of, update_for
from bot.core.updates.questions import (
    ANSWER,
    ATTEND_OPTIONS,
    CHANGE,
    MYUPDATE,
    NOTHING_KEYS,
    SKIP,
    STATUS_OPTIONS,
    Question,
    _value,
    read_choice,
    says_nothing,
)

__all__ = [
    "ANSWER",
    "ATTEND_OPTIONS",
    "Asking",
    "BriefFacts",
    "CHANGE",
    "Conversation",
    "MYUPDATE",
    "NOTHING_KEYS",
    "Question",
    "SKIP",
    "STATUS_OPTIONS",
    "Step",
    "_value",
    "active_update",
    "answer_click",
    "answered",
    "answers_message",
    "answers_of",
    "ask_again",
    "brief_message",
    "change",
    "current_question",
    "member_label",
    "nudge",
    "nudge_message",
    "open_update",
    "opening",
    "pending_updates",
    "read_choice",
    "reply_to",
    "require_open",
    "resume",
    "save_answer",
    "says_nothing",
    "start_update",
    "update_for",
    "updates_of",
]
