"""Answering "Is this a new concern the chair should know now?": by button or a typed yes / no.

Yes tells the chairs at once; no keeps the words as they were given. Either way they stay for
professionals only, and the conversation the question interrupted (an update) carries on.
"""

from __future__ import annotations

from bot.core import concerns as core
from bot.core.access import audit, group_by_id, hidden
from bot.core.context import Ctx
from bot.core.groups import chairs
from bot.messages import Context, InPlace, Message, Reply, Text, ToPerson
from commands.registry import Registry
from commands.updates import resume_after_concern
from storage.enums import AuditKind, ConcernState
from storage.models import Concern


def register(registry: Registry) -> None:
    """Add the Yes / No buttons of the question."""
    registry.click(core.YES, click_yes)
    registry.click(core.NO, click_no)


def _own(ctx: Ctx, value: str) -> Concern:
    """The actor's own question; NotFound (as if it never was) for anyone else's."""
    concern = ctx.session.get(Concern, int(value)) if value.isdigit() else None
    if concern is None or concern.author_id != ctx.actor_id:
        raise hidden(ctx, what="concern", detail=f"id={value[:20]}")
    group_by_id(ctx, concern.group_id)  # a former member sees nothing
    return concern


def click_yes(ctx: Ctx, value: str, _text: str | None) -> Reply:
    """Yes: the chairs are told now."""
    return _answered(ctx, _own(ctx, value), ConcernState.YES, in_place=True)


def click_no(ctx: Ctx, value: str, _text: str | None) -> Reply:
    """No: kept as it was given."""
    return _answered(ctx, _own(ctx, value), ConcernState.NO, in_place=True)


def answer_typed(ctx: Ctx, concern_id: int, text: str) -> Reply:
    """A typed reply to the question: yes, no, or "later" to leave it (the chair still hears)."""
    concern = _own(ctx, str(concern_id))
    state = core.read_answer(text)
    if state is None:
        # Nothing typed is lost: it is shown back, with the question asked again.
        view = group_by_id(ctx, concern.group_id)
        question = core.question_message(concern, reference=view.reference, tz=ctx.locale.tz)
        blocks = (
            Text("Before we go on, please answer yes or no (or \u201clater\u201d)."),
            Context(f"You typed: {text}"[:2900]),
            *question.blocks,
        )
        return Reply().say(
            Message(text=question.text, blocks=blocks, expects=question.expects),
            to=ToPerson(ctx.actor_id),
        )
    return _answered(ctx, concern, state, in_place=False)


def _answered(ctx: Ctx, concern: Concern, state: ConcernState, *, in_place: bool) -> Reply:
    view = group_by_id(ctx, concern.group_id)
    reply = Reply()
    if ConcernState(concern.state).answered:
        said = "yes" if concern.state == ConcernState.YES else "no"
        return reply.say(
            f"You've already answered that question ({said}); nothing more to do. Anything new "
            "can go to the chair directly."
        )
    now, tz = ctx.now(), ctx.locale.tz
    was_escalated = core.answer(ctx.session, concern=concern, state=state, now=now)
    audit(
        ctx,
        group_id=view.id,
        kind=AuditKind.CHANGE,
        what=f"concern:{state.value}",
        detail=f"concern={concern.id}",
    )
    others = [p for p in chairs(ctx.session, group_id=view.id) if p.id != ctx.actor_id]
    names = " and ".join(p.display_name for p in others) or "the chair"
    tell = None
    if state == ConcernState.YES:
        text = (
            f"Thank you. I've told {names} now. It is under New concerns in the brief and the "
            "draft minutes, for professionals only."
            if others
            else "Thank you. It is under New concerns in the brief and the draft minutes, for "
            "professionals only."
        )
        tell = core.chair_message(
            ctx.session, concern=concern, reference=view.reference, tz=tz, confirmed=True
        )
    elif state == ConcernState.NO:
        text = "Thanks, it's kept as you gave it, for professionals only."
        if was_escalated:
            tell = core.not_new_message(ctx.session, concern=concern, reference=view.reference)
    else:
        when = core.escalates_at(concern).astimezone(tz).strftime("%H:%M")
        text = (
            f"All right, I'll leave it for now. If you haven't answered by {when}, {names} "
            "will see it anyway; the buttons above still work."
        )
    shown = {ConcernState.YES: "Yes", ConcernState.NO: "No", ConcernState.LATER: "Not yet"}
    if in_place:
        reply.say(
            Message(
                text=f"{view.reference}: {core.QUESTION} {shown[state]}",
                blocks=(
                    Text(core.QUESTION),
                    Context(f"You wrote, in {concern.about}: \u201c{concern.text}\u201d"[:2900]),
                    Context(f"Your answer: {shown[state]}"),
                ),
            ),
            to=InPlace(),
        )
    reply.say(text, to=ToPerson(ctx.actor_id))
    if tell is not None:
        for chair in others:
            assert chair.id is not None
            reply.say(tell, to=ToPerson(chair.id))
    if concern.meeting_id is not None:
        reply.extend(resume_after_concern(ctx, concern.meeting_id, concern.raised_at))
    return reply
