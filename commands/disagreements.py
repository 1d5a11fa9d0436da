"""Telling a conference chair or team manager, once known, of disagreements recorded before."""

from __future__ import annotations

from bot.core import disagreements as core
from bot.core.access import GroupView
from bot.core.calendar import format_day
from bot.core.context import Ctx
from bot.core.groups import membership_of
from bot.messages import Block, Context, Heading, Message, Reply, Text, ToPerson
from storage.enums import Role
from storage.models import Disagreement, Person


def with_chair_reading(message: Message, view: GroupView) -> Message:
    """A disagreement notice for the conference chair: it says what they may now read."""
    reading = Context(
        "As the conference chair you can now read the group's status and minutes (read only): "
        f"`/coregroup status {view.reference}`, `/coregroup minutes {view.reference}`."
    )
    return Message(text=message.text, blocks=(*message.blocks, reading))


def forward(ctx: Ctx, view: GroupView, reply: Reply, person: Person, *, to_chair: bool) -> int:
    """Send `person` (just named conference chair, or just added as team manager) the group's
    disagreements none of their kind was told of; how many went."""
    assert person.id is not None
    rows = core.unsent(ctx.session, group_id=view.id, to_chair=to_chair)
    if not rows:
        return 0
    core.mark_forwarded(
        ctx.session, rows, to=person, to_chair=to_chair, now=ctx.now(), tz=ctx.locale.tz
    )
    if person.id == ctx.actor_id:
        return len(rows)
    who = "the conference chair" if to_chair else "the team manager"
    blocks: list[Block] = [
        Heading(f"Disagreements recorded earlier — {view.reference}"),
        Text(
            f"Before you were named as {who} for {view.reference}, the core group recorded "
            f"{_count(len(rows))} that no {who.removeprefix('the ')} was told of:"
        ),
        *(Text(_line(ctx, view, row)) for row in rows),
        Context(
            "Guidance asks for a significant disagreement to be shared with the team manager "
            "and brought to the conference chair's attention. The group's chair knows of each."
        ),
    ]
    message = Message(
        text=f"{view.reference}: a disagreement in the core group needs your attention",
        blocks=tuple(blocks),
    )
    reply.say(with_chair_reading(message, view) if to_chair else message, to=ToPerson(person.id))
    return len(rows)


def _count(n: int) -> str:
    return "a disagreement" if n == 1 else f"{n} disagreements"


def _line(ctx: Ctx, view: GroupView, row: Disagreement) -> str:
    raiser = ctx.session.get(Person, row.raised_by)
    membership = membership_of(ctx.session, group_id=view.id, person_id=row.raised_by)
    role = f" ({Role(membership.role).label})" if membership is not None else ""
    name = raiser.display_name if raiser is not None else "A former member"
    day = format_day(row.raised_at.astimezone(ctx.locale.tz).date())
    return f"{name}{role}, {day}: {row.detail}"
