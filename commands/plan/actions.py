"""`/coregroup action` (adding one, showing one, dispatching changes) and `/coregroup actions`
(listing them: open, mine, overdue or all)."""

from __future__ import annotations

import re
from datetime import date

from bot.core import plan as core
from bot.core.access import (
    GroupView,
    audit_reads,
    group_for_channel,
    require_active,
    require_manager,
    resolve_group,
    visible_groups,
)
from bot.core.calendar import format_day
from bot.core.context import Ctx
from bot.core.errors import BadInput
from bot.messages import Block, Context, Heading, Message, Reply, Text, ToGroup, ToPerson, bullets
from commands.parse import Args, is_reference, pick
from commands.plan.changes import _cancel, _change_due, _edit_action, _reassign
from commands.plan.shared import (
    ACTION_EXAMPLE,
    MAX_ACTION,
    OUTCOME_EXAMPLE,
    _action_numbered,
    _card,
    _due_day,
    _may_see,
    _member,
    _outcome_numbered,
    _person_is_family,
    _sentence,
    _space_has_family,
    _with_intro,
    _within,
)
from storage.enums import ActionStatus, OutcomeStatus
from storage.models import Action, Outcome, Person

# --- actions: adding ----------------------------------------------------------------------------

_ACTION_WORDS = {
    "add": "add",
    "new": "add",
    "show": "show",
    "reassign": "reassign",
    "give": "reassign",
    "cancel": "cancel",
    "due": "due",
    "date": "due",
    "move": "due",
    "edit": "edit",
    "reword": "edit",
}


_ACTION_HINT = (
    f"For example: `{ACTION_EXAMPLE}`, `/coregroup action 3`, "
    "`/coregroup action reassign 3 @alex`, "
    '`/coregroup action due 3 15/1`, `/coregroup action edit 3 "…"` or '
    "`/coregroup action cancel 3 no longer needed`."
)


_OUTCOME_FLAG = re.compile(r"^outcome[=:#]?(\d+)$", re.IGNORECASE)


def action_command(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """`action @name to … by …`, `action 3`, or `action reassign|cancel|due|edit 3 …`."""
    assert view is not None
    first = args.peek()
    if first is None:
        raise BadInput("What should the action be?", hint=_ACTION_HINT)
    if first.startswith(("@", "<@")):
        return _add_action(ctx, view, args)
    if first.lstrip("#").isdigit():
        return _show_action(ctx, view, args.take_int("the action number", "action 3"))
    word = pick(
        args.need("what to do", ACTION_EXAMPLE),
        _ACTION_WORDS,
        what="action command",
        example=_ACTION_HINT,
    )
    if word == "add":
        return _add_action(ctx, view, args)
    if word == "show":
        return _show_action(ctx, view, args.take_int("the action number", "action show 3"))
    require_manager(view, "change actions")
    require_active(view)
    return {
        "reassign": _reassign,
        "cancel": _cancel,
        "due": _change_due,
        "edit": _edit_action,
    }[word](ctx, view, args)


def _take_outcome_flag(args: Args) -> int | None:
    """Remove "outcome 2" (or "outcome=2") from anywhere in the words."""
    tokens = args.tokens
    for i, token in enumerate(tokens):
        flag = _OUTCOME_FLAG.match(token)
        if flag:
            del tokens[i]
            return int(flag[1])
        nxt = tokens[i + 1].lstrip("#") if i + 1 < len(tokens) else ""
        if token.lower() == "outcome" and nxt.isdigit():
            del tokens[i : i + 2]
            return int(nxt)
    return None


def _take_private(words: str) -> tuple[str, bool]:
    """Strip a trailing "private" from some words."""
    parts = words.split()
    if parts and parts[-1].lower() == "private":
        return " ".join(parts[:-1]), True
    return words, False


def _choose_outcome(ctx: Ctx, view: GroupView, number: int | None) -> Outcome:
    """The outcome named, or the only active one; else a question listing them."""
    if number is not None:
        outcome = _outcome_numbered(ctx, view, number)
        if outcome.status != OutcomeStatus.ACTIVE:
            raise BadInput(
                f"Outcome {number} has ended, so it can't take new actions.",
                hint="`/coregroup outcomes` lists the active ones.",
            )
        return outcome
    active = core.active_outcomes(ctx.session, group_id=view.id)
    if len(active) == 1:
        return active[0]
    if not active:
        raise BadInput(
            f"The plan for {view.reference} has no outcomes yet; each action sits under one.",
            hint=f"Add one first, e.g. `{OUTCOME_EXAMPLE}`.",
        )
    listed = "; ".join(f"{o.number}. {o.title}" for o in active)
    raise BadInput(
        "Which outcome is this action for?",
        hint=f"Add `outcome <number>` at the end, e.g. `{ACTION_EXAMPLE} outcome "
        f"{active[0].number}`. Outcomes: {listed}",
    )


def _add_action(ctx: Ctx, view: GroupView, args: Args) -> Reply:
    require_manager(view, "add actions")
    require_active(view)
    owner = _member(ctx, view, args.need("who will do it", ACTION_EXAMPLE))
    outcome_number = _take_outcome_flag(args)
    args.take_keyword("to")
    before, when = args.split_at("by", "due")
    description, private_before = _take_private(before.strip(" ,;:-"))
    description = _within(_sentence(description), MAX_ACTION, "action", ACTION_EXAMPLE)
    if not description:
        raise BadInput("Please say what needs doing.", hint=f"For example: `{ACTION_EXAMPLE}`")
    if when is None:
        raise BadInput(
            "When is it due? Every action needs a date.",
            hint=f"End with `by <date>`, e.g. `{ACTION_EXAMPLE}` or `… by 15/1`.",
        )
    when, private_after = _take_private(when)
    due, warning = _due_day(ctx, view, when)
    outcome = _choose_outcome(ctx, view, outcome_number)
    assert owner.id is not None
    action = core.add_action(
        ctx.session,
        group_id=view.id,
        outcome=outcome,
        owner_id=owner.id,
        description=description,
        due_on=due,
        shared=not (private_before or private_after),
        actor_id=ctx.actor_id,
        now=ctx.now(),
    )
    return _announce_new_action(ctx, view, action, owner, warning)


def _announce_new_action(
    ctx: Ctx, view: GroupView, action: Action, owner: Person, warning: str | None
) -> Reply:
    reply = Reply()
    lines = [
        f"Added action {action.number} for {owner.display_name}, due {format_day(action.due_on)}."
    ]
    if warning:
        lines.append(
            f"{warning} To use it: `/coregroup action due {action.number} "
            f"{_short_day(ctx, view, action.due_on)}`"
        )
    if action.shared_with_family:
        reply.say(_card(ctx, action, family=_space_has_family(ctx, view)), to=ToGroup(view.id))
    else:
        lines.append("It is for professionals only, so it was not posted in the group's channel.")
    assert owner.id is not None
    to_family = _person_is_family(ctx, view, owner.id)
    card = _card(ctx, action, family=to_family, to_family=to_family)
    if owner.id == ctx.actor_id:
        reply.say(card)
    elif to_family:
        intro = (
            f"{ctx.actor.display_name} has written down something you agreed to do, as part of "
            "your family's plan. You can tell us how it's going with the buttons."
        )
        reply.say(_with_intro(card, intro), to=ToPerson(owner.id))
    else:
        intro = f"{ctx.actor.display_name} has given you a new action for {view.reference}."
        reply.say(_with_intro(card, intro), to=ToPerson(owner.id))
    return reply.say("\n".join(lines))


def _short_day(ctx: Ctx, view: GroupView, day: date) -> str:
    """The next working day after `day`, written as d/m for a command example."""
    nxt = ctx.calendar(view.case).next_working_day(day)
    return f"{nxt.day}/{nxt.month}"


# --- actions: showing and listing ---------------------------------------------------------------


def _show_action(ctx: Ctx, view: GroupView, number: int) -> Reply:
    action = _action_numbered(ctx, view, number)
    family = view.is_family  # a private reply: only the actor sees it, wherever they asked
    lines = core.history_lines(ctx.session, action=action, tz=ctx.locale.tz, family=family)
    blocks: list[Block] = [Heading(f"History of action {action.number}"), bullets(lines)]
    if not family:
        blocks.append(
            Context(
                f"Notes are for professionals only unless shared: "
                f"`/coregroup share action {action.number}` shares the latest with the family."
            )
        )
    history = Message(
        text=f"{view.reference}: history of action {action.number}", blocks=tuple(blocks)
    )
    return Reply().say(_card(ctx, action, family=family, to_family=family)).say(history)


def _action_line(action: Action, names: dict[int, str], today: date) -> str:
    status = core.STATUS_LABELS[ActionStatus(action.status)].lower()
    line = (
        f"{action.number}. {action.description} — {names.get(action.owner_id, 'someone')} — "
        f"due {format_day(action.due_on)} — {status}"
    )
    if core.is_overdue(action, today):
        line = f"⚠ OVERDUE by {core.days_phrase((today - action.due_on).days)}: {line}"
    return line


_LIST_WORDS = {
    "open": "open",
    "mine": "mine",
    "my": "mine",
    "me": "mine",
    "overdue": "overdue",
    "late": "overdue",
    "all": "all",
    "everything": "all",
}


def list_actions(ctx: Ctx, _view: GroupView | None, args: Args) -> Reply:
    """`actions [mine|overdue|all]`: open ones by default, overdue first and marked."""
    ref = next((t for t in args.tokens if is_reference(t)), None)
    if ref is not None:
        args.tokens.remove(ref)
    word = args.take()
    which = "open" if word is None else _pick_list_word(word)
    across = ref is None and which == "mine" and group_for_channel(ctx) is None
    if across:
        views = [v for v in visible_groups(ctx) if not v.is_observer]
        if not views:
            resolve_group(ctx, None)  # explains how to join or start a group
    else:
        views = [resolve_group(ctx, ref, include_closed=True)]
    reply = Reply()
    audit_reads(ctx, group_ids=[v.id for v in views], what="command:actions")
    found = core.actions_of_groups(ctx.session, group_ids=[v.id for v in views])
    names = core.names_of(ctx.session, [a.owner_id for mine in found.values() for a in mine])
    for view in views:
        message = _actions_message(
            ctx, view, which, found.get(view.id, []), names, skip_empty=across
        )
        if message is not None:
            reply.say(message)
    if not reply.outbound:
        if ctx.actor.is_family:
            reply.say("You have nothing open to do at the moment.")
        else:
            reply.say("You have no open actions in any of your core groups.")
    return reply


def _pick_list_word(word: str) -> str:
    return pick(
        word,
        _LIST_WORDS,
        what="list",
        example="For example: `/coregroup actions overdue` or `/coregroup actions mine`.",
    )


def _actions_message(
    ctx: Ctx,
    view: GroupView,
    which: str,
    everything: list[Action],
    names: dict[int, str],
    *,
    skip_empty: bool = False,
) -> Message | None:
    """The group's actions (`everything`, by number) for one list, their owners' names in
    `names` (None when empty and `skip_empty`)."""
    today = ctx.today()
    actions = [a for a in everything if _may_see(ctx, view, a)]
    if which != "all":
        actions = [a for a in actions if a.status in core.OPEN_STATUSES]
    if which == "mine":
        actions = [a for a in actions if a.owner_id == ctx.actor_id]
    if which == "overdue":
        actions = [a for a in actions if core.is_overdue(a, today)]
    actions.sort(
        key=lambda a: (
            not core.is_overdue(a, today),
            a.status not in core.OPEN_STATUSES,
            a.due_on,
            a.number,
        )
    )
    title = {
        "open": "Open actions",
        "mine": "Your open actions",
        "overdue": "Overdue actions",
        "all": "All actions",
    }[which]
    if skip_empty and not actions:
        return None
    heading = title if view.is_family else f"{title} · {view.reference}"
    blocks: list[Block] = [Heading(heading)]
    if actions:
        blocks.append(bullets([_action_line(a, names, today) for a in actions]))
        example = actions[0].number
        blocks.append(
            Context(f"`/coregroup action {example}` shows one action with its buttons and history.")
        )
    else:
        blocks.append(Text({"overdue": "Nothing is overdue."}.get(which, "No actions to show.")))
    return Message(text=f"{title} for {view.reference}", blocks=tuple(blocks))
