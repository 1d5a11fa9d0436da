"""Ordinary messages, routed to what they answer: an update question, an action reminder, or the
question about a possible new concern.

One conversation at a time per person. A reply that names the message it answers (a thread
reply on Slack, a reply or quote on Teams, `reply <n>` in the local chat) goes to that. Any
other direct message answers what was asked last: a question about a concern, else the update
question, unless an action reminder came after that question. Then the message could belong to
either, and a short question with buttons asks which, holding the words so nothing is lost.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from bot.core import concerns, routing
from bot.core import updates as core
from bot.core.access import audit
from bot.core.context import Ctx
from bot.core.errors import BadInput
from bot.core.routing import Target
from bot.messages import Button, Buttons, Context, InPlace, Message, Reply, Text, ToPerson
from commands.concerns import answer_typed
from commands.plan import reminded_actions, reply_about_actions
from commands.registry import Registry
from commands.updates import answer_update, answer_update_by_id, open_update
from storage.enums import AuditKind
from storage.models import Action, ActionEvent, HeldReply, MemberUpdate

PICK = "reply.route"
LABEL_LIMIT = 60


def register(registry: Registry) -> None:
    """Route ordinary messages, and the buttons of "which is this about?"."""
    registry.listen(on_message)
    registry.click(PICK, click_pick)


def on_message(ctx: Ctx, text: str, direct: bool, answers: Target | None) -> Reply | None:
    """Send a message to what it answers; None when it answers nothing we asked."""
    if answers is not None:
        return _answer(ctx, answers, text)
    if not direct:
        return None
    waiting = concerns.awaiting(ctx.session, person_id=ctx.actor_id, now=ctx.now())
    if waiting is not None and waiting.id is not None:
        return answer_typed(ctx, waiting.id, text)
    update = open_update(ctx)
    reminded = reminded_actions(ctx)
    if update is not None:
        if reminded is not None and _competes(ctx, update, *reminded):
            return _ask_which(ctx, text, update, reminded[0])
        return answer_update(ctx, update, text)
    return reply_about_actions(ctx, text)


def _competes(ctx: Ctx, update: MemberUpdate, actions: list[Action], sent_at: datetime) -> bool:
    """Whether an action reminder could be what a message answers instead of the update: it
    came after the update's last question, and the person has not since replied about it nor
    been asked which of the two they meant (once is enough: the question says how to choose)."""
    if sent_at < update.updated_at:
        return False
    ids = [a.id for a in actions]
    acted = ctx.session.exec(
        select(ActionEvent.id).where(
            col(ActionEvent.action_id).in_(ids),
            ActionEvent.actor_id == ctx.actor_id,
            col(ActionEvent.at) >= sent_at,
        )
    ).first()
    asked = ctx.session.exec(
        select(HeldReply.id).where(
            HeldReply.person_id == ctx.actor_id, col(HeldReply.held_at) >= sent_at
        )
    ).first()
    return acted is None and asked is None


def _answer(ctx: Ctx, target: Target, text: str) -> Reply | None:
    match target.kind:
        case routing.UPDATE:
            return answer_update_by_id(ctx, target.id, text)
        case routing.CONCERN:
            return answer_typed(ctx, target.id, text)
        case routing.ACTION:
            actions = list(
                ctx.session.exec(select(Action).where(col(Action.id).in_(target.ids))).all()
            )
            reply = reply_about_actions(ctx, text, actions)
            return _back_to_update(ctx, reply) if reply is not None else None
    return None


def _back_to_update(ctx: Ctx, reply: Reply) -> Reply:
    """After a reply about an action, the update question again: that is the conversation."""
    update = open_update(ctx)
    if update is None:
        return reply
    convo = core.Conversation.load(ctx.session, update=update, tz=ctx.locale.tz)
    message = core.ask_again(
        convo, now=ctx.now(), before=(Context("Back to your update for the meeting:"),)
    )
    if message is not None:
        reply.say(message, to=ToPerson(ctx.actor_id))
    return reply


def _short(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1].rstrip() + "\u2026"


def _ask_which(ctx: Ctx, text: str, update: MemberUpdate, actions: list[Action]) -> Reply:
    """The message could answer the update question or the reminder that came after it."""
    held = routing.hold(ctx.session, person_id=ctx.actor_id, text=text, now=ctx.now())
    convo = core.Conversation.load(ctx.session, update=update, tz=ctx.locale.tz)
    question = core.current_question(convo)
    asked = question.wording(convo.family) if question is not None else ""
    buttons = [
        Button(
            "My answer to the update question",
            PICK,
            f"{held.id}|{routing.target(routing.UPDATE, update.id)}",
            style="primary",
        )
    ]
    buttons += [
        Button(
            f"About action {a.number}: {_short(a.description)}",
            PICK,
            f"{held.id}|{routing.target(routing.ACTION, a.id)}",
        )
        for a in actions
    ]
    audit(ctx, group_id=convo.meeting.group_id, kind=AuditKind.READ, what="reply:which")
    return Reply().say(
        Message(
            text="Which is this about: your update, or the reminder about your action?",
            blocks=(
                Text(
                    "Is this your answer to the question in your update, or about the action "
                    "in the reminder I sent you?"
                ),
                Context(f"You wrote: {text}"[:2900]),
                *((Context(f"The update question: {asked}"[:2900]),) if asked else ()),
                Buttons(tuple(buttons)),
                Context(
                    "Next time, reply to the message itself (in its thread) and I'll know "
                    "which it answers."
                ),
            ),
        ),
        to=ToPerson(ctx.actor_id),
    )


def click_pick(ctx: Ctx, value: str, _text: str | None) -> Reply:
    """One of "which is this about?": the held words go where the person says."""
    held, _, token = value.partition("|")
    target = Target.parse(token)
    if not held.isdigit() or target is None:
        raise BadInput(
            "That button no longer works.", hint="Type your message again and I'll take it."
        )
    text = routing.take_held(ctx.session, held_id=int(held), person_id=ctx.actor_id, now=ctx.now())
    chosen = "your update" if target.kind == routing.UPDATE else "your action"
    reply = Reply().say(
        Message(
            text=f"Taken as about {chosen}.",
            blocks=(Text(f"Taken as about {chosen}."), Context(f"You wrote: {text}"[:2900])),
        ),
        to=InPlace(),
    )
    answered = _answer(ctx, target, text)
    return reply.extend(answered) if answered is not None else reply
