"""`/coregroup outcome add|edit|end|<n>` and `/coregroup outcomes`: the plan's outcomes."""

from __future__ import annotations

from bot.core import plan as core
from bot.core.access import GroupView, require_active, require_manager
from bot.core.calendar import format_day
from bot.core.context import Ctx
from bot.core.errors import BadInput
from bot.core.meetings import format_when
from bot.messages import Block, Context, Heading, Message, Reply, Text, ToGroup, bullets
from commands.parse import Args, pick
from commands.plan.actions import _action_line
from commands.plan.shared import (
    MAX_OUTCOME,
    OUTCOME_EXAMPLE,
    QUIET_DAYS,
    _may_see,
    _outcome_numbered,
    _sentence,
    _within,
)
from storage.enums import OutcomeEventKind, OutcomeStatus
from storage.models import Action, Outcome

# --- outcomes -----------------------------------------------------------------------------------


def outcome_command(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """`outcome add|edit|end …`, or `outcome 2` to show one."""
    assert view is not None
    first = args.peek()
    if first is None:
        raise BadInput("What would you like to do with the plan's outcomes?", hint=_OUTCOME_HINT)
    if first.lstrip("#").isdigit():
        return _show_outcome(ctx, view, args.take_int("the outcome number", "outcome 2"))
    word = pick(
        args.need("what to do", OUTCOME_EXAMPLE),
        _OUTCOME_WORDS,
        what="outcome command",
        example=f"For example: `{OUTCOME_EXAMPLE}`",
    )
    require_manager(view, "change the plan's outcomes")
    require_active(view)
    if word == "add":
        return _add_outcome(ctx, view, args)
    if word == "edit":
        return _edit_outcome(ctx, view, args)
    return _end_outcome(ctx, view, args)


_OUTCOME_WORDS = {
    "add": "add",
    "new": "add",
    "edit": "edit",
    "reword": "edit",
    "change": "edit",
    "end": "end",
    "close": "end",
    "finish": "end",
}


_OUTCOME_HINT = (
    f'For example: `{OUTCOME_EXAMPLE}`, `/coregroup outcome edit 2 "…"`, '
    "`/coregroup outcome end 2 achieved`, or `/coregroup outcomes` to list them."
)


def _add_outcome(ctx: Ctx, view: GroupView, args: Args) -> Reply:
    private = bool(args.tokens) and args.tokens[-1].lower() == "private"
    if private:
        args.tokens.pop()
    title = _within(_sentence(args.rest()), MAX_OUTCOME, "outcome", OUTCOME_EXAMPLE)
    if not title:
        raise BadInput("Please say what needs to change.", hint=f"For example: `{OUTCOME_EXAMPLE}`")
    outcome = core.add_outcome(
        ctx.session,
        group_id=view.id,
        title=title,
        shared=not private,
        actor_id=ctx.actor_id,
        now=ctx.now(),
    )
    n = outcome.number
    reply = Reply()
    if private:
        reply.say(
            f"Added outcome {n} to the plan for {view.reference}: {title}\n"
            "It is for professionals only, so it was not posted in the group's channel "
            "and the family won't see it."
        )
        return reply
    reply.say(
        Message(
            text=f"{view.reference}: outcome {n} added to the plan",
            blocks=(Heading(f"Outcome {n} added to the plan · {view.reference}"), Text(title)),
        ),
        to=ToGroup(view.id),
    )
    return reply.say(
        f"Added outcome {n}. Add actions under it with "
        f"`/coregroup action @name to … by <date> outcome {n}`."
    )


def _edit_outcome(ctx: Ctx, view: GroupView, args: Args) -> Reply:
    example = '/coregroup outcome edit 2 "Jamie\'s home is warm, clean and safe"'
    outcome = _outcome_numbered(ctx, view, args.take_int("the outcome number", example))
    title = _within(_sentence(args.rest()), MAX_OUTCOME, "outcome", example)
    if not title:
        raise BadInput("Please give the new wording.", hint=f"For example: `{example}`")
    if title == outcome.title:
        return Reply().say(f"Outcome {outcome.number} already says that; nothing changed.")
    old = outcome.title
    core.edit_outcome(
        ctx.session, outcome=outcome, title=title, actor_id=ctx.actor_id, now=ctx.now()
    )
    reply = Reply().say(
        f"Outcome {outcome.number} now reads: {title}\n"
        f"(It used to read: {old} — kept in its history.)"
    )
    if outcome.shared_with_family:
        reply.say(
            Message(
                text=f"{view.reference}: outcome {outcome.number} reworded",
                blocks=(
                    Heading(f"Outcome {outcome.number} reworded · {view.reference}"),
                    Text(title),
                ),
            ),
            to=ToGroup(view.id),
        )
    return reply


def _end_outcome(ctx: Ctx, view: GroupView, args: Args) -> Reply:
    example = "/coregroup outcome end 2 achieved the family have moved to a warm flat"
    outcome = _outcome_numbered(ctx, view, args.take_int("the outcome number", example))
    achieved = args.take_keyword("achieved", "met", "done")
    reason = args.rest().strip() or None
    core.end_outcome(
        ctx.session,
        outcome=outcome,
        achieved=achieved,
        reason=reason,
        actor_id=ctx.actor_id,
        now=ctx.now(),
    )
    how = "achieved" if achieved else "ended (no longer part of the plan)"
    lines = [f"Outcome {outcome.number} is marked {how}."]
    still_open = [
        a
        for a in core.actions_of(ctx.session, group_id=view.id)
        if a.outcome_id == outcome.id and a.status in core.OPEN_STATUSES
    ]
    if still_open:
        numbers = ", ".join(str(a.number) for a in still_open)
        lines.append(
            f"Its actions {numbers} are still open; close each with its Done button or "
            f"`/coregroup action cancel {still_open[0].number} <reason>`."
        )
    reply = Reply().say("\n".join(lines))
    if outcome.shared_with_family:
        text = f"Outcome {outcome.number} has been {'achieved' if achieved else 'ended'}"
        reply.say(
            Message(
                text=f"{view.reference}: {text.lower()}",
                blocks=(
                    Heading(f"{text} · {view.reference}"),
                    Text(outcome.title),
                    *([Context(f"Why: {reason}")] if reason else []),
                ),
            ),
            to=ToGroup(view.id),
        )
    return reply


def _visible_outcome_actions(ctx: Ctx, view: GroupView, outcome: Outcome) -> list[Action]:
    return [
        a
        for a in core.actions_of(ctx.session, group_id=view.id)
        if a.outcome_id == outcome.id and _may_see(ctx, view, a)
    ]


def _outcome_line(ctx: Ctx, view: GroupView, outcome: Outcome, actions: list[Action]) -> str:
    done, total = core.outcome_progress(actions)
    last = ctx.local(outcome.last_activity_at).date()
    line = (
        f"{outcome.number}. {outcome.title} — {done} of {total} actions done — "
        f"last activity {format_day(last)}"
    )
    quiet = (ctx.today() - last).days
    if outcome.status == OutcomeStatus.ACTIVE and quiet >= QUIET_DAYS:
        line += f" — ⚠ nothing has happened for {core.days_phrase(quiet)}"
    if not outcome.shared_with_family:
        line += " (professionals only)"
    return line


def list_outcomes(ctx: Ctx, view: GroupView | None, args: Args) -> Reply:
    """`outcomes`: the plan, with each outcome's progress and last activity."""
    assert view is not None
    outcomes = [
        o
        for o in core.outcomes_of(ctx.session, group_id=view.id)
        if o.shared_with_family or not view.is_family
    ]
    blocks: list[Block] = [Heading(f"The plan · {view.reference}")]
    active = [o for o in outcomes if o.status == OutcomeStatus.ACTIVE]
    ended = [o for o in outcomes if o.status != OutcomeStatus.ACTIVE]
    if not outcomes:
        blocks.append(Text("No outcomes have been added to the plan yet."))
        if view.can_manage:
            blocks.append(Context(f"Add one with `{OUTCOME_EXAMPLE}`."))
    if active:
        lines = [
            _outcome_line(ctx, view, o, _visible_outcome_actions(ctx, view, o)) for o in active
        ]
        blocks.append(bullets(lines))
    if ended:
        lines = []
        for o in ended:
            when = format_day(ctx.local(o.ended_at or o.last_activity_at).date())
            lines.append(f"{o.number}. {o.title} — {o.status} {when}")
        blocks += [Text("Ended:"), bullets(lines)]
    if outcomes:
        blocks.append(Context("`/coregroup outcome 2` shows one outcome with its actions."))
    return Reply().say(Message(text=f"The plan for {view.reference}", blocks=tuple(blocks)))


def _show_outcome(ctx: Ctx, view: GroupView, number: int) -> Reply:
    outcome = _outcome_numbered(ctx, view, number)
    assert outcome.id is not None
    actions = _visible_outcome_actions(ctx, view, outcome)
    today = ctx.today()
    blocks: list[Block] = [
        Heading(f"Outcome {outcome.number} · {view.reference}"),
        Text(outcome.title),
        Text(_outcome_line(ctx, view, outcome, actions)),
    ]
    if actions:
        names = core.names_of(ctx.session, [a.owner_id for a in actions])
        blocks += [Text("Actions:"), bullets([_action_line(a, names, today) for a in actions])]
    events = core.outcome_history(ctx.session, outcome_id=outcome.id)
    names = core.names_of(ctx.session, [e.actor_id for e in events])
    lines = []
    for e in events:
        who = names.get(e.actor_id, "someone")
        what = {
            OutcomeEventKind.CREATED: "added it",
            OutcomeEventKind.EDITED: f'reworded it (it read: "{e.old_value}")',
            OutcomeEventKind.ENDED: f"marked it {e.new_value}",
        }[OutcomeEventKind(e.kind)]
        note = f". Why: {e.note}" if e.note else ""
        lines.append(f"{format_when(e.at, ctx.locale.tz)} — {who} {what}{note}")
    if lines:
        blocks += [Text("History:"), bullets(lines)]
    return Reply().say(
        Message(text=f"{view.reference}: outcome {outcome.number}", blocks=tuple(blocks))
    )
