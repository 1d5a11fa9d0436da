"""Reminder preferences: the hours a person takes direct messages, and snoozing a reminder."""

from __future__ import annotations

import re

from bot.core.access import GroupView, audit
from bot.core.context import Ctx
from bot.core.errors import BadInput, NotFound
from bot.core.meetings import format_when
from bot.core.reminders import SNOOZE_ACTION, snooze
from bot.core.working_hours import person_hours
from bot.messages import Reply
from commands.parse import Args
from commands.registry import Command, Registry
from storage.enums import AuditKind

HOURS_EXAMPLE = "/coregroup hours 18-20"
_HOUR = r"(\d{1,2})(?:[:.]00)?\s*(am|pm)?"
_RANGE = re.compile(rf"^{_HOUR}\s*(?:-|–|to|until|till)\s*{_HOUR}$", re.IGNORECASE)
_DEFAULT = ("default", "reset", "normal", "office")


def register(registry: Registry) -> None:
    """Add the `hours` command and the snooze button."""
    registry.command(
        Command(
            name="hours",
            summary="Choose the hours I may send you direct messages (reminders wait until then)",
            usage="hours [<from>-<to> | default]",
            examples=(HOURS_EXAMPLE, "/coregroup hours 9-5", "/coregroup hours default"),
            handler=hours_command,
            needs_group=False,
            topic="You",
        )
    )
    registry.click(SNOOZE_ACTION, snooze_click)


def _hour(number: str, half: str | None) -> int:
    value = int(number)
    if half is None:
        return value
    if not 1 <= value <= 12:
        raise BadInput(
            f"{number}{half} isn't a time of day.",
            hint=f"Give whole hours, e.g. `{HOURS_EXAMPLE}` or `/coregroup hours 6pm-8pm`.",
        )
    return value % 12 + (12 if half.lower() == "pm" else 0)


def read_hours(text: str) -> tuple[int, int]:
    """Read "18-20", "6pm-8pm", "9 to 5" (5 meaning 5pm), "22:00-07:00" (overnight) into whole
    (start, end) hours."""
    match = _RANGE.match(text.strip())
    if match is None:
        raise BadInput(
            f'I couldn\'t read "{text}" as a range of hours.',
            hint=f"Say from when to when in whole hours, e.g. `{HOURS_EXAMPLE}` for evenings, "
            "or `/coregroup hours 9-17`.",
        )
    start = _hour(match[1], match[2])
    end = _hour(match[3], match[4])
    if match[4] is None and end <= start and end + 12 > start:
        end += 12  # "9-5" means nine to five in the afternoon
    if end == 0:
        end = 24
    if start == 24:
        start = 0
    if not (0 <= start <= 23 and 0 <= end <= 24) or start == end:
        raise BadInput(
            f"{text} isn't a range I can use: give two different hours of the day.",
            hint=f"For example: `{HOURS_EXAMPLE}`, `/coregroup hours 8am-1pm` or, overnight, "
            "`/coregroup hours 22-7`.",
        )
    return start, end  # an end before the start runs overnight (22 to 7)


def hours_command(ctx: Ctx, _view: GroupView | None, args: Args) -> Reply:
    """Show or set the actor's contact hours."""
    person = ctx.actor
    text = args.rest()
    if not text:
        hours = person_hours(person)
        days, morning = ("on working days", "working morning")
        if person.is_family:
            days, morning = ("on weekdays, not bank holidays", "weekday morning")
        return Reply().say(
            f"I send you direct messages from {hours.describe()} {days} "
            f"({hours.tz.key} time). Reminders due outside those hours wait until the next "
            f"{morning}. To change them: `{HOURS_EXAMPLE}`."
        )
    start, end = (9, 17) if text.lower() in _DEFAULT else read_hours(text)
    person.contact_start_hour, person.contact_end_hour = start, end
    ctx.session.add(person)
    ctx.session.flush()
    hours = person_hours(person)
    days = "on weekdays, not bank holidays" if person.is_family else "on working days"
    return Reply().say(
        f"Done: I'll send you direct messages only from {hours.describe()} {days} "
        f"({hours.tz.key} time). Anything due outside those hours waits for the next one."
    )


def snooze_click(ctx: Ctx, value: str, _text: str | None) -> Reply:
    """The Snooze button on a reminder: the same reminders again on the next working morning."""
    if not value.isdigit():
        raise NotFound(
            "I can't find that reminder.",
            hint="Snooze works on a reminder sent to you: press its Snooze button.",
        )
    done = snooze(
        ctx.session, reminder_id=int(value), person=ctx.actor, locale=ctx.locale, now=ctx.now()
    )
    for group_id in done.group_ids:
        audit(
            ctx,
            group_id=group_id,
            kind=AuditKind.CHANGE,
            what="reminder.snooze",
            detail=f"reminder={value}",
        )
    what = "this reminder" if done.count == 1 else f"these {done.count} reminders"
    return Reply().say(
        f"Snoozed: I'll send you {what} again on {format_when(done.until, ctx.locale.tz)}."
    )
