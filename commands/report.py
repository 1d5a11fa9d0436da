"""`/coregroup report`: a team manager's timeliness and participation report over a period,
sent privately with the chart and the CSV (or a PDF) attached."""

from __future__ import annotations

import re
from datetime import date

from bot.core.access import GroupView, audit
from bot.core.context import Ctx
from bot.core.dates import parse_day
from bot.core.errors import BadInput, NotAllowed
from bot.core.report import (
    NAMED_PERIODS,
    Period,
    Report,
    build_report,
    checked_period,
    named_period,
)
from bot.core.report_render import attachment, render, source_of, summary_message
from bot.messages import Message, Reply, Text, ToPerson
from commands.parse import Args
from commands.registry import Command, Registry
from storage.enums import AuditKind

EXAMPLE = "/coregroup report 1/1/2027 to 31/3/2027"
FORMATS = ("csv", "pdf", "png")
# A date with its year written: 2027-01-05, 5/1/27, 5 Jan 2027.
_HAS_YEAR = re.compile(r"\b\d{4}\b|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b")
_DAY_MONTH = re.compile(r"(\d{1,2})([/.-])(\d{1,2})")


def register(registry: Registry) -> None:
    """Add the report command."""
    for command in COMMANDS:
        registry.command(command)


def _period_hint() -> str:
    return (
        f"For example: `{EXAMPLE}`, `/coregroup report last month` or "
        "`/coregroup report this quarter pdf`. Dates are day first (UK); without a year they "
        "mean the latest such day."
    )


def _with_year(text: str, today: date) -> str:
    """ "5/3" with the year of the latest such day written in ("5/3/2027"), so that a day that
    does not exist is refused for the year meant."""
    found = _DAY_MONTH.fullmatch(text.strip())
    if found is None:
        return text
    day, month = int(found[1]), int(found[3])
    year = today.year - 1 if (month, day) > (today.month, today.day) else today.year
    return f"{text.strip()}{found[2]}{year}"


def _day(text: str, ctx: Ctx, whole: str) -> date:
    """One end of the period; a date without a year means the latest such day (not a future one)."""
    text = _with_year(text, ctx.today())
    try:
        day = parse_day(text, now=ctx.now(), tz=ctx.locale.tz, allow_past=True)
    except BadInput as err:
        raise BadInput(
            f'I can\'t read "{whole}" as a period: {err.message}', hint=_period_hint()
        ) from None
    if day > ctx.today() and not _HAS_YEAR.search(text):
        day = day.replace(year=day.year - 1)
    return day


def parse_period(words: str, ctx: Ctx) -> Period:
    """The period typed after `report`: a named one, or "<from> to <to>"; this quarter if none."""
    text = " ".join(words.split())
    if not text:
        return named_period("this quarter", ctx.today()) or Period(ctx.today(), ctx.today())
    found = named_period(text, ctx.today())
    if found is not None:
        return found
    parts = re.split(r"\s+(?:to|until|till|-)\s+", re.sub(r"^from\s+", "", text, flags=re.I))
    if len(parts) != 2:
        raise BadInput(
            f'I can\'t read "{text}" as a period: give the first and last days with "to" between, '
            f"or one of: {', '.join(NAMED_PERIODS)}.",
            hint=_period_hint(),
        )
    start, end = _day(parts[0], ctx, text), _day(parts[1], ctx, text)
    return checked_period(start, end, example=f"`{EXAMPLE}`")


def _team_ids(ctx: Ctx) -> list[int]:
    actor = ctx.actor
    if not actor.is_team_manager or actor.team_id is None:
        raise NotAllowed(
            "The report is for team managers: it covers every core group of their team.",
            hint="To see one group's deadlines, try `/coregroup status CP-2026-0142`; for your "
            "own groups, `/coregroup home`.",
        )
    return [actor.team_id]


def audit_report(ctx: Ctx, report: Report, *, what: str, detail: str) -> None:
    """Audit a report run: one entry for the run, and one read per group it covers."""
    audit(ctx, group_id=None, kind=AuditKind.READ, what=what, detail=detail)
    for group in report.groups:
        audit(ctx, group_id=group.group_id, kind=AuditKind.READ, what=what)


def report(ctx: Ctx, _view: GroupView | None, args: Args) -> Reply:
    """A team manager's report over a period, sent privately with its files."""
    team_ids = _team_ids(ctx)
    tokens = list(args.tokens)
    fmt = tokens.pop().lower().lstrip(".") if tokens and tokens[-1].lower() in FORMATS else None
    args.tokens.clear()
    period = parse_period(" ".join(tokens), ctx)
    found = build_report(
        ctx.session, team_ids=team_ids, period=period, now=ctx.now(), locale=ctx.locale
    )
    audit_report(
        ctx,
        found,
        what="command:report",
        detail=f"teams={','.join(map(str, team_ids))} from={period.start} to={period.end} "
        f"format={fmt or 'png+csv'}",
    )
    marking = ctx.locale.documents.marking
    # The chart goes with the summary; the CSV (or the one file asked for) follows.
    first = "png" if fmt in (None, "png") else fmt
    files = [render(found, first, marking=marking)]
    if fmt is None:
        files.append(render(found, "csv", marking=marking))
    reply = Reply()
    to = ToPerson(ctx.actor_id)
    head = attachment(files[0], source_of(team_ids, found, first))
    reply.say(summary_message(found, attachment=head), to=to)
    for extra in files[1:]:
        kind = extra.filename.rsplit(".", 1)[-1]
        reply.say(
            Message(
                text=f"{extra.title}",
                blocks=(Text(f"The report as {kind.upper()}: one row per group and step."),),
                attachment=attachment(extra, source_of(team_ids, found, kind)),
            ),
            to=to,
        )
    names = " and ".join(f.filename for f in files)
    return reply.say(f"I've sent you the report in your direct messages with me ({names}).")


COMMANDS = (
    Command(
        name="report",
        summary="team managers: timeliness and participation over a period, with a chart and CSV",
        usage="report [this quarter | last month | <from> to <to>] [csv | pdf | png]",
        examples=(
            "/coregroup report last month",
            EXAMPLE,
            "/coregroup report this quarter pdf",
        ),
        handler=report,
        needs_group=False,
        aliases=("timeliness",),
        topic="Overview",
        changes=False,
    ),
)
