"""Who has not finished their update for a meeting, and the nudge that asks them again."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.core.access import members_of
from bot.core.calendar import format_day
from bot.core.meetings import case_of_group, format_when, role_label
from bot.core.updates.conversation import Conversation
from bot.core.updates.flow import Asking, _current
from bot.core.updates.queries import update_for
from bot.core.updates.questions import MYUPDATE
from bot.messages import Context, Message, Text
from storage.enums import UpdateState
from storage.models import Meeting, Membership, MemberUpdate, Person

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
