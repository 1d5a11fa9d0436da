"""Minutes commands: draft, read, amend, approve, publish, mark recorded; and disagreements."""

from __future__ import annotations

from bot.core import distribution
from bot.core import minutes as core
from bot.core.access import (
    GroupView,
    active_members,
    audit,
    group_by_id,
    require_active,
    require_manager,
    require_member,
)
from bot.core.calendar import format_day
from bot.core.change_requests import answers, sections_named
from bot.core.context import Ctx
from bot.core.errors import BadInput, Conflict, NotAllowed, NotFound
from bot.core.groups import chairs, minute_takers, team_managers
from bot.core.meetings import (
    attendance_warning,
    format_when,
    latest_started,
    meeting_number,
    number_of,
)
from bot.core.plan import names_of
from bot.messages import (
    Block,
    Buttons,
    Context,
    Heading,
    Message,
    Reply,
    Text,
    ToGroup,
    ToPerson,
)
from commands import documents, plain_words
from commands.disagreements import with_chair_reading
from commands.parse import Args
from commands.registry import Command, Registry
from storage.enums import AuditKind, MeetingStatus, MinutesStatus, Role, Verdict
from storage.models import (
    Disagreement,
    Meeting,
    Minutes,
    MinutesReview,
    MinutesVersion,
    Person,
)

TOPIC = "Minutes"
AMEND_EXAMPLE = '/coregroup amend 4 "Sam saw Mia alone at school on 2 Dec; she said she feels safe"'
OVERRIDE_EXAMPLE = '/coregroup publish override "Everyone agreed the minutes at the meeting"'
DISAGREE_EXAMPLE = '/coregroup disagree "The police disagree with stepping down visits"'
MAX_TEXT = 4000
MAX_DISAGREEMENT = 1000
MAX_REASON = 500


# --- shared helpers -----------------------------------------------------------------------------


def _can_write(view: GroupView) -> bool:
    """The chair, key worker, team manager or a minute-taker writes the minutes."""
    m = view.membership
    return view.can_manage or (m is not None and m.is_minute_taker)


def _require_writer(view: GroupView, doing: str) -> None:
    if not _can_write(view):
        raise NotAllowed(
            f"Only the chair or the minute-taker can {doing} for {view.reference}.",
            hint="To ask for a change, use the Request a change button under the minutes. "
            "The chair can make you minute-taker with `/coregroup minute-taker @you`.",
        )


def _is_number(token: str) -> bool:
    return token.lstrip("#").isdigit()


def _number(args: Args, usage: str) -> int | None:
    """An optional meeting number, and nothing else."""
    token = args.take()
    if token is None:
        return None
    if not _is_number(token) or args:
        raise BadInput(
            f"I didn't understand '{token}' here.",
            hint=f"Add a meeting number if you mean an earlier meeting, e.g. `{usage}`.",
        )
    return int(token.lstrip("#"))


def _quoted(args: Args) -> bool:
    return any(q in args.raw for q in ('"', "\u201c", "\u201d"))


def _text_and_number(args: Args) -> tuple[str, int | None]:
    """Free text, then a meeting number only when the text was in quotes ("…" 2)."""
    number = None
    if _quoted(args) and len(args.tokens) == 2 and _is_number(args.tokens[1]):
        number = int(args.tokens.pop().lstrip("#"))
    return " ".join(args.rest().split()), number


def _meeting(ctx: Ctx, view: GroupView, number: int) -> Meeting:
    return meeting_number(ctx.session, group_id=view.id, number=number, reference=view.reference)


def _minutes(ctx: Ctx, view: GroupView, number: int | None) -> Minutes:
    """The minutes of meeting `number`, or of the latest minuted meeting."""
    if number is not None:
        found = core.minutes_of(ctx.session, meeting=_meeting(ctx, view, number))
        if found is None:
            raise NotFound(
                f"Meeting {number} of {view.reference} has no minutes yet.",
                hint=f"The chair or minute-taker drafts them with `/coregroup draft {number}`.",
            )
        return found
    latest = core.latest_minutes(ctx.session, group_id=view.id)
    if latest is None:
        raise NotFound(
            f"No minutes have been drafted for {view.reference} yet.",
            hint="After a meeting, the chair or minute-taker drafts them with `/coregroup draft`.",
        )
    return latest


def _facts(ctx: Ctx, minutes: Minutes) -> core.MinutesFacts:
    return core.facts_of(ctx.session, minutes=minutes, tz=ctx.locale.tz)


def _refuse_published(ctx: Ctx, minutes: Minutes, facts: core.MinutesFacts) -> None:
    if minutes.status == MinutesStatus.PUBLISHED:
        assert minutes.published_at is not None
        raise Conflict(
            f"The minutes of meeting {facts.meeting_number} were published on "
            f"{format_when(minutes.published_at, ctx.locale.tz)}, so they can't be changed.",
            hint="`/coregroup minutes` shows them and who received them. Record any correction "
            "in the minutes of the next meeting.",
        )


def _others(people: list[Person], ctx: Ctx) -> list[Person]:
    return [p for p in people if p.id != ctx.actor_id]


def _circulate(
    ctx: Ctx, view: GroupView, minutes: Minutes, version: MinutesVersion, headline: str
) -> tuple[Reply, str]:
    """Post a version for checking, and say where it went.

    The group's space includes the family, and the draft holds what is for professionals only,
    so when a family member is in the group the professionals get it by direct message and the
    space only hears that it is out for checking.
    """
    facts = _facts(ctx, minutes)
    policy = ctx.policy(view.case)
    message = core.version_message(
        version,
        facts=facts,
        minutes=minutes,
        policy=policy,
        headline=headline,
        glossary=ctx.locale.glossary,
    )
    members = active_members(ctx, view.id)
    reply = Reply()
    if not any(Role(m.role).is_family for m, _ in members):
        reply.say(message, to=ToGroup(view.id))
        return reply, "in the group's space"
    reply.say(
        core.notice_message(version, facts=facts, minutes=minutes, policy=policy),
        to=ToGroup(view.id),
    )
    for membership, person in members:
        if not Role(membership.role).is_family and person.id is not None:
            reply.say(message, to=ToPerson(person.id))
    return reply, (
        "to each professional in the group by direct message (the family can see the group's "
        "space; they get their own copy once the minutes are published)"
    )


# --- draft --------------------------------------------------------------------------------------


def draft(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Assemble the draft minutes of the latest (or a given) meeting and post them for checking."""
    assert view is not None
    _require_writer(view, "draft the minutes")
    require_active(view)
    number = _number(args, "/coregroup draft 2")
    meeting = (
        _meeting(ctx, view, number)
        if number is not None
        else latest_started(ctx.session, group_id=view.id, now=ctx.now())
    )
    if meeting is None:
        raise BadInput(
            f"No meeting of {view.reference} has started yet, so there's nothing to minute.",
            hint="Draft the minutes once the meeting has begun. `/coregroup meetings` lists them.",
        )
    number = number_of(ctx.session, meeting=meeting)
    _check_can_minute(ctx, meeting, number)
    tz, calendar, policy = ctx.locale.tz, ctx.calendar(view.case), ctx.policy(view.case)
    body = core.assemble(
        ctx.session,
        meeting=meeting,
        author_id=ctx.actor_id,
        tz=tz,
        calendar=calendar,
        policy=policy,
    )
    minutes, version = core.create_minutes(
        ctx.session,
        meeting=meeting,
        body=body,
        author_id=ctx.actor_id,
        now=ctx.now(),
        tz=tz,
        calendar=calendar,
        policy=policy,
    )
    reply, where = _circulate(ctx, view, minutes, version, "Draft minutes")
    lines = [
        f"Version 1 of the minutes of meeting {number} is drafted and has gone out {where}. "
        "Members can approve it or ask for a change; once a member other than you approves it, "
        f"publish it with `/coregroup publish`."
    ]
    if meeting.status != MeetingStatus.HELD:
        lines.append(
            f"Meeting {number} isn't marked as held yet. `/coregroup held {number}` records it "
            'with who came; then bring section 2 up to date with `/coregroup amend 2 "…"`.'
        )
    warning = attendance_warning(ctx.session, meeting=meeting, number=number)
    if warning:
        lines.append(warning)
    gaps = core.gaps_in(body)
    if gaps:
        listed = ", ".join(f"{n} ({core.SECTIONS[n].lower()})" for n in gaps)
        lines.append(f"Still to fill in: section {listed}. For example: `{AMEND_EXAMPLE}`")
    assert version.id is not None
    return reply.say(
        Message(
            text=f"{view.reference}: minutes drafted",
            blocks=(
                *(Text(line) for line in lines),
                Context(core.deadlines_line(minutes, policy=policy)),
                *plain_words.minutes_check(body, ctx.locale.glossary, version_id=version.id),
            ),
        )
    )


def _check_can_minute(ctx: Ctx, meeting: Meeting, number: int) -> None:
    if meeting.status == MeetingStatus.CANCELLED:
        raise BadInput(
            f"Meeting {number} was cancelled, so it has no minutes.",
            hint="`/coregroup meetings` lists the meetings with their numbers.",
        )
    if meeting.starts_at > ctx.now():
        raise BadInput(
            f"Meeting {number} is on {format_when(meeting.starts_at, ctx.locale.tz)}, so it "
            "can't be minuted yet.",
            hint="Draft the minutes once it has begun: `/coregroup draft`.",
        )
    existing = core.minutes_of(ctx.session, meeting=meeting)
    if existing is not None:
        version = core.latest_version(ctx.session, minutes=existing)
        raise Conflict(
            f"The minutes of meeting {number} are already drafted (version {version.number}).",
            hint=f"Read them with `/coregroup minutes {number}`; change a section with "
            f"`{AMEND_EXAMPLE}`.",
        )


# --- reading ------------------------------------------------------------------------------------


def show(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """The current minutes (the family's copy for family members), or their version history."""
    assert view is not None

    def find(number: int | None) -> Minutes:
        return _minutes(ctx, view, number)

    if args.take_keyword("export", "download"):
        return documents.export(ctx, view, args, find)
    if args.take_keyword("sent"):
        return documents.sent(ctx, view, args, find)
    if args.take_keyword("resend"):
        return documents.resend(ctx, view, args, find)
    wants_history = args.take_keyword("history", "versions")
    minutes = _minutes(ctx, view, _number(args, "/coregroup minutes history 2"))
    facts = _facts(ctx, minutes)
    tz = ctx.locale.tz
    if view.is_family:
        return Reply().say(_family_copy(ctx, minutes, facts, wants_history))
    if wants_history:
        return Reply().say(core.history_message(ctx.session, minutes=minutes, facts=facts, tz=tz))
    return Reply().say(
        core.overview_message(
            ctx.session,
            minutes=minutes,
            facts=facts,
            today=ctx.today(),
            tz=tz,
            addresses=view.can_manage,
        )
    )


def _family_copy(ctx: Ctx, minutes: Minutes, facts: core.MinutesFacts, history: bool) -> Message:
    if history:
        raise NotAllowed(
            "The drafts of the minutes are for the professionals.",
            hint="Read the published minutes with `/coregroup minutes`.",
        )
    if minutes.status != MinutesStatus.PUBLISHED:
        return Message.plain(
            f"The minutes of the meeting on {facts.meeting_when} are still being checked. "
            "You'll get your copy by direct message as soon as they're ready."
        )
    version = core.latest_version(ctx.session, minutes=minutes)
    return _copy(ctx, minutes, version, facts, family=True)


def _copy(
    ctx: Ctx, minutes: Minutes, version: MinutesVersion, facts: core.MinutesFacts, *, family: bool
) -> Message:
    approval = core.approval_of(ctx.session, version=version)
    ids = [r.person_id for r in approval.approvals] + [minutes.published_by or 0]
    names = names_of(ctx.session, ids)
    return core.copy_message(
        version,
        facts=facts,
        minutes=minutes,
        family=family,
        tz=ctx.locale.tz,
        approved_by=[names.get(r.person_id, "a former member") for r in approval.approvals],
        published_by=names.get(minutes.published_by or 0, "the chair"),
    )


# --- amending -----------------------------------------------------------------------------------


def _section(args: Args) -> int:
    number = args.take_int("the section number (1 to 11)", AMEND_EXAMPLE)
    if number not in core.SECTIONS:
        listed = "; ".join(f"{n} {title.lower()}" for n, title in core.SECTIONS.items())
        raise BadInput(
            f"The minutes have sections 1 to 11, not {number}.",
            hint=f"Sections: {listed}. For example: `{AMEND_EXAMPLE}`",
        )
    return number


def amend(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Rewrite one section, making a new version that goes out for approval again."""
    assert view is not None
    _require_writer(view, "amend the minutes")
    require_active(view)
    section = _section(args)
    # Unquoted text may itself begin with "family" ("family support worker visited").
    family_copy = _quoted(args) and args.take_keyword("family")
    text, number = _text_and_number(args)
    if not text:
        raise BadInput(
            f"Please give the new text for section {section}, in quotes.",
            hint=f"For example: `{AMEND_EXAMPLE}`",
        )
    if len(text) > MAX_TEXT:
        raise BadInput(
            f"That's {len(text)} characters; a section can have up to {MAX_TEXT}.",
            hint="Shorten it, or put the detail on the case system and summarise it here.",
        )
    minutes = _minutes(ctx, view, number)
    facts = _facts(ctx, minutes)
    _refuse_published(ctx, minutes, facts)
    latest = core.latest_version(ctx.session, minutes=minutes)
    body = core.body_of(latest)
    if body.text(section, family=family_copy) == text:
        raise BadInput(f"Section {section} already says exactly that, so nothing changed.")
    asked = core.approval_of(ctx.session, version=latest).changes
    answered = [r for r in asked if answers(r.comment, section)]
    version = core.add_version(
        ctx.session,
        minutes=minutes,
        body=body.amended(section, text, family_copy=family_copy),
        author_id=ctx.actor_id,
        note=_change_note(ctx, answered, section, family_copy),
        now=ctx.now(),
    )
    still_open = _carry_over(ctx, minutes, version, [r for r in asked if r not in answered])
    reply, where = _circulate(ctx, view, minutes, version, "Minutes amended")
    blocks: list = [
        Text(
            f"Version {version.number} of the minutes of meeting {facts.meeting_number} has gone "
            f"out {where}. Approvals start again for the new version."
        )
    ]
    if still_open:
        blocks.append(
            Text(
                f"Still open: {still_open}. Amend that section too, or ask them to approve "
                f"version {version.number} as it stands."
            )
        )
    if body.has_family_copy(section) and not family_copy:
        blocks.append(
            Context(
                f"The family's copy of section {section} is worded separately (it leaves out "
                "what is for professionals only) and was not changed. To change it too: "
                f'`/coregroup amend {section} family "…"`'
            )
        )
    assert version.id is not None
    blocks += plain_words.minutes_check(
        core.body_of(version), ctx.locale.glossary, version_id=version.id
    )
    return reply.say(Message(text=f"{view.reference}: minutes amended", blocks=tuple(blocks)))


def _carry_over(
    ctx: Ctx, minutes: Minutes, version: MinutesVersion, requests: list[MinutesReview]
) -> str:
    """Keep change requests about other sections open on the new version; who and which."""
    names = names_of(ctx.session, [r.person_id for r in requests])
    listed = []
    for r in requests:
        core.review(
            ctx.session,
            minutes=minutes,
            version=version,
            person_id=r.person_id,
            verdict=Verdict.CHANGE,
            comment=r.comment,
            now=r.at,
        )
        sections = " and ".join(str(n) for n in sorted(sections_named(r.comment)))
        name = names.get(r.person_id, "a former member")
        listed.append(f"{name}'s change (section{'s' if ' and ' in sections else ''} {sections})")
    return "; ".join(listed)


def _change_note(ctx: Ctx, asked: list[MinutesReview], section: int, family_copy: bool) -> str:
    which = f"the family's copy of section {section}" if family_copy else f"section {section}"
    note = f"{ctx.actor.display_name} changed {which} ({core.SECTIONS[section].lower()})"
    if asked:
        names = names_of(ctx.session, [r.person_id for r in asked])
        note += "; answers the change asked for by " + ", ".join(
            names.get(r.person_id, "a former member") for r in asked
        )
    return note[0].upper() + note[1:]


# --- approving ----------------------------------------------------------------------------------


def approve(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Approve the current version of the minutes (the typed alternative to the button)."""
    assert view is not None
    minutes = _minutes(ctx, view, _number(args, "/coregroup approve 2"))
    return _approve(ctx, view, minutes, core.latest_version(ctx.session, minutes=minutes))


def _may_review(ctx: Ctx, view: GroupView, doing: str) -> None:
    require_member(view, doing)
    require_active(view)
    if view.is_family:
        raise NotAllowed(
            "The professionals in the group check the minutes before they're published; "
            "you'll get your own copy by direct message then.",
            hint="If something should be in them, tell the chair.",
        )


def _current(ctx: Ctx, minutes: Minutes, version: MinutesVersion, facts: core.MinutesFacts) -> None:
    _refuse_published(ctx, minutes, facts)
    latest = core.latest_version(ctx.session, minutes=minutes)
    if latest.id != version.id:
        raise Conflict(
            f"Version {version.number} of these minutes has been replaced by version "
            f"{latest.number}.",
            hint=f"Check version {latest.number} (`/coregroup minutes {facts.meeting_number}`) "
            f"and use its buttons, or `/coregroup approve {facts.meeting_number}`.",
        )


def _approve(ctx: Ctx, view: GroupView, minutes: Minutes, version: MinutesVersion) -> Reply:
    _may_review(ctx, view, "approve minutes")
    facts = _facts(ctx, minutes)
    _current(ctx, minutes, version, facts)
    if version.created_by == ctx.actor_id:
        raise Conflict(
            f"You wrote version {version.number}, so another member needs to approve it.",
            hint="Ask a member to check it. As chair you can also publish without approval, "
            f"with a reason: `{OVERRIDE_EXAMPLE}`",
        )
    before = core.approval_of(ctx.session, version=version)
    if any(r.person_id == ctx.actor_id for r in before.approvals):
        return Reply().say(f"You've already approved version {version.number}; thank you.")
    core.review(
        ctx.session,
        minutes=minutes,
        version=version,
        person_id=ctx.actor_id,
        verdict=Verdict.APPROVE,
        comment="",
        now=ctx.now(),
    )
    after = core.approval_of(ctx.session, version=version)
    reply = Reply()
    said = (
        f"You approved version {version.number} of the minutes of meeting "
        f"{facts.meeting_number} for {facts.reference}."
    )
    if after.ready and not before.ready:
        said += " They can now be published."
        _tell_chairs(ctx, reply, view, _ready_message(ctx, facts, version))
    elif after.changes:
        names = names_of(ctx.session, [r.person_id for r in after.changes])
        waiting = ", ".join(names.get(r.person_id, "a former member") for r in after.changes)
        said += f" A change asked for by {waiting} is still open on this version."
    return reply.say(said)


def _ready_message(ctx: Ctx, facts: core.MinutesFacts, version: MinutesVersion) -> Message:
    return Message(
        text=f"{facts.reference}: minutes version {version.number} approved, ready to publish",
        blocks=(
            Text(
                f"{ctx.actor.display_name} approved version {version.number} of the minutes of "
                f"the core group on {facts.meeting_when}. They're ready to publish."
            ),
            Context(
                f"Publish with `/coregroup publish {facts.reference}`: every member gets a copy, "
                "and the family get theirs without what is for professionals only."
            ),
            *plain_words.family_check(core.body_of(version), ctx.locale.glossary),
        ),
    )


def _tell_chairs(ctx: Ctx, reply: Reply, view: GroupView, message: Message) -> None:
    for person in _others(chairs(ctx.session, group_id=view.id), ctx):
        assert person.id is not None
        reply.say(message, to=ToPerson(person.id))


def _tell_writers(ctx: Ctx, reply: Reply, view: GroupView, message: Message) -> None:
    """Tell the chairs and the minute-takers (each once)."""
    people = [*chairs(ctx.session, group_id=view.id), *minute_takers(ctx.session, group_id=view.id)]
    unique = list({p.id: p for p in people}.values())
    for person in _others(unique, ctx):
        assert person.id is not None
        reply.say(message, to=ToPerson(person.id))


def _version_for(ctx: Ctx, value: str) -> tuple[GroupView, Minutes, MinutesVersion]:
    """The version a button is about, if the actor may see its group; NotFound otherwise."""
    version = ctx.session.get(MinutesVersion, int(value)) if value.isdigit() else None
    minutes = ctx.session.get(Minutes, version.minutes_id) if version else None
    meeting = ctx.session.get(Meeting, minutes.meeting_id) if minutes else None
    # Group 0 never exists: an unknown version fails exactly like another group's.
    view = group_by_id(ctx, meeting.group_id if meeting else 0)
    assert minutes is not None and version is not None
    return view, minutes, version


def plain_click(ctx: Ctx, value: str, text: str | None) -> Reply:
    """A "use plain words" button under a version: a new version with the jargon replaced."""
    version_value, term = plain_words.choice(value)
    view, minutes, version = _version_for(ctx, version_value)
    audit(
        ctx,
        group_id=view.id,
        kind=AuditKind.CHANGE,
        what=f"click:{plain_words.MINUTES}",
        detail=f"version={version.id}",
    )
    _require_writer(view, "change the wording of the minutes")
    require_active(view)
    facts = _facts(ctx, minutes)
    _current(ctx, minutes, version, facts)
    glossary = ctx.locale.glossary
    body = core.body_of(version)
    plain = plain_words.replaced_body(body, glossary, term)
    if plain == body:
        return Reply().say(f"Version {version.number} already uses plain words there.")
    everything = body.whole_text() + "\n" + body.whole_text(family=True)
    changed = [f for f in glossary.findings(everything) if term in (plain_words.ALL, f.term)]
    swaps = ", ".join(f"{f.term} → {f.plain}" for f in changed if f.plain) or term
    new = core.add_version(
        ctx.session,
        minutes=minutes,
        body=plain,
        author_id=ctx.actor_id,
        note=f"{ctx.actor.display_name} used plain words ({swaps})",
        now=ctx.now(),
    )
    reply, where = _circulate(ctx, view, minutes, new, "Minutes in plain words")
    assert new.id is not None
    blocks: list[Block] = [
        Text(
            f"Version {new.number} uses plain words ({swaps}) and has gone out {where}. "
            "Approvals start again for the new version."
        ),
        *plain_words.minutes_check(plain, glossary, version_id=new.id),
    ]
    return reply.say(Message(text=f"{view.reference}: plain words used", blocks=tuple(blocks)))


def approve_click(ctx: Ctx, value: str, text: str | None) -> Reply:
    """The Approve button under a version of the minutes."""
    view, minutes, version = _version_for(ctx, value)
    audit(
        ctx,
        group_id=view.id,
        kind=AuditKind.CHANGE,
        what=f"click:{core.APPROVE}",
        detail=f"version={version.id}",
    )
    return _approve(ctx, view, minutes, version)


def change_click(ctx: Ctx, value: str, text: str | None) -> Reply:
    """The Request a change button: record the comment on that version and tell the chairs."""
    view, minutes, version = _version_for(ctx, value)
    audit(
        ctx,
        group_id=view.id,
        kind=AuditKind.CHANGE,
        what=f"click:{core.CHANGE}",
        detail=f"version={version.id}",
    )
    _may_review(ctx, view, "ask for changes to minutes")
    facts = _facts(ctx, minutes)
    _current(ctx, minutes, version, facts)
    comment = " ".join((text or "").split())
    if not comment:
        raise BadInput(
            "Please say what should change, so the chair knows what to do.",
            hint='Click Request a change again and type, e.g. "Section 4: Mia was seen alone '
            'on 2 Dec, not 3 Dec".',
        )
    if len(comment) > MAX_TEXT:
        raise BadInput(f"Please keep the comment under {MAX_TEXT} characters.")
    core.review(
        ctx.session,
        minutes=minutes,
        version=version,
        person_id=ctx.actor_id,
        verdict=Verdict.CHANGE,
        comment=comment,
        now=ctx.now(),
    )
    reply = Reply()
    _tell_writers(
        ctx,
        reply,
        view,
        Message(
            text=f"{facts.reference}: a change to the minutes was asked for",
            blocks=(
                Heading(f"Change asked for — {facts.reference}"),
                Text(
                    f"{ctx.actor.display_name} asked for a change to version {version.number} of "
                    f"the minutes of the core group on {facts.meeting_when}:"
                ),
                Text(comment),
                Context(
                    f"Change a section with `{AMEND_EXAMPLE}`; the new version goes out for "
                    "approval. `/coregroup minutes` shows the current version."
                ),
            ),
        ),
    )
    names = ", ".join(p.display_name for p in chairs(ctx.session, group_id=view.id))
    return reply.say(
        f"Thanks — your comment on version {version.number} has gone to the chair ({names}). "
        "You'll see the new version when it's ready."
    )


# --- publishing and recording -------------------------------------------------------------------


def publish(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Publish approved minutes (or, as chair, without approval with a reason): send every copy."""
    assert view is not None
    _require_writer(view, "publish the minutes")
    require_active(view)
    override = args.take_keyword("override", "anyway")
    reason: str | None = None
    if override:
        require_manager(view, "publish minutes without approval")
        reason, number = _text_and_number(args)
        if not reason:
            raise BadInput(
                "Please give the reason for publishing without approval; it's kept in the record.",
                hint=f"For example: `{OVERRIDE_EXAMPLE}`",
            )
        if len(reason) > MAX_REASON:
            raise BadInput(f"Please keep the reason under {MAX_REASON} characters.")
    else:
        number = _number(args, "/coregroup publish 2")
    minutes = _minutes(ctx, view, number)
    facts = _facts(ctx, minutes)
    _refuse_published(ctx, minutes, facts)
    version = core.latest_version(ctx.session, minutes=minutes)
    approval = core.approval_of(ctx.session, version=version)
    if not approval.ready and not override:
        raise _not_ready(ctx, approval, facts)
    members = active_members(ctx, view.id)
    core.publish(
        ctx.session,
        minutes=minutes,
        actor_id=ctx.actor_id,
        override_reason=None if approval.ready else reason,
        now=ctx.now(),
    )
    rows = distribution.queue_copies(
        ctx.session,
        minutes=minutes,
        version=version,
        members=[(Role(m.role), p) for m, p in members],
        platform=ctx.platform,
        now=ctx.now(),
    )
    reply = Reply()
    reply.say(
        Message(
            text=f"{facts.reference}: the minutes of meeting {facts.meeting_number} are published",
            blocks=(
                Text(
                    f"The minutes of the core group on {facts.meeting_when} (version "
                    f"{version.number}) are published. Each member is being sent their own copy, "
                    "by direct message or by email."
                ),
            ),
        ),
        to=ToGroup(view.id),
    )
    statuses = core.deadline_statuses(minutes, today=ctx.today(), tz=ctx.locale.tz)
    assert minutes.id is not None
    meeting = ctx.session.get(Meeting, minutes.meeting_id)
    assert meeting is not None
    warning = attendance_warning(ctx.session, meeting=meeting, number=facts.meeting_number)
    return reply.say(
        Message(
            text=f"{view.reference}: minutes published",
            blocks=(
                Text(
                    f"Published version {version.number}. Each of the {len(members)} members gets "
                    "their own copy with the PDF attached: the full minutes for the professionals, "
                    "the family version for parents and carers, the young person's version for "
                    "the child."
                ),
                *((Text(warning),) if warning else ()),
                *documents.routes_summary(ctx, members, rows),
                Context("\n".join(statuses)),
                Context(
                    "Once they are on the case system, click below (or type `/coregroup recorded`)."
                ),
                Buttons((core.recorded_button(minutes.id),)),
            ),
        )
    )


def _not_ready(ctx: Ctx, approval: core.Approval, facts: core.MinutesFacts) -> Conflict:
    version = approval.version
    if approval.changes:
        names = names_of(ctx.session, [r.person_id for r in approval.changes])
        asked = ", ".join(names.get(r.person_id, "a former member") for r in approval.changes)
        why = (
            f"{asked} asked for a change to version {version.number}, and that is still open. "
            f"Amend the minutes (e.g. `{AMEND_EXAMPLE}`) or ask them to approve it as it stands."
        )
    else:
        author = names_of(ctx.session, [version.created_by]).get(version.created_by, "its author")
        why = (
            f"Version {version.number} of the minutes of meeting {facts.meeting_number} hasn't "
            f"been approved yet: a member other than {author} needs to approve it."
        )
    return Conflict(
        why,
        hint="Two ways to go on: ask a member to approve it (the Approve button, or "
        f"`/coregroup approve`); or, as chair, publish without approval and give the reason, "
        f"which is kept in the record: `{OVERRIDE_EXAMPLE}`",
    )


def recorded(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Mark the minutes as recorded on the council's case system."""
    assert view is not None
    minutes = _minutes(ctx, view, _number(args, "/coregroup recorded 2"))
    return _mark_recorded(ctx, view, minutes)


def recorded_click(ctx: Ctx, value: str, text: str | None) -> Reply:
    """The Recorded on the case system button under published minutes."""
    minutes = ctx.session.get(Minutes, int(value)) if value.isdigit() else None
    meeting = ctx.session.get(Meeting, minutes.meeting_id) if minutes else None
    # Group 0 never exists: an unknown id fails exactly like another group's.
    view = group_by_id(ctx, meeting.group_id if meeting else 0)
    assert minutes is not None
    audit(
        ctx,
        group_id=view.id,
        kind=AuditKind.CHANGE,
        what=f"click:{core.RECORDED}",
        detail=f"minutes={minutes.id}",
    )
    return _mark_recorded(ctx, view, minutes)


def _mark_recorded(ctx: Ctx, view: GroupView, minutes: Minutes) -> Reply:
    _require_writer(view, "mark the minutes as recorded")
    require_active(view)
    facts = _facts(ctx, minutes)
    if minutes.recorded_at is not None:
        raise Conflict(
            f"The minutes of meeting {facts.meeting_number} were already marked as recorded on "
            f"{format_when(minutes.recorded_at, ctx.locale.tz)}.",
            hint="`/coregroup minutes` shows both deadlines.",
        )
    core.mark_recorded(ctx.session, minutes=minutes, now=ctx.now())
    status = core.deadline_statuses(minutes, today=ctx.today(), tz=ctx.locale.tz)[0]
    blocks: list = [
        Text(f"Noted: the minutes of meeting {facts.meeting_number} are on the case system."),
        Context(status),
    ]
    if minutes.status != MinutesStatus.PUBLISHED:
        blocks.append(
            Context(
                "They haven't been sent to the members yet: publish them with "
                "`/coregroup publish` once approved."
            )
        )
    return Reply().say(Message(text=f"{view.reference}: minutes recorded", blocks=tuple(blocks)))


# --- disagreements ------------------------------------------------------------------------------


def disagree(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Record a disagreement; tell the team manager and the conference chair."""
    assert view is not None
    require_member(view, "record a disagreement")
    require_active(view)
    detail, number = _text_and_number(args)
    if not detail:
        raise BadInput(
            "Please say what the disagreement is about.", hint=f"For example: `{DISAGREE_EXAMPLE}`"
        )
    if len(detail) > MAX_DISAGREEMENT:
        raise BadInput(
            f"Please keep it under {MAX_DISAGREEMENT} characters; the detail belongs on the case "
            "system."
        )
    meeting = (
        _meeting(ctx, view, number)
        if number is not None
        else latest_started(ctx.session, group_id=view.id, now=ctx.now())
    )
    minutes = core.minutes_of(ctx.session, meeting=meeting) if meeting else None
    published = minutes is not None and minutes.status == MinutesStatus.PUBLISHED
    managers = team_managers(ctx.session, group_id=view.id)
    iro = (
        ctx.session.get(Person, view.case.conference_chair_id)
        if view.case.conference_chair_id
        else None
    )
    tz = ctx.locale.tz
    row = core.record_disagreement(
        ctx.session,
        group_id=view.id,
        meeting_id=None if meeting is None or published else meeting.id,
        raised_by=ctx.actor_id,
        detail=detail,
        escalated_to=core.escalation_note(
            managers=managers, conference_chair=iro, when=ctx.now(), tz=tz
        ),
        now=ctx.now(),
        told_manager=bool(managers),
        told_chair=iro is not None,
    )
    reply = Reply()
    told = _escalate(ctx, view, reply, detail, managers, iro, meeting)
    missing = _missing_escalation(managers, iro)
    where = _add_to_minutes(ctx, view, reply, minutes, meeting, row, published)
    _tell_chairs(ctx, reply, view, _chair_disagreement_message(ctx, view, detail, told, missing))
    lines = [f"Your disagreement is recorded. {where}"]
    if told:
        lines.append(f"I've told {told}.")
    return reply.say(
        Message(
            text=f"{view.reference}: disagreement recorded",
            blocks=(*(Text(line) for line in lines), *(Context(m) for m in missing)),
        )
    )


def _escalate(
    ctx: Ctx,
    view: GroupView,
    reply: Reply,
    detail: str,
    managers: list[Person],
    iro: Person | None,
    meeting: Meeting | None,
) -> str:
    """DM the team managers and the conference chair; returns who was told, in words."""
    role = Role(view.membership.role).label if view.membership else "member"
    about = ""
    if meeting is not None:
        day = meeting.starts_at.astimezone(ctx.locale.tz).date()
        about = f" about the core group on {format_day(day)}"
    message = Message(
        # Only the case reference in the notification text: previews show on lock screens.
        text=f"{view.reference}: a disagreement in the core group needs your attention",
        blocks=(
            Heading(f"Disagreement recorded — {view.reference}"),
            Text(
                f"{ctx.actor.display_name} ({role}) recorded a disagreement in the core group "
                f"for {view.reference}{about}:"
            ),
            Text(detail),
            Context(
                "Guidance asks for a significant disagreement to be shared with the team manager "
                "and brought to the conference chair's attention. The group's chair has been "
                "told, and it will be in the minutes."
            ),
        ),
    )
    chair_id = iro.id if iro is not None else None
    people = {p.id: p for p in managers if p.id is not None}
    for person_id in people:
        if person_id not in (ctx.actor_id, chair_id):
            reply.say(message, to=ToPerson(person_id))
    if iro is not None and iro.id is not None and iro.id != ctx.actor_id:
        reply.say(with_chair_reading(message, view), to=ToPerson(iro.id))
    parts = []
    if managers:
        parts.append("the team manager (" + ", ".join(p.display_name for p in managers) + ")")
    if iro is not None:
        parts.append(f"the conference chair ({iro.display_name})")
    return " and ".join(parts)


def _missing_escalation(managers: list[Person], iro: Person | None) -> list[str]:
    missing = []
    if not managers:
        missing.append(
            "No team manager is known for this group, so none was told. The chair can add one: "
            "`/coregroup add @name team-manager`."
        )
    if iro is None:
        missing.append(
            "No conference chair is recorded for this case, so none was told. The chair can set "
            "one: `/coregroup conference-chair @iro`."
        )
    return missing


def _add_to_minutes(
    ctx: Ctx,
    view: GroupView,
    reply: Reply,
    minutes: Minutes | None,
    meeting: Meeting | None,
    row: Disagreement,
    published: bool,
) -> str:
    """Put the disagreement in section 10 of unpublished minutes; say where it will appear."""
    if meeting is None or published:
        return "It will be in section 10 of the minutes of the next meeting."
    number = number_of(ctx.session, meeting=meeting)
    if minutes is None:
        return f"It will be in section 10 of the minutes of meeting {number} when they're drafted."
    latest = core.latest_version(ctx.session, minutes=minutes)
    line = core.disagreement_line(ctx.session, row, group_id=view.id, tz=ctx.locale.tz)
    version = core.add_version(
        ctx.session,
        minutes=minutes,
        body=core.with_disagreement(core.body_of(latest), line),
        author_id=ctx.actor_id,
        note=f"{ctx.actor.display_name}'s disagreement added to section 10",
        now=ctx.now(),
    )
    posted, _ = _circulate(ctx, view, minutes, version, "Minutes amended")
    reply.extend(posted)
    return (
        f"It's now in section 10 of the minutes of meeting {number} (version {version.number}, "
        "which goes out for approval)."
    )


def _chair_disagreement_message(
    ctx: Ctx, view: GroupView, detail: str, told: str, missing: list[str]
) -> Message:
    blocks: list = [
        Text(
            f"{ctx.actor.display_name} recorded a disagreement in the core group for "
            f"{view.reference}:"
        ),
        Text(detail),
    ]
    blocks.append(Context(f"I've told {told}." if told else "Nobody outside the group was told."))
    blocks += [Context(m) for m in missing]
    return Message(text=f"{view.reference}: a disagreement was recorded", blocks=tuple(blocks))


# --- registration -------------------------------------------------------------------------------

COMMANDS = (
    Command(
        name="draft",
        summary="draft the minutes of the latest meeting from the updates, the plan and attendance",
        usage="draft [meeting number]",
        examples=("/coregroup draft", "/coregroup draft 2"),
        handler=draft,
        topic=TOPIC,
    ),
    Command(
        name="minutes",
        summary="read the minutes, their deadlines and each member's copy; export them as a "
        "file; log a copy sent another way, or send bounced copies again",
        usage="minutes [history] [meeting number] | minutes export [family|young-person] "
        '[docx|pdf|md] [meeting number] | minutes sent @person "how" | minutes resend [@person]',
        examples=(
            "/coregroup minutes",
            "/coregroup minutes history",
            "/coregroup minutes export docx",
            "/coregroup minutes export family pdf",
            '/coregroup minutes sent @gran "by post on 7 Jan"',
            "/coregroup minutes resend",
        ),
        handler=show,
        topic=TOPIC,
        changes=False,
    ),
    Command(
        name="amend",
        summary="rewrite one section of the minutes (a new version goes out for approval)",
        usage='amend <section 1-11> [family] "new text" [meeting number]',
        examples=(AMEND_EXAMPLE, '/coregroup amend 11 "Next meeting: Wed 17 Feb 2027, 10:00" 2'),
        handler=amend,
        topic=TOPIC,
    ),
    Command(
        name="approve",
        summary="approve the current version of the minutes",
        usage="approve [meeting number]",
        examples=("/coregroup approve", "/coregroup approve 2"),
        handler=approve,
        topic=TOPIC,
    ),
    Command(
        name="publish",
        summary="publish approved minutes and send every member a copy",
        usage='publish [meeting number] | publish override "reason"',
        examples=("/coregroup publish", OVERRIDE_EXAMPLE),
        handler=publish,
        topic=TOPIC,
    ),
    Command(
        name="recorded",
        summary="mark the minutes as recorded on the case system",
        usage="recorded [meeting number]",
        examples=("/coregroup recorded", "/coregroup recorded 2"),
        handler=recorded,
        topic=TOPIC,
    ),
    Command(
        name="disagree",
        summary="record a disagreement; the team manager and conference chair are told",
        usage='disagree "what you disagree with" [meeting number]',
        examples=(DISAGREE_EXAMPLE,),
        handler=disagree,
        topic=TOPIC,
    ),
)


def register(registry: Registry) -> None:
    """Add the minutes commands and buttons."""
    for command in COMMANDS:
        registry.command(command)
    registry.click(core.APPROVE, approve_click)
    registry.click(core.CHANGE, change_click)
    registry.click(core.RECORDED, recorded_click)
    registry.click(plain_words.MINUTES, plain_click)
