"""Pre-meeting updates by conversation, the nudge for those who have not replied, and the brief.

Each member's conversation lives in MemberUpdate (where they are: `current_question`) and
UpdateAnswer (one row per answered question, saved the moment it is given), so it resumes after
a restart or a pause of days. The questions are worked out afresh each time from the member's
open actions and the answers so far, so a conditional question (seen alone? a written update?)
appears only when it applies. Parents and carers get the same questions in family wording.

Question keys (UpdateAnswer.question), for anyone reading the answers (the minutes):
`action:<id>:status` ("done" / "in-progress" / "stuck"), `action:<id>:note`, `going_well`,
`worries`, `must_know`, `attend` ("yes" / "apologies"), `written_update`; for the key worker
`child_seen` and `child_seen_alone` ("yes" / "no", optionally followed by " — " and what was
said) and `child_says`. A skipped question has `skipped` set and an empty answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from rapidfuzz import process
from sqlmodel import Session, col, select

from bot.core import concerns, young_voice
from bot.core.access import has_family, members_of
from bot.core.calendar import WorkingCalendar, format_day
from bot.core.errors import BadInput, Conflict
from bot.core.meetings import (
    KIND_LABELS,
    case_of_group,
    format_when,
    last_held_meeting,
    place_pairs,
    role_label,
    set_attendance,
)
from bot.core.plan import STATUS_LABELS, add_note, change_status, is_overdue, open_actions_for
from bot.core.policy import Policy, next_meeting_deadline
from bot.core.replies import interpret, is_small_talk
from bot.core.sharing import SHARE
from bot.core.signals import ConcernSignals, built_in_signals
from bot.messages import (
    Block,
    Bullets,
    Button,
    Buttons,
    Context,
    Fields,
    Heading,
    Message,
    Text,
)
from storage.enums import (
    ActionStatus,
    AttendanceStatus,
    GroupStatus,
    MeetingKind,
    MeetingStatus,
    OutcomeStatus,
    Role,
    UpdateState,
)
from storage.models import (
    Action,
    Attendance,
    Concern,
    CoreGroup,
    Meeting,
    Membership,
    MemberUpdate,
    Outcome,
    Person,
    UpdateAnswer,
)

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


# --- one member's conversation ------------------------------------------------------------------


@dataclass
class Conversation:
    """A member's update: the rows, who they are in the group, and the questions that apply."""

    session: Session
    update: MemberUpdate
    meeting: Meeting
    person: Person
    membership: Membership | None
    reference: str
    tz: ZoneInfo
    # Loaded beforehand for many conversations at once (a chunk of reminders): their answers,
    # and the member's unfinished actions in the group; read from the session when None.
    known_answers: dict[str, UpdateAnswer] | None = None
    known_actions: list[Action] | None = None

    @classmethod
    def load(cls, session: Session, *, update: MemberUpdate, tz: ZoneInfo) -> Conversation:
        """Everything needed to carry on an update conversation."""
        meeting = session.get(Meeting, update.meeting_id)
        person = session.get(Person, update.person_id)
        assert meeting is not None and person is not None
        membership = session.exec(
            select(Membership).where(
                Membership.group_id == meeting.group_id, Membership.person_id == person.id
            )
        ).first()
        reference = case_of_group(session, group_id=meeting.group_id).reference
        return cls(session, update, meeting, person, membership, reference, tz)

    @property
    def id(self) -> int:
        """The update's id."""
        assert self.update.id is not None
        return self.update.id

    @property
    def family(self) -> bool:
        """Whether the member gets the family wording."""
        if self.membership is not None:
            return Role(self.membership.role).is_family
        return self.person.is_family

    @property
    def key_worker(self) -> bool:
        """Whether the member is asked about the child (seen, seen alone, their voice)."""
        return self.membership is not None and self.membership.role == Role.KEY_WORKER

    @property
    def tag(self) -> str:
        """What a notification preview starts with: the case reference, none for the family."""
        return "" if self.family else f"{self.reference}: "

    @property
    def when(self) -> str:
        """The meeting's date and time."""
        return format_when(self.meeting.starts_at, self.tz)

    def answers(self) -> dict[str, UpdateAnswer]:
        """The answers given so far, by question."""
        if self.known_answers is not None:
            return dict(self.known_answers)
        rows = self.session.exec(
            select(UpdateAnswer).where(UpdateAnswer.update_id == self.update.id)
        ).all()
        return {row.question: row for row in rows}

    def actions(self, answers: dict[str, UpdateAnswer]) -> list[Action]:
        """The member's open actions, plus any already answered about (they may be done now)."""
        mine = self.known_actions
        if mine is None:
            mine = open_actions_for(
                self.session, group_id=self.meeting.group_id, person_id=self.update.person_id
            )
        found = {a.id: a for a in mine}
        answered = {int(key.split(":")[1]) for key in answers if key.startswith("action:")}
        for action_id in answered - set(found):
            action = self.session.get(Action, action_id)
            if action is not None:
                found[action_id] = action
        return sorted(found.values(), key=lambda a: a.number)

    def questions(self, answers: dict[str, UpdateAnswer] | None = None) -> list[Question]:
        """The questions that apply now, in order."""
        answers = self.answers() if answers is None else answers
        result: list[Question] = []
        for action in self.actions(answers):
            status = answers.get(f"action:{action.id}:status")
            status_q, note_q = _action_questions(action, _value(status))
            # A skipped status needs no note.
            result += [status_q] if status is not None and status.skipped else [status_q, note_q]
        first = self.meeting.kind == MeetingKind.FIRST
        since = "since the child protection conference" if first else "since the last meeting"
        general = _general_questions(since=since, when=self.when)
        keys = ["going_well", "worries", "must_know"]
        if self.key_worker:
            keys.append("child_seen")
            if _value(answers.get("child_seen")) == "yes":
                keys.append("child_seen_alone")
            keys.append("child_says")
        keys.append("attend")
        if _value(answers.get("attend")) == "apologies":
            keys.append("written_update")
        return result + [general[k] for k in keys]

    def next_question(self, answers: dict[str, UpdateAnswer]) -> Question | None:
        """The first question that applies and has no answer yet."""
        return next((q for q in self.questions(answers) if q.key not in answers), None)

    def find(self, key: str, answers: dict[str, UpdateAnswer]) -> Question:
        """A question that applies now, or BadInput (an old button, an action since removed)."""
        for question in self.questions(answers):
            if question.key == key:
                return question
        raise BadInput(
            "That question no longer applies to your update.",
            hint=f"`{MYUPDATE}` shows your answers and what's left.",
        )

    def locked(self, now: datetime) -> bool:
        """Answers are locked once the meeting starts (or it is cancelled or held)."""
        return self.meeting.status != MeetingStatus.SCHEDULED or self.meeting.starts_at <= now

    # Showing answers ---------------------------------------------------------------------

    def display(self, question: Question, answer: UpdateAnswer | None) -> str:
        """An answer as shown back to the member."""
        if answer is None:
            return "not answered yet"
        if answer.skipped:
            return "skipped"
        value, _, rest = answer.answer.partition(" — ")
        option = question.option(value)
        if option is None:
            return answer.answer or "(nothing)"
        shown = option.family_label if self.family else option.label
        return f"{shown} — {rest}" if rest else shown

    def summary_pairs(self, answers: dict[str, UpdateAnswer]) -> list[tuple[str, str]]:
        """Each question that applies with the answer given."""
        return [(q.label, self.display(q, answers.get(q.key))) for q in self.questions(answers)]

    # Asking ------------------------------------------------------------------------------

    def ask(
        self,
        question: Question,
        answers: dict[str, UpdateAnswer],
        *,
        before: tuple[Block, ...] = (),
    ) -> Message:
        """The message asking `question`, with quick-answer buttons."""
        questions = self.questions(answers)
        position = next(i for i, q in enumerate(questions, 1) if q.key == question.key)
        labels = [
            Button(
                o.family_label if self.family else o.label, ANSWER, self._value(question, o.value)
            )
            for o in question.options
        ]
        labels.append(Button("Skip", ANSWER, self._value(question, SKIP)))
        blocks: list[Block] = [
            *before,
            Context(
                f"Before the meeting on {self.when} · question {position} of {len(questions)}"
                if self.family
                else f"{self.reference} · update for the meeting on {self.when} · "
                f"question {position} of {len(questions)}"
            ),
            Text(question.wording(self.family)),
        ]
        if question.key in answers:
            blocks.append(
                Context(f"Your answer was: {self.display(question, answers[question.key])}")
            )
        blocks += [
            Buttons(tuple(labels)),
            Context(
                "Type your answer, or \u201cskip\u201d. \u201cback\u201d goes to the previous "
                "question; your answers are saved as you go."
            ),
        ]
        day = format_day(self.meeting.starts_at.astimezone(self.tz).date())
        return Message(
            text=f"{self.tag}question {position} of {len(questions)} for your update "
            f"before the meeting on {day}",
            blocks=tuple(blocks),
            expects=f"update:{self.id}",
        )

    def _value(self, question: Question, choice: str) -> str:
        return f"{self.id}:{question.key}:{choice}"

    def intro(self, answers: dict[str, UpdateAnswer]) -> tuple[Block, ...]:
        """The greeting that opens (or reopens) the conversation."""
        name = self.person.display_name.split(" ")[0]
        total = len(self.questions(answers))
        if answers:
            return (
                Text(
                    f"Hello {name}, picking up your update where you left off "
                    f"({len(answers)} answered so far)."
                ),
            )
        if self.family:
            return (
                Text(
                    f"Hello {name}. The group supporting your family meets on {self.when}. "
                    f"Before then we'd like to hear how things are going: {total} short "
                    "questions. Answer in your own words, or type skip for any you'd rather "
                    "not answer. Your answers are saved as you go, so you can stop and come "
                    "back any time before the meeting."
                ),
            )
        return (
            Text(
                f"Hello {name}. The core group for {self.reference} meets on {self.when}. "
                f"Please give your update before then: {total} questions. Answers are saved "
                "as you go; type skip for any that don't apply, and come back any time before "
                "the meeting."
            ),
        )

    # Answering ---------------------------------------------------------------------------

    def save(self, question: Question, text: str, now: datetime) -> UpdateAnswer:
        """Save an answer (a new one, or a changed one) at once, with what it sets in motion."""
        skipped = text.strip().lower() in SKIP_WORDS
        stored, extra = ("", None) if skipped else self._read(question, text, now)
        answers = self.answers()
        row = answers.get(question.key) or UpdateAnswer(update_id=self.id, question=question.key)
        previous = _value(answers.get(question.key))
        row.answer, row.skipped, row.answered_at = stored, skipped, now
        # A professional's answer is for professionals until they (or the chair) share it.
        row.shared_with_family = self.family
        self.session.add(row)
        self.session.flush()
        self._apply(question, row, previous, extra, now)
        return row

    def _read(self, question: Question, text: str, now: datetime) -> tuple[str, str | None]:
        """The stored form of a typed answer and any note that came with a choice."""
        text = " ".join(text.split())
        if not question.options:
            if text.lower().strip(" .!") in YES_WORDS:
                raise BadInput("Please tell me a little more: what is it?")
            return text, None
        try:
            value, rest = read_choice(question, text, now=now, tz=self.tz)
        except BadInput:
            if question.follow_up is None or interpret(text, now=now, tz=self.tz).kind != "note":
                raise
            # News about the action without a status: keep it as the note, then ask again.
            self._note_answer(question.follow_up, text, now)
            assert question.action_id is not None
            self._add_action_note(question.action_id, text, now)
            raise BadInput(
                "Thanks, I've kept that as your note. And is it done, in progress or stuck?"
            ) from None
        if question.key == "attend" and value == "yes":
            # "Yes, I'll be there" is one answer, not a written update; other words stay with it.
            if rest and (is_small_talk(rest) or _match_option(question.options[:1], rest)):
                rest = None
            return (f"{value} — {rest}" if rest else value), None
        if question.follow_up or question.key == "attend":
            return value, rest  # the note answers the follow-up question
        return (f"{value} — {rest}" if rest else value), None

    def _apply(
        self,
        question: Question,
        row: UpdateAnswer,
        previous: str | None,
        extra: str | None,
        now: datetime,
    ) -> None:
        value = _value(row)
        if question.action_id is not None and question.follow_up is not None:
            if extra is not None:
                self._note_answer(question.follow_up, extra, now)
            if value is not None and (value != previous or extra is not None):
                self._set_action_status(question.action_id, value, extra, now)
        elif question.action_id is not None and not row.skipped and row.answer:
            self._add_action_note(question.action_id, row.answer, now)
        elif question.key == "attend" and value is not None:
            status = AttendanceStatus.ATTENDING if value == "yes" else AttendanceStatus.APOLOGIES
            set_attendance(
                self.session,
                meeting=self.meeting,
                person_id=self.update.person_id,
                status=status,
                now=now,
            )
            if extra is not None:
                self._note_answer("written_update", extra, now)
                self._attendance_note(extra, now)
        elif question.key == "written_update":
            self._attendance_note(row.answer, now)

    def _note_answer(self, key: str, text: str, now: datetime) -> None:
        row = self.answers().get(key) or UpdateAnswer(update_id=self.id, question=key)
        row.answer, row.skipped, row.answered_at = text, False, now
        row.shared_with_family = self.family
        self.session.add(row)
        self.session.flush()

    def _attendance_note(self, text: str, now: datetime) -> None:
        row = self.session.exec(
            select(Attendance).where(
                Attendance.meeting_id == self.meeting.id,
                Attendance.person_id == self.update.person_id,
            )
        ).first()
        if row is not None:
            row.note, row.updated_at = text, now
            self.session.add(row)
            self.session.flush()

    def _set_action_status(
        self, action_id: int, value: str, note: str | None, now: datetime
    ) -> None:
        """Apply a status answer to the action itself, through the plan's history."""
        action = self.session.get(Action, action_id)
        status = STATUS_EFFECT[value]
        if action is None or action.status == ActionStatus.CANCELLED:
            return
        if action.status == status and not note:
            return
        # An unchanged status with a note is kept as a note in the action's history.
        change_status(
            self.session,
            action=action,
            actor_id=self.update.person_id,
            status=status,
            note=note,
            now=now,
        )

    def _add_action_note(self, action_id: int, note: str, now: datetime) -> None:
        """Keep a note given in the update in the action's history too."""
        action = self.session.get(Action, action_id)
        if action is not None and action.status != ActionStatus.CANCELLED:
            add_note(
                self.session, action=action, actor_id=self.update.person_id, note=note, now=now
            )


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


# --- the flow -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What to tell the member after they answered (or tried to)."""

    message: Message
    complete: bool = False


def answers_of(session: Session, *, update: MemberUpdate) -> dict[str, UpdateAnswer]:
    """An update's answers, by question."""
    rows = session.exec(select(UpdateAnswer).where(UpdateAnswer.update_id == update.id)).all()
    return {row.question: row for row in rows}


def update_for(session: Session, *, meeting_id: int, person_id: int) -> MemberUpdate | None:
    """A member's update for a meeting, if the conversation was ever opened."""
    return session.exec(
        select(MemberUpdate).where(
            MemberUpdate.meeting_id == meeting_id, MemberUpdate.person_id == person_id
        )
    ).first()


def open_update(
    session: Session, *, meeting: Meeting, person: Person, now: datetime, tz: ZoneInfo
) -> Message | None:
    """Start (or reopen) a member's update and return the question to ask; None if complete."""
    assert meeting.id is not None and person.id is not None
    update = update_for(session, meeting_id=meeting.id, person_id=person.id)
    if update is None:
        update = MemberUpdate(meeting_id=meeting.id, person_id=person.id, updated_at=now)
    if update.state == UpdateState.COMPLETE:
        return None
    session.add(update)
    session.flush()
    message, asking = opening(Conversation.load(session, update=update, tz=tz), now=now)
    if asking is not None:
        asking.apply(update)
        session.add(update)
        session.flush()
    return message


@dataclass(frozen=True)
class Asking:
    """What asking a member's update sets on its row; the caller writes it (for a whole chunk
    of reminders in one statement, or one row with `apply`)."""

    state: UpdateState
    current_question: str | None
    opened_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime

    def apply(self, update: MemberUpdate) -> None:
        """Set these values on the row (in memory)."""
        update.state, update.current_question = self.state, self.current_question
        update.opened_at, update.completed_at = self.opened_at, self.completed_at
        update.updated_at = self.updated_at


def opening(convo: Conversation, *, now: datetime) -> tuple[Message | None, Asking | None]:
    """The question that opens (or reopens) a member's update and what asking it sets on the
    row, writing nothing; no message once every question is answered (the row then says
    complete), and neither for an update already complete."""
    update = convo.update
    if update.state == UpdateState.COMPLETE:
        return None, None
    opened = now if update.state == UpdateState.NOT_STARTED else update.opened_at
    answers = convo.answers()
    question = convo.next_question(answers)
    if question is None:
        return None, Asking(UpdateState.COMPLETE, None, opened, now, now)
    message = convo.ask(question, answers, before=convo.intro(answers))
    return message, Asking(UpdateState.IN_PROGRESS, question.key, opened, update.completed_at, now)


def _at(convo: Conversation, key: str | None, now: datetime) -> None:
    convo.update.current_question, convo.update.updated_at = key, now
    convo.session.add(convo.update)
    convo.session.flush()


def _complete(convo: Conversation, now: datetime) -> None:
    update = convo.update
    update.state, update.completed_at, update.current_question = UpdateState.COMPLETE, now, None
    update.updated_at = now
    convo.session.add(update)
    convo.session.flush()


def active_update(session: Session, *, person_id: int, now: datetime) -> MemberUpdate | None:
    """The update conversation a member's direct message answers: the one asked most recently.

    Only in-progress updates for booked meetings still to come, in active groups the person is
    still a member of.
    """
    return session.exec(
        select(MemberUpdate)
        .join(Meeting, col(Meeting.id) == MemberUpdate.meeting_id)
        .join(CoreGroup, col(CoreGroup.id) == Meeting.group_id)
        .join(
            Membership,
            (col(Membership.group_id) == Meeting.group_id)
            & (col(Membership.person_id) == MemberUpdate.person_id),
        )
        .where(
            MemberUpdate.person_id == person_id,
            MemberUpdate.state == UpdateState.IN_PROGRESS,
            Meeting.status == MeetingStatus.SCHEDULED,
            col(Meeting.starts_at) > now,
            CoreGroup.status == GroupStatus.ACTIVE,
            col(Membership.active).is_(True),
        )
        .order_by(col(MemberUpdate.updated_at).desc(), col(MemberUpdate.id).desc())
    ).first()


def reply_to(
    convo: Conversation, text: str, *, now: datetime, signals: ConcernSignals | None = None
) -> Step:
    """Handle what the member typed: an answer, or back / later / help.

    An answer that reads like a new concern is saved, then asked about before going on.
    """
    word = " ".join(text.lower().split()).strip(" .!")
    answers = convo.answers()
    current = _current(convo, answers)
    if current is None:
        _complete(convo, now)
        return Step(completed_message(convo, convo.answers()), complete=True)
    if word in BACK_WORDS:
        return Step(_back(convo, current, answers, now))
    if word in LATER_WORDS:
        return Step(
            Message.plain(
                f"No problem. I'll keep your place: reply any time before the meeting on "
                f"{convo.when} and we'll carry on from question "
                f"{_position(convo, current, answers)}."
            )
        )
    if word in HELP_WORDS:
        return Step(
            convo.ask(current, answers, before=(Text(_HELP),)),
        )
    if word in KEEP_WORDS and current.key in answers:
        return _advance(convo, now, before=(Context("Kept your answer."),))
    given = {key: row.answer for key, row in answers.items()}
    try:
        convo.save(current, text, now)
    except BadInput as err:
        concern = _raise_concern(convo, given, now, signals or built_in_signals())
        if concern is not None:  # news without a status: kept as the note, then asked about
            action = convo.session.get(Action, current.action_id or 0)
            on = f"action {action.number}" if action is not None else "the action"
            kept = Context(f"Thanks, I've kept that as your note on {on}.")
            return Step(_concern_question(convo, concern, before=(kept,)))
        # Nothing typed is lost: it is shown back with the question.
        retry = (Text(err.message), Context(f"You typed: {text}"[:2900]))
        return Step(convo.ask(current, answers, before=retry))
    concern = _raise_concern(convo, given, now, signals or built_in_signals())
    if concern is not None:
        _move_on(convo, now)
        saved = Context(f"Saved: {current.label}.")
        return Step(_concern_question(convo, concern, before=(saved,)))
    return _advance(
        convo, now, before=(Context(f"Saved: {current.label}."), *_share_offer(convo, current))
    )


def _raise_concern(
    convo: Conversation, given: dict[str, str], now: datetime, signals: ConcernSignals
) -> Concern | None:
    """A question about the answer just written, when a professional's words read like a new
    concern (the answers before it, `given`, tell which one is new)."""
    labels = {q.key: q.label for q in convo.questions()}
    day = format_day(convo.meeting.starts_at.astimezone(convo.tz).date())
    raised = None
    for key, row in convo.answers().items():
        if row.skipped or given.get(key) == row.answer:
            continue
        found = concerns.check(
            convo.session,
            signals=signals,
            group_id=convo.meeting.group_id,
            author=convo.person,
            text=row.answer,
            about=f"the update for the meeting on {day} ({labels.get(key, key)})",
            now=now,
            meeting_id=convo.meeting.id,
            update_answer_id=row.id,
        )
        raised = found or raised
    return raised


def _concern_question(
    convo: Conversation, concern: Concern, *, before: tuple[Block, ...]
) -> Message:
    question = concerns.question_message(concern, reference=convo.reference, tz=convo.tz)
    return Message(text=question.text, blocks=(*before, *question.blocks), expects=question.expects)


def _move_on(convo: Conversation, now: datetime) -> None:
    """Go on to the next question (or finish) without asking it yet."""
    answers = convo.answers()
    question = convo.next_question(answers)
    if question is None:
        _complete(convo, now)
    else:
        _at(convo, question.key, now)


def _share_offer(convo: Conversation, question: Question) -> tuple[Block, ...]:
    """A "Share with the family" button under a professional's written answer."""
    row = convo.answers().get(question.key)
    if convo.family or question.options or row is None or row.skipped:
        return ()
    if says_nothing(row.answer) or not has_family(convo.session, group_id=convo.meeting.group_id):
        return ()
    return (
        Buttons((Button("Share with the family", SHARE, f"answer:{row.id}"),)),
        Context("That answer is for professionals only unless you share it."),
    )


def current_question(convo: Conversation) -> Question | None:
    """The question the member's next answer answers (None when there is none left)."""
    return _current(convo, convo.answers())


def ask_again(
    convo: Conversation, *, now: datetime, before: tuple[Block, ...] = ()
) -> Message | None:
    """The current question asked again, now (so the member's next message answers it)."""
    answers = convo.answers()
    question = _current(convo, answers)
    if question is None or convo.update.state != UpdateState.IN_PROGRESS:
        return None
    _at(convo, question.key, now)
    return convo.ask(question, answers, before=before)


def resume(convo: Conversation, *, since: datetime) -> Message | None:
    """Where the update stands after a question about a concern: the question it had got to,
    or the thanks if it was finished since `since`."""
    answers = convo.answers()
    if convo.update.state == UpdateState.COMPLETE:
        done = convo.update.completed_at
        return completed_message(convo, answers) if done and done >= since else None
    question = _current(convo, answers)
    return convo.ask(question, answers) if question is not None else None


_HELP = (
    "Just reply with your answer in your own words. You can also type \u201cskip\u201d to "
    "leave a question, \u201cback\u201d to change the last answer, or \u201clater\u201d to "
    f"stop for now. `{MYUPDATE}` shows all your answers."
)


def answer_click(convo: Conversation, key: str, choice: str, *, now: datetime) -> Step:
    """A quick-answer button: answer that question (an earlier one too: that changes it)."""
    answers = convo.answers()
    question = convo.find(key, answers)
    if choice != SKIP and question.option(choice) is None:
        raise BadInput(
            "That button doesn't match the question any more.", hint=f"Try `{MYUPDATE}`."
        )
    option = question.option(choice)
    convo.save(question, SKIP if option is None else option.words[0], now)
    return _advance(convo, now, before=(Context(f"Saved: {question.label}."),))


def answered(convo: Conversation, key: str) -> Message:
    """A question as it looks once answered (it replaces the question with its buttons)."""
    answers = convo.answers()
    question = convo.find(key, answers)
    shown = convo.display(question, answers.get(key))
    return Message(
        text=f"{convo.tag}{question.label}: {shown}",
        blocks=(Text(question.wording(convo.family)), Context(f"Your answer: {shown}")),
    )


def change(convo: Conversation, key: str, *, now: datetime) -> Message:
    """Go back to one question to change its answer (the conversation reopens if finished)."""
    answers = convo.answers()
    question = convo.find(key, answers)
    convo.update.state, convo.update.completed_at = UpdateState.IN_PROGRESS, None
    _at(convo, question.key, now)
    return convo.ask(question, answers)


def _current(convo: Conversation, answers: dict[str, UpdateAnswer]) -> Question | None:
    key = convo.update.current_question
    if key is not None:
        for question in convo.questions(answers):
            if question.key == key:
                return question
    return convo.next_question(answers)


def _position(convo: Conversation, question: Question, answers: dict[str, UpdateAnswer]) -> int:
    return next(i for i, q in enumerate(convo.questions(answers), 1) if q.key == question.key)


def _back(
    convo: Conversation, current: Question, answers: dict[str, UpdateAnswer], now: datetime
) -> Message:
    questions = convo.questions(answers)
    index = next(i for i, q in enumerate(questions) if q.key == current.key)
    if index == 0:
        return convo.ask(current, answers, before=(Context("This is the first question."),))
    previous = questions[index - 1]
    _at(convo, previous.key, now)
    return convo.ask(
        previous,
        answers,
        before=(Context("Going back one question. Type a new answer, or \u201ckeep\u201d."),),
    )


def _advance(convo: Conversation, now: datetime, *, before: tuple[Block, ...]) -> Step:
    answers = convo.answers()
    question = convo.next_question(answers)
    if question is None:
        _complete(convo, now)
        return Step(completed_message(convo, answers), complete=True)
    _at(convo, question.key, now)
    return Step(convo.ask(question, answers, before=before))


def completed_message(convo: Conversation, answers: dict[str, UpdateAnswer]) -> Message:
    """Thanks, and a summary of what they said."""
    thanks = (
        f"Thank you. Your key worker will have your answers for the meeting on {convo.when}."
        if convo.family
        else f"Thank you, your update is complete. The chair will have it for the meeting on "
        f"{convo.when}."
    )
    return Message(
        text=f"{convo.tag}Your update is complete — thank you",
        blocks=(
            Heading("Your update is complete"),
            Text(thanks),
            Fields(tuple(convo.summary_pairs(answers))),
            Context(f"You can change any answer until the meeting starts: `{MYUPDATE}`."),
        ),
    )


def answers_message(convo: Conversation, *, now: datetime) -> Message:
    """A member's answers so far, each with a button to change it while the meeting is to come."""
    answers = convo.answers()
    locked = convo.locked(now)
    blocks: list[Block] = [Heading(f"Your update for the meeting on {convo.when}")]
    for question in convo.questions(answers):
        blocks.append(
            Text(f"{question.label}: {convo.display(question, answers.get(question.key))}")
        )
        if not locked and question.key in answers:
            blocks.append(Buttons((Button("Change", CHANGE, f"{convo.id}:{question.key}"),)))
    if locked:
        blocks.append(
            Context(
                "The meeting has started, so these answers are now locked. Anything new can be "
                "raised with the chair."
            )
        )
    elif convo.update.state == UpdateState.COMPLETE:
        blocks.append(Context("All done, thank you. Press Change to change an answer."))
    else:
        blocks.append(Context("Reply to the question below to carry on."))
    return Message(text=f"{convo.tag}Your update so far", blocks=tuple(blocks))


# --- the whole group ----------------------------------------------------------------------------


def updates_of(session: Session, *, meeting: Meeting) -> dict[int, MemberUpdate]:
    """Each person's update for the meeting, by person id."""
    rows = session.exec(select(MemberUpdate).where(MemberUpdate.meeting_id == meeting.id)).all()
    return {row.person_id: row for row in rows}


def member_label(person: Person, membership: Membership) -> str:
    """A member as listed to the group: "Alex, health visitor"."""
    return f"{person.display_name}, {role_label(membership)}"


def pending_updates(session: Session, *, meeting: Meeting) -> list[Person]:
    """Current members who have not finished their update for the meeting."""
    done = {
        pid
        for pid, update in updates_of(session, meeting=meeting).items()
        if update.state == UpdateState.COMPLETE
    }
    return [p for _, p in members_of(session, group_id=meeting.group_id) if p.id not in done]


def nudge_message(
    session: Session,
    *,
    meeting: Meeting,
    person: Person,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> Message:
    """A gentle reminder to someone who has not finished their update, with the next question
    (asked again `now`, when given, so their next message answers it)."""
    assert meeting.id is not None and person.id is not None
    reference = case_of_group(session, group_id=meeting.group_id).reference
    update = update_for(session, meeting_id=meeting.id, person_id=person.id)
    convo = Conversation.load(session, update=update, tz=tz) if update is not None else None
    message, asking = nudge(
        convo, meeting=meeting, person=person, reference=reference, tz=tz, now=now
    )
    if convo is not None and asking is not None:
        asking.apply(convo.update)
        session.add(convo.update)
        session.flush()
    return message


def nudge(
    convo: Conversation | None,
    *,
    meeting: Meeting,
    person: Person,
    reference: str,
    tz: ZoneInfo,
    now: datetime | None,
) -> tuple[Message, Asking | None]:
    """The nudge for a member's update (`convo`, None if never opened) and, when it asks the
    current question again `now`, what that sets on the row; writes nothing."""
    when = format_when(meeting.starts_at, tz)
    text = (
        f"{reference}: a reminder about your update before the meeting on "
        f"{format_day(meeting.starts_at.astimezone(tz).date())}"
    )
    family = convo.family if convo is not None else person.is_family
    greeting = Text(
        f"Hello {person.display_name}, the group meets on {when} and we'd still love to hear "
        "how things are going."
        if family
        else f"Hello {person.display_name}, a reminder: the core group for {reference} meets on "
        f"{when} and we haven't had your update yet. It takes a few minutes."
    )
    if convo is not None and convo.update.state == UpdateState.IN_PROGRESS:
        answers = convo.answers()
        question = _current(convo, answers)
        if question is not None:
            asked = convo.ask(question, answers, before=(greeting,))
            message = Message(text=text, blocks=asked.blocks, expects=asked.expects)
            if now is None:
                return message, None
            update = convo.update
            again = Asking(update.state, question.key, update.opened_at, update.completed_at, now)
            return message, again
    return Message(text=text, blocks=(greeting, Context(f"Type `{MYUPDATE}` to start."))), None


# --- the brief ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    """A member with their attendance and update for the meeting."""

    person: Person
    membership: Membership
    attendance: Attendance | None
    update: MemberUpdate | None
    answers: dict[str, UpdateAnswer]

    @property
    def who(self) -> str:
        return member_label(self.person, self.membership)

    @property
    def state(self) -> UpdateState:
        return UpdateState(self.update.state) if self.update else UpdateState.NOT_STARTED

    def status(self) -> AttendanceStatus | None:
        return AttendanceStatus(self.attendance.status) if self.attendance else None

    def said(self, key: str, *, family_view: bool = False) -> str | None:
        """Their answer to one question; None if skipped, "nothing", or not for this view."""
        answer = self.answers.get(key)
        if answer is None or answer.skipped or not answer.answer.strip():
            return None
        if key in NOTHING_KEYS and says_nothing(answer.answer):
            return None
        if family_view and not answer.shared_with_family:
            return None
        return answer.answer


@dataclass(frozen=True)
class BriefFacts:
    """Everything a meeting's brief reads, loaded beforehand (for many meetings at once by the
    reminders, or for one by `brief_facts`)."""

    reference: str
    members: list[tuple[Membership, Person]]  # current ones, chairs first
    updates: dict[int, MemberUpdate]  # by person
    answers: dict[int, dict[str, UpdateAnswer]]  # by update id, then question
    attendance: dict[int, Attendance]  # by person
    previous: Meeting | None  # the last meeting held before this one
    outcomes: list[Outcome]  # active, by number
    actions: list[Action]  # every one of the group's, by number
    concerns: list[Concern]  # the ones this meeting hears (`concerns.concerns_for`)


def brief_facts(session: Session, *, meeting: Meeting) -> BriefFacts:
    """What one meeting's brief reads."""
    updates = updates_of(session, meeting=meeting)
    attendance = {
        a.person_id: a
        for a in session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id)).all()
    }
    ids = [u.id for u in updates.values()]
    by_update: dict[int, dict[str, UpdateAnswer]] = {}
    for row in session.exec(select(UpdateAnswer).where(col(UpdateAnswer.update_id).in_(ids))).all():
        by_update.setdefault(row.update_id, {})[row.question] = row
    outcomes = session.exec(
        select(Outcome)
        .where(Outcome.group_id == meeting.group_id, Outcome.status == OutcomeStatus.ACTIVE)
        .order_by(col(Outcome.number))
    ).all()
    actions = session.exec(
        select(Action).where(Action.group_id == meeting.group_id).order_by(col(Action.number))
    ).all()
    return BriefFacts(
        reference=case_of_group(session, group_id=meeting.group_id).reference,
        members=members_of(session, group_id=meeting.group_id),
        updates=updates,
        answers=by_update,
        attendance=attendance,
        previous=_previous_held(session, meeting),
        outcomes=list(outcomes),
        actions=list(actions),
        concerns=concerns.concerns_for(session, meeting=meeting),
    )


def _members_with_updates(facts: BriefFacts) -> list[_Member]:
    result = []
    for membership, person in facts.members:
        assert person.id is not None
        update = facts.updates.get(person.id)
        answers = facts.answers.get(update.id or 0, {}) if update is not None else {}
        result.append(_Member(person, membership, facts.attendance.get(person.id), update, answers))
    return result


def brief_message(
    session: Session,
    *,
    meeting: Meeting,
    tz: ZoneInfo,
    now: datetime,
    calendar: WorkingCalendar,
    policy: Policy,
    private: bool = False,
    facts: BriefFacts | None = None,
) -> Message:
    """The pre-meeting brief: agenda from the plan, apologies, who has not replied, the updates
    (from `facts` when loaded beforehand; else read now).

    The group's space may include the family, so unless `private` (the chair's own copy) the
    brief leaves out what is for professionals only when a family member is in the group:
    outcomes and actions not shared with the family, and everyone's written answers.
    """
    facts = facts or brief_facts(session, meeting=meeting)
    members = _members_with_updates(facts)
    family_view = not private and any(Role(m.membership.role).is_family for m in members)
    previous = facts.previous
    today = now.astimezone(tz).date()
    brief = _Brief(session, meeting, members, previous, tz, today, family_view, facts)
    blocks: list[Block] = [
        Heading(f"Before the meeting — {facts.reference}"),
        Fields(
            (
                ("When", format_when(meeting.starts_at, tz)),
                *place_pairs(meeting),
                ("Meeting", KIND_LABELS[MeetingKind(meeting.kind)]),
            )
        ),
        Heading("Agenda"),
        Bullets(
            (
                "1. Introductions and apologies",
                "2. The child's voice, and updates from the family and each agency",
                "3. The plan, outcome by outcome",
                "4. Actions from the last meeting: what was done"
                if previous
                else "4. Actions so far: what was done",
                "5. New concerns",
                "6. The next meeting: date and venue",
            )
        ),
        *brief.replies(),
        *brief.plan(),
        *brief.previous_actions(),
    ]
    if family_view:
        blocks.append(
            Context(
                "Written updates and the child's voice are not posted here because the family "
                "can see this space; the chair has them for the meeting."
            )
        )
    else:
        blocks += brief.answers()
    deadline = next_meeting_deadline(
        last_meeting=meeting.starts_at.astimezone(tz).date(), calendar=calendar, policy=policy
    )
    blocks += [
        Heading("Next meeting"),
        Text(
            f"To agree at this meeting. It is due by {format_day(deadline.due)}: {deadline.rule}."
        ),
    ]
    when = format_when(meeting.starts_at, tz)
    text = f"{facts.reference}: the brief for the meeting on {when}"
    return Message(text=text, blocks=tuple(blocks))


def _previous_held(session: Session, meeting: Meeting) -> Meeting | None:
    last = last_held_meeting(session, group_id=meeting.group_id)
    return last if last is not None and last.starts_at < meeting.starts_at else None


@dataclass
class _Brief:
    """The parts of the brief, built from one meeting's members, plan and updates."""

    session: Session
    meeting: Meeting
    members: list[_Member]
    previous: Meeting | None
    tz: ZoneInfo
    today: date
    family_view: bool
    facts: BriefFacts

    def replies(self) -> list[Block]:
        """Apologies (with written updates), who is coming, and who has not replied."""
        apologies = [
            m.who + (" — written update sent" if m.said("written_update") else "")
            for m in self.members
            if m.status() == AttendanceStatus.APOLOGIES
        ]
        coming = [m.who for m in self.members if m.status() == AttendanceStatus.ATTENDING]
        # Nobody drops out of every list: who hasn't said (or skipped the question) is listed.
        unknown = [m.who for m in self.members if m.status() in (None, AttendanceStatus.INVITED)]
        waiting = [m for m in self.members if m.state != UpdateState.COMPLETE]
        missing = [m.who for m in waiting if not m.answers]
        partway = [m.who for m in waiting if m.answers]
        lines = []
        if missing:
            lines.append("No reply yet: " + "; ".join(missing))
        if partway:
            lines.append("Part-way through: " + "; ".join(partway))
        blocks: list[Block] = [Heading("Apologies"), Text("; ".join(apologies) or "None so far.")]
        if coming:
            blocks.append(Context("Coming: " + "; ".join(coming)))
        if unknown:
            blocks.append(Context("Attendance not known: " + "; ".join(unknown)))
        return [
            *blocks,
            Heading("Not replied yet"),
            Text("\n".join(lines) or "Everyone has sent their update."),
        ]

    def _visible(self, shared: bool) -> bool:
        return shared or not self.family_view

    def plan(self) -> list[Block]:
        """Each outcome with its actions (open, or closed since the last meeting) and updates."""
        outcomes = [o for o in self.facts.outcomes if self._visible(o.shared_with_family)]
        actions = [a for a in self._actions_to_review() if self._visible(a.shared_with_family)]
        blocks: list[Block] = [Heading("The plan")]
        if not outcomes and not actions:
            return [*blocks, Text("No outcomes have been added to the plan yet.")]
        for outcome in outcomes:
            lines = [self._action_line(a) for a in actions if a.outcome_id == outcome.id]
            blocks += [
                Text(f"Outcome {outcome.number}: {outcome.title}"),
                Bullets(tuple(lines or ["No actions yet."])),
            ]
        shown = {o.id for o in outcomes}
        others = [self._action_line(a) for a in actions if a.outcome_id not in shown]
        if others:
            blocks += [Text("Other actions"), Bullets(tuple(others))]
        return blocks

    def _actions_to_review(self) -> list[Action]:
        rows = [a for a in self.facts.actions if a.status != ActionStatus.CANCELLED]
        since = self.previous.starts_at if self.previous else None
        return [
            a
            for a in rows
            if not ActionStatus(a.status).is_closed or since is None or a.updated_at >= since
        ]

    def _owner(self, action: Action) -> _Member | None:
        return next((m for m in self.members if m.person.id == action.owner_id), None)

    def _action_line(self, action: Action) -> str:
        owner = self._owner(action)
        name = owner.person.display_name if owner else "a former member"
        status = STATUS_LABELS[ActionStatus(action.status)].lower()
        if is_overdue(action, self.today):
            status += " (overdue)"
        line = (
            f"Action {action.number} — {name}: {action.description} — due "
            f"{format_day(action.due_on)} — {status}"
        )
        said = owner.answers.get(f"action:{action.id}:status") if owner else None
        option = next((o for o in STATUS_OPTIONS if o.value == _value(said)), None)
        if owner is None or option is None:
            return line
        # The status they gave is already the action's status unless it has changed since.
        parts = [] if STATUS_EFFECT[option.value] == action.status else [option.label.lower()]
        note = owner.said(f"action:{action.id}:note", family_view=self.family_view)
        if note:
            parts.append(note)
        return line + (f". Update from {name}: " + " — ".join(parts) if parts else "")

    def previous_actions(self) -> list[Block]:
        """The actions agreed at (or since) the last meeting, with their result now."""
        if self.previous is None:
            return []
        since = self.previous.starts_at
        rows = [a for a in self.facts.actions if a.created_at >= since]
        lines = []
        for action in rows:
            if self._visible(action.shared_with_family):
                owner = self._owner(action)
                name = owner.person.display_name if owner else "a former member"
                result = STATUS_LABELS[ActionStatus(action.status)].lower()
                lines.append(f"Action {action.number} — {name}: {action.description} — {result}")
        day = format_day(self.previous.starts_at.astimezone(self.tz).date())
        return [
            Heading(f"Actions from the last meeting ({day})"),
            Bullets(tuple(lines)) if lines else Text("No actions were added at the last meeting."),
        ]

    def answers(self) -> list[Block]:
        """New concerns, the child's voice and each member's written update."""
        must_know = {
            row.id: (m, row)
            for m in self.members
            if (row := m.answers.get("must_know")) is not None and row.id is not None
        }
        found = concerns.listed(
            self.session,
            meeting=self.meeting,
            tz=self.tz,
            must_know=frozenset(must_know),
            heard=self.facts.concerns,
        )
        lines = [
            f"{m.who}: {text}{found.marks.get(answer_id, '')}"
            for answer_id, (m, _) in must_know.items()
            if (text := m.said("must_know"))
        ]
        lines += found.concerns
        blocks: list[Block] = [Heading("New concerns: what the group must know")]
        if lines:
            blocks.append(Bullets(tuple(lines)))
        elif not found.not_new:
            blocks.append(Text("None raised in the updates."))
        if found.not_new:
            # Never "none raised" while words that read like a concern are on record.
            blocks += [
                Text("Also written, though its author says it is not a new concern:"),
                Bullets(tuple(found.not_new)),
            ]
        voice = []
        for m in self.members:
            seen, alone, says = (
                m.said("child_seen"),
                m.said("child_seen_alone"),
                m.said("child_says"),
            )
            if seen:
                voice.append(
                    f"Seen ({m.who}): {seen}" + (f"; seen alone: {alone}" if alone else "")
                )
            if says:
                voice.append(f"What the child says: {says}")
            own = young_voice.voice_lines(m.said)
            if own:
                voice.append(f"The young person ({young_voice.OWN_WORDS}): " + " · ".join(own))
        if voice:
            blocks += [Heading("The child's voice"), Bullets(tuple(voice))]
        updates = []
        for m in self.members:
            parts = [f"{label}: {text}" for key, label in _ANSWER_PARTS if (text := m.said(key))]
            if parts:
                updates.append(f"{m.who} — " + " · ".join(parts))
        return [
            *blocks,
            Heading("Updates from members"),
            Bullets(tuple(updates)) if updates else Text("No written updates yet."),
        ]


_ANSWER_PARTS = (
    ("going_well", "Working well"),
    ("worries", "Worries"),
    ("written_update", "Written update"),
)


def require_open(convo: Conversation, now: datetime) -> None:
    """Refuse changes once the meeting has started (or been cancelled or held)."""
    if convo.locked(now):
        raise Conflict(
            f"The meeting on {convo.when} has started, so update answers are now locked. "
            "Thank you for your update.",
            hint="Anything new can be raised at the meeting or with the chair.",
        )


# --- the same conversation on the family's web page ---------------------------------------------


def start_update(
    session: Session, *, meeting: Meeting, person: Person, now: datetime, tz: ZoneInfo
) -> Conversation:
    """A member's update conversation for a meeting, opened if it was not yet (as in chat)."""
    assert meeting.id is not None and person.id is not None
    update = update_for(session, meeting_id=meeting.id, person_id=person.id)
    if update is None:
        update = MemberUpdate(meeting_id=meeting.id, person_id=person.id, updated_at=now)
    if update.state == UpdateState.NOT_STARTED:
        update.state, update.opened_at, update.updated_at = UpdateState.IN_PROGRESS, now, now
        session.add(update)
        session.flush()
    return Conversation.load(session, update=update, tz=tz)


def save_answer(convo: Conversation, key: str, text: str, *, now: datetime) -> UpdateAnswer:
    """Answer (or change) one question from a form, exactly as a typed chat answer is saved, then
    go on to the next unanswered question (or finish). BadInput says why it was not saved."""
    require_open(convo, now)
    question = convo.find(key, convo.answers())
    row = convo.save(question, text, now)
    if convo.update.state == UpdateState.COMPLETE:
        convo.update.state, convo.update.completed_at = UpdateState.IN_PROGRESS, None
    _move_on(convo, now)
    return row
