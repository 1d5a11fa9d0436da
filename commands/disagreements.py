"""Telling a conference chair or team manager, once known, of disagreements recorded before."""

from __future__ import annotations

from bot.core import disagreements as core
from bot.core.access import GroupView
from bot.core.context import Ctx
from bot.messages import Context, Message, Reply, ToPerson
from storage.models import Person


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
    message = core.earlier_notice(
        ctx.session,
        rows,
        group_id=view.id,
        reference=view.reference,
        intro=f"Before you were named as {who} for {view.reference}, the core group recorded "
        f"{core.count_words(len(rows))} that no {who.removeprefix('the ')} was told of:",
        tz=ctx.locale.tz,
    )
    reply.say(with_chair_reading(message, view) if to_chair else message, to=ToPerson(person.id))
    return len(rows)
