"""What the family's web pages show, worked out from the database for one visitor.

Platform-neutral: the web adapter (bot/adapters/family_web.py) renders these with Jinja2. Every
function takes the Visitor (bot.core.family), so a page can only ever read the visitor's own
group; every view and answer is audited like a chat action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core import slots, updates, young_voice
from bot.core.access import members_of
from bot.core.distribution import copy_for
from bot.core.documents.build import document_of, published
from bot.core.documents.model import BulletList, DocumentOptions, Paragraph, Table
from bot.core.errors import UserError
from bot.core.family import Visitor, record
from bot.core.meetings import (
    case_of_group,
    format_when,
    next_meeting,
    set_attendance,
)
from storage.enums import AttendanceStatus, AuditKind, MeetingKind, MinutesStatus, Role
from storage.models import Attendance, CoreGroup, Meeting, Membership, Minutes, UpdateAnswer
from storage.models import Person as PersonRow

# An answer longer than this is refused (and kept in the form): a page, not a document.
MAX_ANSWER = 4000

PURPOSE = {
    MeetingKind.FIRST: (
        "This is the group's first meeting since the child protection conference. Together we "
        "will turn the plan into clear steps: what needs to change, who will do what, and by when."
    ),
    MeetingKind.REGULAR: (
        "We will go through the child protection plan together, line by line: what is going "
        "well, what still needs to change, and who will do what next."
    ),
    MeetingKind.AFTER_REVIEW: (
        "This meeting follows the review conference. We will go through the plan as it is now, "
        "line by line, and agree the next steps together."
    ),
}
YOUNG_PURPOSE = (
    "The meeting is to look over your plan, line by line, and make sure the things in it are "
    "happening so that you are kept safe. It takes about an hour."
)
COMING_WORDS = {
    AttendanceStatus.INVITED: "hasn't said yet",
    AttendanceStatus.ATTENDING: "coming",
    AttendanceStatus.APOLOGIES: "can't come",
    AttendanceStatus.ATTENDED: "came",
    AttendanceStatus.ABSENT: "didn't come",
}
FAMILY_ROLE_WORDS = {
    Role.KEY_WORKER: "social worker",
    Role.SOCIAL_WORKER: "social worker",
    Role.PARENT_CARER: "parent or carer",
    Role.CHILD: "young person",
    Role.SCHOOL: "from school",
    Role.HEALTH_VISITOR: "health visitor",
    Role.SCHOOL_NURSE: "school nurse",
    Role.GP: "doctor (GP)",
    Role.POLICE: "police",
    Role.THERAPIST: "counsellor or therapist",
    Role.ADVOCATE: "advocate",
    Role.INTERPRETER: "interpreter",
    Role.TEAM_MANAGER: "social work manager",
    Role.CONFERENCE_CHAIR: "conference chair",
    Role.OTHER: "",
}


@dataclass(frozen=True)
class Person:
    """Someone at the meeting, as the family sees them."""

    name: str
    role: str
    coming: str


@dataclass(frozen=True)
class MeetingPage:
    """ "Our next meeting"."""

    booked: bool
    when: str = ""
    length: str = ""
    where: tuple[tuple[str, str], ...] = ()
    purpose: str = ""
    people: tuple[Person, ...] = ()


def meeting_page(session: Session, visitor: Visitor, *, now: datetime, tz: ZoneInfo) -> MeetingPage:
    """The next meeting in plain words: when, where, who is coming and what it is for."""
    # Audited last, so the write (and SQLite's write lock) is only the audit row at the commit.
    meeting = next_meeting(session, group_id=visitor.group_id, now=now)
    record(session, visitor, now, AuditKind.READ, "family:view:meeting")
    if meeting is None:
        return MeetingPage(booked=False)
    rows = session.exec(
        select(PersonRow, Attendance, Membership)
        .join(Attendance, col(Attendance.person_id) == PersonRow.id)
        .join(
            Membership,
            (col(Membership.person_id) == PersonRow.id)
            & (col(Membership.group_id) == visitor.group_id)
            & col(Membership.active).is_(True),
        )
        .where(Attendance.meeting_id == meeting.id)
        .order_by(col(Attendance.id))
    ).all()
    people = []
    for person, row, membership in rows:
        name = "You" if person.id == visitor.person_id else person.display_name
        role = FAMILY_ROLE_WORDS[Role(membership.role)]
        people.append(Person(name, role, COMING_WORDS[AttendanceStatus(row.status)]))
    where = []
    if meeting.venue:
        where.append(("Where", meeting.venue))
    if meeting.call_link:
        where.append(("Video call", meeting.call_link))
    if not where:
        where.append(("Where", "still to be agreed — your social worker will tell you"))
    purpose = YOUNG_PURPOSE if visitor.young_person else PURPOSE[MeetingKind(meeting.kind)]
    return MeetingPage(
        booked=True,
        when=format_when(meeting.starts_at, tz),
        length=f"about {meeting.duration_minutes} minutes",
        where=tuple(where),
        purpose=purpose,
        people=tuple(people),
    )


# --- before the meeting -------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A quick answer as a radio button."""

    value: str
    label: str
    checked: bool


@dataclass(frozen=True)
class Asked:
    """One question on the page: its wording, the saved answer, and the form's choices."""

    key: str
    wording: str
    label: str
    answer: str
    choices: tuple[Choice, ...]
    answered: bool


@dataclass
class BeforePage:
    """ "Before the meeting": the current question (or the one being changed) and every answer."""

    booked: bool
    when: str = ""
    locked: bool = False
    complete: bool = False
    current: Asked | None = None
    position: int = 0
    total: int = 0
    answers: list[Asked] = field(default_factory=list)
    error: str = ""
    typed: str = ""


def _meeting(session: Session, visitor: Visitor, now: datetime) -> Meeting | None:
    return next_meeting(session, group_id=visitor.group_id, now=now)


def _asked(
    convo: updates.Conversation, question: updates.Question, answers: dict[str, UpdateAnswer]
) -> Asked:
    row = answers.get(question.key)
    value = updates._value(row)
    return Asked(
        key=question.key,
        wording=question.wording(True),
        label=question.label,
        answer=convo.display(question, row),
        choices=tuple(Choice(o.value, o.family_label, o.value == value) for o in question.options),
        answered=row is not None,
    )


def before_page(
    session: Session,
    visitor: Visitor,
    *,
    now: datetime,
    tz: ZoneInfo,
    change: str | None = None,
) -> BeforePage:
    """The pre-meeting questions in family wording, where the visitor got to (resumable)."""
    meeting = _meeting(session, visitor, now)
    if meeting is None:
        record(session, visitor, now, AuditKind.READ, "family:view:before")
        return BeforePage(booked=False)
    convo = updates.start_update(session, meeting=meeting, person=visitor.person, now=now, tz=tz)
    answers = convo.answers()
    questions = convo.questions(answers)
    page = BeforePage(booked=True, when=convo.when, locked=convo.locked(now), total=len(questions))
    page.answers = [_asked(convo, q, answers) for q in questions]
    current = next((q for q in questions if q.key == change), None)
    current = current or next((q for q in questions if q.key not in answers), None)
    page.complete = current is None
    if current is not None and not page.locked:
        page.current = _asked(convo, current, answers)
        page.position = next(i for i, q in enumerate(questions, 1) if q.key == current.key)
    record(session, visitor, now, AuditKind.READ, "family:view:before")
    return page


def answer_before(
    session: Session,
    visitor: Visitor,
    *,
    key: str,
    choice: str,
    text: str,
    skip: bool,
    now: datetime,
    tz: ZoneInfo,
) -> BeforePage | None:
    """Save one answer from the form; None when saved, else the page again with the reason and
    everything typed kept."""
    meeting = _meeting(session, visitor, now)
    error = ""
    if meeting is None:
        error = "There's no meeting booked just now, so there's nothing to answer yet."
    elif len(text) > MAX_ANSWER:
        error = (
            f"That answer is too long to save here ({len(text):,} characters; the most is "
            f"{MAX_ANSWER:,}). Please make it shorter: your words are still in the box below. "
            "You can also tell your social worker the rest."
        )
    else:
        convo = updates.start_update(
            session, meeting=meeting, person=visitor.person, now=now, tz=tz
        )
        question = next((q for q in convo.questions() if q.key == key), None)
        if skip:
            typed = updates.SKIP
        elif question is not None and question.options:
            option = question.option(choice)
            if option is None:
                typed = ""
                error = "Please choose one of the answers, or press Skip."
            else:
                typed = f"{option.words[0]} \u2014 {text}" if text.strip() else option.words[0]
        else:
            typed = text
            if not text.strip():
                error = "Please write your answer in the box, or press Skip."
        if not error:
            try:
                updates.save_answer(convo, key, typed, now=now)
            except UserError as err:
                error = err.message
            else:
                record(session, visitor, now, AuditKind.CHANGE, "family:answer", f"question={key}")
                return None
    page = before_page(session, visitor, now=now, tz=tz, change=key)
    page.error, page.typed = error, text
    return page


# --- what was agreed ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One part of a section, flattened for the template."""

    kind: str  # "p", "ul" or "table"
    text: str = ""
    indent: int = 0
    items: tuple[str, ...] = ()
    caption: str = ""
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class AgreedPage:
    """ "What was agreed": the family's (or young person's) copy of the latest minutes."""

    published: bool
    title: str = ""
    intro: tuple[Block, ...] = ()
    sections: tuple[tuple[str, tuple[Block, ...]], ...] = ()


def _block(part: Paragraph | BulletList | Table) -> Block:
    if isinstance(part, Paragraph):
        return Block("p", text=part.text, indent=part.indent)
    if isinstance(part, BulletList):
        return Block("ul", items=part.items, indent=part.indent)
    return Block("table", caption=part.caption, header=part.header, rows=part.rows)


def latest_published(session: Session, *, group_id: int) -> Minutes | None:
    """The group's most recently published minutes."""
    return session.exec(
        select(Minutes)
        .join(Meeting, col(Meeting.id) == Minutes.meeting_id)
        .where(Meeting.group_id == group_id, Minutes.status == MinutesStatus.PUBLISHED)
        .order_by(col(Minutes.published_at).desc(), col(Minutes.id).desc())
    ).first()


def agreed_page(
    session: Session, visitor: Visitor, *, now: datetime, tz: ZoneInfo, options: DocumentOptions
) -> AgreedPage:
    """The visitor's own copy of the latest published minutes, as the documents make it."""
    minutes = latest_published(session, group_id=visitor.group_id)
    record(session, visitor, now, AuditKind.READ, "family:view:agreed")
    if minutes is None:
        return AgreedPage(published=False)
    kind = copy_for(Role(visitor.membership.role), family=True)
    document = document_of(
        published(session, minutes=minutes, tz=tz), kind=kind, tz=tz, options=options
    )
    return AgreedPage(
        published=True,
        title=document.title,
        intro=tuple(_block(p) for p in document.intro),
        sections=tuple((s.title, tuple(_block(p) for p in s.parts)) for s in document.sections),
    )


# --- the young person's page --------------------------------------------------------------------


@dataclass
class YoungPage:
    """The young person's page: the questions with what they said, and any reason a save failed."""

    booked: bool
    when: str = ""
    questions: list[tuple[young_voice.YoungQuestion, str]] = field(default_factory=list)
    error: str = ""
    saved: bool = False


def young_page(
    session: Session,
    visitor: Visitor,
    *,
    now: datetime,
    tz: ZoneInfo,
    typed: dict[str, str] | None = None,
) -> YoungPage:
    """The young person's questions, with their saved answers (or what they just typed)."""
    meeting = _meeting(session, visitor, now)
    page = YoungPage(booked=meeting is not None)
    saved: dict[str, UpdateAnswer] = {}
    if meeting is not None:
        page.when = format_when(meeting.starts_at, tz)
        assert meeting.id is not None
        update = updates.update_for(session, meeting_id=meeting.id, person_id=visitor.person_id)
        saved = updates.answers_of(session, update=update) if update is not None else {}
    for question in young_voice.QUESTIONS:
        row = saved.get(question.key)
        value = row.answer if row is not None and not row.skipped else ""
        page.questions.append((question, (typed or {}).get(question.key, value)))
    record(session, visitor, now, AuditKind.READ, "family:view:young-person")
    return page


def answer_young(
    session: Session, visitor: Visitor, *, form: dict[str, str], now: datetime, tz: ZoneInfo
) -> YoungPage:
    """Save what the young person filled in (each answer on its own); the page again."""
    typed = {key: form.get(key, "") for key in young_voice.KEYS}
    meeting = _meeting(session, visitor, now)
    too_long = [k for k, v in typed.items() if len(v) > MAX_ANSWER]
    error = ""
    if meeting is None:
        error = "There's no meeting booked just now, so your answers can't be saved yet."
    elif too_long:
        error = (
            f"One answer is too long to save ({MAX_ANSWER:,} characters is the most). Your words "
            "are still in the box: please make it a bit shorter, or tell your social worker."
        )
    for key in young_voice.KEYS:
        question = young_voice.BY_KEY[key]
        if question.options and typed[key] and question.option(typed[key]) is None:
            typed[key], error = "", error or "Please choose one of the answers."
    if error:
        page = young_page(session, visitor, now=now, tz=tz, typed=typed)
        page.error = error
        return page
    assert meeting is not None
    convo = updates.start_update(session, meeting=meeting, person=visitor.person, now=now, tz=tz)
    answers = convo.answers()
    changed = []
    for key, text in typed.items():
        text = text.strip()
        row = answers.get(key)
        if not text or (row is not None and row.answer == text):
            continue
        row = row or UpdateAnswer(update_id=convo.id, question=key)
        # The child's words are for the professionals: never shown to the rest of the family.
        row.answer, row.skipped, row.answered_at, row.shared_with_family = text, False, now, False
        session.add(row)
        changed.append(key)
    attend = typed[young_voice.ATTEND]
    if attend and young_voice.ATTEND in changed:
        coming = attend in ("come", "come-with-advocate")
        set_attendance(
            session,
            meeting=meeting,
            person_id=visitor.person_id,
            status=AttendanceStatus.ATTENDING if coming else AttendanceStatus.APOLOGIES,
            now=now,
            note=young_voice.shown(young_voice.ATTEND, attend),
        )
    session.flush()
    if changed:
        record(session, visitor, now, AuditKind.CHANGE, "family:young-person", ",".join(changed))
    page = young_page(session, visitor, now=now, tz=tz)
    page.saved = bool(changed)
    return page


@dataclass(frozen=True)
class UnsafeAlert:
    """Who to tell at once that a young person doesn't feel safe, and what to tell them."""

    chat_to: tuple[int, ...]  # person ids: the key workers and the team's managers
    emails: tuple[str, ...]  # their addresses on record, and the duty contact's
    subject: str
    text: str
    told: str  # who will contact the young person, in words for them


def unsafe_alert(
    session: Session, visitor: Visitor, *, now: datetime, tz: ZoneInfo, duty_email: str | None
) -> UnsafeAlert:
    """The alert for "I don't feel safe" (audited); the caller sends it at once, any hour."""
    record(session, visitor, now, AuditKind.CHANGE, "family:unsafe")
    reference = case_of_group(session, group_id=visitor.group_id).reference
    workers = [
        p
        for m, p in members_of(session, group_id=visitor.group_id)
        if Role(m.role) is Role.KEY_WORKER
    ]
    group = session.get(CoreGroup, visitor.group_id)
    managers = (
        list(
            session.exec(
                select(PersonRow).where(
                    PersonRow.team_id == group.team_id, col(PersonRow.is_team_manager).is_(True)
                )
            ).all()
        )
        if group is not None and group.team_id is not None
        else []
    )
    people = {p.id: p for p in [*workers, *managers] if p.id is not None}
    emails = [p.email for p in people.values() if p.email]
    if duty_email:
        emails.append(duty_email)
    at = format_when(now, tz)
    text = (
        f"URGENT — {reference}: the young person pressed \u201cI don't feel safe\u201d on their "
        f"page at {at}. Please contact them now and follow your safeguarding procedures. They "
        "have been told to call 999 in an emergency and that Childline (0800 1111) is there "
        "any time."
    )
    if workers:
        told = f"{workers[0].display_name}, your social worker, has been told right now"
    else:
        told = "The social work team's duty worker has been told right now"
    return UnsafeAlert(
        chat_to=tuple(people),
        emails=tuple(dict.fromkeys(emails)),
        subject=f"URGENT {reference}: a young person doesn't feel safe",
        text=text,
        told=f"{told} and will contact you as soon as they can.",
    )


# --- find a time --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotRow:
    """One offered time on the family's page, with what they chose."""

    id: int
    when: str
    venue: str
    rank: str  # "1", "2", … or "cant" or ""
    venue_ok: str  # "yes", "no" or ""


@dataclass
class TimesPage:
    """ "Find a time": the offered times, the family's ranking, where feels right."""

    slots: list[SlotRow] = field(default_factory=list)
    note: str = ""
    error: str = ""
    saved: bool = False


def times_page(
    session: Session,
    visitor: Visitor,
    *,
    now: datetime,
    tz: ZoneInfo,
    typed: dict[str, str] | None = None,
) -> TimesPage:
    """The times the chair offered, with the visitor's choices (or what they just sent)."""
    offered = slots.open_slots(session, group_id=visitor.group_id)
    mine = slots.choices_of(session, person_id=visitor.person_id, slots=offered)
    page = TimesPage()
    for slot in offered:
        assert slot.id is not None
        row = mine.get(slot.id)
        rank = "" if row is None else ("cant" if row.rank is None else str(row.rank))
        ok = "" if row is None or row.venue_ok is None else ("yes" if row.venue_ok else "no")
        if typed is not None:
            rank = typed.get(f"rank-{slot.id}", "")
            ok = typed.get(f"venue-{slot.id}", "")
        page.slots.append(SlotRow(slot.id, format_when(slot.starts_at, tz), slot.venue, rank, ok))
        page.note = page.note or (row.note if row is not None else "")
    if typed is not None:
        page.note = typed.get("note", "")
    record(session, visitor, now, AuditKind.READ, "family:view:times")
    return page


def answer_times(
    session: Session, visitor: Visitor, *, form: dict[str, str], now: datetime, tz: ZoneInfo
) -> TimesPage:
    """Save the family's ranking and what they said about the place; the page again."""
    offered = slots.open_slots(session, group_id=visitor.group_id)
    ranks: dict[int, int | None] = {}
    venue_ok: dict[int, bool | None] = {}
    error = ""
    for slot in offered:
        assert slot.id is not None
        rank = form.get(f"rank-{slot.id}", "")
        if rank.isdigit() and 1 <= int(rank) <= len(offered):
            ranks[slot.id] = int(rank)
        elif rank in ("cant", ""):
            ranks[slot.id] = None
        else:
            error = "Please choose from the list for each time."
        ok = form.get(f"venue-{slot.id}", "")
        venue_ok[slot.id] = {"yes": True, "no": False}.get(ok)
    if not offered:
        error = "There are no times to choose from just now."
    if not error:
        try:
            slots.choose(
                session,
                person_id=visitor.person_id,
                slots=offered,
                ranks=ranks,
                venue_ok=venue_ok,
                note=form.get("note", ""),
                now=now,
            )
        except UserError as err:
            error = err.message
    if error:
        page = times_page(session, visitor, now=now, tz=tz, typed=form)
        page.error = error
        return page
    record(session, visitor, now, AuditKind.CHANGE, "family:times")
    page = times_page(session, visitor, now=now, tz=tz)
    page.saved = True
    return page
