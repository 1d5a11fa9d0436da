"""New concerns: a professional's words that read like a disclosure are asked about, not filed.

When a professional's note or update answer contains one of the council's signals (see
signals.py), the bot asks its author "Is this a new concern the chair should know now?". Yes
tells the chairs at once and lists it under New concerns in the brief and section 9 of the
draft minutes; no keeps it as it was given. Either way it stays professionals-only. Nobody
answering loses nothing: the text is kept here, listed as not yet confirmed, and the reminder
ledger tells the chairs once ESCALATE_AFTER has passed (inside their working hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core.access import takes_part_as_family
from bot.core.meetings import format_when, role_label
from bot.core.signals import ConcernSignals
from bot.messages import Button, Buttons, Context, Heading, Message, Text
from storage.enums import ConcernState, MeetingStatus
from storage.models import Concern, Meeting, Membership, Person

YES, NO = "concern.yes", "concern.no"
QUESTION = "Is this a new concern the chair should know now?"
# An unanswered question goes to the chairs this long after it was asked (working hours apply).
ESCALATE_AFTER = timedelta(hours=1)
YES_WORDS = frozenset({"yes", "y", "yeah", "yep", "yup", "yes please", "yes it is", "it is"})
NO_WORDS = frozenset({"no", "n", "nope", "no it isn't", "no it's not", "not new", "it isn't"})
LATER_WORDS = frozenset({"skip", "later", "not sure", "don't know", "dont know", "unsure"})


def check(
    session: Session,
    *,
    signals: ConcernSignals,
    group_id: int,
    author: Person,
    text: str,
    about: str,
    now: datetime,
    meeting_id: int | None = None,
    action_event_id: int | None = None,
    update_answer_id: int | None = None,
) -> Concern | None:
    """A new question when a professional's text reads like a new concern; None otherwise."""
    assert author.id is not None
    if not text.strip() or takes_part_as_family(session, group_id=group_id, person_id=author.id):
        return None
    found = signals.find(text)
    if not found:
        return None
    concern = Concern(
        group_id=group_id,
        author_id=author.id,
        meeting_id=meeting_id,
        action_event_id=action_event_id,
        update_answer_id=update_answer_id,
        text=text,
        about=about[:200],
        signals=", ".join(found)[:400],
        state=ConcernState.ASKED,
        raised_at=now,
    )
    session.add(concern)
    session.flush()
    return concern


def escalates_at(concern: Concern) -> datetime:
    """When the chairs are told of an unanswered question."""
    return concern.raised_at + ESCALATE_AFTER


def awaiting(session: Session, *, person_id: int, now: datetime) -> Concern | None:
    """The author's question still waiting for the yes or no their next message should give."""
    return session.exec(
        select(Concern)
        .where(
            Concern.author_id == person_id,
            Concern.state == ConcernState.ASKED,
            col(Concern.raised_at) > now - ESCALATE_AFTER,
        )
        .order_by(col(Concern.raised_at).desc(), col(Concern.id).desc())
    ).first()


def read_answer(text: str) -> ConcernState | None:
    """Yes, no or later in words; None when the reply is none of them."""
    word = " ".join(text.lower().replace("\u2019", "'").split()).strip(" .!")
    if word in YES_WORDS:
        return ConcernState.YES
    if word in NO_WORDS:
        return ConcernState.NO
    if word in LATER_WORDS:
        return ConcernState.LATER
    return None


def answer(session: Session, *, concern: Concern, state: ConcernState, now: datetime) -> bool:
    """Record the author's answer; True when the chairs were already told it was unanswered."""
    escalated = concern.state in (ConcernState.ASKED, ConcernState.LATER) and (
        escalates_at(concern) <= now
    )
    concern.state = state
    if state.answered:
        concern.answered_at = now
    session.add(concern)
    session.flush()
    return escalated


def question_message(concern: Concern, *, reference: str, tz: ZoneInfo) -> Message:
    """The question to the author, with Yes and No buttons; a typed yes or no answers it too."""
    assert concern.id is not None
    value = str(concern.id)
    by = format_when(escalates_at(concern), tz)
    return Message(
        text=f"{reference}: {QUESTION}",
        blocks=(
            Text(QUESTION),
            Context(f"You wrote, in {concern.about}: \u201c{concern.text}\u201d"[:2900]),
            Buttons(
                (
                    Button("Yes, tell the chair now", YES, value, style="primary"),
                    Button("No, it's not new", NO, value),
                )
            ),
            Context(
                "Reply yes or no. Either way it stays for professionals only; nothing goes to "
                f"the family. If you haven't answered by {by}, I'll tell the chair anyway."
            ),
        ),
        expects=f"concern:{concern.id}",
    )


def _who(session: Session, concern: Concern) -> str:
    person = session.get(Person, concern.author_id)
    name = person.display_name if person else "A former member"
    membership = session.exec(
        select(Membership).where(
            Membership.group_id == concern.group_id, Membership.person_id == concern.author_id
        )
    ).first()
    return f"{name} ({role_label(membership)})" if membership is not None else name


def chair_message(
    session: Session, *, concern: Concern, reference: str, tz: ZoneInfo, confirmed: bool
) -> Message:
    """What the chairs are told: confirmed by its author, or not answered in time."""
    who, when = _who(session, concern), format_when(concern.raised_at, tz)
    if confirmed:
        heading = f"New concern · {reference}"
        intro = f"{who} says this is a new concern you should know now:"
    else:
        heading = f"Possible new concern · {reference}"
        intro = (
            f"{who} wrote this and hasn't said yet whether it is a new concern, so you're "
            "seeing it now:"
        )
    return Message(
        text=f"{reference}: {'a new concern' if confirmed else 'a possible new concern'} "
        "from a member",
        blocks=(
            Heading(heading),
            Text(intro),
            Text(f"\u201c{concern.text}\u201d"),
            Context(
                f"From {concern.about}, {when}. It is listed under New concerns in the brief "
                "and the draft minutes. For professionals only: not shared with the family."
            ),
        ),
    )


def not_new_message(session: Session, *, concern: Concern, reference: str) -> Message:
    """What chairs told of an unanswered question hear when its author says it is not new."""
    return Message.plain(
        f"{reference}: {_who(session, concern)} says what they wrote ({concern.about}) is not a "
        "new concern. It stays in the record for professionals only."
    )


# --- listing for the brief and the minutes -----------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """New concerns as the brief and the minutes list them."""

    concerns: list[str]  # confirmed, or not answered yet
    not_new: list[str]  # their authors said they are not new
    marks: dict[int, str]  # what was said of a "must know" answer listed anyway, by its id


_STATUS = {
    ConcernState.YES: " \u2014 confirmed as new; the chair was told",
    ConcernState.ASKED: " \u2014 not yet confirmed as new by its author",
    ConcernState.LATER: " \u2014 not yet confirmed as new by its author",
}


def _previous(session: Session, meeting: Meeting) -> Meeting | None:
    return session.exec(
        select(Meeting)
        .where(
            Meeting.group_id == meeting.group_id,
            Meeting.status != MeetingStatus.CANCELLED,
            col(Meeting.starts_at) < meeting.starts_at,
        )
        .order_by(col(Meeting.starts_at).desc())
    ).first()


def concerns_for(session: Session, *, meeting: Meeting) -> list[Concern]:
    """The concerns a meeting hears: from its updates, and written since the meeting before."""
    previous = _previous(session, meeting)
    between = col(Concern.meeting_id).is_(None) & (col(Concern.raised_at) < meeting.starts_at)
    if previous is not None:
        between = between & (col(Concern.raised_at) >= previous.starts_at)
    return list(
        session.exec(
            select(Concern)
            .where(
                Concern.group_id == meeting.group_id,
                (col(Concern.meeting_id) == meeting.id) | between,
            )
            .order_by(col(Concern.raised_at), col(Concern.id))
        ).all()
    )


def heard_by(meeting: Meeting, previous: Meeting | None, rows: list[Concern]) -> list[Concern]:
    """Of the group's loaded concerns, the ones `meeting` hears (as `concerns_for` selects them,
    `previous` being the meeting before it, not cancelled)."""

    def hears(c: Concern) -> bool:
        if c.meeting_id is not None:
            return c.meeting_id == meeting.id
        return c.raised_at < meeting.starts_at and (
            previous is None or c.raised_at >= previous.starts_at
        )

    heard = [c for c in rows if c.group_id == meeting.group_id and hears(c)]
    return sorted(heard, key=lambda c: (c.raised_at, c.id or 0))


def listed(
    session: Session,
    *,
    meeting: Meeting,
    tz: ZoneInfo,
    must_know: frozenset[int] = frozenset(),
    heard: list[Concern] | None = None,
) -> Listed:
    """Each concern as a line, with what its author said about it (`heard`: the meeting's
    concerns when loaded beforehand).

    `must_know` holds the ids of answers to "anything the group must know?", which are listed
    anyway: one its author says is not new is left to that list rather than repeated.
    """
    concerns, not_new, marks = [], [], {}
    for c in concerns_for(session, meeting=meeting) if heard is None else heard:
        state = ConcernState(c.state)
        if c.update_answer_id is not None and c.update_answer_id in must_know:
            if state in _STATUS:
                marks[c.update_answer_id] = _STATUS[state]
            continue
        line = (
            f"{_who(session, c)}, {c.about}, {format_when(c.raised_at, tz)}: \u201c{c.text}\u201d"
        )
        if state == ConcernState.NO:
            not_new.append(line)
        else:
            concerns.append(line + _STATUS[state])
    return Listed(concerns, not_new, marks)
