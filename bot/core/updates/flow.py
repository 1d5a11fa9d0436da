"""The steps of the update conversation: opening it, replies and clicks, going back, changing an
answer, the summary at the end, and the same conversation from the family's web page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.core import concerns
from bot.core.access import has_family
from bot.core.calendar import format_day
from bot.core.errors import BadInput, Conflict
from bot.core.sharing import SHARE
from bot.core.signals import ConcernSignals, built_in_signals
from bot.core.updates.conversation import Conversation
from bot.core.updates.queries import update_for
from bot.core.updates.questions import (
    BACK_WORDS,
    CHANGE,
    HELP_WORDS,
    KEEP_WORDS,
    LATER_WORDS,
    MYUPDATE,
    SKIP,
    Question,
    says_nothing,
)
from bot.messages import Block, Button, Buttons, Context, Fields, Heading, Message, Text
from storage.enums import UpdateState
from storage.models import Action, Concern, Meeting, MemberUpdate, Person, UpdateAnswer

# --- the flow -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What to tell the member after they answered (or tried to)."""

    message: Message
    complete: bool = False


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
