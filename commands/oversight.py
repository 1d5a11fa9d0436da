"""/coregroup commands for looking across groups: a team manager's `team` view and `home`."""

from __future__ import annotations

from bot.core.access import GroupView, audit_reads
from bot.core.context import Ctx
from bot.core.errors import NotAllowed
from bot.core.oversight import home_message, team_overview
from bot.messages import Reply
from commands.parse import Args
from commands.registry import Command, Registry
from storage.models import Team


def register(registry: Registry) -> None:
    """Add the oversight commands."""
    for command in COMMANDS:
        registry.command(command)


def team(ctx: Ctx, _view: GroupView | None, _args: Args) -> Reply:
    """A team manager's view of what needs attention across the team's groups."""
    actor = ctx.actor
    found = ctx.session.get(Team, actor.team_id) if actor.team_id is not None else None
    if not actor.is_team_manager or found is None:
        raise NotAllowed(
            "The team view is for team managers.",
            hint="To see your own groups and actions, try `/coregroup home`; for one group, "
            "`/coregroup status CP-2026-0142`.",
        )
    message, group_ids = team_overview(ctx.session, team=found, now=ctx.now(), locale=ctx.locale)
    audit_reads(ctx, group_ids=group_ids, what="command:team")
    return Reply().say(message)


def home(ctx: Ctx, _view: GroupView | None, _args: Args) -> Reply:
    """The person's own summary across their groups (also shown on the Slack Home tab)."""
    message, group_ids = home_message(
        ctx.session, person=ctx.actor, now=ctx.now(), locale=ctx.locale
    )
    audit_reads(ctx, group_ids=group_ids, what="command:home")
    return Reply().say(message)


COMMANDS = (
    Command(
        name="team",
        summary="team managers: what needs attention in your team's groups",
        usage="team",
        examples=("/coregroup team",),
        handler=team,
        needs_group=False,
        aliases=("my-team", "oversight", "manager"),
        topic="Overview",
        changes=False,
    ),
    Command(
        name="home",
        summary="your actions, meetings and updates across all your groups",
        usage="home",
        examples=("/coregroup home",),
        handler=home,
        needs_group=False,
        aliases=("mine", "dashboard", "my-groups"),
        topic="Overview",
        changes=False,
    ),
)
