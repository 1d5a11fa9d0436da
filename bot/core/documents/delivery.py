"""What a member receives with their copy: the chat message carrying the file, or the email.

Both name the case by its reference only (previews show on lock screens and in mail lists); the
file is the PDF of the member's copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core import minutes as mins
from bot.core.calendar import format_day
from bot.core.distribution import copy_for, log_lines, tally
from bot.core.documents.build import Published, document_of, published
from bot.core.documents.files import Rendered, render
from bot.core.documents.model import BulletList, DocumentOptions, Format, Paragraph
from bot.core.meetings import format_when
from bot.messages import Attachment, Block, Bullets, Buttons, Context, Heading, Message, Text
from storage.enums import AuditKind, CopyKind, DeliveryStatus, MinutesStatus, Role
from storage.models import AuditEntry, Meeting, Membership, Minutes, Person

SOURCE_PREFIX = "minutes"
SENT_FORMAT = Format.PDF


def source_of(minutes_id: int, kind: CopyKind, fmt: Format) -> str:
    """How to make a file again later: "minutes/12/family/pdf"."""
    return f"{SOURCE_PREFIX}/{minutes_id}/{kind.value}/{fmt.value}"


def parse_source(source: str) -> tuple[int, CopyKind, Format] | None:
    """The minutes, copy and format a source names; None if it names nothing we make."""
    parts = source.split("/")
    if len(parts) != 4 or parts[0] != SOURCE_PREFIX or not parts[1].isdigit():
        return None
    try:
        return int(parts[1]), CopyKind(parts[2]), Format(parts[3])
    except ValueError:
        return None


def attachment_of(rendered: Rendered, source: str) -> Attachment:
    """A rendered file as a message attachment."""
    return Attachment(rendered.filename, rendered.mime_type, rendered.data, rendered.title, source)


def rendered_copy(
    pub: Published, kind: CopyKind, *, tz: ZoneInfo, options: DocumentOptions, fmt: Format
) -> Rendered:
    """One copy of the published minutes as a file."""
    return render(document_of(pub, kind=kind, tz=tz, options=options), fmt, options)


def chat_copy(pub: Published, kind: CopyKind, *, tz: ZoneInfo, attachment: Attachment) -> Message:
    """A member's copy in chat: the text to read there, and the file to keep."""
    if kind is CopyKind.YOUNG_PERSON:
        message = _young_message(pub, tz)
    else:
        assert pub.minutes.published_at is not None
        message = mins.copy_message(
            pub.version,
            facts=pub.facts,
            minutes=pub.minutes,
            family=kind is CopyKind.FAMILY,
            tz=tz,
            approved_by=[name for name, _ in pub.approvals],
            published_by=pub.published_by,
        )
    blocks = (*message.blocks, Context(f"Your copy is attached: {attachment.filename}"))
    return Message(text=message.text, blocks=blocks, attachment=attachment)


def _young_message(pub: Published, tz: ZoneInfo) -> Message:
    document = document_of(pub, kind=CopyKind.YOUNG_PERSON, tz=tz, options=DocumentOptions())
    blocks: list[Block] = [Heading(f"Your core group meeting on {pub.facts.meeting_when}")]
    blocks += [Text(p.text) for p in document.intro if isinstance(p, Paragraph)]
    for section in document.sections:
        blocks.append(Heading(section.title))
        for part in section.parts:
            if isinstance(part, Paragraph):
                blocks.append(Text(part.text))
            elif isinstance(part, BulletList):
                blocks.append(Bullets(part.items))
    return Message(
        text=f"{pub.facts.reference}: notes from your core group meeting", blocks=tuple(blocks)
    )


@dataclass(frozen=True)
class Email:
    """An email carrying a member's copy (attached, or as a link)."""

    subject: str
    text: str
    attachment: Attachment | None


def email_copy(
    pub: Published,
    kind: CopyKind,
    *,
    name: str,
    tz: ZoneInfo,
    marking: str,
    attachment: Attachment | None,
    link: str | None,
    link_expires: str = "",
) -> Email:
    """The email to someone outside chat; `link` instead of the file where the council prefers."""
    facts = pub.facts
    assert pub.minutes.published_at is not None
    chairs = ", ".join(pub.chairs) or "the chair of the core group"
    if attachment is not None:
        how = f"Your copy ({kind.label}) is attached as a PDF: {attachment.filename}"
    else:
        how = (
            f"Your copy ({kind.label}) can be downloaded from this link"
            f"{f' until {link_expires}' if link_expires else ''}:\n{link}"
        )
    if kind is CopyKind.FULL:
        care = (
            f"The minutes are {marking or 'confidential'}: keep them within your organisation's "
            "secure systems and record them on your own case file as your procedures require."
        )
    else:
        care = "These notes are private to you and your family: please keep them safe."
    lines = [
        f"Dear {name},",
        "",
        f"The minutes of the core group meeting on {facts.meeting_when} (case {facts.reference}, "
        f"version {pub.version.number}) were published on "
        f"{format_when(pub.minutes.published_at, tz)}.",
        "",
        how,
        "",
        care,
        "",
        f"If anything is wrong, or you did not expect this email, contact {chairs}.",
        "",
        "Core Group Bot",
    ]
    return Email(
        subject=f"{facts.reference}: minutes of the core group on {facts.meeting_when}",
        text="\n".join(lines),
        attachment=attachment,
    )


def report_message(pub: Published, *, tz: ZoneInfo, today: date) -> Message:
    """For the chair: where every copy stands, what bounced and what they must send themselves."""
    facts, minutes = pub.facts, pub.minutes
    log = list(pub.log)
    counts = tally(log)
    blocks: list[Block] = [
        Heading(f"Copies of the minutes — {facts.reference}, meeting {facts.meeting_number}")
    ]
    due = format_day(minutes.circulate_due)
    if counts.delivered == counts.total:
        blocks.append(
            Text(
                f"Every member has their copy ({counts.total} of {counts.total}): the circulation "
                f"deadline of {due} is met."
            )
        )
    else:
        late = " — the deadline has passed" if today > minutes.circulate_due else ""
        blocks.append(
            Text(
                f"{counts.delivered} of {counts.total} members have their copy. Every member "
                f"needs one by {due} (the circulation deadline){late}."
            )
        )
    blocks.append(Bullets(tuple(log_lines(log, tz, addresses=True))))
    bounced = [p for p, d in log if d.status == DeliveryStatus.BOUNCED]
    if bounced:
        names = ", ".join(p.display_name for p in bounced)
        blocks.append(
            Text(
                f"Bounced: {names}. Check how to reach them — record a corrected email address "
                "with `/coregroup add @name <role> email name@example.org` — then send again with "
                "`/coregroup minutes resend`."
            )
        )
    stuck = [p.display_name for p, d in log if d.status == DeliveryStatus.NO_ROUTE]
    if stuck:
        blocks.append(
            Text(
                f"To send by other means (no chat account or email address): {', '.join(stuck)}. "
                "Give them their copy another way, then log it: "
                '`/coregroup minutes sent @name "by post"`.'
            )
        )
    if minutes.recorded_at is None:
        assert minutes.id is not None
        blocks.append(Buttons((mins.recorded_button(minutes.id),)))
    return Message(
        text=f"{facts.reference}: {counts.delivered} of {counts.total} copies of the minutes sent",
        blocks=tuple(blocks),
    )


def may_have(role: Role, kind: CopyKind, *, family: bool = False) -> bool:
    """Whether a member in `role` may have `kind` (the family only ever get their own versions)."""
    own = copy_for(role, family=family)
    return (
        own is CopyKind.FULL
        or kind is own
        or (own, kind) == (CopyKind.YOUNG_PERSON, CopyKind.FAMILY)
    )


def download(
    session: Session,
    *,
    source: str,
    person_id: int,
    tz: ZoneInfo,
    options: DocumentOptions,
    now: datetime,
) -> Rendered | None:
    """The file a signed link names, made afresh for a person who may still have it; else None.

    Access is checked at download time, not when the link was made: someone who has left the
    group since gets nothing. Every download is audited.
    """
    parsed = parse_source(source)
    if parsed is None:
        return None
    minutes_id, kind, fmt = parsed
    minutes = session.get(Minutes, minutes_id)
    meeting = session.get(Meeting, minutes.meeting_id) if minutes else None
    if minutes is None or meeting is None or minutes.status != MinutesStatus.PUBLISHED:
        return None
    membership = session.exec(
        select(Membership).where(
            Membership.group_id == meeting.group_id,
            Membership.person_id == person_id,
            col(Membership.active).is_(True),
        )
    ).first()
    person = session.get(Person, person_id)
    family = bool(person and person.is_family)
    if membership is None or not may_have(Role(membership.role), kind, family=family):
        return None
    session.add(
        AuditEntry(
            at=now,
            actor_id=person_id,
            group_id=meeting.group_id,
            kind=AuditKind.READ,
            what="minutes:download",
            detail=f"minutes={minutes_id} copy={kind.value} format={fmt.value}",
        )
    )
    pub = published(session, minutes=minutes, tz=tz)
    return rendered_copy(pub, kind, tz=tz, options=options, fmt=fmt)
