"""What the plan commands share: examples and limits, the action card, who is family, actions and
outcomes by number, due dates, tidy typed text, telling the chairs, the audit line."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from bot.core import concerns
from bot.core import plan as core
from bot.core.access import GroupView, audit, has_family, takes_part_as_family
from bot.core.calendar import format_day
from bot.core.context import Ctx
from bot.core.dates import parse_day
from bot.core.errors import BadInput
from bot.core.groups import active_membership, chairs
from bot.core.people import resolve_person
from bot.core.sharing import SHARE
from bot.messages import Block, Button, Buttons, Context, Message, Reply, Text, ToPerson
from storage.enums import AuditKind
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
