"""Minutes that leave the chat: `minutes export`, and the chair's side of distribution
(`minutes sent` for a copy given another way, `minutes resend` after fixing an address).

These are subcommands of `/coregroup minutes`; commands/minutes.py finds the minutes a meeting
number names and passes its finder in, so this module needs nothing from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlmodel import select

from bot.core import distribution
from bot.core.access import GroupView, audit, require_manager
from bot.core.context import Ctx
from bot.core.documents.build import published
from bot.core.documents.delivery import attachment_of, may_have, rendered_copy, source_of
from bot.core.documents.model import Format
from bot.core.errors import BadInput, NotAllowed
from bot.core.people import resolve_person
from bot.messages import Block, Bullets, Context, Message, Reply, Text, ToPerson
from commands.parse import Args, is_mention, suggest
from storage.enums import AuditKind, CopyKind, DeliveryMethod, DeliveryStatus, Role
from storage.models import Distribution, Membership, Minutes, Person

Finder = Callable[[int | None], Minutes]

EXPORT_EXAMPLE = "/coregroup minutes export docx"
SENT_EXAMPLE = '/coregroup minutes sent @gran "by post on 7 Jan"'
FORMAT_WORDS = {
    "docx": Format.DOCX,
    "word": Format.DOCX,
    "pdf": Format.PDF,
    "md": Format.MD,
    "markdown": Format.MD,
}
COPY_WORDS = {
    "full": CopyKind.FULL,
    "professional": CopyKind.FULL,
    "professionals": CopyKind.FULL,
    "family": CopyKind.FAMILY,
    "young-person": CopyKind.YOUNG_PERSON,
    "young-persons": CopyKind.YOUNG_PERSON,
    "young": CopyKind.YOUNG_PERSON,
    "child": CopyKind.YOUNG_PERSON,
}
MAX_HOW = 200


def _meeting_number(token: str) -> int | None:
    bare = token.lstrip("#")
    return int(bare) if bare.isdigit() else None


def _export_choices(args: Args) -> tuple[CopyKind | None, Format | None, int | None]:
    """The copy, format and meeting number in any order; a clear refusal for anything else."""
    kind: CopyKind | None = None
    fmt: Format | None = None
    number: int | None = None
    while (token := args.take()) is not None:
        word = token.lower().lstrip(".")
        if word in FORMAT_WORDS and fmt is None:
            fmt = FORMAT_WORDS[word]
        elif word in COPY_WORDS and kind is None:
            kind = COPY_WORDS[word]
        elif (n := _meeting_number(token)) is not None and number is None:
            number = n
        elif word == "young" and args.take_keyword("person", "person's"):
            kind = CopyKind.YOUNG_PERSON
        else:
            raise _unknown_export_word(token)
    return kind, fmt, number


def _unknown_export_word(token: str) -> BadInput:
    close = suggest(token.lower(), [*FORMAT_WORDS, *COPY_WORDS])
    did_you = f"Did you mean `{close}`? " if close else ""
    return BadInput(
        f"I can make the minutes as docx (Word), pdf or md (Markdown), as the full minutes, the "
        f"family version or the young person's version — but I don't know '{token}'.",
        hint=f"{did_you}For example: `{EXPORT_EXAMPLE}`, `/coregroup minutes export family pdf` "
        "or `/coregroup minutes export young-person pdf 2` (meeting 2).",
    )


def _allowed_copy(ctx: Ctx, view: GroupView, wanted: CopyKind | None) -> CopyKind:
    """The copy the actor may have: family members only ever get their own version."""
    role = Role(view.membership.role) if view.membership else None
    family = ctx.actor.is_family
    own = distribution.copy_for(role, family=family) if role else CopyKind.FULL
    if wanted is None:
        return own
    if role is None or may_have(role, wanted, family=family):
        return wanted
    raise NotAllowed(
        "The full minutes are for the professionals in the group.",
        hint=f"You can have your own copy: `/coregroup minutes export {own.value}`.",
    )


def export(ctx: Ctx, view: GroupView, args: Args, find: Finder) -> Reply:
    """Send the requester a document of published minutes, privately, in the format asked for."""
    wanted, fmt, number = _export_choices(args)
    kind = _allowed_copy(ctx, view, wanted)
    fmt = fmt or (Format.DOCX if kind is CopyKind.FULL else Format.PDF)
    minutes = find(number)
    tz, options = ctx.locale.tz, ctx.locale.documents
    pub = published(ctx.session, minutes=minutes, tz=tz)
    rendered = rendered_copy(pub, kind, tz=tz, options=options, fmt=fmt)
    assert minutes.id is not None
    audit(
        ctx,
        group_id=view.id,
        kind=AuditKind.READ,
        what="minutes:export",
        detail=f"minutes={minutes.id} copy={kind.value} format={fmt.value}",
    )
    facts = pub.facts
    message = Message(
        text=f"{facts.reference}: {kind.label} of meeting {facts.meeting_number} ({fmt.label})",
        blocks=(
            Text(
                f"Here are the minutes of meeting {facts.meeting_number} ({facts.meeting_when}, "
                f"version {pub.version.number}) — the {kind.label} — as {fmt.label}."
            ),
            Context(
                f"{rendered.filename} — marked {options.marking or 'with no marking'}. Keep it "
                "within your organisation's secure systems."
            ),
        ),
        attachment=attachment_of(rendered, source_of(minutes.id, kind, fmt)),
    )
    reply = Reply().say(message, to=ToPerson(ctx.actor_id))
    return reply.say(
        f"I've sent you the {kind.label} as {fmt.label} in your direct messages with me "
        f"({rendered.filename})."
    )


def _member(ctx: Ctx, view: GroupView, token: str) -> Person:
    person = resolve_person(
        ctx.session,
        token,
        platform=ctx.platform,
        directory=ctx.directory,
        clock=ctx.clock,
        group_id=view.id,
    )
    in_group = ctx.session.exec(
        select(Membership).where(Membership.group_id == view.id, Membership.person_id == person.id)
    ).first()
    if in_group is None:
        raise BadInput(
            f"{person.display_name} isn't in the core group for {view.reference}.",
            hint="`/coregroup members` lists who is.",
        )
    return person


def sent(ctx: Ctx, view: GroupView, args: Args, find: Finder) -> Reply:
    """Log a copy the chair gave a member another way (by post, by hand), for the deadline."""
    require_manager(view, "log a copy of the minutes sent another way")
    token = args.take()
    if token is None or not is_mention(token):
        raise BadInput(
            "Say who you gave a copy to, and how.", hint=f"For example: `{SENT_EXAMPLE}`"
        )
    number = None
    if args.tokens and (n := _meeting_number(args.tokens[-1])) is not None and len(args.tokens) > 1:
        number = n
        args.tokens.pop()
    how = " ".join(args.rest().split())
    if not how:
        raise BadInput(
            "Say how they got their copy, so the record shows it.",
            hint=f"For example: `{SENT_EXAMPLE}`",
        )
    if len(how) > MAX_HOW:
        raise BadInput(f"Please keep how it was sent under {MAX_HOW} characters.")
    person = _member(ctx, view, token)
    minutes = find(number)
    pub = published(ctx.session, minutes=minutes, tz=ctx.locale.tz)
    assert person.id is not None
    distribution.log_other_means(
        ctx.session, minutes=minutes, person_id=person.id, how=how, now=ctx.now()
    )
    complete = distribution.settle_circulation(ctx.session, minutes=minutes, now=ctx.now())
    lines = [
        f"Logged: {person.display_name} has their copy of the minutes of meeting "
        f"{pub.facts.meeting_number} ({how})."
    ]
    log = distribution.log_of(ctx.session, minutes=minutes)
    counts = distribution.tally(log)
    if complete:
        assert minutes.circulated_at is not None
        verdict = (
            "on time"
            if ctx.local(minutes.circulated_at).date() <= minutes.circulate_due
            else "late"
        )
        lines.append(f"Every member now has their copy: circulation done, {verdict}.")
    else:
        lines.append(f"{counts.delivered} of {counts.total} members have their copy.")
    return Reply().say(
        Message(text=f"{view.reference}: copy logged", blocks=(Text("\n".join(lines)),))
    )


def resend(ctx: Ctx, view: GroupView, args: Args, find: Finder) -> Reply:
    """Send again to members whose copy bounced or had no way to go, with their details now."""
    require_manager(view, "send copies of the minutes again")
    token = args.peek()
    people: list[Person] | None = None
    if token is not None and is_mention(token):
        args.take()
        people = [_member(ctx, view, token)]
    number = _meeting_number(args.take() or "") if args else None
    if args:
        raise BadInput(
            f"I didn't understand '{args.rest()}' here.",
            hint="For example: `/coregroup minutes resend` or `/coregroup minutes resend @ruth`.",
        )
    minutes = find(number)
    published(ctx.session, minutes=minutes, tz=ctx.locale.tz)
    log = distribution.log_of(ctx.session, minutes=minutes)
    targets = people if people is not None else [p for p, _ in log]
    changed = distribution.requeue(
        ctx.session, minutes=minutes, people=targets, platform=ctx.platform, now=ctx.now()
    )
    if not changed:
        who = people[0].display_name if people else "Every member"
        return Reply().say(
            f"{who} has a copy on its way or delivered already, so there's nothing to send again. "
            "`/coregroup minutes` shows each copy."
        )
    going = [
        f"{p.display_name} — by {distribution.how_words(p, d, address=True)}" for p, d in changed
    ]
    blocks: list[Block] = [Text("Sending again:"), Bullets(tuple(going))]
    blocks += _no_route_blocks([(p, d) for p, d in changed])
    return Reply().say(Message(text=f"{view.reference}: copies sent again", blocks=tuple(blocks)))


def _no_route_blocks(rows: Sequence[tuple[Person, Distribution]]) -> list[Block]:
    stuck = [p.display_name for p, d in rows if d.status == DeliveryStatus.NO_ROUTE]
    if not stuck:
        return []
    return [
        Text(
            "To send by other means (no chat account or email address): " + ", ".join(stuck) + "."
        ),
        Context(
            "Give them their copy another way, then log it, e.g. "
            f"`{SENT_EXAMPLE}`. Or record an email address with "
            "`/coregroup add @name <role> email name@example.org` and `/coregroup minutes resend`."
        ),
    ]


def routes_summary(
    ctx: Ctx, members: Sequence[tuple[Membership, Person]], rows: Sequence[Distribution]
) -> list[Block]:
    """How the copies queued at publishing will go, for the chair."""
    people = {p.id: p for _, p in members}
    by_chat = sum(r.method == DeliveryMethod.CHAT for r in rows)
    by_email = [r for r in rows if r.method == DeliveryMethod.EMAIL]
    parts = [f"{by_chat} by direct message"]
    if by_email:
        parts.append(f"{len(by_email)} by email")
    blocks: list[Block] = [
        Text(
            f"Sending now: {', '.join(parts)}. I'll tell you when they have gone, and if any "
            "bounces; `/coregroup minutes` shows each copy."
        )
    ]
    blocks += _no_route_blocks([(people[r.person_id], r) for r in rows if r.person_id in people])
    return blocks
