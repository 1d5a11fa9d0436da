"""One member's update conversation (`Conversation`): the rows, who they are in the group, the
questions that apply, asking them and saving answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.core.calendar import format_day
from bot.core.errors import BadInput
from bot.core.meetings import case_of_group, format_when, set_attendance
from bot.core.plan import add_note, change_status, open_actions_for
from bot.core.replies import interpret, is_small_talk
from bot.core.updates.questions import (
    ANSWER,
    MYUPDATE,
    SKIP,
    SKIP_WORDS,
    STATUS_EFFECT,
    YES_WORDS,
    Question,
    _action_questions,
    _general_questions,
    _match_option,
    _value,
    read_choice,
)
from bot.messages import Block, Button, Buttons, Context, Message, Text
from storage.enums import ActionStatus, AttendanceStatus, MeetingKind, MeetingStatus, Role
from storage.models import (
    Action,
    Attendance,
    Meeting,
    Membership,
    MemberUpdate,
    Person,
    UpdateAnswer,
)

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
