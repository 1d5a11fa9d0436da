"""`/coregroup invite @alex` (a personal web link for a family member), `invite @alex revoke`, and
`/coregroup age @sam 12` (the key worker records a child's age; from 8 they get their own page)."""

from __future__ import annotations

from datetime import timedelta

from bot.core import family, slots
from bot.core.access import GroupView, audit, require_active
from bot.core.context import Ctx
from bot.core.errors import BadInput, NotAllowed
from bot.core.groups import active_membership
from bot.core.meetings import format_when, next_meeting
from bot.core.people import resolve_person
from bot.core.roles import is_role_word
from bot.messages import Block, Bullets, Context, Heading, Message, Reply, Text, ToGroup, ToPerson
from commands.groups import add_member
from commands.meetings import _book, _when_and_venue
from commands.parse import Args, is_mention, tokenize
from commands.registry import Command, Registry
from storage.enums import AuditKind, Role

INVITE_EXAMPLE = "/coregroup invite @alex"
AGE_EXAMPLE = "/coregroup age @sam 12"
NOT_SET_UP = (
    "Family links aren't set up on this bot yet: it needs PUBLIC_URL (the address the pages are "
    "served on) and DOCUMENT_LINK_SECRET (the key that signs links)."
)


def register(registry: Registry) -> None:
    """Add the family-link commands."""
    for command in COMMANDS:
        registry.command(command)


def signer_of(ctx: Ctx) -> family.Signer:
    """The signer for family links, or a clear refusal when the bot has no address or key."""
    locale = ctx.locale
    if not (locale.public_url and locale.link_secret):
        raise BadInput(NOT_SET_UP, hint="Ask whoever runs the bot to set both.")
    return family.Signer(secret=locale.link_secret, base_url=locale.public_url)


def _mention(args: Args, what: str, example: str) -> str:
    for i, token in enumerate(args.tokens):
        if is_mention(token):
            del args.tokens[i]
            return token
    return args.need(what, example)


def invite(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """The chair makes (or switches off) a family member's personal link."""
    assert view is not None
    if any(is_role_word(token) for token in args.tokens):
        return add_member(ctx, view, args)  # "invite @jo parent": adding someone, as before
    require_active(view)
    if view.membership is None or not view.membership.is_chair:
        raise NotAllowed(
            f"Only the chair of {view.reference} can send a family member their link.",
            hint="Ask the chair to run `/coregroup invite @name`.",
        )
    token = _mention(args, "who to invite", INVITE_EXAMPLE)
    person = resolve_person(
        ctx.session,
        token,
        platform=ctx.platform,
        directory=ctx.directory,
        clock=ctx.clock,
        group_id=view.id,
    )
    assert person.id is not None
    now = ctx.now()
    if args.take_keyword("revoke", "off", "cancel", "stop"):
        live = family.revoke_invites(ctx.session, group_id=view.id, person_id=person.id, now=now)
        audit(
            ctx,
            group_id=view.id,
            kind=AuditKind.CHANGE,
            what="family:revoke",
            detail=f"person={person.id}",
        )
        if not live:
            return Reply().say(f"{person.display_name} had no link that still works.")
        return Reply().say(
            f"{person.display_name}'s link is switched off: it opens nothing now, and any page "
            "they had open closes. `/coregroup invite` makes a new one."
        )
    if args:
        raise BadInput(
            f"I don't know '{args.tokens[0]}' here.",
            hint=f"`{INVITE_EXAMPLE}` makes a link; `{INVITE_EXAMPLE} revoke` switches it off.",
        )
    signer = signer_of(ctx)
    days = ctx.locale.family_link_days
    made = family.create_invite(
        ctx.session,
        signer=signer,
        group_id=view.id,
        person=person,
        created_by=ctx.actor_id,
        now=now,
        ttl=timedelta(days=days),
    )
    audit(
        ctx,
        group_id=view.id,
        kind=AuditKind.CHANGE,
        what="family:invite",
        detail=f"person={person.id} invite={made.invite.id}",
    )
    name = person.display_name
    # In a direct message: a reply in a Teams group chat or channel would be seen by everyone.
    reply = Reply().say(
        Message(
            text=f"{view.reference}: a personal link for {name} (send the code separately)",
            blocks=(
                Heading(f"A personal link for {name}"),
                Text(
                    f"Send {name} this link by email or text message. It works for {days} days, "
                    "only for them, and shows nothing until they type the code."
                ),
                Text(made.url),
                Text(
                    f"Their code: {made.code[:3]} {made.code[3:]}. Tell them the code another "
                    "way (a phone call, or a separate message), never with the link."
                ),
                Context(
                    "Only you see this message. A new invite switches off the old link; "
                    f"`{INVITE_EXAMPLE} revoke` switches it off now. {_locks(ctx)}"
                ),
            ),
        ),
        to=ToPerson(ctx.actor_id),
    )
    return reply.say(
        f"I've sent you {name}'s personal link and code in your direct messages with me."
    )


def set_age(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """The key worker (or chair) records a child's age, which decides their own page (8+)."""
    assert view is not None
    require_active(view)
    if not view.can_manage:
        raise NotAllowed(
            f"Only the key worker or chair can record a child's age for {view.reference}."
        )
    token = _mention(args, "which child", AGE_EXAMPLE)
    number = args.need("their age in years", AGE_EXAMPLE)
    if not number.isdigit() or not 0 <= int(number) <= 25:
        raise BadInput(f"'{number}' isn't an age in years.", hint=f"For example: `{AGE_EXAMPLE}`")
    person = resolve_person(
        ctx.session,
        token,
        platform=ctx.platform,
        directory=ctx.directory,
        clock=ctx.clock,
        group_id=view.id,
    )
    assert person.id is not None
    membership = active_membership(ctx.session, group_id=view.id, person_id=person.id)
    if membership is None or Role(membership.role) is not Role.CHILD:
        raise BadInput(
            f"{person.display_name} isn't in the group as the child.",
            hint="Add them first: `/coregroup add @sam child`.",
        )
    membership.age = int(number)
    ctx.session.add(membership)
    audit(
        ctx,
        group_id=view.id,
        kind=AuditKind.CHANGE,
        what="family:age",
        detail=f"person={person.id}",
    )
    own = (
        f"From {family.YOUNG_PERSON_MIN_AGE} they can have their own page: `{INVITE_EXAMPLE}`."
        if membership.age >= family.YOUNG_PERSON_MIN_AGE
        else f"They can have their own page from the age of {family.YOUNG_PERSON_MIN_AGE}."
    )
    return Reply().say(f"Recorded {person.display_name}'s age: {membership.age}. {own}")


TIMES_EXAMPLE = '/coregroup times propose "12/1 10am at Family Centre" "13/1 4pm" "15/1 11am"'


def times(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """Find a time: `times propose …` (chair), `times` (the ranking), `times rank 2 1 3`
    (any member), `times book 2` (chair)."""
    assert view is not None
    require_active(view)
    word = (args.take() or "").lower()
    if word in ("propose", "offer"):
        return _propose(ctx, view, args)
    if word in ("rank", "prefer", "choose"):
        return _rank(ctx, view, args)
    if word == "book":
        return _book_slot(ctx, view, args)
    if word:
        raise BadInput(f"I don't know '{word}' here.", hint=f"For example: `{TIMES_EXAMPLE}`")
    return Reply().say(_ranking(ctx, view))


def _require_chair(view: GroupView, doing: str) -> None:
    if not view.can_manage:
        raise NotAllowed(f"Only the chair or key worker can {doing} for {view.reference}.")


def _propose(ctx: Ctx, view: GroupView, args: Args) -> Reply:
    _require_chair(view, "offer meeting times")
    offered = []
    for token in args.tokens:
        when, venue = _when_and_venue(ctx, token)
        offered.append((when, venue or ""))
    args.tokens.clear()
    made = slots.propose(
        ctx.session, group_id=view.id, slots=offered, actor_id=ctx.actor_id, now=ctx.now()
    )
    audit(
        ctx, group_id=view.id, kind=AuditKind.CHANGE, what="slots:propose", detail=f"n={len(made)}"
    )
    tz = ctx.locale.tz
    lines = [
        f"{i}. {format_when(s.starts_at, tz)}" + (f" at {s.venue}" if s.venue else "")
        for i, s in enumerate(made, 1)
    ]
    text = (
        f"Times offered for the next meeting of {view.reference}. Members: rank them with "
        "`/coregroup times rank 2 1 3` (best first; leave out any you can't make). The family "
        "ranks them on their page, and says whether each place feels right."
    )
    message = Message(
        text=f"{view.reference}: times offered for the next meeting",
        blocks=(Heading("Finding a time for the next meeting"), Bullets(tuple(lines)), Text(text)),
    )
    return Reply().say(message, to=ToGroup(view.id))


def _rank(ctx: Ctx, view: GroupView, args: Args) -> Reply:
    offered = slots.open_slots(ctx.session, group_id=view.id)
    if not offered:
        raise BadInput("No times are on offer just now.", hint="The chair offers them first.")
    numbers = [t.lstrip("#") for t in args.tokens]
    args.tokens.clear()
    if not numbers or not all(n.isdigit() and 1 <= int(n) <= len(offered) for n in numbers):
        raise BadInput(
            f"Give the numbers of the times (1 to {len(offered)}), best first.",
            hint="For example: `/coregroup times rank 2 1 3`",
        )
    order = [int(n) for n in numbers]
    ranks: dict[int, int | None] = {s.id or 0: None for s in offered}
    for place, number in enumerate(order, 1):
        ranks[offered[number - 1].id or 0] = place
    slots.choose(ctx.session, person_id=ctx.actor_id, slots=offered, ranks=ranks, now=ctx.now())
    cant = len(offered) - len(set(order))
    tail = f" You can't make {cant} of them." if cant else ""
    return Reply().say(f"Thanks: your order is saved ({', '.join(numbers)}).{tail}")


def _ranking(ctx: Ctx, view: GroupView) -> Message:
    rows = slots.ranked(ctx.session, group_id=view.id)
    if not rows:
        return Message.plain(f"No times are on offer for {view.reference}. {TIMES_EXAMPLE}")
    tz = ctx.locale.tz
    lines = []
    for r in rows:
        where = f" at {r.slot.venue}" if r.slot.venue else ""
        family = (
            f"family's choice {'/'.join(str(x) for x in r.family_ranks)}"
            if r.family_ranks
            else "family: no choice yet"
        )
        if r.family_cant:
            family += f", {r.family_cant} in the family can't make it"
        if r.family_venue_no:
            family += ", the place doesn't feel right to the family"
        members = f"members' choices {'/'.join(str(x) for x in r.member_ranks) or 'none yet'}"
        if r.member_cant:
            members += f", {r.member_cant} can't make it"
        lines.append(
            f"Time {r.number}: {format_when(r.slot.starts_at, tz)}{where} — {family}; {members}"
        )
    notes = [n for r in rows for n in r.notes]
    blocks: list[Block] = [
        Heading(f"{view.reference}: times for the next meeting, best for the family first"),
        Bullets(tuple(lines)),
    ]
    if notes:
        blocks.append(Text("What the family said about the place: " + " · ".join(notes)))
    blocks.append(Context(f"Book one with `/coregroup times book {rows[0].number}`."))
    return Message(text=f"{view.reference}: times for the next meeting", blocks=tuple(blocks))


def _book_slot(ctx: Ctx, view: GroupView, args: Args) -> Reply:
    _require_chair(view, "book meetings")
    offered = slots.open_slots(ctx.session, group_id=view.id)
    token = (args.take() or "").lstrip("#")
    if not token.isdigit() or not 1 <= int(token) <= len(offered):
        raise BadInput(
            f"Which time? Give its number (1 to {len(offered)})."
            if offered
            else "No times are on offer just now.",
            hint="`/coregroup times` shows them, best for the family first.",
        )
    slot = offered[int(token) - 1]
    local = slot.starts_at.astimezone(ctx.locale.tz)
    typed = f"{local:%d/%m/%Y} {local:%H:%M}" + (f' at "{slot.venue}"' if slot.venue else "")
    reply = _book(ctx, view, Args(tokenize(typed), typed))
    booked = next_meeting(ctx.session, group_id=view.id, now=ctx.now())
    slots.close_slots(
        ctx.session, group_id=view.id, now=ctx.now(), meeting_id=booked.id if booked else None
    )
    return reply


COMMANDS = (
    Command(
        name="invite",
        summary="send a family member a personal link to the group's pages (chair only)",
        usage="invite @person [revoke]",
        examples=(INVITE_EXAMPLE, f"{INVITE_EXAMPLE} revoke"),
        handler=invite,
        aliases=("family-link",),
        topic="The family",
    ),
    Command(
        name="times",
        summary="find a meeting time with the family: offer 3-5, everyone ranks, book one",
        usage='times [propose "<when> at <place>" …] | times rank <n> … | times book <n>',
        examples=(TIMES_EXAMPLE, "/coregroup times rank 2 1 3", "/coregroup times book 2"),
        handler=times,
        aliases=("find-a-time", "slots"),
        topic="The family",
    ),
    Command(
        name="age",
        summary="record a child's age (from 8 they have their own page)",
        usage="age @child <years>",
        examples=(AGE_EXAMPLE,),
        handler=set_age,
        topic="The family",
    ),
)


def _locks(ctx: Ctx) -> str:
    """How many wrong codes lock a link (FAMILY_CODE_TRIES), in words for the chair."""
    tries = ctx.locale.family_code_tries
    return "One wrong code locks it." if tries == 1 else f"{tries} wrong codes lock it."
