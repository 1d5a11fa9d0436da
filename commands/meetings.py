"""/coregroup commands for meetings: schedule, move, cancel, list, venue and link, held,
attendance, decisions and the contingency plan; and the "Schedule the meeting" button."""

from __future__ import annotations

import re
from datetime import datetime, time

from bot.core import meetings as core
from bot.core.access import (
    GroupView,
    audit,
    group_by_id,
    members_of,
    require_active,
    require_manager,
)
from bot.core.calendar import format_day
from bot.core.context import Ctx
from bot.core.dates import parse_when
from bot.core.errors import BadInput, Conflict, NotAllowed, NotFound
from bot.core.people import resolve_person
from bot.messages import Block, Bullets, Context, Fields, Heading, Message, Reply, Text, ToGroup
from commands.parse import Args, pick, tokenize
from commands.registry import Command, Registry
from storage.enums import AttendanceStatus, AuditKind, MeetingKind, MeetingStatus
from storage.models import Meeting

SCHEDULE_EXAMPLE = '/coregroup schedule next Tue 2pm at "Family Centre, Oak Road"'
MOVE_EXAMPLE = "/coregroup move 2 to Fri 10am"
CANCEL_EXAMPLE = "/coregroup cancel 2 family unwell"
VENUE_EXAMPLE = '/coregroup venue 2 "Family Centre, Room 4"'
LINK_EXAMPLE = "/coregroup link 2 https://meet.example.org/cg-0142"
ATTENDANCE_EXAMPLE = "/coregroup attendance @dan apologies"
DECISION_EXAMPLE = '/coregroup decision "Contact with dad stays supervised"'
CONTINGENCY_EXAMPLE = '/coregroup contingency "If school attendance drops below 90%, review"'

KIND_WORDS: dict[str, str] = {
    "first": MeetingKind.FIRST,
    "regular": MeetingKind.REGULAR,
    "after-review": MeetingKind.AFTER_REVIEW,
    "review": MeetingKind.AFTER_REVIEW,
    "afterreview": MeetingKind.AFTER_REVIEW,
}
ATTENDANCE_WORDS: dict[str, str] = {
    "attended": AttendanceStatus.ATTENDED,
    "present": AttendanceStatus.ATTENDED,
    "came": AttendanceStatus.ATTENDED,
    "apologies": AttendanceStatus.APOLOGIES,
    "apology": AttendanceStatus.APOLOGIES,
    "absent": AttendanceStatus.ABSENT,
    "dna": AttendanceStatus.ABSENT,
    "no-show": AttendanceStatus.ABSENT,
}
CLEAR_WORDS = ("none", "clear", "remove", "-")
LINK = re.compile(r"^https?://[^\s<>\"]+$", re.IGNORECASE)
MAX_VENUE, MAX_LINK = 200, 400


def register(registry: Registry) -> None:
    """Add the meeting commands and the schedule button."""
    for command in COMMANDS:
        registry.command(command)
    registry.click("meeting.schedule", schedule_click)


# --- parsing helpers ----------------------------------------------------------------------------


def _take_number(args: Args, *, before: tuple[str, ...] = ()) -> int | None:
    """A leading meeting number: "#2" always; "2" when followed by one of `before` (if given)."""
    token = args.peek()
    if token is None:
        return None
    if re.fullmatch(r"#\d+", token):
        args.take()
        return int(token[1:])
    following = args.tokens[1].lower() if len(args.tokens) > 1 else None
    if token.isdigit() and (not before or following in before):
        args.take()
        return int(token)
    return None


_MONTH = re.compile(
    r"^(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?$", re.IGNORECASE
)


def _take_move_number(args: Args) -> int | None:
    """`move 1 6/1 2pm` without "to": a bare number with a date or time after it is the
    meeting's (but "6 Jan" is a date)."""
    if len(args.tokens) < 2 or not args.tokens[0].isdigit() or _MONTH.match(args.tokens[1]):
        return None
    return int(args.take() or 0)


def _take_trailing_number(args: Args) -> int | None:
    """A meeting number after quoted text: `decision "…" 2` (or `#2` anywhere at the end)."""
    if not args.tokens:
        return None
    last = args.tokens[-1]
    if re.fullmatch(r"#\d+", last) or (last.isdigit() and len(args.tokens) == 2):
        args.tokens.pop()
        return int(last.lstrip("#"))
    return None


def _take_venue(args: Args) -> str | None:
    """`venue "…"`, or a quoted place after `at` (`at "Family Centre"`)."""
    venue = args.option("venue", "where")
    if venue is not None:
        return _check_venue(venue)
    quoted = {m.strip() for m in re.findall(r"[\"\u201c]([^\"\u201d]+)[\"\u201d]", args.raw)}
    for i in range(len(args.tokens) - 1):
        if args.tokens[i].lower() == "at" and args.tokens[i + 1].strip() in quoted:
            venue = args.tokens[i + 1]
            del args.tokens[i : i + 2]
            return _check_venue(venue)
    return None


def _check_venue(text: str) -> str:
    venue = " ".join(text.split())
    if len(venue) > MAX_VENUE:
        raise BadInput(
            f"That venue is too long ({len(venue)} characters; at most {MAX_VENUE}).",
            hint=f"Give just the place, e.g. `{VENUE_EXAMPLE}`",
        )
    return venue


def _check_link(text: str) -> str:
    if not LINK.match(text) or len(text) > MAX_LINK:
        raise BadInput(
            "That doesn't look like a video call link: it should start with https://.",
            hint=f"For example: `{LINK_EXAMPLE}`",
        )
    return text


def _when(ctx: Ctx, text: str, example: str, *, default_time: time | None = None) -> datetime:
    """The date and time typed, with the command's example added to any error."""
    if not text.strip():
        raise BadInput("When should the meeting be?", hint=f"For example: `{example}`")
    try:
        return parse_when(text, now=ctx.now(), tz=ctx.locale.tz, default_time=default_time)
    except BadInput as err:
        raise BadInput(err.message, hint=f"{err.hint} For example: `{example}`") from None


def _when_and_venue(ctx: Ctx, text: str) -> tuple[datetime, str | None]:
    """Read "Tue 2pm at Family Centre" too: the words after the last "at" that is not a time."""
    try:
        return _when(ctx, text, SCHEDULE_EXAMPLE), None
    except BadInput:
        words = text.split()
        for i in range(len(words) - 2, 0, -1):
            if words[i].lower() == "at":
                try:
                    when = parse_when(" ".join(words[:i]), now=ctx.now(), tz=ctx.locale.tz)
                except BadInput:
                    continue
                return when, _check_venue(" ".join(words[i + 1 :]))
        raise


def _no_more(args: Args, example: str) -> None:
    if args.tokens:
        raise BadInput(
            f"I didn't understand \u201c{' '.join(args.tokens)}\u201d.",
            hint=f"For example: `{example}`",
        )


# --- choosing a meeting -------------------------------------------------------------------------


def _upcoming(ctx: Ctx, view: GroupView, number: int | None) -> Meeting:
    """Meeting `number`, or the next one booked."""
    if number is not None:
        return core.meeting_number(
            ctx.session, group_id=view.id, number=number, reference=view.reference
        )
    meeting = core.next_meeting(ctx.session, group_id=view.id, now=ctx.now())
    if meeting is None:
        raise BadInput(
            f"No meeting is booked for {view.reference}.",
            hint=f"Book one first, e.g. `{SCHEDULE_EXAMPLE}`",
        )
    return meeting


def _past(ctx: Ctx, view: GroupView, number: int | None) -> Meeting:
    """Meeting `number`, or the latest one that has started."""
    if number is not None:
        return core.meeting_number(
            ctx.session, group_id=view.id, number=number, reference=view.reference
        )
    meeting = core.latest_started(ctx.session, group_id=view.id, now=ctx.now())
    if meeting is None:
        raise BadInput(
            f"No meeting has taken place yet for {view.reference}.",
            hint="`/coregroup meetings` lists them; add the number, e.g. `/coregroup held 1`.",
        )
    return meeting


def _facts(ctx: Ctx, view: GroupView, meeting: Meeting) -> core.MeetingFacts:
    return core.MeetingFacts(view.reference, core.number_of(ctx.session, meeting=meeting))


def _not_started(ctx: Ctx, meeting: Meeting, number: int, doing: str) -> None:
    core.require_booked(meeting, number=number, doing=doing)
    if core.has_started(meeting, ctx.now()):
        raise Conflict(
            f"Meeting {number} has already started, so I can't {doing} it.",
            hint=f"Once it's over, record it with `/coregroup held {number}`.",
        )


def _require_recorder(view: GroupView, doing: str) -> None:
    """Chair, key worker or minute-taker: those who keep the meeting's record."""
    member = view.membership
    if view.can_manage or (member is not None and member.is_minute_taker):
        return
    raise NotAllowed(
        f"Only the chair, key worker or minute-taker can {doing} for {view.reference}.",
        hint="Tell the chair or the minute-taker, and they can add it.",
    )


def _name(ctx: Ctx) -> str:
    return ctx.actor.display_name


# --- schedule -----------------------------------------------------------------------------------


def schedule(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Book a meeting, warn about deadlines, invite the members and tell the group."""
    assert view is not None
    require_active(view)
    require_manager(view, "book meetings")
    return _book(ctx, view, args)


def schedule_click(ctx: Ctx, value: str, text: str | None) -> Reply:
    """The "Schedule the meeting" button: the same as `schedule`, with the date it asked for."""
    view = group_by_id(ctx, _group_id(ctx, value))
    require_active(view)
    require_manager(view, "book meetings")
    booked = core.next_meeting(ctx.session, group_id=view.id, now=ctx.now())
    if booked is not None:
        # The button was shown when nothing was booked; its moment has passed.
        facts = _facts(ctx, view, booked)
        raise Conflict(
            f"This button is out of date: meeting {facts.number} is already booked for "
            f"{core.format_when(booked.starts_at, ctx.locale.tz)}, so I haven't booked another.",
            hint=f"To change it: `/coregroup move {facts.number} to Fri 10am`. To book one more "
            f"as well: {SCHEDULE_EXAMPLE}",
        )
    reply = _book(ctx, view, Args(tokenize(text or ""), text or ""))
    audit(ctx, group_id=view.id, kind=AuditKind.CHANGE, what="click:meeting.schedule")
    return reply


def _group_id(ctx: Ctx, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        audit(ctx, group_id=None, kind=AuditKind.DENIED, what="click:meeting.schedule")
        raise NotFound(
            "That button no longer works.", hint="Type the command instead: " + SCHEDULE_EXAMPLE
        ) from None


def _book(ctx: Ctx, view: GroupView, args: Args) -> Reply:
    link_text = args.option("link", "url", "call")
    link = _check_link(link_text) if link_text else ""
    kind_word = args.option("kind", "type")
    kind = (
        MeetingKind(
            pick(
                kind_word,
                KIND_WORDS,
                what="kind of meeting",
                example=f"For example: `{SCHEDULE_EXAMPLE} kind first`",
            )
        )
        if kind_word
        else None
    )
    venue = _take_venue(args)
    when, typed_venue = _when_and_venue(ctx, args.rest())
    venue = venue or typed_venue or ""
    tz, session = ctx.locale.tz, ctx.session
    same_day = core.clash(session, group_id=view.id, when=when, tz=tz)
    if same_day is not None:
        number = core.number_of(session, meeting=same_day)
        raise Conflict(
            f"Meeting {number} is already booked that day "
            f"({core.format_when(same_day.starts_at, tz)}).",
            hint=f"To change its time: `/coregroup move {number} to "
            f"{format_day(when.astimezone(tz).date())} {when.astimezone(tz):%H:%M}`",
        )
    kind = kind or core.infer_kind(session, case=view.case, group_id=view.id, when=when, tz=tz)
    warnings = core.date_warnings(
        session,
        case=view.case,
        group_id=view.id,
        when=when,
        tz=tz,
        calendar=ctx.calendar(view.case),
        policy=ctx.policy(view.case),
    )
    first = core.another_first(session, group_id=view.id, kind=kind)
    if first is not None:
        number = core.number_of(session, meeting=first)
        warnings.append(
            f"Meeting {number} ({core.format_when(first.starts_at, tz)}) is already booked as "
            "the first meeting, so there are now two. If this one replaces it: "
            f"`/coregroup cancel {number}`."
        )
    meeting = core.book_meeting(
        session,
        group_id=view.id,
        when=when,
        kind=kind,
        venue=venue,
        link=link,
        actor_id=ctx.actor_id,
        now=ctx.now(),
    )
    facts = _facts(ctx, view, meeting)
    reply = Reply()
    reply.say(
        core.meeting_card(
            meeting,
            facts=facts,
            tz=tz,
            headline="Meeting booked",
            footnote=f"Booked by {_name(ctx)}.",
        ),
        to=ToGroup(view.id),
    )
    reply.say(_confirmation(meeting, facts=facts, ctx=ctx, warnings=warnings, verb="Booked"))
    return reply


def _confirmation(
    meeting: Meeting, *, facts: core.MeetingFacts, ctx: Ctx, warnings: list[str], verb: str
) -> Message:
    """What the chair sees: the meeting, anything to check, and what to do next."""
    n = facts.number
    when = core.format_when(meeting.starts_at, ctx.locale.tz)
    blocks: list[Block] = [
        Heading(f"{verb}: meeting {n} for {facts.reference}"),
        Fields(
            (
                ("When", when),
                *core.place_pairs(meeting),
                ("Meeting", core.KIND_LABELS[MeetingKind(meeting.kind)]),
            )
        ),
    ]
    if warnings:
        blocks += [
            Text("⚠ Please check:"),
            Bullets(tuple(warnings)),
            Context(f"To change the date: `/coregroup move {n} to Fri 10am`."),
        ]
    if not meeting.venue and not meeting.call_link:
        blocks.append(
            Context(
                f'No venue yet: `/coregroup venue {n} "Family Centre"` or a video link with '
                f"`/coregroup link {n} https://…`."
            )
        )
    blocks.append(
        Context(
            "I've told the group in its space. Members will be asked for their update before "
            "the meeting; to ask them now: `/coregroup updates`."
        )
    )
    summary = f"{facts.reference}: meeting {n} {verb.lower()} for {when}"
    if warnings:
        summary += f" ({len(warnings)} thing{'s' if len(warnings) > 1 else ''} to check)"
    return Message(text=summary, blocks=tuple(blocks))


# --- move and cancel ----------------------------------------------------------------------------


def move(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Move a booked meeting to a new date or time (the time stays if only a day is given)."""
    assert view is not None
    require_active(view)
    require_manager(view, "move meetings")
    number = _take_number(args, before=("to",)) or _take_move_number(args)
    args.take_keyword("to")
    meeting = _upcoming(ctx, view, number)
    facts = _facts(ctx, view, meeting)
    _not_started(ctx, meeting, facts.number, "move")
    tz = ctx.locale.tz
    old = meeting.starts_at
    when = _when(
        ctx, args.rest(), MOVE_EXAMPLE, default_time=old.astimezone(tz).time().replace(tzinfo=None)
    )
    if when == old:
        raise BadInput(
            f"Meeting {facts.number} is already at {core.format_when(old, tz)}.",
            hint=f"For example: `{MOVE_EXAMPLE}`",
        )
    same_day = core.clash(ctx.session, group_id=view.id, when=when, tz=tz, ignore_id=meeting.id)
    if same_day is not None:
        raise Conflict(
            f"Meeting {core.number_of(ctx.session, meeting=same_day)} is already booked that day "
            f"({core.format_when(same_day.starts_at, tz)}).",
            hint="Pick another day, or cancel one of them: `/coregroup cancel 2`.",
        )
    warnings = core.date_warnings(
        ctx.session,
        case=view.case,
        group_id=view.id,
        when=when,
        tz=tz,
        calendar=ctx.calendar(view.case),
        policy=ctx.policy(view.case),
        ignore_id=meeting.id,
    )
    core.move_meeting(ctx.session, meeting=meeting, when=when, now=ctx.now())
    facts = _facts(ctx, view, meeting)
    footnote = (
        f"Was {core.format_when(old, tz)}; moved by {_name(ctx)}. If the new time doesn't suit "
        "you, tell the chair (or change your answer with `/coregroup myupdate`)."
    )
    reply = Reply()
    reply.say(
        core.meeting_card(meeting, facts=facts, tz=tz, headline="Meeting moved", footnote=footnote),
        to=ToGroup(view.id),
    )
    reply.say(_confirmation(meeting, facts=facts, ctx=ctx, warnings=warnings, verb="Moved"))
    return reply


def cancel(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Cancel a booked meeting (with an optional reason) and tell the group at once."""
    assert view is not None
    require_active(view)
    require_manager(view, "cancel meetings")
    number = _take_number(args)
    reason = args.rest().strip()
    meeting = _upcoming(ctx, view, number)
    facts = _facts(ctx, view, meeting)
    _not_started(ctx, meeting, facts.number, "cancel")
    core.cancel_meeting(ctx.session, meeting=meeting, reason=reason, now=ctx.now())
    tz = ctx.locale.tz
    reply = Reply()
    reply.say(
        core.cancelled_card(meeting, facts=facts, tz=tz, by=_name(ctx), reason=reason),
        to=ToGroup(view.id),
    )
    reply.say(
        Message(
            text=f"{view.reference}: meeting {facts.number} cancelled",
            blocks=(
                Text(
                    f"Cancelled meeting {facts.number} ({core.format_when(meeting.starts_at, tz)})"
                    " and told the group."
                ),
                Context(f"Book another with `{SCHEDULE_EXAMPLE}`."),
            ),
        )
    )
    return reply


# --- list ---------------------------------------------------------------------------------------


def list_meetings(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Every meeting of the group, upcoming first, then past and cancelled ones."""
    assert view is not None
    _no_more(args, "/coregroup meetings")
    tz, now = ctx.locale.tz, ctx.now()
    numbers = core.numbers_of(ctx.session, group_id=view.id)
    numbered = [
        (numbers[m.id], m)
        for m in core.meetings_of(ctx.session, group_id=view.id)
        if m.id is not None
    ]
    if not numbered:
        hint = f" Book one with `{SCHEDULE_EXAMPLE}`." if view.can_manage else ""
        if view.is_family:
            return Reply().say("No meetings are booked yet. Your key worker will let you know.")
        return Reply().say(f"No meetings are booked yet for {view.reference}.{hint}")
    family = view.is_family
    coming = [
        core.meeting_line(m, number=n, tz=tz, family=family)
        for n, m in numbered
        if m.status == MeetingStatus.SCHEDULED and not core.has_started(m, now)
    ]
    before = [
        core.meeting_line(m, number=n, tz=tz, family=family)
        for n, m in reversed(numbered)
        if m.status != MeetingStatus.SCHEDULED or core.has_started(m, now)
    ]
    heading = "Your family's meetings" if family else f"Meetings — {view.reference}"
    blocks: list[Block] = [Heading(heading), Text("Coming up:")]
    blocks.append(Bullets(tuple(coming)) if coming else Text("Nothing booked."))
    if before:
        blocks += [Text("Earlier:"), Bullets(tuple(before))]
    if not family:
        blocks.append(
            Context(
                "Use a meeting's number in other commands, e.g. `/coregroup move 2 to Fri 10am`."
            )
        )
    return Reply().say(
        Message(text=f"{view.reference}: {len(numbered)} meetings", blocks=tuple(blocks))
    )


# --- venue and link -----------------------------------------------------------------------------


def venue(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Set (or clear) the venue of a booked meeting and tell the group."""
    assert view is not None
    require_active(view)
    require_manager(view, "change the venue")
    number = _take_number(args) if len(args.tokens) == 2 or _hash(args) else None
    text = args.rest().strip()
    if not text:
        raise BadInput("Where will the meeting be?", hint=f"For example: `{VENUE_EXAMPLE}`")
    place = "" if text.lower() in CLEAR_WORDS else _check_venue(text)
    return _set_place(ctx, view, number, venue=place, link=None)


def link(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Set (or clear) the video call link of a booked meeting and tell the group."""
    assert view is not None
    require_active(view)
    require_manager(view, "change the call link")
    number = _take_number(args) if len(args.tokens) == 2 or _hash(args) else None
    text = args.rest().strip()
    if not text:
        raise BadInput("Which link?", hint=f"For example: `{LINK_EXAMPLE}`")
    url = "" if text.lower() in CLEAR_WORDS else _check_link(text)
    return _set_place(ctx, view, number, venue=None, link=url)


def _hash(args: Args) -> bool:
    return bool(args.tokens) and args.tokens[0].startswith("#")


def _set_place(
    ctx: Ctx, view: GroupView, number: int | None, *, venue: str | None, link: str | None
) -> Reply:
    meeting = _upcoming(ctx, view, number)
    facts = _facts(ctx, view, meeting)
    _not_started(ctx, meeting, facts.number, "change")
    core.set_place(ctx.session, meeting=meeting, venue=venue, link=link, now=ctx.now())
    what = "Venue" if venue is not None else "Video link"
    changed = f"{what} {'removed' if not (venue or link) else 'changed'}"
    reply = Reply()
    reply.say(
        core.meeting_card(
            meeting,
            facts=facts,
            tz=ctx.locale.tz,
            headline=changed,
            footnote=f"Changed by {_name(ctx)}.",
        ),
        to=ToGroup(view.id),
    )
    reply.say(f"{changed} for meeting {facts.number}; I've told the group.")
    return reply


# --- after the meeting --------------------------------------------------------------------------


def held(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Mark a meeting that has started as held, with attendance from what members said."""
    assert view is not None
    require_active(view)
    _require_recorder(view, "record a meeting as held")
    number = _take_number(args)
    _no_more(args, "/coregroup held 2")
    meeting = _past(ctx, view, number)
    facts = _facts(ctx, view, meeting)
    n, tz = facts.number, ctx.locale.tz
    if meeting.status == MeetingStatus.HELD:
        raise Conflict(
            f"Meeting {n} is already recorded as held.",
            hint=f"Correct attendance with `{ATTENDANCE_EXAMPLE} {n}`.",
        )
    core.require_booked(meeting, number=n, doing="record")
    if not core.has_started(meeting, ctx.now()):
        raise Conflict(
            f"Meeting {n} hasn't started yet ({core.format_when(meeting.starts_at, tz)}).",
            hint="Mark it as held once it has begun, or move it: `/coregroup move 2 to Fri 10am`.",
        )
    core.mark_held(ctx.session, meeting=meeting, now=ctx.now())
    lines = [
        f"{person.display_name}: {core.attendance_label(meeting, AttendanceStatus(row.status))}"
        + (f" ({row.note})" if row.note else "")
        for person, row in core.attendance_of(ctx.session, meeting=meeting)
    ]
    warning = core.attendance_warning(ctx.session, meeting=meeting, number=n)
    return Reply().say(
        Message(
            text=f"{view.reference}: meeting {n} recorded as held",
            blocks=(
                Heading(
                    f"Meeting {n} recorded as held — {core.format_when(meeting.starts_at, tz)}"
                ),
                Text("Attendance, from what members said beforehand:"),
                Bullets(tuple(lines)),
                *((Text(warning),) if warning else ()),
                Context(
                    f"Correct anyone with `/coregroup attendance @sam attended {n}`; record "
                    f"decisions with `{DECISION_EXAMPLE}`."
                ),
            ),
        )
    )


def attendance(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Record who attended, sent apologies or was absent."""
    assert view is not None
    require_active(view)
    _require_recorder(view, "record attendance")
    token = args.need("who", ATTENDANCE_EXAMPLE)
    word = args.need("attended, apologies or absent", ATTENDANCE_EXAMPLE)
    status = AttendanceStatus(
        pick(
            word,
            ATTENDANCE_WORDS,
            what="attendance",
            example=f"For example: `{ATTENDANCE_EXAMPLE}`",
        )
    )
    number = _take_number(args)
    _no_more(args, ATTENDANCE_EXAMPLE)
    person = resolve_person(
        ctx.session,
        token,
        platform=ctx.platform,
        directory=ctx.directory,
        clock=ctx.clock,
        group_id=view.id,
    )
    if person.id not in {p.id for _, p in members_of(ctx.session, group_id=view.id)}:
        raise BadInput(
            f"{person.display_name} isn't a member of the core group for {view.reference}.",
            hint="`/coregroup members` lists who is in the group.",
        )
    meeting = _meeting_for_attendance(ctx, view, number, status)
    facts = _facts(ctx, view, meeting)
    assert person.id is not None
    core.set_attendance(
        ctx.session, meeting=meeting, person_id=person.id, status=status, now=ctx.now()
    )
    label = core.ATTENDANCE_LABELS[status]
    return Reply().say(
        f"{person.display_name}: {label} — meeting {facts.number} "
        f"({core.format_when(meeting.starts_at, ctx.locale.tz)})."
    )


def _meeting_for_attendance(
    ctx: Ctx, view: GroupView, number: int | None, status: AttendanceStatus
) -> Meeting:
    """Apologies are for the next meeting; attended/absent for one that has started."""
    if number is None and status == AttendanceStatus.APOLOGIES:
        upcoming = core.next_meeting(ctx.session, group_id=view.id, now=ctx.now())
        meeting = upcoming or _past(ctx, view, None)
    else:
        meeting = _past(ctx, view, number)
    n = core.number_of(ctx.session, meeting=meeting)
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict(f"Meeting {n} was cancelled.", hint="`/coregroup meetings` lists them.")
    if status != AttendanceStatus.APOLOGIES and not core.has_started(meeting, ctx.now()):
        raise Conflict(
            f"Meeting {n} hasn't happened yet, so nobody has attended or missed it.",
            hint=f"Before a meeting, record apologies: `{ATTENDANCE_EXAMPLE}`.",
        )
    return meeting


def decision(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Add a decision to a meeting's record, for the minutes."""
    return _add_to_record(
        ctx, view, args, part="decisions", what="decision", example=DECISION_EXAMPLE
    )


def contingency(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Add to a meeting's contingency plan (what happens if things go wrong), for the minutes."""
    return _add_to_record(
        ctx, view, args, part="contingency", what="contingency plan", example=CONTINGENCY_EXAMPLE
    )


def _add_to_record(
    ctx: Ctx, view: GroupView | None, args: Args, *, part: str, what: str, example: str
) -> Reply:
    assert view is not None
    require_active(view)
    _require_recorder(view, f"add to the {what}")
    number = _take_trailing_number(args)
    text = " ".join(args.rest().split())
    if not text:
        raise BadInput(f"What should the {what} say?", hint=f"For example: `{example}`")
    meeting = _past(ctx, view, number)
    n = core.number_of(ctx.session, meeting=meeting)
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict(f"Meeting {n} was cancelled.", hint="`/coregroup meetings` lists them.")
    if not core.has_started(meeting, ctx.now()):
        raise Conflict(
            f"Meeting {n} hasn't happened yet.",
            hint=f"Add it during or after the meeting, e.g. `{example}`.",
        )
    count = core.add_to_record(ctx.session, meeting=meeting, part=part, text=text, now=ctx.now())
    when = format_day(meeting.starts_at.astimezone(ctx.locale.tz).date())
    return Reply().say(
        Message(
            text=f"{view.reference}: added to the {what} of meeting {n}",
            blocks=(
                Text(f"Added to the {what} of meeting {n} ({when}), item {count}:"),
                Text(text),
                Context("It will be in the draft minutes."),
            ),
        )
    )


COMMANDS = (
    Command(
        name="schedule",
        summary="book a meeting (warns if it misses a statutory deadline) and tell the group",
        usage='schedule <when> [at "venue"] [link https://…] [kind first|regular|after-review]',
        examples=(
            SCHEDULE_EXAMPLE,
            "/coregroup schedule 5/1 10am link https://meet.example.org/cg-0142",
        ),
        handler=schedule,
        aliases=("book",),
        topic="Meetings",
    ),
    Command(
        name="move",
        summary="move a booked meeting to a new date or time",
        usage="move [n] to <when>",
        examples=(MOVE_EXAMPLE, "/coregroup move to 12/1 2pm"),
        handler=move,
        aliases=("reschedule",),
        topic="Meetings",
    ),
    Command(
        name="cancel",
        summary="cancel a booked meeting and tell the group",
        usage="cancel [n] [reason]",
        examples=(CANCEL_EXAMPLE,),
        handler=cancel,
        topic="Meetings",
    ),
    Command(
        name="meetings",
        summary="list the group's meetings, upcoming and past",
        usage="meetings",
        examples=("/coregroup meetings",),
        handler=list_meetings,
        topic="Meetings",
        changes=False,
    ),
    Command(
        name="venue",
        summary="set where a booked meeting is held",
        usage='venue [n] "place"',
        examples=(VENUE_EXAMPLE, '/coregroup venue "Oak Road Children\'s Centre"'),
        handler=venue,
        topic="Meetings",
    ),
    Command(
        name="link",
        summary="set the video call link for a booked meeting",
        usage="link [n] https://…",
        examples=(LINK_EXAMPLE,),
        handler=link,
        topic="Meetings",
    ),
    Command(
        name="held",
        summary="record that a meeting took place (attendance from members' answers)",
        usage="held [n]",
        examples=("/coregroup held", "/coregroup held 2"),
        handler=held,
        topic="Meetings",
    ),
    Command(
        name="attendance",
        summary="record who attended, sent apologies or was absent",
        usage="attendance @person attended|apologies|absent [n]",
        examples=(ATTENDANCE_EXAMPLE, "/coregroup attendance @alex attended 2"),
        handler=attendance,
        topic="Meetings",
    ),
    Command(
        name="decision",
        summary="add a decision to the meeting's record",
        usage='decision "…" [n]',
        examples=(DECISION_EXAMPLE,),
        handler=decision,
        topic="Meetings",
    ),
    Command(
        name="contingency",
        summary="add to the contingency plan in the meeting's record",
        usage='contingency "…" [n]',
        examples=(CONTINGENCY_EXAMPLE,),
        handler=contingency,
        topic="Meetings",
    ),
)
