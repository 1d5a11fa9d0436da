"""`/coregroup invite @alex` (a personal web link for a family member), `invite @alex revoke`, and
`/coregroup age @sam 12` (the key worker records a child's age; from 8 they get their own page)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.core import family
from bot.core.access import GroupView, audit, require_active
from bot.core.context import Ctx
from bot.core.errors import BadInput, NotAllowed
from bot.core.groups import ROLE_WORDS
from bot.core.people import resolve_person
from bot.messages import Context, Heading, Message, Reply, Text
from commands.groups import add_member
from commands.parse import Args, is_mention
from commands.registry import Command, Registry
from storage.enums import AuditKind, Role
from storage.models import Membership

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
    if any(token.lower() in ROLE_WORDS for token in args.tokens):
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
    return Reply().say(
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
                    f"`{INVITE_EXAMPLE} revoke` switches it off now. Five wrong codes lock it."
                ),
            ),
        )
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
    membership = ctx.session.exec(
        select(Membership).where(
            Membership.group_id == view.id,
            Membership.person_id == person.id,
            col(Membership.active).is_(True),
        )
    ).first()
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
        name="age",
        summary="record a child's age (from 8 they have their own page)",
        usage="age @child <years>",
        examples=(AGE_EXAMPLE,),
        handler=set_age,
        topic="The family",
    ),
)
