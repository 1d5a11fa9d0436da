"""The action card's buttons: done, in progress, can't, a new date (proposed, accepted or
declined) and undo."""

from __future__ import annotations

from datetime import date

from bot.core import plan as core
from bot.core.access import GroupView, group_by_id, hidden, require_active, require_manager
from bot.core.calendar import format_day
from bot.core.context import Ctx
from bot.core.errors import BadInput, NotAllowed
from bot.messages import Button, Buttons, Heading, InPlace, Message, Reply, Text
from commands.plan.changes import (
    _apply_cannot,
    _apply_done,
    _apply_new_due,
    _apply_progress,
    _refuse_if_closed,
    _tell_owner,
)
from commands.plan.shared import (
    _audit,
    _card,
    _chair_names,
    _due_day,
    _here_is_family,
    _label,
    _may_see,
    _name,
    _tell_chairs,
    _with_intro,
)
from storage.enums import ActionEventKind, ActionStatus, AuditKind
from storage.models import Action, ActionEvent

# --- the action card's buttons ------------------------------------------------------------------


def _visible_action(ctx: Ctx, value: str) -> tuple[Action, GroupView]:
    """The action a button names, if the actor may see it; else NotFound, as if it never was."""
    action = ctx.session.get(Action, int(value)) if value.isdigit() else None
    if action is None:
        raise hidden(ctx, what="action", detail=f"id={value[:20]}")
    view = group_by_id(ctx, action.group_id)
    if not _may_see(ctx, view, action):
        raise hidden(ctx, what="action", detail=f"id={action.id}")
    return action, view


def _pressable(ctx: Ctx, value: str) -> tuple[Action, GroupView]:
    """The action, if the actor may update it: its owner, or a chair or key worker."""
    action, view = _visible_action(ctx, value)
    if action.owner_id != ctx.actor_id and not view.can_manage:
        raise NotAllowed(
            f"Sorry — only {_name(ctx, action.owner_id)} (whose action it is) or the chair can "
            f"update action {action.number}.",
            hint="If you have news about it, tell them or the chair, or bring it to the next "
            "meeting.",
        )
    require_active(view)
    return action, view


def _in_place(ctx: Ctx, action: Action, reply: Reply) -> Reply:
    """The updated card replaces the one clicked, then the rest of the reply."""
    view = group_by_id(ctx, action.group_id)
    card = _card(ctx, action, family=_here_is_family(ctx, view), to_family=view.is_family)
    return Reply().say(card, to=InPlace()).extend(reply)


def click_done(ctx: Ctx, value: str, text: str | None) -> Reply:
    """Done: records who and when; the card updates in place. Pressing it twice is harmless."""
    action, view = _pressable(ctx, value)
    _audit(ctx, view, "click:action.done", action, AuditKind.CHANGE)
    return _in_place(ctx, action, _apply_done(ctx, view, action, (text or "").strip() or None))


def click_progress(ctx: Ctx, value: str, text: str | None) -> Reply:
    """In progress, with the latest news as a note."""
    action, view = _pressable(ctx, value)
    _audit(ctx, view, "click:action.progress", action, AuditKind.CHANGE)
    note = (text or "").strip() or None
    return _in_place(ctx, action, _apply_progress(ctx, view, action, note))


def click_cannot(ctx: Ctx, value: str, text: str | None) -> Reply:
    """Can't do, with a reason; the chair is told."""
    action, view = _pressable(ctx, value)
    reason = (text or "").strip()
    if not reason:
        raise BadInput(
            "Please say what's stopping it, so the chair can help.",
            hint="For example: the family have moved to a new GP.",
        )
    _audit(ctx, view, "click:action.cannot", action, AuditKind.CHANGE)
    return _in_place(ctx, action, _apply_cannot(ctx, view, action, reason))


def click_new_date(ctx: Ctx, value: str, text: str | None) -> Reply:
    """New date: a chair changes it; an owner's date goes to the chair to accept or decline."""
    action, view = _pressable(ctx, value)
    _refuse_if_closed(action)
    day, warning = _due_day(ctx, view, text or "")
    _audit(ctx, view, "click:action.newdate", action, AuditKind.CHANGE)
    if view.can_manage:
        return _in_place(ctx, action, _apply_new_due(ctx, view, action, day, None))
    if day == action.due_on:
        return Reply().say(f"Action {action.number} is already due {format_day(day)}.")
    proposal = core.propose_date(
        ctx.session, action=action, actor_id=ctx.actor_id, due_on=day, note=None, now=ctx.now()
    )
    lines = [
        f"I've asked {_chair_names(ctx, view)} to move {_label(view, action)} to "
        f"{format_day(day)}; I'll tell you what they decide. Until then it stays due "
        f"{format_day(action.due_on)}."
    ]
    if warning:
        lines.append(warning)
    reply = Reply().say("\n".join(lines))
    return reply.extend(_tell_chairs(ctx, view, _proposal_message(ctx, view, action, proposal)))


def _proposal_message(ctx: Ctx, view: GroupView, action: Action, proposal: ActionEvent) -> Message:
    n, value = action.number, str(proposal.id)
    new_day = date.fromisoformat(proposal.new_value or "")
    return Message(
        text=f"{view.reference}: a new date is asked for action {n}",
        blocks=(
            Heading(f"New date asked for action {n} · {view.reference}"),
            Text(
                f"{ctx.actor.display_name} asks to move action {n} from "
                f"{format_day(action.due_on)} to {format_day(new_day)}: {action.description}"
            ),
            Buttons(
                (
                    Button("Accept", "action.accept_date", value, style="primary"),
                    Button(
                        "Decline",
                        "action.decline_date",
                        value,
                        ask=f"Why keep {format_day(action.due_on)}? {ctx.actor.display_name} "
                        "will see this.",
                    ),
                )
            ),
        ),
    )


def _proposal(ctx: Ctx, value: str) -> tuple[ActionEvent, Action, GroupView]:
    """A date proposal a chair is answering (NotFound for anyone who may not see it)."""
    event = ctx.session.get(ActionEvent, int(value)) if value.isdigit() else None
    if event is None or event.kind != ActionEventKind.DATE_PROPOSED:
        raise hidden(ctx, what="action-event", detail=f"id={value[:20]}")
    action, view = _visible_action(ctx, str(event.action_id))
    require_manager(view, "agree new dates for actions")
    require_active(view)
    return event, action, view


def _already_settled(ctx: Ctx, action: Action, proposal: ActionEvent) -> Reply | None:
    settled = core.proposal_settled_by(ctx.session, proposal=proposal)
    if settled is None and action.status in core.OPEN_STATUSES:
        return None
    if settled is None:
        status = core.STATUS_LABELS[ActionStatus(action.status)].lower()
        text = f"Action {action.number} is now {status}, so there's nothing to decide."
    else:
        names = core.names_of(ctx.session, [settled.actor_id])
        text = "This request has already been dealt with: " + core.describe_event(
            settled, names, ctx.locale.tz
        )
    return Reply().say(Message.plain(text), to=InPlace())


def click_accept_date(ctx: Ctx, value: str, text: str | None) -> Reply:
    """The chair accepts an owner's new date: the due date changes, with history."""
    proposal, action, view = _proposal(ctx, value)
    _audit(ctx, view, "click:action.accept_date", action, AuditKind.CHANGE)
    settled = _already_settled(ctx, action, proposal)
    if settled is not None:
        return settled
    day = date.fromisoformat(proposal.new_value or "")
    asker = _name(ctx, proposal.actor_id)
    core.change_due(
        ctx.session,
        action=action,
        actor_id=ctx.actor_id,
        due_on=day,
        note=f"Asked for by {asker}; agreed",
        now=ctx.now(),
    )
    reply = Reply().say(
        Message.plain(f"Accepted: {_label(view, action)} is now due {format_day(day)}."),
        to=InPlace(),
    )
    return reply.extend(
        _tell_owner(
            ctx, action, f"{ctx.actor.display_name} agreed your new date: {format_day(day)}."
        )
    )


def click_decline_date(ctx: Ctx, value: str, text: str | None) -> Reply:
    """The chair keeps the current date; the owner is told why."""
    proposal, action, view = _proposal(ctx, value)
    _audit(ctx, view, "click:action.decline_date", action, AuditKind.CHANGE)
    settled = _already_settled(ctx, action, proposal)
    if settled is not None:
        return settled
    reason = (text or "").strip() or None
    core.decline_date(
        ctx.session,
        action=action,
        proposal=proposal,
        actor_id=ctx.actor_id,
        note=reason,
        now=ctx.now(),
    )
    asked = format_day(date.fromisoformat(proposal.new_value or ""))
    reply = Reply().say(
        Message.plain(
            f"Declined: {_label(view, action)} stays due {format_day(action.due_on)} (not {asked})."
        ),
        to=InPlace(),
    )
    why = f" Their reason: {reason}" if reason else ""
    return reply.extend(
        _tell_owner(
            ctx,
            action,
            f"{ctx.actor.display_name} kept the due date {format_day(action.due_on)} "
            f"rather than {asked}.{why}",
        )
    )


def click_undo(ctx: Ctx, value: str, text: str | None) -> Reply:
    """Reverse a change just made (itself recorded in the history)."""
    event = ctx.session.get(ActionEvent, int(value)) if value.isdigit() else None
    if event is None:
        raise hidden(ctx, what="action-event", detail=f"id={value[:20]}")
    action, view = _visible_action(ctx, str(event.action_id))
    if event.actor_id != ctx.actor_id and not view.can_manage:
        raise NotAllowed(
            "Only the person who made that change, or the chair, can undo it.",
            hint=f"`/coregroup action {action.number}` shows its history.",
        )
    require_active(view)
    _audit(ctx, view, "click:action.undo", action, AuditKind.CHANGE)
    was_declined = event.kind == ActionEventKind.STATUS and event.new_value == ActionStatus.DECLINED
    moved = event.kind == ActionEventKind.DUE_CHANGED
    core.undo(ctx.session, event=event, actor_id=ctx.actor_id, now=ctx.now())
    status = core.STATUS_LABELS[ActionStatus(action.status)].lower()
    reply = Reply().say(
        _with_intro(
            _card(ctx, action, family=_here_is_family(ctx, view)),
            f"Undone: {_label(view, action)} is {status} again.",
        ),
        to=InPlace(),
    )
    if (was_declined or moved) and not view.can_manage:
        note = Message.plain(
            f"{view.reference}: {ctx.actor.display_name} has undone their last change to action "
            f"{action.number}; it is {status}, due {format_day(action.due_on)}."
        )
        reply.extend(_tell_chairs(ctx, view, note))
    return reply
