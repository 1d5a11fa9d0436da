"""Core group meetings: numbering, booking, moving, cancelling, holding, attendance and the record.

Meetings are numbered per group in date order (cancelled ones keep their place, so the list a
member saw still matches). Everything takes the session and plain values (keyword-only), so the
reminder engine can reuse it without an acting person; authorisation happens in commands/.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core.access import members_of
from bot.core.calendar import WorkingCalendar, format_day
from bot.core.errors import BadInput, Conflict
from bot.core.groups import review_dates
from bot.core.policy import Policy, check_meeting_date
from bot.core.working_hours import Hours
from bot.messages import Block, Context, Fields, Heading, Message, Text
from storage.enums import AttendanceStatus, MeetingKind, MeetingStatus, Role
from storage.models import Attendance, Case, CoreGroup, Meeting, Membership, Person

KIND_LABELS = {
    MeetingKind.FIRST: "first core group meeting",
    MeetingKind.REGULAR: "core group meeting",
    MeetingKind.AFTER_REVIEW: "core group meeting after the review conference",
}

# The same, as the family hears it.
FAMILY_KIND_LABELS = {
    MeetingKind.FIRST: "first meeting",
    MeetingKind.REGULAR: "meeting",
    MeetingKind.AFTER_REVIEW: "meeting after the review conference",
}

STATUS_LABELS = {
    MeetingStatus.SCHEDULED: "booked",
    MeetingStatus.HELD: "held",
    MeetingStatus.CANCELLED: "cancelled",
}

# When core groups are usually held: a time outside this is warned of (never refused).
MEETING_HOURS = Hours(8, 18)

ATTENDANCE_LABELS = {
    AttendanceStatus.INVITED: "invited (no reply yet)",
    AttendanceStatus.ATTENDING: "coming",
    AttendanceStatus.APOLOGIES: "sent apologies",
    AttendanceStatus.ATTENDED: "attended",
    AttendanceStatus.ABSENT: "did not attend",
}


def format_when(dt: datetime, tz: ZoneInfo) -> str:
    """A moment as written in chat, in local time: "Wed 6 Jan 2027, 14:00"."""
    local = dt.astimezone(tz)
    return f"{format_day(local.date())}, {local:%H:%M}"


def case_of_group(session: Session, *, group_id: int) -> Case:
    """The case a group belongs to."""
    group = session.get(CoreGroup, group_id)
    assert group is not None
    case = session.get(Case, group.case_id)
    assert case is not None
    return case


def role_label(membership: Membership) -> str:
    """A member's role in plain words ("health visitor")."""
    return Role(membership.role).label


# --- finding meetings ---------------------------------------------------------------------------


def meetings_of(session: Session, *, group_id: int) -> list[Meeting]:
    """Every meeting of the group in date order."""
    return list(
        session.exec(
            select(Meeting)
            .where(Meeting.group_id == group_id)
            .order_by(col(Meeting.starts_at), col(Meeting.id))
        ).all()
    )


def _in_booking_order(session: Session, *, group_id: int) -> list[Meeting]:
    """Every meeting of the group in the order it was booked: a meeting's number is its
    position plus one, so a number once shown never changes (booking an earlier meeting, moving
    or cancelling one leaves the others' numbers alone)."""
    return list(
        session.exec(
            select(Meeting).where(Meeting.group_id == group_id).order_by(col(Meeting.id))
        ).all()
    )


def numbers_of(session: Session, *, group_id: int) -> dict[int, int]:
    """Each meeting's number, by meeting id."""
    found = _in_booking_order(session, group_id=group_id)
    return {m.id: n for n, m in enumerate(found, 1) if m.id is not None}


def number_of(session: Session, *, meeting: Meeting) -> int:
    """The meeting's number within its group."""
    ids = [m.id for m in _in_booking_order(session, group_id=meeting.group_id)]
    return ids.index(meeting.id) + 1


def has_started(meeting: Meeting, now: datetime) -> bool:
    """Whether the meeting's start time has come."""
    return meeting.starts_at <= now


def next_meeting(session: Session, *, group_id: int, now: datetime) -> Meeting | None:
    """The next booked meeting that has not started yet."""
    return session.exec(
        select(Meeting)
        .where(
            Meeting.group_id == group_id,
            Meeting.status == MeetingStatus.SCHEDULED,
            col(Meeting.starts_at) > now,
        )
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    ).first()


def last_held_meeting(session: Session, *, group_id: int) -> Meeting | None:
    """The most recent meeting marked as held."""
    return session.exec(
        select(Meeting)
        .where(Meeting.group_id == group_id, Meeting.status == MeetingStatus.HELD)
        .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc())
    ).first()


def latest_started(session: Session, *, group_id: int, now: datetime) -> Meeting | None:
    """The most recent meeting (held, or booked and already started), not cancelled."""
    return session.exec(
        select(Meeting)
        .where(
            Meeting.group_id == group_id,
            Meeting.status != MeetingStatus.CANCELLED,
            col(Meeting.starts_at) <= now,
        )
        .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc())
    ).first()


def meeting_number(session: Session, *, group_id: int, number: int, reference: str) -> Meeting:
    """Meeting `number` of the group, or BadInput naming the numbers that exist."""
    found = _in_booking_order(session, group_id=group_id)
    if 1 <= number <= len(found):
        return found[number - 1]
    known = f"Meetings are numbered 1 to {len(found)}." if found else "No meetings are booked yet."
    raise BadInput(
        f"There's no meeting {number} for {reference}. {known}",
        hint="`/coregroup meetings` lists them with their numbers.",
    )


# --- rules --------------------------------------------------------------------------------------


def _others(session: Session, group_id: int, ignore_id: int | None) -> list[Meeting]:
    return [
        m
        for m in meetings_of(session, group_id=group_id)
        if m.status != MeetingStatus.CANCELLED and m.id != ignore_id
    ]


def infer_kind(
    session: Session,
    *,
    case: Case,
    group_id: int,
    when: datetime,
    tz: ZoneInfo,
    ignore_id: int | None = None,
) -> MeetingKind:
    """First if none comes before; after-review if a review came since the last; else regular."""
    earlier = [m for m in _others(session, group_id, ignore_id) if m.starts_at < when]
    if not earlier:
        return MeetingKind.FIRST
    assert case.id is not None
    last = max(m.starts_at for m in earlier).astimezone(tz).date()
    day = when.astimezone(tz).date()
    if any(last < review <= day for review in review_dates(session, case_id=case.id)):
        return MeetingKind.AFTER_REVIEW
    return MeetingKind.REGULAR


def another_first(
    session: Session, *, group_id: int, kind: MeetingKind, ignore_id: int | None = None
) -> Meeting | None:
    """A first meeting still booked when another first one is being booked."""
    if kind != MeetingKind.FIRST:
        return None
    return next(
        (m for m in _others(session, group_id, ignore_id) if m.kind == MeetingKind.FIRST), None
    )


def date_warnings(
    session: Session,
    *,
    case: Case,
    group_id: int,
    when: datetime,
    tz: ZoneInfo,
    calendar: WorkingCalendar,
    policy: Policy,
    ignore_id: int | None = None,
) -> list[str]:
    """Why a proposed date may be wrong: not a working day, outside working hours, or a
    statutory deadline it misses."""
    assert case.id is not None
    local = when.astimezone(tz)
    warnings = check_meeting_date(
        when=local.date(),
        icpc=case.icpc_date,
        meetings=[m.starts_at.astimezone(tz).date() for m in _others(session, group_id, ignore_id)],
        reviews=review_dates(session, case_id=case.id),
        calendar=calendar,
        policy=policy,
    )
    if not MEETING_HOURS.contains(local):
        later = local + timedelta(hours=12)
        meant = f" Did you mean {later:%H:%M}?" if MEETING_HOURS.contains(later) else ""
        warnings.append(
            f"{local:%H:%M} is outside working hours ({MEETING_HOURS.describe()}): few members "
            f"could come.{meant}"
        )
    return warnings


def clash(
    session: Session, *, group_id: int, when: datetime, tz: ZoneInfo, ignore_id: int | None = None
) -> Meeting | None:
    """A booked meeting of the group on the same day, if any (a double booking is a mistake)."""
    day = when.astimezone(tz).date()
    for m in _others(session, group_id, ignore_id):
        if m.status == MeetingStatus.SCHEDULED and m.starts_at.astimezone(tz).date() == day:
            return m
    return None


# --- changes ------------------------------------------------------------------------------------


def book_meeting(
    session: Session,
    *,
    group_id: int,
    when: datetime,
    kind: MeetingKind,
    venue: str,
    link: str,
    actor_id: int,
    now: datetime,
) -> Meeting:
    """Book a meeting and invite every current member."""
    meeting = Meeting(
        group_id=group_id,
        kind=kind,
        starts_at=when,
        venue=venue,
        call_link=link,
        created_by=actor_id,
        created_at=now,
        updated_at=now,
    )
    session.add(meeting)
    session.flush()
    ensure_invited(session, meeting=meeting, now=now)
    return meeting


def ensure_invited(session: Session, *, meeting: Meeting, now: datetime) -> None:
    """An attendance row for every current member (people added since booking included)."""
    assert meeting.id is not None
    have = set(
        session.exec(select(Attendance.person_id).where(Attendance.meeting_id == meeting.id)).all()
    )
    for _, person in members_of(session, group_id=meeting.group_id):
        if person.id not in have:
            assert person.id is not None
            session.add(Attendance(meeting_id=meeting.id, person_id=person.id, updated_at=now))
    session.flush()


def require_booked(meeting: Meeting, *, number: int, doing: str) -> None:
    """Refuse to change a meeting that is cancelled or already held."""
    if meeting.status != MeetingStatus.SCHEDULED:
        state = STATUS_LABELS[MeetingStatus(meeting.status)]
        raise Conflict(
            f"Meeting {number} was {state}, so I can't {doing} it.",
            hint="Book a new one instead, e.g. `/coregroup schedule next Tue 2pm`.",
        )


def move_meeting(session: Session, *, meeting: Meeting, when: datetime, now: datetime) -> None:
    """Give a booked meeting a new start time."""
    meeting.starts_at, meeting.updated_at = when, now
    session.add(meeting)
    session.flush()


def cancel_meeting(session: Session, *, meeting: Meeting, reason: str, now: datetime) -> None:
    """Cancel a booked meeting, keeping the reason."""
    meeting.status, meeting.cancel_reason, meeting.updated_at = (
        MeetingStatus.CANCELLED,
        reason or None,
        now,
    )
    session.add(meeting)
    session.flush()


def set_place(
    session: Session, *, meeting: Meeting, venue: str | None, link: str | None, now: datetime
) -> None:
    """Change where a meeting happens: its venue, its call link, or both."""
    if venue is not None:
        meeting.venue = venue
    if link is not None:
        meeting.call_link = link
    meeting.updated_at = now
    session.add(meeting)
    session.flush()


# Attendance once the meeting has happened, from what each member said beforehand. Nobody is
# guessed absent: a member who said nothing stays "not recorded" until the chair records them (a
# parent wrongly minuted as not attending is a record against the family).
_HELD_DEFAULTS = {AttendanceStatus.ATTENDING: AttendanceStatus.ATTENDED}


def mark_held(session: Session, *, meeting: Meeting, now: datetime) -> None:
    """Mark a meeting as held; who said they'd come attended, apologies stay, anyone who said
    nothing stays not recorded (the chair is warned until it is)."""
    meeting.status, meeting.updated_at = MeetingStatus.HELD, now
    session.add(meeting)
    ensure_invited(session, meeting=meeting, now=now)
    for row in attendance_rows(session, meeting=meeting):
        new = _HELD_DEFAULTS.get(AttendanceStatus(row.status))
        if new is not None:
            row.status, row.updated_at = new, now
            session.add(row)
    session.flush()


def attendance_label(meeting: Meeting, status: AttendanceStatus) -> str:
    """How a member's attendance reads: "not recorded" for no word at a meeting held."""
    held = meeting.status == MeetingStatus.HELD
    return (
        "not recorded" if held and status is AttendanceStatus.INVITED else ATTENDANCE_LABELS[status]
    )


def attendance_warning(session: Session, *, meeting: Meeting, number: int) -> str | None:
    """A warning when a held meeting's attendance is not (all) recorded; None when it is."""
    if meeting.status != MeetingStatus.HELD:
        return None
    rows = attendance_of(session, meeting=meeting)
    missing = [p.display_name for p, a in rows if a.status == AttendanceStatus.INVITED]
    if not missing:
        return None
    how = (
        f"record who came, e.g. `/coregroup attendance @sam attended {number}` "
        "(or `apologies`, `absent`) before the minutes go out"
    )
    if len(missing) == len(rows):
        return f"⚠ Nobody's attendance at meeting {number} is recorded yet: {how}."
    names = ", ".join(missing[:-1]) + " and " + missing[-1] if len(missing) > 1 else missing[0]
    return f"⚠ Attendance at meeting {number} isn't recorded for {names}: {how}."


def attendance_rows(session: Session, *, meeting: Meeting) -> list[Attendance]:
    """The meeting's attendance rows."""
    return list(
        session.exec(
            select(Attendance)
            .where(Attendance.meeting_id == meeting.id)
            .order_by(col(Attendance.id))
        ).all()
    )


def attendance_of(session: Session, *, meeting: Meeting) -> list[tuple[Person, Attendance]]:
    """Each invited person with their attendance, in invitation order."""
    rows = session.exec(
        select(Person, Attendance)
        .join(Attendance, col(Attendance.person_id) == Person.id)
        .where(Attendance.meeting_id == meeting.id)
        .order_by(col(Attendance.id))
    ).all()
    return [(p, a) for p, a in rows]


def set_attendance(
    session: Session,
    *,
    meeting: Meeting,
    person_id: int,
    status: AttendanceStatus,
    now: datetime,
    note: str | None = None,
) -> Attendance:
    """Record whether someone is coming to, or came to, a meeting."""
    assert meeting.id is not None
    row = session.exec(
        select(Attendance).where(
            Attendance.meeting_id == meeting.id, Attendance.person_id == person_id
        )
    ).first()
    if row is None:
        row = Attendance(meeting_id=meeting.id, person_id=person_id)
    row.status, row.updated_at = status, now
    if note is not None:
        row.note = note
    session.add(row)
    session.flush()
    return row


def add_to_record(
    session: Session, *, meeting: Meeting, part: str, text: str, now: datetime
) -> int:
    """Append a line to a meeting's decisions or contingency plan; returns how many it now has."""
    current = getattr(meeting, part) or ""
    lines = [line for line in current.splitlines() if line.strip()]
    lines.append(" ".join(text.split()))
    setattr(meeting, part, "\n".join(lines))
    meeting.updated_at = now
    session.add(meeting)
    session.flush()
    return len(lines)


# --- messages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingFacts:
    """What identifies a meeting in a message: the case reference and its number."""

    reference: str
    number: int


def place_pairs(meeting: Meeting) -> list[tuple[str, str]]:
    """Where the meeting is, as label/value pairs (venue and/or call link)."""
    pairs = []
    if meeting.venue:
        pairs.append(("Where", meeting.venue))
    if meeting.call_link:
        pairs.append(("Video call", meeting.call_link))
    if not pairs:
        pairs.append(("Where", "to be confirmed"))
    return pairs


def meeting_card(
    meeting: Meeting,
    *,
    facts: MeetingFacts,
    tz: ZoneInfo,
    headline: str,
    footnote: str = "",
) -> Message:
    """A meeting announced to the group: when, where, what kind; the text names only the case."""
    when = format_when(meeting.starts_at, tz)
    pairs = [
        ("When", f"{when} (about {meeting.duration_minutes} minutes)"),
        *place_pairs(meeting),
        ("Meeting", f"{KIND_LABELS[MeetingKind(meeting.kind)]} (meeting {facts.number})"),
    ]
    blocks: list[Block] = [Heading(f"{headline} — {facts.reference}"), Fields(tuple(pairs))]
    if footnote:
        blocks.append(Context(footnote))
    return Message(text=f"{facts.reference}: {headline.lower()} — {when}", blocks=tuple(blocks))


def cancelled_card(
    meeting: Meeting, *, facts: MeetingFacts, tz: ZoneInfo, by: str, reason: str
) -> Message:
    """A cancelled meeting announced to the group."""
    when = format_when(meeting.starts_at, tz)
    blocks: list[Block] = [
        Heading(f"Meeting cancelled — {facts.reference}"),
        Text(f"The core group meeting on {when} (meeting {facts.number}) is cancelled."),
    ]
    if reason:
        blocks.append(Fields((("Reason", reason),)))
    blocks.append(Context(f"Cancelled by {by}. A new date will be shared here once it's booked."))
    return Message(
        text=f"{facts.reference}: the meeting on {when} is cancelled", blocks=tuple(blocks)
    )


def meeting_line(meeting: Meeting, *, number: int, tz: ZoneInfo, family: bool = False) -> str:
    """One line of the meetings list (`family`: in family words)."""
    status = STATUS_LABELS[MeetingStatus(meeting.status)]
    place = meeting.venue or ("video call" if meeting.call_link else "place to be confirmed")
    kind = (FAMILY_KIND_LABELS if family else KIND_LABELS)[MeetingKind(meeting.kind)]
    line = f"{number}. {format_when(meeting.starts_at, tz)} — {kind}"
    line += f" — {place} — {status}"
    if meeting.status == MeetingStatus.CANCELLED and meeting.cancel_reason:
        line += f" ({meeting.cancel_reason})"
    return line
