"""/coregroup commands that set up and run a core group: new, add, remove, members, chairs,
minute-takers, the conference chair, review conferences, closing, and the status at a glance."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.core import groups as core
from bot.core import key_worker
from bot.core.access import (
    FAMILY_NOT_YOURS,
    GroupView,
    active_members,
    audit,
    group_by_id,
    require_active,
    require_manager,
    visible_groups,
)
from bot.core.calendar import Nation, format_day
from bot.core.context import Ctx
from bot.core.dates import parse_day
from bot.core.distribution import has_chat, masked
from bot.core.errors import BadInput, Conflict, NotAllowed
from bot.core.oversight import glance, status_message
from bot.core.people import EMAIL_OFF, outside_person, resolve_person, set_email, valid_email
from bot.core.plan import open_actions_for
from bot.core.policy import review_conference_deadlines
from bot.core.roles import ROLE_WORDS, role_at_start
from bot.messages import (
    AddToSpace,
    ArchiveSpace,
    Block,
    Button,
    Buttons,
    Context,
    CreateSpace,
    Fields,
    Heading,
    InPlace,
    Message,
    RemoveFromSpace,
    Reply,
    Text,
    ToGroup,
    ToPerson,
    bullets,
)
from commands.disagreements import forward
from commands.parse import Args, is_mention, pick
from commands.registry import Command, Registry
from storage.enums import AuditKind, Role
from storage.models import Case, Person

MAX_CLOSE_REASON = 500
NEW_EXAMPLE = core.NEW_EXAMPLE
ADD_EXAMPLE = '/coregroup add @priya school agency "Oak Primary"'
EMAIL_EXAMPLE = '/coregroup add "Castle Surgery" gp email reception@castle.nhs.uk'
KEY_WORKER_EXAMPLE = "/coregroup key-worker @alex"
SCHEDULE_ASK = 'When? e.g. "5/1 10am" or "next Tue 2pm"'
OFF_WORDS = ("off", "stop", "remove", "no", "false")
# A year written out: 2026, or the last part of 18/12/26.
_YEAR = re.compile(r"\b(?:19|20)\d\d\b|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b")
# An ICPC date this far ahead is almost certainly a typo; the group is set up after it.
ICPC_MAX_AHEAD = timedelta(days=31)


def register(registry: Registry) -> None:
    """Add the group commands and the close-confirmation button."""
    for command in COMMANDS:
        registry.command(command)
    registry.click("groups.close", close_click)


# --- helpers ------------------------------------------------------------------------------------


def _person(ctx: Ctx, view: GroupView, token: str) -> Person:
    return resolve_person(
        ctx.session,
        token,
        platform=ctx.platform,
        directory=ctx.directory,
        clock=ctx.clock,
        group_id=view.id,
    )


def _need_person(args: Args, what: str, example: str) -> str:
    """Take the mention wherever it is among the words (people type `add parent @jo` too)."""
    for i, token in enumerate(args.tokens):
        if is_mention(token):
            del args.tokens[i]
            args.consumed.append(token)
            return token
    return args.need(what, example)


def _recent_day(ctx: Ctx, text: str) -> date:
    """A conference date: "15/3" typed in April means last March, not next (a year was left off)."""
    day = parse_day(text, now=ctx.now(), tz=ctx.locale.tz, allow_past=True)
    if not _YEAR.search(text) and day > ctx.today() + timedelta(days=183):
        try:
            day = day.replace(year=day.year - 1)
        except ValueError:  # 29 February
            day = day.replace(year=day.year - 1, day=28)
    return day


def _announce(ctx: Ctx, reply: Reply, view: GroupView, text: str) -> None:
    """Tell the group's space (and the actor privately when they typed somewhere else).

    The notification text names the case, never a person.
    """
    message = Message(text=f"{view.reference}: the core group has changed", blocks=(Text(text),))
    reply.say(message, to=ToGroup(view.id))
    if ctx.channel_id is None or ctx.channel_id != view.group.channel_id:
        reply.say(message)


# --- new ----------------------------------------------------------------------------------------


def _refused_new() -> NotAllowed:
    """The one reply to anyone who may not start this group: someone outside a team, or a
    reference already in use by a group they can't see (so it never tells them it exists)."""
    return NotAllowed(
        "I can't start that core group for you.",
        hint="Core groups are started by the social worker for the case or their team manager, "
        "once they are in their team (an administrator runs `coregroup team`). Ask your team "
        "manager or the case's social worker; if the group has already started, ask its chair "
        "to add you.",
        family=FAMILY_NOT_YOURS,
    )


def new_group(ctx: Ctx, _view: GroupView | None, args: Args) -> Reply:
    """Start a core group for a case after the ICPC (social workers and managers in a team)."""
    if not core.may_start_groups(ctx.actor):
        audit(ctx, group_id=None, kind=AuditKind.DENIED, what="command:new", detail="no team")
        raise _refused_new()
    nation_text = args.option("nation", "country")
    initials_text = args.option("initials")
    reference = core.check_reference(args.need("the case reference", NEW_EXAMPLE))
    args.take_keyword("icpc", "cppm", "conference", "on")
    date_text = args.rest()
    if not date_text:
        raise BadInput(
            "Please give the date of the ICPC (the first child protection conference).",
            hint=f"For example: `{NEW_EXAMPLE}`",
        )
    nation = Nation.parse(nation_text) if nation_text else Nation.ENGLAND
    initials = core.check_initials(initials_text) if initials_text else None
    icpc = _recent_day(ctx, date_text)
    if icpc > ctx.today() + ICPC_MAX_AHEAD:
        raise BadInput(
            f"The ICPC date {format_day(icpc)} is more than a month away; the core group starts "
            "after the conference.",
            hint=f"Give the date it was held, with the year, e.g. `{NEW_EXAMPLE}`",
        )
    _refuse_existing(ctx, reference)
    case, group = core.create_group(
        ctx.session,
        reference=reference,
        icpc=icpc,
        nation=nation,
        initials=initials,
        creator=ctx.actor,
        now=ctx.now(),
    )
    assert group.id is not None
    audit(ctx, group_id=group.id, kind=AuditKind.CHANGE, what="command:new")
    return _created_reply(ctx, case, group.id)


def _refuse_existing(ctx: Ctx, reference: str) -> None:
    """Refuse a reference already in use, telling only people who can see that group so."""
    if core.find_case(ctx.session, reference) is None:
        return
    if any(v.reference == reference for v in visible_groups(ctx, include_closed=True)):
        raise Conflict(
            f"There is already a core group for {reference}.",
            hint=f"See it with `/coregroup status {reference}`.",
        )
    audit(ctx, group_id=None, kind=AuditKind.DENIED, what="command:new", detail="taken")
    raise _refused_new()


def _created_reply(ctx: Ctx, case: Case, group_id: int) -> Reply:
    reference, icpc = case.reference, case.icpc_date
    deadline, sentence = core.first_meeting_sentence(
        icpc=icpc, calendar=ctx.calendar(case), policy=ctx.policy(case)
    )
    name = core.space_name(reference)
    blocks: list[Block] = [Heading(f"Core group started for {reference}"), Text(sentence)]
    if deadline.due < ctx.today():
        blocks.append(Text("⚠ That date has passed: hold the first meeting as soon as you can."))
    blocks += [
        Text(
            "You are the key worker and chair. Next, add the members with their roles, e.g. "
            f"`/coregroup add @jo parent` or `{ADD_EXAMPLE}`."
        ),
        Buttons(
            (
                Button(
                    "Schedule the first meeting",
                    "meeting.schedule",
                    str(group_id),
                    style="primary",
                    ask=SCHEDULE_ASK,
                ),
            )
        ),
        Context(f"The group's private space is #{name}. Only its members can see it."),
    ]
    if icpc > ctx.today():
        blocks.append(Context("The ICPC date is still to come; the deadline counts from it."))
    reply = Reply()
    reply.effects.append(
        CreateSpace(group_id, name, core.space_topic(reference), member_ids=(ctx.actor_id,))
    )
    reply.say(
        Message(
            text=f"{reference}: core group started; first meeting due by "
            f"{format_day(deadline.due)}",
            blocks=tuple(blocks),
        )
    )
    reply.say(
        Message(
            text=f"{reference}: the core group's private space",
            blocks=(
                Text(
                    f"This is the private space for the core group for {reference}. Only its "
                    f"members can see it. Chair: {ctx.actor.display_name}. The first core group "
                    f"must meet by {format_day(deadline.due)}."
                ),
                Context("Type `/coregroup status` here to see the group at a glance."),
            ),
        ),
        to=ToGroup(group_id),
    )
    return reply


# --- members ------------------------------------------------------------------------------------

_ROLE_CHOICES = {word: role.value for word, role in ROLE_WORDS.items()}


def _take_role(args: Args) -> tuple[Role, str]:
    """The role from the next words ("health visitor", "designated safeguarding lead", "gp"),
    with the words typed for it."""
    while args.take_keyword("as", "a", "an", "the"):
        pass
    found = role_at_start(args.tokens)
    if found is not None:
        role, size = found
        return role, " ".join(args.take() or "" for _ in range(size))
    word = args.need("their role", "/coregroup add @jo parent")
    choice = pick(word, _ROLE_CHOICES, what="role", example=f"For example: `{ADD_EXAMPLE}`")
    return Role(choice), word


def _take_agency(args: Args) -> str | None:
    """`agency "Oak Primary"` (or `from …`, or just the words after the role)."""
    lowered = [t.lower() for t in args.tokens]
    for word in ("agency", "from", "at"):
        if word in lowered:
            i = lowered.index(word)
            agency = " ".join(args.tokens[i + 1 :])
            del args.tokens[i:]
            return agency or None
    return None


def _agency(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    if len(text) > 120:
        raise BadInput(
            "That agency name is too long (120 characters at most).",
            hint=f"For example: `{ADD_EXAMPLE}`",
        )
    return text or None


def _role_text(role: Role, agency: str) -> str:
    return role.label + (f", {agency}" if agency else "")


def add_member(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Add someone to the group with their role (and agency)."""
    assert view is not None
    require_manager(view, "add members")
    require_active(view)
    email_text = args.option("email", "e-mail")
    token = _need_person(args, "who to add", "/coregroup add @jo parent")
    agency = _take_agency(args)
    asked, typed = _take_role(args)
    agency = _agency(agency or args.rest() or None)
    if asked is Role.OTHER and agency is None and typed.lower() not in ("other", "professional"):
        agency = _agency(typed[:1].upper() + typed[1:])  # "housing officer" says what they do
    email = _email(email_text)
    person = _person_or_outside(ctx, view, token, email)
    email_note = _record_email(ctx, person, email_text, email)
    membership, joined = core.add_member(
        ctx.session,
        group_id=view.id,
        person=person,
        role=asked,
        agency=agency,
        reference=view.reference,
        now=ctx.now(),
    )
    role = Role(membership.role)
    name, what = person.display_name, _role_text(role, membership.agency)
    reply = Reply()
    if email_note:
        # Only the chair who typed it sees where the email goes; never the group's space.
        reply.say(email_note)
    if asked is Role.KEY_WORKER and role is Role.SOCIAL_WORKER:
        reply.say(_one_key_worker(ctx, view, name, token))
    if joined is core.Joined.UNCHANGED:
        if email_note:
            return reply
        return reply.say(f"{name} is already in the core group for {view.reference} as {what}.")
    assert person.id is not None
    if joined is core.Joined.ROLE_CHANGED:
        _announce(ctx, reply, view, f"{name} is now in the core group as {what}.")
        if role is Role.TEAM_MANAGER:
            _forwarded(ctx, view, reply, person, to_chair=False)
        return reply
    in_chat = has_chat(ctx.session, person_id=person.id, platform=ctx.platform)
    if in_chat:
        reply.effects.append(AddToSpace(view.id, (person.id,)))
    again = " again" if joined is core.Joined.REJOINED else ""
    _announce(ctx, reply, view, f"{name} has joined the core group{again} as {what}.")
    count = core.member_count(ctx.session, group_id=view.id)
    if count > core.ADVISED_SIZE:
        reply.say(
            Message(
                text=f"{view.reference}: the group now has {count} members",
                blocks=(
                    Text(
                        f"The group now has {count} members. Guidance suggests six or fewer, so "
                        "the group stays focused on the plan — is everyone needed at every "
                        "meeting? Others can send a written update instead."
                    ),
                ),
            )
        )
    if in_chat:
        reply.say(_welcome(view, role, ctx.actor.display_name), to=ToPerson(person.id))
    if role is Role.TEAM_MANAGER:
        _forwarded(ctx, view, reply, person, to_chair=False)
    return reply


def _one_key_worker(ctx: Ctx, view: GroupView, name: str, token: str) -> Message:
    """A second social worker joins as a social worker: the group keeps its one key worker."""
    held = key_worker.current(ctx.session, group_id=view.id)
    holder = ctx.session.get(Person, held.person_id) if held is not None else None
    who = holder.display_name if holder is not None else "The key worker"
    return Message(
        text=f"{view.reference}: {name} joins as a social worker",
        blocks=(
            Text(
                f"A core group has one key worker, so {name} joins as a social worker and {who} "
                f"stays the key worker. To hand over: `/coregroup key-worker {token}`."
            ),
        ),
    )


def _email(text: str | None) -> str | None:
    """The address given with `email …`, checked; None for none given or `email none`."""
    if text is None or text.lower() in EMAIL_OFF:
        return None
    return valid_email(text, example=EMAIL_EXAMPLE)


def _person_or_outside(ctx: Ctx, view: GroupView, token: str, email: str | None) -> Person:
    """The person named; with an email, someone outside chat may be added by name alone."""
    try:
        return _person(ctx, view, token)
    except BadInput:
        if email is None or (is_mention(token) and token.startswith("<@")):
            raise
    name = " ".join(token.removeprefix("@").replace("_", " ").split())
    return outside_person(ctx.session, name=name, email=email, clock=ctx.clock)


def _record_email(ctx: Ctx, person: Person, typed: str | None, email: str | None) -> str:
    """Record (or clear) the person's email; what to tell the chair about it."""
    if typed is None:
        return ""
    if email is None:
        set_email(person, None)
        ctx.session.add(person)
        return f"{person.display_name}'s email address is removed: their copies go in chat."
    set_email(person, email)
    ctx.session.add(person)
    return (
        f"{person.display_name}'s copies of the minutes will go by email to {masked(email)}, as "
        "they are outside the chat. Only chairs see that an address is recorded; other members "
        "never see it."
    )


def _welcome(view: GroupView, role: Role, by: str) -> Message:
    if role.is_family:
        body = (
            f"{by} has added you to the group supporting your family: the people working with "
            "you on the plan agreed at the conference. I'll tell you about meetings and anything "
            "the group asks of you. Type `/coregroup status` any time to see what's next, or "
            "`/coregroup help` to see what you can ask me."
        )
        added = "You've been added to the group supporting your family"
        return Message(text=added, blocks=(Text(body),))
    else:
        body = (
            f"{by} has added you to the core group for {view.reference} as {role.label}. "
            "Type `/coregroup status` to see the group at a glance, or `/coregroup help`."
        )
    return Message(
        text=f"{view.reference}: you've been added to the core group", blocks=(Text(body),)
    )


def remove_member(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Take someone out of the group (their history stays); the key worker names a successor."""
    assert view is not None
    require_manager(view, "remove members")
    require_active(view)
    successor_token = args.option("successor", "handover", "hand-over")
    token = _need_person(args, "who to remove", "/coregroup remove @sam")
    person = _person(ctx, view, token)
    successor = _person(ctx, view, successor_token) if successor_token else None
    core.remove_member(
        ctx.session,
        group_id=view.id,
        person=person,
        reference=view.reference,
        now=ctx.now(),
        successor=successor,
        typed=token,
    )
    assert person.id is not None
    reply = Reply()
    reply.effects.append(RemoveFromSpace(view.id, person.id))
    _announce(
        ctx,
        reply,
        view,
        f"{person.display_name} has left the core group. Their updates and actions stay on "
        "the record." + (_taken_over(ctx, view, successor) if successor else ""),
    )
    still = open_actions_for(ctx.session, group_id=view.id, person_id=person.id)
    if still:
        numbers = [str(a.number) for a in still]
        listed = (
            numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " and " + numbers[-1]
        )
        which = f"action {listed}" if len(still) == 1 else f"actions {listed}"
        reply.say(
            Message(
                text=f"{view.reference}: open actions need a new owner",
                blocks=(
                    Text(
                        f"{person.display_name} still owns open {which}. Give "
                        f"{'it' if len(still) == 1 else 'them'} to someone else, e.g. "
                        f"`/coregroup action reassign {still[0].number} @alex`."
                    ),
                ),
            )
        )
    return reply


def _taken_over(ctx: Ctx, view: GroupView, successor: Person) -> str:
    assert successor.id is not None
    row = core.active_membership(ctx.session, group_id=view.id, person_id=successor.id)
    chairs = row is not None and row.is_chair
    return f" {successor.display_name} is now the key worker{' and chair' if chairs else ''}."


def key_worker_command(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Hand key work to another social worker in the group (the one before stays a member)."""
    assert view is not None
    require_manager(view, "change the key worker")
    require_active(view)
    person = _person(ctx, view, _need_person(args, "who takes over", KEY_WORKER_EXAMPLE))
    reply = Reply()
    if not core.hand_over_key_work(
        ctx.session, group_id=view.id, person=person, reference=view.reference
    ):
        return reply.say(f"{person.display_name} is already the key worker for {view.reference}.")
    _announce(
        ctx, reply, view, f"{person.display_name} is now the key worker for {view.reference}."
    )
    return reply


def list_members(ctx: Ctx, view: GroupView | None, _args: Args) -> Reply:
    """Who is in the group, with roles, agencies, chairs and minute-takers."""
    assert view is not None
    rows = active_members(ctx, view.id)
    lines = []
    chair = "chair (runs the meetings)" if view.is_family else "chair"
    taker = "minute-taker (writes down what is agreed)" if view.is_family else "minute-taker"
    for m, p in rows:
        marks = [x for x, on in ((chair, m.is_chair), (taker, m.is_minute_taker)) if on]
        line = f"{p.display_name} — {_role_text(Role(m.role), m.agency)}"
        lines.append(line + (f" · {', '.join(marks)}" if marks else ""))
    count = f"{len(rows)} member{'s' if len(rows) != 1 else ''}"
    heading = f"Who is in the group: {count}" if view.is_family else f"{view.reference}: {count}"
    blocks: list[Block] = [Heading(heading), bullets(lines)]
    if view.case.conference_chair_id is not None and not view.is_family:
        iro = ctx.session.get(Person, view.case.conference_chair_id)
        if iro is not None:
            blocks.append(Text(f"Conference chair (for disagreements): {iro.display_name}"))
    if len(rows) > core.ADVISED_SIZE:
        blocks.append(
            Context("Guidance suggests six or fewer members, so the group stays focused.")
        )
    if view.can_manage:
        blocks.append(Context(f"Add someone: `{ADD_EXAMPLE}`"))
    return Reply().say(Message(text=f"{view.reference}: members", blocks=tuple(blocks)))


@dataclass(frozen=True)
class _Duty:
    """Chairing or minute-taking: shared by several members, switched on and off the same way."""

    doing: str  # what only a chair may do, for the refusal
    who: str  # what is missing when no one is named
    example: str
    change: Callable[..., bool]  # the core setter: True when something changed
    holders: Callable[..., list[Person]]
    on: str  # each with {name}
    off: str
    already: str
    not_now: str
    plural: str


CHAIRING = _Duty(
    doing="change who chairs",
    who="who chairs",
    example="/coregroup chair @alex",
    change=core.set_chair,
    holders=core.chairs,
    on="{name} now chairs the core group.",
    off="{name} no longer chairs the group.",
    already="{name} already chairs the core group for {ref}.",
    not_now="{name} doesn't chair the core group for {ref}.",
    plural="Chairs",
)
MINUTING = _Duty(
    doing="change who takes the minutes",
    who="who takes the minutes",
    example="/coregroup minute-taker @alex",
    change=core.set_minute_taker,
    holders=core.minute_takers,
    on="{name} now takes the minutes.",
    off="{name} no longer takes the minutes.",
    already="{name} already takes the minutes for {ref}.",
    not_now="{name} doesn't take the minutes for {ref}.",
    plural="Minute-takers",
)


def _switch(ctx: Ctx, view: GroupView, args: Args, duty: _Duty) -> Reply:
    require_manager(view, duty.doing)
    require_active(view)
    person = _person(ctx, view, _need_person(args, duty.who, duty.example))
    on = not args.take_keyword(*OFF_WORDS)
    changed = duty.change(
        ctx.session, group_id=view.id, person=person, reference=view.reference, on=on
    )
    name, reply = person.display_name, Reply()
    if not changed:
        return reply.say(
            (duty.already if on else duty.not_now).format(name=name, ref=view.reference)
        )
    text = (duty.on if on else duty.off).format(name=name)
    holders = [p.display_name for p in duty.holders(ctx.session, group_id=view.id)]
    if holders:
        text += f" {duty.plural}: {', '.join(holders)}."
    _announce(ctx, reply, view, text)
    return reply


def chair(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Make a member a co-chair, or `off` to stop."""
    assert view is not None
    return _switch(ctx, view, args, CHAIRING)


def minute_taker(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Make a member a minute-taker (it can be shared), or `off` to stop."""
    assert view is not None
    return _switch(ctx, view, args, MINUTING)


def conference_chair(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Name the conference chair (IRO): the person disagreements are escalated to."""
    assert view is not None
    require_manager(view, "name the conference chair")
    require_active(view)
    example = "/coregroup conference-chair @pat"
    person = _person(ctx, view, _need_person(args, "the conference chair", example))
    assert person.id is not None
    reply = Reply()
    if view.case.conference_chair_id == person.id:
        return reply.say(
            f"{person.display_name} is already the conference chair for {view.reference}."
        )
    view.case.conference_chair_id = person.id
    ctx.session.add(view.case)
    _announce(
        ctx,
        reply,
        view,
        f"{person.display_name} is the conference chair. If the group records a disagreement, "
        "they will be told.",
    )
    reply.say(
        Message(
            text=f"{view.reference}: you're the conference chair",
            blocks=(
                Text(
                    f"{ctx.actor.display_name} has named you as the conference chair for the core "
                    f"group for {view.reference}. If the group records a disagreement, I'll let "
                    "you know here."
                ),
            ),
        ),
        to=ToPerson(person.id),
    )
    _forwarded(ctx, view, reply, person, to_chair=True)
    return reply


def _forwarded(ctx: Ctx, view: GroupView, reply: Reply, person: Person, *, to_chair: bool) -> None:
    """Forward the disagreements recorded before a conference chair or team manager was known,
    and tell whoever named them."""
    count = forward(ctx, view, reply, person, to_chair=to_chair)
    if count:
        which = "the disagreement" if count == 1 else f"the {count} disagreements"
        reply.say(
            f"I've sent {person.display_name} {which} recorded before they were known, and "
            "noted it in the minutes' record of each."
        )


# --- review conferences -------------------------------------------------------------------------

_ENDED = re.compile(r"\b(?:plan[- ]?(?:ended|ends|end|over|finished)|ended)\b", re.IGNORECASE)
REVIEW_EXAMPLE = "/coregroup review 15/3/2027"


def review(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Record a review conference and give the deadline for the next core group."""
    assert view is not None
    require_manager(view, "record a review conference")
    require_active(view)
    text = args.rest()
    ended = bool(_ENDED.search(text))
    date_text = _ENDED.sub(" ", text).strip()
    if not date_text:
        raise BadInput(
            "Please give the date of the review conference.",
            hint=f"For example: `{REVIEW_EXAMPLE}`, or `{REVIEW_EXAMPLE} plan-ended` if the "
            "plan ended there.",
        )
    case = view.case
    held_on = _recent_day(ctx, date_text)
    if held_on <= case.icpc_date:
        raise BadInput(
            f"A review conference comes after the ICPC on {format_day(case.icpc_date)}.",
            hint=f"For example: `{REVIEW_EXAMPLE}`",
        )
    if ended and held_on > ctx.today():
        raise BadInput(
            f"The review on {format_day(held_on)} hasn't happened yet, so the plan can't have "
            "ended there.",
            hint=f"Record it now without `plan-ended` (`{REVIEW_EXAMPLE}`), then again once held.",
        )
    _row, created = core.record_review(
        ctx.session,
        case=case,
        held_on=held_on,
        plan_continues=not ended,
        actor_id=ctx.actor_id,
        now=ctx.now(),
    )
    verb = "recorded" if created else "updated"
    title = f"Review conference on {format_day(held_on)} {verb}"
    reply = Reply()
    if ended:
        body = (
            f"The plan ended at the review conference on {format_day(held_on)}. When the group's "
            "work is finished, close it with `/coregroup close plan ended at review`."
        )
        _announce(ctx, reply, view, f"{title}: the plan ended.")
        return reply.say(
            Message(text=f"{view.reference}: {title}", blocks=(Heading(title), Text(body)))
        )
    calendar, policy = ctx.calendar(case), ctx.policy(case)
    deadline, sentence = core.after_review_sentence(
        review=held_on, calendar=calendar, policy=policy
    )
    blocks: list[Block] = [Heading(title), Text(sentence)]
    reviews = core.review_dates(ctx.session, case_id=view.case.id or 0)
    following = review_conference_deadlines(
        icpc=case.icpc_date, reviews=reviews, calendar=calendar, policy=policy
    )[-1]
    blocks.append(
        Context(
            f"Next review conference due by {format_day(following.due)}. Rule: {following.rule}."
        )
    )
    blocks.append(
        Buttons(
            (
                Button(
                    "Schedule the next meeting",
                    "meeting.schedule",
                    str(view.id),
                    style="primary",
                    ask=SCHEDULE_ASK,
                ),
            )
        )
    )
    _announce(
        ctx, reply, view, f"{title}. The next core group must meet by {format_day(deadline.due)}."
    )
    return reply.say(Message(text=f"{view.reference}: {title}", blocks=tuple(blocks)))


# --- closing ------------------------------------------------------------------------------------


def close(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Close the group when the plan ends (asks for confirmation unless `close confirm`)."""
    assert view is not None
    require_manager(view, "close the group")
    require_active(view)
    words = args.rest().split()
    confirmed = any(w.lower() in ("confirm", "confirmed") for w in words)
    reason = " ".join(w for w in words if w.lower() not in ("confirm", "confirmed")) or None
    if reason is not None and len(reason) > MAX_CLOSE_REASON:
        raise BadInput(
            f"Please keep the reason for closing under {MAX_CLOSE_REASON} characters "
            f"(yours has {len(reason)}). Nothing was closed.",
            hint="For example: `/coregroup close The plan ended at the review conference`",
        )
    view.group.close_reason = reason
    ctx.session.add(view.group)
    if confirmed:
        return _close(ctx, view, clicked=False)
    blocks: list[Block] = [
        Heading(f"Close the core group for {view.reference}?"),
        Text(
            "Closing ends the plan here: meetings still booked are cancelled, and there are no "
            "more reminders or changes. Members can still read its record with "
            "`/coregroup status`."
        ),
    ]
    if reason:
        blocks.append(Fields((("Reason", reason),)))
    blocks += [
        Buttons((Button("Close the group", "groups.close", str(view.id), style="danger"),)),
        Context("To keep it open, just ignore this."),
    ]
    return Reply().say(
        Message(text=f"{view.reference}: close the core group?", blocks=tuple(blocks))
    )


def close_click(ctx: Ctx, value: str, _text: str | None) -> Reply:
    """The confirming click on "Close the group"."""
    view = group_by_id(ctx, _group_id(ctx, value))
    require_manager(view, "close the group")
    require_active(view)
    reply = _close(ctx, view, clicked=True)
    audit(ctx, group_id=view.id, kind=AuditKind.CHANGE, what="click:groups.close")
    return reply


def _group_id(ctx: Ctx, value: str) -> int:
    """A button's group id; anything else is treated exactly like a group the actor can't see."""
    if value.isdigit():
        return int(value)
    return group_by_id(ctx, 0).id  # raises the same NotFound as any invisible group


def _close(ctx: Ctx, view: GroupView, *, clicked: bool) -> Reply:
    reason = view.group.close_reason
    cancelled = core.close_group(
        ctx.session, group=view.group, case=view.case, reason=reason, now=ctx.now()
    )
    parts = [
        f"{ctx.actor.display_name} closed the core group for {view.reference} on "
        f"{format_day(ctx.today())}" + (f": {reason}." if reason else "."),
        *[
            f"The meeting on {format_day(ctx.local(m.starts_at).date())} is cancelled."
            for m in cancelled
        ],
        "The record stays readable with `/coregroup status`.",
    ]
    text = " ".join(parts)
    reply = Reply()
    members = active_members(ctx, view.id)
    reply.effects.append(
        ArchiveSpace(view.id, member_ids=tuple(p.id for _, p in members if p.id is not None))
    )
    for membership, person in members:
        if Role(membership.role).is_family and person.id not in (None, ctx.actor_id):
            reply.say(_closed_for_family(ctx, cancelled=len(cancelled)), to=ToPerson(person.id))
    if clicked:
        # The confirmation the chair clicked becomes the record of what happened.
        reply.say(
            Message(text=f"{view.reference}: the core group has closed", blocks=(Text(text),)),
            to=ToGroup(view.id),
        )
        reply.say(
            Message(text=f"{view.reference}: core group closed", blocks=(Text(text),)),
            to=InPlace(),
        )
    else:
        _announce(ctx, reply, view, text)
    return reply


def _closed_for_family(ctx: Ctx, *, cancelled: int) -> Message:
    """The closed-group notice a parent, carer or young person gets, in their words."""
    lines = [
        f"{ctx.actor.display_name} has let me know that the group supporting your family has "
        f"finished its work, on {format_day(ctx.today())}."
    ]
    if cancelled:
        lines.append("Meetings that were booked won't go ahead, and I won't send more reminders.")
    else:
        lines.append("I won't send you more reminders.")
    lines.append("You can still read what was agreed: type `/coregroup status`.")
    return Message(
        text="The group supporting your family has finished its work",
        blocks=(
            Heading("The group has finished its work"),
            Text(" ".join(lines)),
            Context("If you have questions about what happens next, ask your key worker."),
        ),
    )


# --- status -------------------------------------------------------------------------------------


def status(ctx: Ctx, view: GroupView | None, _args: Args) -> Reply:
    """The group at a glance (the family view for family members)."""
    assert view is not None
    seen = glance(ctx.session, group=view.group, case=view.case, now=ctx.now(), locale=ctx.locale)
    message = status_message(
        ctx.session,
        view=seen,
        viewer_id=ctx.actor_id,
        family=view.is_family,
        can_manage=view.can_manage,
        locale=ctx.locale,
    )
    return Reply().say(message)


COMMANDS = (
    Command(
        name="status",
        summary="the group at a glance: next meeting, deadlines, what's overdue",
        usage="status [case reference]",
        examples=("/coregroup status", "/coregroup status CP-2026-0142"),
        handler=status,
        aliases=("glance", "overview", "where"),
        topic="The group",
        changes=False,
    ),
    Command(
        name="new",
        summary="start the core group for a case after the ICPC",
        usage="new <case reference> icpc <date> [nation scotland] [initials AB]",
        examples=(NEW_EXAMPLE, "/coregroup new CP-2027-0007 icpc 12/1/2027 nation wales"),
        handler=new_group,
        needs_group=False,
        aliases=("create", "start", "new-group"),
        topic="Setting up",
    ),
    Command(
        name="add",
        summary="add someone with their role (and agency)",
        usage="add @person <role> [agency <name>] [email <address>]",
        examples=(
            ADD_EXAMPLE,
            "/coregroup add @jo parent",
            "/coregroup add @alex hv",
            EMAIL_EXAMPLE,
        ),
        handler=add_member,
        aliases=("add-member",),
        topic="Setting up",
    ),
    Command(
        name="remove",
        summary="take someone out of the group (their history stays)",
        usage="remove @person [successor @person]",
        examples=("/coregroup remove @priya", "/coregroup remove @sam successor @alex"),
        handler=remove_member,
        aliases=("remove-member",),
        topic="Setting up",
    ),
    Command(
        name="key-worker",
        summary="hand key work to another social worker in the group",
        usage="key-worker @person",
        examples=(KEY_WORKER_EXAMPLE,),
        handler=key_worker_command,
        aliases=("keyworker", "hand-over", "handover"),
        topic="Setting up",
    ),
    Command(
        name="members",
        summary="who is in the group, with roles",
        usage="members",
        examples=("/coregroup members",),
        handler=list_members,
        aliases=("who", "membership", "people"),
        topic="Setting up",
        changes=False,
    ),
    Command(
        name="chair",
        summary="make a member a co-chair (or `off` to stop)",
        usage="chair @person [off]",
        examples=("/coregroup chair @alex", "/coregroup chair @alex off"),
        handler=chair,
        aliases=("co-chair", "cochair"),
        topic="Setting up",
    ),
    Command(
        name="minute-taker",
        summary="make a member a minute-taker (or `off` to stop)",
        usage="minute-taker @person [off]",
        examples=("/coregroup minute-taker @alex", "/coregroup minute-taker @alex off"),
        handler=minute_taker,
        aliases=("minutetaker", "minutes-taker", "scribe"),
        topic="Setting up",
    ),
    Command(
        name="conference-chair",
        summary="name the conference chair (IRO) disagreements go to",
        usage="conference-chair @person",
        examples=("/coregroup conference-chair @pat",),
        handler=conference_chair,
        aliases=("iro", "conferencechair"),
        topic="Setting up",
    ),
    Command(
        name="review",
        summary="record a review conference (add `plan-ended` if the plan ended)",
        usage="review <date> [plan-ended]",
        examples=(REVIEW_EXAMPLE, "/coregroup review 15/3/2027 plan-ended"),
        handler=review,
        aliases=("review-conference", "rcpc"),
        topic="The group",
    ),
    Command(
        name="close",
        summary="close the group when the plan ends",
        usage="close [reason]",
        examples=("/coregroup close plan ended at review", "/coregroup close confirm"),
        handler=close,
        aliases=("close-group",),
        topic="The group",
    ),
)
