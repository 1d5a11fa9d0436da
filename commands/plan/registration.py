"""The plan commands' table (names, usage, examples, handlers) and `register`, which adds them
with the action buttons and the reply-in-words click."""

from __future__ import annotations

from commands.plan.actions import action_command, list_actions
from commands.plan.buttons import (
    click_accept_date,
    click_cannot,
    click_decline_date,
    click_done,
    click_new_date,
    click_progress,
    click_undo,
)
from commands.plan.outcomes import list_outcomes, outcome_command
from commands.plan.replies import click_reply
from commands.plan.shared import ACTION_EXAMPLE, OUTCOME_EXAMPLE
from commands.registry import Command, Registry


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
