"""Changes to an action: the chair's (reassign, cancel, due date, reword) and the owner's from
buttons and replies (done, in progress, can't, a note, a new date)."""

from __future__ import annotations

from datetime import date

from bot.core import plan as core
from bot.core.access import GroupView, group_by_id, takes_part_as_family
from bot.core.calendar import format_day
from bot.core.context import Ctx
from bot.core.errors import BadInput, Conflict
from bot.messages import Context, Fields, Heading, Message, Reply, Text, ToPerson
from commands.parse import Args
from commands.plan.shared import (
    ACTION_EXAMPLE,
    MAX_ACTION,
    _action_numbered,
    _card,
    _chair_names,
    _confirmed,
    _due_day,
    _label,
    _member,
    _name,
    _person_is_family,
    _sentence,
    _tell_chairs,
    _with_intro,
    _within,
    _working_day_warning,
)
from storage.enums import ActionStatus
from storage.models import Action

# --- actions: chair changes ---------------------------------------------------------------------


def _open_for_change(view: GroupView, action: Action) -> None:
    status = ActionStatus(action.status)
    if status in (ActionStatus.DONE, ActionStatus.CANCELLED):
        raise Conflict(
            f"Action {action.number} is already {core.STATUS_LABELS[status].lower()}, "
            "so it can't be changed.",
            hint="Add a new action instead, e.g. `" + ACTION_EXAMPLE + "`.",
        )


def _action_to_change(ctx: Ctx, view: GroupView, args: Args, example: str) -> Action:
    """The numbered action the chair is changing, refused when it is already done or cancelled."""
    action = _action_numbered(ctx, view, args.take_int("the action number", example))
    _open_for_change(view, action)
    return action


def _tell_owner(ctx: Ctx, action: Action, intro: str) -> Reply:
    """Send the owner their updated card with a line saying what changed (unless they did it)."""
    if action.owner_id == ctx.actor_id:
        return Reply()
    view = group_by_id(ctx, action.group_id)
    to_family = _person_is_family(ctx, view, action.owner_id)
    card = _card(ctx, action, family=to_family, to_family=to_family)
    return Reply().say(_with_intro(card, intro), to=ToPerson(action.owner_id))


def _reassign(ctx: Ctx, view: GroupView, args: Args) -> Reply:
    example = "/coregroup action reassign 3 @alex"
    action = _action_to_change(ctx, view, args, example)
    new_owner = _member(ctx, view, args.need("who should do it now", example))
    assert new_owner.id is not None
    if new_owner.id == action.owner_id:
        return Reply().say(f"Action {action.number} is already {new_owner.display_name}'s.")
    old_owner = action.owner_id
    core.reassign(
        ctx.session,
        action=action,
        actor_id=ctx.actor_id,
        owner_id=new_owner.id,
        note=args.rest() or None,
        now=ctx.now(),
    )
    reply = Reply().say(
        f"Action {action.number} is now {new_owner.display_name}'s "
        f"(it was {_name(ctx, old_owner)}'s)."
    )
    reply.extend(_tell_owner(ctx, action, f"{ctx.actor.display_name} has given you this action."))
    if old_owner != ctx.actor_id:
        reply.say(
            f"{ctx.actor.display_name} has given {_label(view, action)} to "
            f"{new_owner.display_name}; you don't need to do it any more.",
            to=ToPerson(old_owner),
        )
    return reply


def _cancel(ctx: Ctx, view: GroupView, args: Args) -> Reply:
    example = "/coregroup action cancel 3 no longer needed"
    action = _action_numbered(ctx, view, args.take_int("the action number", example))
    if action.status == ActionStatus.CANCELLED:
        return Reply().say(f"Action {action.number} was already cancelled; nothing changed.")
    _open_for_change(view, action)
    reason = args.rest() or None
    core.change_status(
        ctx.session,
        action=action,
        actor_id=ctx.actor_id,
        status=ActionStatus.CANCELLED,
        note=reason,
        now=ctx.now(),
    )
    reply = Reply().say(
        f"Cancelled action {action.number}. "
        f"Its history is kept: `/coregroup action {action.number}`."
    )
    return reply.extend(
        _tell_owner(ctx, action, f"{ctx.actor.display_name} has cancelled this action.")
    )


def _change_due(ctx: Ctx, view: GroupView, args: Args) -> Reply:
    example = "/coregroup action due 3 15/1"
    action = _action_to_change(ctx, view, args, example)
    text = args.rest()
    if not text:
        raise BadInput("Please give the new due date.", hint=f"For example: `{example}`")
    day, warning = _due_day(ctx, view, text)
    if day == action.due_on:
        return Reply().say(f"Action {action.number} is already due {format_day(day)}.")
    old = action.due_on
    core.change_due(
        ctx.session, action=action, actor_id=ctx.actor_id, due_on=day, note=None, now=ctx.now()
    )
    lines = [f"Action {action.number} is now due {format_day(day)} (was {format_day(old)})."]
    if warning:
        lines.append(warning)
    reply = Reply().say("\n".join(lines))
    return reply.extend(
        _tell_owner(ctx, action, f"{ctx.actor.display_name} has changed the due date.")
    )


def _edit_action(ctx: Ctx, view: GroupView, args: Args) -> Reply:
    example = '/coregroup action edit 3 "book the GP appointment and go with mum"'
    action = _action_to_change(ctx, view, args, example)
    text = _within(_sentence(args.rest()), MAX_ACTION, "action", example)
    if not text:
        raise BadInput("Please give the new wording.", hint=f"For example: `{example}`")
    if text == action.description:
        return Reply().say(f"Action {action.number} already says that; nothing changed.")
    core.edit_action(
        ctx.session, action=action, actor_id=ctx.actor_id, description=text, now=ctx.now()
    )
    reply = Reply().say(
        f"Action {action.number} now reads: {text} (the old wording is kept in its history)."
    )
    return reply.extend(
        _tell_owner(ctx, action, f"{ctx.actor.display_name} has reworded this action.")
    )


# --- applying updates from buttons and replies --------------------------------------------------


def _apply_done(ctx: Ctx, view: GroupView, action: Action, note: str | None) -> Reply:
    if action.status == ActionStatus.DONE:
        return Reply().say(
            f"Action {action.number} was already marked done — nothing changed. "
            f"{_status_now(ctx, action)}"
        )
    _refuse_if_cancelled(action)
    event = core.change_status(
        ctx.session,
        action=action,
        actor_id=ctx.actor_id,
        status=ActionStatus.DONE,
        note=note,
        now=ctx.now(),
    )
    text = f"Marked {_label(view, action)} done" + (f", with the note: {note}" if note else ".")
    return _confirmed(ctx, view, action, text, event)


def _apply_progress(ctx: Ctx, view: GroupView, action: Action, note: str | None) -> Reply:
    _refuse_if_closed(action)
    event = core.change_status(
        ctx.session,
        action=action,
        actor_id=ctx.actor_id,
        status=ActionStatus.IN_PROGRESS,
        note=note,
        now=ctx.now(),
    )
    text = f"Marked {_label(view, action)} in progress" + (
        f", with the note: {note}" if note else "."
    )
    return _confirmed(ctx, view, action, text, event)


def _apply_cannot(ctx: Ctx, view: GroupView, action: Action, reason: str) -> Reply:
    _refuse_if_closed(action)
    event = core.change_status(
        ctx.session,
        action=action,
        actor_id=ctx.actor_id,
        status=ActionStatus.DECLINED,
        note=reason,
        now=ctx.now(),
    )
    reply = _confirmed(
        ctx,
        view,
        action,
        f"Recorded that {_label(view, action)} can't be done, because: {reason}. "
        f"I've told {_chair_names(ctx, view)}.",
        event,
    )
    return reply.extend(_tell_chairs(ctx, view, _cannot_message(ctx, view, action, reason)))


def _cannot_message(ctx: Ctx, view: GroupView, action: Action, reason: str) -> Message:
    n = action.number
    return Message(
        text=f"{view.reference}: action {n} can't be done — see the reason",
        blocks=(
            Heading(f"Action {n} can't be done · {view.reference}"),
            Text(f"{ctx.actor.display_name} says action {n} can't be done: {action.description}"),
            Fields((("Reason", reason), ("Was due", format_day(action.due_on)))),
            Context(
                f"Give it to someone else with `/coregroup action reassign {n} @name`, change "
                f"the date with `/coregroup action due {n} 15/1`, or cancel it with "
                f"`/coregroup action cancel {n} <reason>`."
            ),
        ),
    )


def _apply_note(ctx: Ctx, view: GroupView, action: Action, note: str) -> Reply:
    event = core.add_note(
        ctx.session, action=action, actor_id=ctx.actor_id, note=note, now=ctx.now()
    )
    return _confirmed(ctx, view, action, f"Added a note to {_label(view, action)}: {note}", event)


def _apply_new_due(ctx: Ctx, view: GroupView, action: Action, day: date, note: str | None) -> Reply:
    """Move the due date now (a chair's change, or an owner's request in words)."""
    _refuse_if_closed(action)
    if day == action.due_on:
        if note:
            return _apply_note(ctx, view, action, note)
        return Reply().say(
            f"Action {action.number} ({view.reference}) is already due {format_day(day)}; "
            "nothing changed."
        )
    old = action.due_on
    event = core.change_due(
        ctx.session, action=action, actor_id=ctx.actor_id, due_on=day, note=note, now=ctx.now()
    )
    warning = _working_day_warning(ctx, view, day)
    extra = [Context(warning)] if warning else []
    told = "" if view.can_manage else f" I've told {_chair_names(ctx, view)}."
    reply = _confirmed(
        ctx,
        view,
        action,
        f"Moved {_label(view, action)} from {format_day(old)} to {format_day(day)}.{told}",
        event,
        *extra,
    )
    if view.can_manage:
        return reply.extend(
            _tell_owner(ctx, action, f"{ctx.actor.display_name} has changed the due date.")
        )
    message = Message(
        text=f"{view.reference}: action {action.number} has a new due date",
        blocks=(
            Heading(f"Action {action.number} has a new due date · {view.reference}"),
            Text(
                f"{ctx.actor.display_name} needs until {format_day(day)} for action "
                f"{action.number} (was {format_day(old)}): {action.description}"
            ),
            *([Fields((("Note", note),))] if note else []),
            Context(f"To set another date: `/coregroup action due {action.number} 15/1`."),
        ),
    )
    return reply.extend(_tell_chairs(ctx, view, message))


def _refuse_if_cancelled(action: Action) -> None:
    if action.status == ActionStatus.CANCELLED:
        raise Conflict(
            f"Action {action.number} was cancelled by the chair, so it can't be updated.",
            hint=f"`/coregroup action {action.number}` shows why; ask the chair if it's needed.",
        )


def _refuse_if_closed(action: Action) -> None:
    _refuse_if_cancelled(action)
    if action.status == ActionStatus.DONE:
        raise Conflict(
            f"Action {action.number} is already done.",
            hint=f"`/coregroup action {action.number}` shows who marked it done and when.",
        )


def _status_now(ctx: Ctx, action: Action) -> str:
    assert action.id is not None
    events = core.history(ctx.session, action_id=action.id)
    names = core.names_of(ctx.session, [e.actor_id for e in events])
    family = takes_part_as_family(ctx.session, group_id=action.group_id, person_id=ctx.actor_id)
    return core.status_phrase(action, events, names, ctx.locale.tz, family=family) + "."
