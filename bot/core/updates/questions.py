"""The update questions and their options: the words a reply may use (skip, back, later...), the
options of each question, the questions about a member's actions and the general ones, and
reading which option a typed answer picks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from rapidfuzz import process

from bot.core.calendar import format_day
from bot.core.errors import BadInput
from bot.core.replies import interpret
from storage.enums import ActionStatus
from storage.models import Action, UpdateAnswer

ANSWER = "update.answer"


CHANGE = "update.change"


MYUPDATE = "/coregroup myupdate"


SKIP = "skip"


SKIP_WORDS = frozenset({"skip", "n/a", "na", "not applicable", "pass", "-", "skip it"})


BACK_WORDS = frozenset({"back", "go back", "previous", "undo"})


LATER_WORDS = frozenset({"later", "pause", "stop", "not now", "busy"})


KEEP_WORDS = frozenset({"keep", "same", "no change", "unchanged"})


HELP_WORDS = frozenset({"help", "?", "what"})


# A bare "yes" to an open question ("anything the group must know?") needs the detail.
YES_WORDS = frozenset({"yes", "y", "yeah", "yep", "yup"})


_SEPARATORS = " \t,;:.!-\u2013\u2014"


# "No", "Nothing new", "none at the moment": an answer, but nothing to list as a worry or concern.
_NOTHING = re.compile(
    r"^(?:no|nope|none|nothing|not really|no,? nothing|all (?:fine|good))"
    r"(?:\s+(?:new|else|more|further|really|to (?:add|report|say|share)|at (?:the moment|"
    r"present|all|this time)|right now|for now|this time|changes?|new concerns?|concerns?|"
    r"worries|thanks|thank you))*$"
)


# Answers that are free text, read for "nothing" before they are listed for the group.
NOTHING_KEYS = ("worries", "must_know", "written_update")


def says_nothing(text: str) -> bool:
    """Whether an answer says there is nothing to tell ("No", "Nothing new", "none for now")."""
    folded = " ".join(text.lower().replace("\u2019", "'").split()).strip(" .!,")
    return not folded or bool(_NOTHING.match(folded))


# --- the questions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """A quick answer: its stored value, button labels, and the words people type for it."""

    value: str
    label: str
    family_label: str
    words: tuple[str, ...]


STATUS_OPTIONS = (
    Option("done", "Done", "Done", ("done", "complete", "completed", "finished", "sorted")),
    Option(
        "in-progress",
        "In progress",
        "Still doing it",
        (
            "in progress",
            "in-progress",
            "progress",
            "ongoing",
            "started",
            "still doing it",
            "doing it",
            "working on it",
            "not yet",
        ),
    ),
    Option(
        "stuck",
        "Stuck",
        "Stuck",
        ("stuck", "blocked", "can't do", "can't", "cant", "cannot", "not possible"),
    ),
)


YES_NO_OPTIONS = (
    Option("yes", "Yes", "Yes", ("yes", "y", "yeah", "yep", "yup")),
    Option("no", "No", "No", ("no", "n", "nope", "not yet", "not seen")),
)


ATTEND_OPTIONS = (
    Option(
        "yes",
        "Yes, I'll be there",
        "Yes, I'll be there",
        (
            "yes",
            "y",
            "yeah",
            "yep",
            "attending",
            "coming",
            "i'll be there",
            "ill be there",
            "i will be there",
            "i will",
            "i'll come",
            "will attend",
        ),
    ),
    Option(
        "apologies",
        "Send apologies",
        "I can't make it",
        (
            "apologies",
            "send apologies",
            "no",
            "n",
            "sorry",
            "can't make it",
            "cant make it",
            "i can't make it",
            "i cant make it",
            "can't",
            "cant",
            "cannot",
            "not coming",
            "can't come",
            "cant come",
            "i can't come",
            "unable",
        ),
    ),
)


# What a status answer does to the action itself.
STATUS_EFFECT = {
    "done": ActionStatus.DONE,
    "in-progress": ActionStatus.IN_PROGRESS,
    "stuck": ActionStatus.DECLINED,
}


@dataclass(frozen=True)
class Question:
    """One question of a member's update, in both wordings."""

    key: str  # stored in MemberUpdate.current_question and UpdateAnswer.question
    label: str  # short, for summaries
    ask: str
    ask_family: str
    options: tuple[Option, ...] = ()
    action_id: int | None = None
    # For a status question, the note question that follows it (an inline note answers it).
    follow_up: str | None = None

    def wording(self, family: bool) -> str:
        """The question as this member reads it."""
        return self.ask_family if family else self.ask

    def option(self, value: str) -> Option | None:
        """The quick answer with this stored value."""
        return next((o for o in self.options if o.value == value), None)


def _value(answer: UpdateAnswer | None) -> str | None:
    """The stored choice of an answer ("yes — at home" reads as "yes"); None if skipped."""
    if answer is None or answer.skipped:
        return None
    return answer.answer.split(" — ", 1)[0]


def _action_questions(action: Action, status: str | None) -> list[Question]:
    assert action.id is not None
    n, what, due = action.number, action.description, format_day(action.due_on)
    status_key, note_key = f"action:{action.id}:status", f"action:{action.id}:note"
    if status == "stuck":
        note = (
            f"What's stopping action {n}? The chair will see this.",
            "What's getting in the way? The group will try to help.",
        )
    else:
        note = (
            f"Any note on action {n}? For example what was done, or what happens next.",
            "Is there anything you'd like to add about it?",
        )
    return [
        Question(
            status_key,
            f"Action {n} ({_short(what)})",
            f"Your action {n}: \u201c{what}\u201d (due {due}). Is it done, in progress or stuck?",
            f"You agreed to: \u201c{what}\u201d (by {due}). How is it going: done, still doing "
            "it, or stuck?",
            STATUS_OPTIONS,
            action_id=action.id,
            follow_up=note_key,
        ),
        Question(note_key, f"Action {n} note", note[0], note[1], action_id=action.id),
    ]


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _general_questions(*, since: str, when: str) -> dict[str, Question]:
    return {
        q.key: q
        for q in (
            Question(
                "going_well",
                "Working well",
                "What is working well for the child and family?",
                "What's going well at home?",
            ),
            Question(
                "worries",
                "Worries",
                "What are you worried about?",
                "Is anything worrying you at the moment?",
            ),
            Question(
                "must_know",
                "The group must know",
                "Is there anything the group must know before the meeting, such as a new "
                "concern or a change?",
                "Is there anything you'd like the group to know before the meeting?",
            ),
            Question(
                "child_seen",
                "Child seen",
                f"Has the child been seen {since}?",
                f"Has the child been seen {since}?",
                YES_NO_OPTIONS,
            ),
            Question(
                "child_seen_alone",
                "Seen alone",
                "Was the child seen on their own?",
                "Was the child seen on their own?",
                YES_NO_OPTIONS,
            ),
            Question(
                "child_says",
                "Child's voice",
                "What does the child say? Their wishes and feelings, in their own words where "
                "you can.",
                "What does the child say?",
            ),
            Question(
                "attend",
                "Coming to the meeting",
                f"Will you come to the meeting on {when}?",
                f"Will you be able to come to the meeting on {when}?",
                ATTEND_OPTIONS,
            ),
            Question(
                "written_update",
                "Written update",
                "As you can't come, is there anything else for your written update? It will be "
                "shared at the meeting.",
                "Sorry you can't make it. Is there anything you'd like us to share at the "
                "meeting for you?",
            ),
        )
    }


def read_choice(
    question: Question, text: str, *, now: datetime, tz: ZoneInfo
) -> tuple[str, str | None]:
    """The option a typed answer picks and any words after it; BadInput (with a guess) if none."""
    found = _match_option(question.options, text)
    if found is None and question.options is STATUS_OPTIONS:
        found = _status_in_words(text, now=now, tz=tz)
    if found is not None:
        return found
    words = [w for o in question.options for w in o.words if len(w) > 2]
    guess = process.extractOne(text.lower().split(" ")[0], words, score_cutoff=75)
    labels = " / ".join(o.label.lower() for o in question.options)
    did_you_mean = f"Did you mean \u201c{guess[0]}\u201d? " if guess else ""
    raise BadInput(
        f"Sorry, I didn't catch that. {did_you_mean}Please answer {labels}, or skip.",
        hint="You can also press one of the buttons.",
    )


def _match_option(options: tuple[Option, ...], text: str) -> tuple[str, str | None] | None:
    folded = text.lower().replace("\u2019", "'")
    pairs = sorted(((w, o) for o in options for w in o.words), key=lambda p: -len(p[0]))
    for word, option in pairs:
        if folded == word:
            return option.value, None
        if folded.startswith(word) and folded[len(word)] in _SEPARATORS:
            rest = text[len(word) :].strip(_SEPARATORS)
            return option.value, rest or None
    return None


def _status_in_words(text: str, *, now: datetime, tz: ZoneInfo) -> tuple[str, str | None] | None:
    """A status said in a sentence ("referral sent, all done"), read as replies to reminders are."""
    intent = interpret(text, now=now, tz=tz)
    if intent.kind not in _INTENT_VALUES:
        return None
    return _INTENT_VALUES[intent.kind], intent.note


# "Need until Friday" is still in progress; the date itself is for the action card to change.
_INTENT_VALUES = {
    "done": "done",
    "progress": "in-progress",
    "blocked": "stuck",
    "new_date": "in-progress",
}
