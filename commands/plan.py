"""/coregroup plan commands: outcomes and actions, the action card's buttons, and replies in words
to action reminders ("done — referral sent", "need until next Friday", "can't, they moved GP")."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta

from bot.core import concerns
from bot.core import plan as core
from bot.core.access import (
    GroupView,
    audit,
    audit_reads,
    group_by_id,
    group_for_channel,
    has_family,
    hidden,
    require_active,
    require_manager,
    resolve_group,
    takes_part_as_family,
    visible_groups,
)
from bot.core.calendar import format_day
from bot.core.context import Ctx
from bot.core.dates import parse_day
from bot.core.errors import BadInput, Conflict, NotAllowed
from bot.core.groups import active_membership, chairs
from bot.core.meetings import format_when
from bot.core.people import resolve_person
from bot.core.replies import INTENT_KINDS, Intent, interpret, is_small_talk
from bot.core.sharing import SHARE
from bot.messages import (
    Block,
    Button,
    Buttons,
    Context,
    Fields,
    Heading,
    InPlace,
    Message,
    Reply,
    Text,
    ToGroup,
    ToPerson,
    bullets,
)
from commands.parse import Args, is_reference, pick
from commands.registry import Command, Registry
from storage.enums import (
    ActionEventKind,
    ActionStatus,
    AuditKind,
    OutcomeEventKind,
    OutcomeStatus,
)
from storage.models import Action, ActionEvent, Outcome, Person

ACTION_EXAMPLE = "/coregroup action @sam to book the GP appointment by Friday"
OUTCOME_EXAMPLE = '/coregroup outcome add "Jamie\'s home is warm and safe"'
# Outcomes and actions are read at a glance on the plan, cards and reminders.
MAX_OUTCOME = 300
MAX_ACTION = 500
ADD_MEMBER_EXAMPLE = "/coregroup add @alex school"
# A reply in words is about the action of a reminder sent this recently.
REPLY_WINDOW = timedelta(days=14)
# An outcome with nothing happening for this long is flagged (drift).
QUIET_DAYS = 28
# Room for a note inside a button value (Slack allows 2,000 characters).
VALUE_NOTE_LIMIT = 1500
# How many of a person's actions a "which action?" question offers.
CHOICES_LIMIT = 8


def register(registry: Registry) -> None:
    """Add the plan commands, the action buttons and the reply-in-words listener."""
    for command in COMMANDS:
        registry.command(command)
    registry.click("action.done", click_done)
    registry.click("action.progress", click_progress)
    registry.click("action.cannot", click_cannot)
    registry.click("action.newdate", click_new_date)
    registry.click("action.accept_date", click_accept_date)
    registry.click("action.decline_date", click_decline_date)
    registry.click("action.undo", click_undo)
    registry.click("action.reply", click_reply)


# --- shared helpers -----------------------------------------------------------------------------


def _card(ctx: Ctx, action: Action, *, family: bool, to_family: bool = False) -> Message:
    """The action card; `family` when the family can see where it goes (notes left out),
    `to_family` when it is addressed to a family member (family words)."""
    return core.action_message(
        ctx.session,
        action=action,
        tz=ctx.locale.tz,
        now=ctx.now(),
        family=family or to_family,
        to_family=to_family,
    )


def _space_has_family(ctx: Ctx, view: GroupView) -> bool:
    return has_family(ctx.session, group_id=view.id)


def _person_is_family(ctx: Ctx, view: GroupView, person_id: int) -> bool:
    return takes_part_as_family(ctx.session, group_id=view.id, person_id=person_id)


def _here_is_family(ctx: Ctx, view: GroupView) -> bool:
    """Whether the family can see a message changed in place where the actor clicked: their
    own view, or a card in the group's space (which the family may be in)."""
    in_space = ctx.channel_id is not None and ctx.channel_id == view.group.channel_id
    return view.is_family or (in_space and _space_has_family(ctx, view))


def _with_intro(message: Message, intro: str) -> Message:
    return replace(message, blocks=(Text(intro), *message.blocks))


def _name(ctx: Ctx, person_id: int) -> str:
    person = ctx.session.get(Person, person_id)
    return person.display_name if person else "someone"


def _label(view: GroupView, action: Action) -> str:
    if view.is_family:
        return f"action {action.number}"
    return f"action {action.number} ({view.reference})"


def _undo_button(event: ActionEvent) -> Buttons:
    return Buttons((Button("Undo", "action.undo", str(event.id)),))


def _confirm(text: str, event: ActionEvent, *extra: Block) -> Message:
    """A private confirmation of a change, with the button that reverses it."""
    return Message(text=text, blocks=(Text(text), *extra, _undo_button(event)))


def _confirmed(
    ctx: Ctx, view: GroupView, action: Action, text: str, event: ActionEvent, *extra: Block
) -> Reply:
    """The confirmation of a change with a note, and what the note asks for.

    A professional's note is for professionals only: the confirmation offers to share it with
    the family. A note that reads like a new concern is not filed silently: its author is asked
    whether the chair should know now (in their direct messages, where yes or no can be typed).
    """
    reply = Reply()
    concern = None
    if event.note:
        concern = concerns.check(
            ctx.session,
            signals=ctx.locale.signals,
            group_id=view.id,
            author=ctx.actor,
            text=event.note,
            about=f"a note on action {action.number}",
            now=ctx.now(),
            action_event_id=event.id,
        )
    offer: tuple[Block, ...] = ()
    if event.note and concern is None and _shareable(ctx, view, action, event):
        offer = (
            Context("Your note is for professionals only unless you share it."),
            Buttons((Button("Share with the family", SHARE, f"note:{event.id}"),)),
        )
    reply.say(_confirm(text, event, *extra, *offer))
    if concern is not None:
        question = concerns.question_message(concern, reference=view.reference, tz=ctx.locale.tz)
        reply.say(question, to=ToPerson(ctx.actor_id))
    return reply


def _shareable(ctx: Ctx, view: GroupView, action: Action, event: ActionEvent) -> bool:
    """Whether sharing a note would show it to anyone: a family who can see the action."""
    if event.shared_with_family or view.is_family:
        return False
    family_owner = _person_is_family(ctx, view, action.owner_id)
    return family_owner or (action.shared_with_family and _space_has_family(ctx, view))


def _member(ctx: Ctx, view: GroupView, token: str) -> Person:
    """The group member a mention names; BadInput (with how to add them) for anyone else."""
    person = resolve_person(
        ctx.session,
        token.rstrip(":,;"),
        platform=ctx.platform,
        directory=ctx.directory,
        clock=ctx.clock,
        group_id=view.id,
    )
    assert person.id is not None
    if active_membership(ctx.session, group_id=view.id, person_id=person.id) is None:
        raise BadInput(
            f"{person.display_name} isn't a member of the core group for {view.reference}, "
            "so can't own an action.",
            hint=f"Add them first, e.g. `{ADD_MEMBER_EXAMPLE}`, then try again.",
        )
    return person


def _may_see(ctx: Ctx, view: GroupView, action: Action) -> bool:
    return not view.is_family or core.family_may_see(action, ctx.actor_id)


def _action_numbered(ctx: Ctx, view: GroupView, number: int) -> Action:
    """The group's action with this number, as far as the actor may see it."""
    action = core.action_by_number(ctx.session, group_id=view.id, number=number)
    if action is None or not _may_see(ctx, view, action):
        raise BadInput(
            f"There's no action {number} in the plan for {view.reference}.",
            hint="`/coregroup actions all` lists them with their numbers.",
        )
    return action


def _outcome_numbered(ctx: Ctx, view: GroupView, number: int) -> Outcome:
    """The group's outcome with this number, as far as the actor may see it."""
    outcome = core.outcome_by_number(ctx.session, group_id=view.id, number=number)
    if outcome is None or (view.is_family and not outcome.shared_with_family):
        raise BadInput(
            f"There's no outcome {number} in the plan for {view.reference}.",
            hint="`/coregroup outcomes` lists them with their numbers.",
        )
    return outcome


def _due_day(ctx: Ctx, view: GroupView, text: str) -> tuple[date, str | None]:
    """The due date typed, and a warning when it is not a working day."""
    day = parse_day(text, now=ctx.now(), tz=ctx.locale.tz)
    return day, _working_day_warning(ctx, view, day)


def _working_day_warning(ctx: Ctx, view: GroupView, day: date) -> str | None:
    """A note naming the next working day, when `day` is a weekend, bank holiday or closure."""
    calendar = ctx.calendar(view.case)
    why = calendar.why_not_working(day)
    if why is None:
        return None
    return (
        f"Note: {format_day(day)} is not a working day ({why}); "
        f"the next working day is {format_day(calendar.next_working_day(day))}."
    )


def _sentence(text: str) -> str:
    """Typed words tidied for the plan: trimmed of stray punctuation, first letter capital."""
    text = text.strip(" ,;:-")
    return text[:1].upper() + text[1:]


def _within(text: str, limit: int, what: str, example: str) -> str:
    """The text, or a clear refusal when it is too long for the plan and its cards."""
    if len(text) > limit:
        raise BadInput(
            f"That {what} is {len(text)} characters; it can have up to {limit}, so it reads at "
            "a glance on the plan and in reminders.",
            hint="Shorten it and put the detail on the case system, or in a note on the action. "
            f"For example: `{example}`",
        )
    return text


def _tell_chairs(ctx: Ctx, view: GroupView, message: Message) -> Reply:
    """Send a message to each chair of the group except the person acting."""
    reply = Reply()
    for chair in chairs(ctx.session, group_id=view.id):
        if chair.id != ctx.actor_id:
            assert chair.id is not None
            reply.say(message, to=ToPerson(chair.id))
    return reply


def _chair_names(ctx: Ctx, view: GroupView) -> str:
    names = [p.display_name for p in chairs(ctx.session, group_id=view.id)]
    return " and ".join(names) if names else "the chair"


def _audit(ctx: Ctx, view: GroupView, what: str, action: Action, kind: AuditKind) -> None:
    audit(ctx, group_id=view.id, kind=kind, what=what, detail=f"action={action.id}")


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


# --- replies in words ---------------------------------------------------------------------------


def reply_about_actions(ctx: Ctx, text: str, actions: list[Action] | None = None) -> Reply | None:
    """A message about one's action ("done — referral sent"); None if it can't be about one.

    `actions` are those of the reminder it answers; without them, the last reminder's (or the
    person's only open action). Several: a short question asks which.
    """
    if actions is None:
        target, choices = _reply_target(ctx)
    else:
        mine = [
            a for a in actions if core.is_still_owner(ctx.session, action=a, person_id=ctx.actor_id)
        ]
        if not mine:
            return Reply().say(
                Message(
                    text="That reminder's action isn't yours any more.",
                    blocks=(
                        Text(
                            "That reminder was about an action that isn't yours any more (or "
                            "its group has closed), so I haven't changed anything."
                        ),
                        Context(f"You typed: {text}"[:2900]),
                    ),
                )
            )
        target, choices = (mine[0], []) if len(mine) == 1 else (None, _by_due(mine))
    if target is None and not choices:
        return None
    intent = interpret(text, now=ctx.now(), tz=ctx.locale.tz)
    if target is None:
        return _ask_which(ctx, choices, intent)
    view = group_by_id(ctx, target.group_id)
    return _apply_reply(ctx, view, target, intent, text)


def reminded_actions(ctx: Ctx) -> tuple[list[Action], datetime] | None:
    """The actor's actions in the last reminder a reply in words may answer, and when it went."""
    found = core.latest_action_reminder(
        ctx.session, person_id=ctx.actor_id, since=ctx.now() - REPLY_WINDOW
    )
    if found is None:
        return None
    mine = [
        a for a in found[0] if core.is_still_owner(ctx.session, action=a, person_id=ctx.actor_id)
    ]
    return (mine, found[1]) if mine else None


def _by_due(actions: list[Action]) -> list[Action]:
    return sorted(actions, key=lambda a: (a.due_on, a.group_id, a.number))


def _reply_target(ctx: Ctx) -> tuple[Action | None, list[Action]]:
    """The action a reply is about: the last one reminded of, else the only open one.

    With no single answer, the candidates to ask about (empty: the reply is not about actions).
    """
    found = reminded_actions(ctx)
    reminded = found[0] if found else []
    if len(reminded) == 1:
        return reminded[0], []
    if reminded:
        return None, _by_due(reminded)
    mine = core.owned_open_actions(ctx.session, person_id=ctx.actor_id)
    if len(mine) == 1:
        return mine[0], []
    return None, mine


def _encode(action: Action, kind: str, day: date | None, note: str | None) -> str:
    """A reply's meaning carried in a button value: id|kind|date|note."""
    return "|".join(
        (str(action.id), kind, day.isoformat() if day else "", (note or "")[:VALUE_NOTE_LIMIT])
    )


def _ask_which(ctx: Ctx, choices: list[Action], intent: Intent) -> Reply:
    refs = {a.group_id: _reference(ctx, a.group_id) for a in choices}
    buttons = tuple(
        Button(
            f"{a.number} · {refs[a.group_id]}: {_short(a.description)}",
            "action.reply",
            _encode(a, intent.kind, intent.date, intent.note),
        )
        for a in choices[:CHOICES_LIMIT]
    )
    for group_id in refs:
        audit(ctx, group_id=group_id, kind=AuditKind.READ, what="reply:which")
    return Reply().say(
        Message(
            text="Which action is this about?",
            blocks=(Text("Thanks — which of your actions is this about?"), Buttons(buttons)),
        )
    )


def _reference(ctx: Ctx, group_id: int) -> str:
    return group_by_id(ctx, group_id).reference


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _apply_reply(ctx: Ctx, view: GroupView, action: Action, intent: Intent, typed: str) -> Reply:
    """Apply what a reply means to an action, or ask a short question when unsure."""
    closed = action.status in (ActionStatus.DONE, ActionStatus.CANCELLED)
    if closed and intent.kind not in ("done", "note"):
        _audit(ctx, view, "reply:closed", action, AuditKind.READ)
        return Reply().say(
            f"Action {action.number} ({view.reference}) is already "
            f"{core.STATUS_LABELS[ActionStatus(action.status)].lower()}, so I haven't changed "
            f"anything. {_status_now(ctx, action)}"
        )
    if intent.kind == "unclear":
        _audit(ctx, view, "reply:unclear", action, AuditKind.READ)
        return _clarify(ctx, view, action, intent.note)
    if intent.kind == "blocked" and not intent.note:
        return _ask_more(view, action, "blocked", "What's stopping it? The chair will be told.")
    if intent.kind == "new_date" and intent.date is None:
        question = intent.problem or "Which date would you like?"
        return _ask_more(view, action, "new_date", question)
    _audit(ctx, view, f"reply:{intent.kind}", action, AuditKind.CHANGE)
    match intent.kind:
        case "done":
            return _apply_done(ctx, view, action, intent.note)
        case "progress":
            return _apply_progress(ctx, view, action, intent.note)
        case "blocked":
            assert intent.note is not None
            return _apply_cannot(ctx, view, action, intent.note)
        case "new_date":
            assert intent.date is not None
            return _apply_new_due(ctx, view, action, intent.date, intent.note)
    return _apply_note(ctx, view, action, intent.note or typed)


def _clarify(ctx: Ctx, view: GroupView, action: Action, note: str | None) -> Reply:
    """A short question with buttons rather than a guess; the words typed ride along as a note."""
    kept = note if note and not is_small_talk(note) else None
    buttons = [
        Button("Done", "action.reply", _encode(action, "done", None, kept), style="primary"),
        Button("In progress", "action.reply", _encode(action, "progress", None, kept)),
        Button(
            "Can't do", "action.reply", _encode(action, "blocked", None, None), ask=core.ASK_CANNOT
        ),
    ]
    if note:
        buttons.append(Button("Just a note", "action.reply", _encode(action, "note", None, note)))
    return Reply().say(
        Message(
            text=f"Is this about {_label(view, action)}?",
            blocks=(
                Text(
                    f"I'm not sure what you mean for {_label(view, action)}: "
                    f"{action.description}. Which is it?"
                ),
                Buttons(tuple(buttons)),
            ),
        )
    )


def _ask_more(view: GroupView, action: Action, kind: str, question: str) -> Reply:
    """Ask for the reason or date a reply left out, with a button that takes the answer."""
    ask = core.ASK_CANNOT if kind == "blocked" else core.ASK_DATE
    label = "Tell the chair why" if kind == "blocked" else "Give a date"
    return Reply().say(
        Message(
            text=question,
            blocks=(
                Text(f"{question} (About {_label(view, action)}: {action.description})"),
                Buttons(
                    (Button(label, "action.reply", _encode(action, kind, None, None), ask=ask),)
                ),
            ),
        )
    )


def click_reply(ctx: Ctx, value: str, text: str | None) -> Reply:
    """A button from a reply-in-words question: which action, or what the reply meant."""
    action_id, kind_text, day_text, note = (value.split("|", 3) + ["", "", ""])[:4]
    action, view = _pressable(ctx, action_id)
    kind = next((k for k in INTENT_KINDS if k == kind_text), None)
    if kind is None or not re.fullmatch(r"(\d{4}-\d{2}-\d{2})?", day_text):
        raise hidden(ctx, what="action-reply", detail=f"id={action.id}")
    typed = (text or "").strip()
    day = date.fromisoformat(day_text) if day_text else None
    if kind == "new_date" and day is None:
        day = parse_day(typed, now=ctx.now(), tz=ctx.locale.tz)
    if kind == "blocked" and not note:
        note = typed
    return _apply_reply(ctx, view, action, Intent(kind, note=note or None, date=day), note)


COMMANDS = (
    Command(
        name="outcome",
        summary="add, reword or end an outcome of the plan (what needs to change)",
        usage='outcome add "what needs to change" [private] | outcome edit 2 "…" | '
        "outcome end 2 [achieved] [reason] | outcome 2",
        examples=(
            OUTCOME_EXAMPLE,
            '/coregroup outcome add "Mum\'s mental health support is in place" private',
            '/coregroup outcome edit 2 "Jamie\'s home is warm, clean and safe"',
            "/coregroup outcome end 2 achieved the family moved to a warm flat",
            "/coregroup outcome 2",
        ),
        handler=outcome_command,
        topic="Plan",
    ),
    Command(
        name="outcomes",
        summary="the plan: each outcome with its progress and last activity",
        usage="outcomes",
        examples=("/coregroup outcomes",),
        handler=list_outcomes,
        topic="Plan",
        aliases=("plan",),
        changes=False,
    ),
    Command(
        name="action",
        summary="add an action (who, what, by when), show one, or change it",
        usage="action @name to <what> by <date> [outcome 2] [private] | action 3 | "
        'action reassign 3 @name | action due 3 <date> | action edit 3 "…" | '
        "action cancel 3 [reason]",
        examples=(
            ACTION_EXAMPLE,
            "/coregroup action @priya: check attendance weekly, due 15/1 outcome 3",
            "/coregroup action @alex book a home visit by next Friday private",
            "/coregroup action 3",
            "/coregroup action reassign 3 @ruth",
            "/coregroup action due 3 15/1",
            '/coregroup action edit 3 "book the GP appointment and go with mum"',
            "/coregroup action cancel 3 no longer needed",
        ),
        handler=action_command,
        topic="Plan",
    ),
    Command(
        name="actions",
        summary="list actions: open (overdue first), mine, overdue or all",
        usage="actions [mine|overdue|all]",
        examples=(
            "/coregroup actions",
            "/coregroup actions mine",
            "/coregroup actions overdue",
            "/coregroup actions CP-2026-0142 all",
        ),
        handler=list_actions,
        needs_group=False,
        topic="Plan",
        changes=False,
    ),
)
