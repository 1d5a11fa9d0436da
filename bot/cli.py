"""The `coregroup` command line: version, database schema, and statutory timescales.

Each subcommand is added by its own `_add_<name>(subparsers)` function and handled by a
`_cmd_<name>(args) -> int` function. Heavy imports (SQLAlchemy, Alembic, holidays) happen inside
the handlers so `coregroup --help` stays quick.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeAlias

from bot import __version__
from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from bot.core.calendar import Nation
    from bot.core.policy_book import PolicyBook
    from storage.models import Minutes

PROG = "coregroup"
USAGE_ERROR = 2
RUNTIME_ERROR = 1

Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """Bad input on the command line; the message is one line that says how to fix it."""


class CommandFailed(Exception):
    """The command was understood but could not be carried out (e.g. the database is down)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one friendly line on stderr, exit code 2."""

    def error(self, message: str) -> NoReturn:
        _err(f"{self.prog}: {message} (see `{self.prog} --help`)")
        raise SystemExit(USAGE_ERROR)


Subparsers: TypeAlias = "argparse._SubParsersAction[_Parser]"


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


# --- argument types -----------------------------------------------------------------------------


def _date_option(option: str, example: str) -> Callable[[str], date]:
    """An argparse type reading YYYY-MM-DD (or the UK's DD/MM/YYYY) for `option`."""

    def parse(text: str) -> date:
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return datetime.strptime(text.strip(), fmt).date()
            except ValueError:
                continue
        raise argparse.ArgumentTypeError(
            f'"{text}" is not a date; write it as YYYY-MM-DD, e.g. {option} {example}'
        )

    return parse


def _nation(text: str) -> Nation:
    """An argparse type reading a UK nation (england, wales, scotland, northern-ireland)."""
    from bot.core.calendar import Nation
    from bot.core.errors import BadInput

    try:
        return Nation.parse(text)
    except BadInput:
        names = ", ".join(n.value for n in Nation)
        raise argparse.ArgumentTypeError(
            f'"{text}" is not a UK nation; use one of {names}, e.g. --nation scotland'
        ) from None


# --- the parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The full `coregroup` argument parser."""
    parser = _Parser(
        prog=PROG,
        description="Core Group Bot: a chat assistant for child-protection core groups.",
    )
    parser.set_defaults(handler=None, parser=parser)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_version(subparsers)
    _add_db(subparsers)
    _add_timescales(subparsers)
    _add_policy(subparsers)
    _add_run(subparsers)
    _add_demo(subparsers)
    _add_team(subparsers)
    _add_teams(subparsers)
    _add_minutes(subparsers)
    _add_member(subparsers)
    from bot.audit_cli import add_audit
    from bot.export_cli import add_export
    from bot.keys_cli import add_keys
    from bot.report_cli import add_report
    from bot.retention_cli import add_retention

    add_report(subparsers)
    add_audit(subparsers)
    add_retention(subparsers)
    add_export(subparsers)
    add_keys(subparsers)
    return parser


def _add_command(
    subparsers: Subparsers,
    name: str,
    handler: Handler | None,
    *,
    summary: str,
    epilog: str | None = None,
) -> _Parser:
    """Add one subcommand wired to `handler` (None: a group that needs a further command)."""
    sub = subparsers.add_parser(name, help=summary, description=summary, epilog=epilog)
    sub.set_defaults(handler=handler, parser=sub)
    return sub


def _add_version(subparsers: Subparsers) -> None:
    _add_command(subparsers, "version", _cmd_version, summary="Show the version.")


def _add_db(subparsers: Subparsers) -> None:
    db = _add_command(
        subparsers, "db", None, summary="Create, upgrade or inspect the database schema."
    )
    actions = db.add_subparsers(title="db commands", metavar="DB_COMMAND")
    _add_command(
        actions,
        "upgrade",
        _cmd_db_upgrade,
        summary="Create the schema on DATABASE_URL, or upgrade it to this version.",
    )
    _add_command(
        actions,
        "current",
        _cmd_db_current,
        summary="Show which schema revision the database is at.",
    )


def _add_timescales(subparsers: Subparsers) -> None:
    sub = _add_command(
        subparsers,
        "timescales",
        _cmd_timescales,
        summary="List the statutory dates a core group chair must meet for a case.",
        epilog=(
            "Working days skip weekends, the nation's bank holidays and CLOSURE_DAYS. "
            "Example: coregroup timescales --icpc 2026-12-18 --meeting 2027-01-06"
        ),
    )
    sub.add_argument(
        "--icpc",
        required=True,
        type=_date_option("--icpc", "2026-12-18"),
        metavar="DATE",
        help="date of the initial child protection conference (or CPPM), YYYY-MM-DD",
    )
    sub.add_argument(
        "--nation",
        type=_nation,
        default="england",
        metavar="{england,wales,scotland,northern-ireland}",
        help="whose bank holidays and timescales apply (default: england)",
    )
    sub.add_argument(
        "--meeting",
        action="append",
        default=[],
        type=_date_option("--meeting", "2027-01-06"),
        metavar="DATE",
        help="date of a core group already held or booked; repeat for each",
    )
    sub.add_argument(
        "--review",
        action="append",
        default=[],
        type=_date_option("--review", "2027-03-15"),
        metavar="DATE",
        help="date of a review conference; repeat for each",
    )
    sub.add_argument("--json", action="store_true", help="print JSON with ISO dates")
    _policy_file_option(sub)


def _policy_file_option(sub: _Parser) -> None:
    sub.add_argument(
        "--policy-file",
        type=Path,
        metavar="PATH",
        help="the council's timescales (TOML or YAML), instead of POLICY_FILE",
    )


def _add_policy(subparsers: Subparsers) -> None:
    policy = _add_command(
        subparsers, "policy", None, summary="Show the timescales in force and where each came from."
    )
    actions = policy.add_subparsers(title="policy commands", metavar="POLICY_COMMAND")
    show = _add_command(
        actions,
        "show",
        _cmd_policy_show,
        summary="Print every timescale for each nation, with its source.",
        epilog="Example: coregroup policy show --nation wales --policy-file policy.toml",
    )
    show.add_argument(
        "--nation",
        type=_nation,
        metavar="{england,wales,scotland,northern-ireland}",
        help="only this nation",
    )
    _policy_file_option(show)


def _add_run(subparsers: Subparsers) -> None:
    _add_command(
        subparsers,
        "run",
        _cmd_run,
        summary="Start the bot: Slack or Teams when configured, else the local chat.",
        epilog=(
            "Slack needs SLACK_BOT_TOKEN, with SLACK_APP_TOKEN (Socket Mode) or "
            "SLACK_SIGNING_SECRET (HTTP mode); Teams needs MICROSOFT_APP_ID, "
            "MICROSOFT_APP_PASSWORD and MICROSOFT_APP_TENANT_ID. With neither, the local chat runs "
            "on DATABASE_URL."
        ),
    )


def _add_demo(subparsers: Subparsers) -> None:
    sub = _add_command(
        subparsers,
        "demo",
        _cmd_demo,
        summary="Try the local chat on a throw-away database with a fictional core group.",
        epilog="Type `help` in the chat for its syntax; `/coregroup help` for the commands.",
    )
    sub.add_argument(
        "--show-setup", action="store_true", help="also print the commands that built the group"
    )


def _add_team(subparsers: Subparsers) -> None:
    sub = _add_command(
        subparsers,
        "team",
        _cmd_team,
        summary="Put a person in a social-work team, optionally as its manager.",
        epilog='Example: coregroup team --platform slack --user U0123ABC --team "North Team" '
        "--manager",
    )
    sub.add_argument("--platform", choices=["slack", "teams", "local"], required=True)
    sub.add_argument("--user", required=True, help="the person's user id on that platform")
    sub.add_argument("--team", required=True, help="the team's name (created if new)")
    sub.add_argument("--name", default="", help="display name, if the bot has not met them yet")
    sub.add_argument(
        "--manager", action="store_true", help="make them a manager who oversees the team's groups"
    )


def _add_teams(subparsers: Subparsers) -> None:
    teams = _add_command(subparsers, "teams", None, summary="Microsoft Teams tools.")
    actions = teams.add_subparsers(title="teams commands", metavar="TEAMS_COMMAND")
    sub = _add_command(
        actions,
        "package",
        _cmd_teams_package,
        summary="Write the Teams app package (manifest, icons, zip) with the bot id filled in.",
    )
    sub.add_argument("--out", default="teams", help="folder to write it to (default: teams)")


def _add_minutes(subparsers: Subparsers) -> None:
    minutes = _add_command(subparsers, "minutes", None, summary="Published minutes as files.")
    actions = minutes.add_subparsers(title="minutes commands", metavar="MINUTES_COMMAND")
    sub = _add_command(
        actions,
        "export",
        _cmd_minutes_export,
        summary="Write published minutes as a DOCX, PDF or Markdown file.",
        epilog="Example: coregroup minutes export --case CP-2026-0142 --meeting 1 --format docx",
    )
    sub.add_argument("--case", required=True, help="the case reference, e.g. CP-2026-0142")
    sub.add_argument(
        "--meeting", required=True, type=int, help="the meeting's number (1 is the first)"
    )
    sub.add_argument("--format", required=True, choices=["docx", "pdf", "md"])
    sub.add_argument(
        "--copy",
        choices=["full", "family", "young-person"],
        default="full",
        help="which version (default: the full minutes)",
    )
    sub.add_argument("--out", default=".", help="a folder or file name to write (default: here)")


def _add_member(subparsers: Subparsers) -> None:
    member = _add_command(subparsers, "member", None, summary="A member's contact details.")
    actions = member.add_subparsers(title="member commands", metavar="MEMBER_COMMAND")
    sub = _add_command(
        actions,
        "email",
        _cmd_member_email,
        summary="Record the email address a member outside chat gets the minutes at.",
        epilog='Examples: coregroup member email --case CP-2026-0142 --name "Castle Surgery" '
        "--email reception@castle.nhs.uk; coregroup member email --platform slack --user "
        "U0123ABC --clear",
    )
    who = sub.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="the person's user id on --platform")
    who.add_argument("--name", help="the member's name in the case's core group (with --case)")
    sub.add_argument("--platform", choices=["slack", "teams", "local"])
    sub.add_argument("--case", help="the case reference, with --name")
    what = sub.add_mutually_exclusive_group(required=True)
    what.add_argument("--email", help="the address; their copies then go by email")
    what.add_argument(
        "--clear", action="store_true", help="remove the address: copies go in chat again"
    )


# --- handlers -----------------------------------------------------------------------------------


def _cmd_run(args: argparse.Namespace) -> int:
    """Serve the configured platform, or run the local chat on DATABASE_URL."""
    from bot.app import (
        local_chat,
        locale_from,
        serve_platform,
        start_family_web,
        with_local_links,
    )
    from bot.clock import FakeClock, SystemClock
    from bot.housekeeping import DailyJob
    from bot.logs import configure_logging
    from storage.db import check_schema
    from storage.keys import keys_of

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    _check_council_files(settings)
    with _database(settings) as engine:
        check_schema(engine)
        keys_of(engine.dialect).check()  # a wrong DATA_KEY stops it here, not at the first read
        if serve_platform(settings, engine, SystemClock()):
            return 0
        _out(
            f"Core Group Bot — local chat on {masked_url(settings.database_url)} "
            "(no Slack or Teams credentials configured). Type `help` for the syntax."
        )
        clock = FakeClock(SystemClock().now())
        host, port = settings.web_host, settings.web_port
        locale = with_local_links(locale_from(settings), host=host, port=port)
        daily = DailyJob(engine=engine, clock=clock, settings=settings)
        daily.on_clock()  # seal, retention: at start, then as the chat's clock passes each day
        chat = local_chat(
            engine=engine,
            clock=clock,
            locale=locale,
            out=sys.stdout,
            echo=not sys.stdin.isatty(),
            settings=settings,
            daily=daily,
        )
        web = start_family_web(
            engine=engine,
            clock=clock,
            locale=locale,
            host=host,
            port=port,
            outbox=chat,
            settings=settings,
        )
        if web is not None:
            _out(f"The family's pages are on {locale.public_url}/family/ (WEB_PORT, WEB_HOST).")
        try:
            chat.run(sys.stdin)
        finally:
            if web is not None:
                web.stop()
    return 0


def _check_council_files(settings: Settings) -> None:
    """Refuse to start with a council glossary (GLOSSARY_FILE), timescale policy (POLICY_FILE,
    POLICY_*) or Word template (DOCUMENTS_TEMPLATE) that cannot be used; warn of any timescale
    looser than the statutory default."""
    from bot.core.context import Locale
    from bot.core.documents.render_docx import TemplateError, open_template

    locale = Locale.from_settings(settings)  # reads GLOSSARY_FILE, POLICY_FILE; ConfigError
    for looser in locale.policies.looser():  # only there when POLICY_ALLOW_LOOSER=true
        logging.getLogger(__name__).warning(
            "POLICY_ALLOW_LOOSER: %s; the bot follows the council's value", looser
        )
    if settings.documents_template is None:
        return
    try:
        open_template(settings.documents_template)
    except TemplateError as err:
        raise ConfigError(f"Invalid configuration — DOCUMENTS_TEMPLATE: {err.message}") from None


def _cmd_demo(args: argparse.Namespace) -> int:
    """Run the local chat on a throw-away database seeded with a fictional group."""
    from bot.demo import run_demo

    try:
        settings = load_settings()
    except ConfigError:
        settings = Settings.model_construct()  # the demo needs none of them: defaults only
    run_demo(
        sys.stdin,
        out=sys.stdout,
        echo=not sys.stdin.isatty(),
        show_seed=args.show_setup,
        web=(settings.web_host, settings.web_port),
    )
    return 0


def _cmd_team(args: argparse.Namespace) -> int:
    """Put a person in a team (creating the person and team if new)."""
    from bot.clock import SystemClock
    from bot.core.new_manager import tell_of_disagreements
    from bot.core.oversight import join_team
    from bot.core.people import Who, person_for
    from storage.db import check_schema, session_scope
    from storage.enums import Platform

    settings = load_settings()
    who = Who(Platform(args.platform), args.user, args.name or args.user)
    with _database(settings) as engine:
        check_schema(engine)
        with session_scope(engine) as session:
            clock = SystemClock()
            person = person_for(session, who, clock)
            was = person.team_id if person.is_team_manager else None
            team = join_team(session, person=person, team_name=args.team, manager=args.manager)
            role = "a manager of" if args.manager else "a member of"
            _out(f"{person.display_name} ({args.platform} {args.user}) is now {role} {team.name}.")
            if args.manager and was != team.id and team.id is not None:
                groups = tell_of_disagreements(
                    session, person=person, team_id=team.id, now=clock.now(), tz=settings.display_tz
                )
                if groups:
                    _out(
                        f"The bot will send them the disagreements already recorded in {groups} "
                        f"of the team's open group{'s' if groups != 1 else ''}."
                    )
    return 0


def _cmd_minutes_export(args: argparse.Namespace) -> int:
    """Write one copy of published minutes to a file (audited, like the chat's export)."""
    from pathlib import Path

    from bot.clock import SystemClock
    from bot.core.context import Locale
    from bot.core.documents.build import published
    from bot.core.documents.delivery import rendered_copy
    from bot.core.documents.model import Format
    from bot.core.errors import UserError
    from storage.db import check_schema, session_scope
    from storage.enums import AuditKind, CopyKind
    from storage.models import AuditEntry

    settings = load_settings()
    locale = Locale.from_settings(settings)
    with _database(settings) as engine:
        check_schema(engine)
        with session_scope(engine) as session:
            minutes, group_id = _find_minutes(session, args.case, args.meeting)
            kind, fmt = CopyKind(args.copy), Format(args.format)
            try:
                pub = published(session, minutes=minutes, tz=locale.tz)
                rendered = rendered_copy(pub, kind, tz=locale.tz, options=locale.documents, fmt=fmt)
            except UserError as err:
                raise CommandFailed(f"{err.message} {err.hint}".strip()) from None
            out = Path(args.out)
            path = out / rendered.filename if out.is_dir() else out
            try:
                path.write_bytes(rendered.data)
            except OSError as exc:
                raise UsageError(f"cannot write {path}: {exc.strerror}") from None
            session.add(
                AuditEntry(
                    at=SystemClock().now(),
                    actor_id=None,
                    group_id=group_id,
                    kind=AuditKind.READ,
                    what="minutes:export-cli",
                    detail=f"minutes={minutes.id} copy={kind.value} format={fmt.value}",
                )
            )
    _out(f"Wrote {kind.label} of meeting {args.meeting} of {args.case} to {path.resolve()}")
    return 0


def _find_minutes(session: Session, reference: str, number: int) -> tuple[Minutes, int]:
    """The minutes of meeting `number` of a case, or UsageError saying what was not found."""
    from sqlmodel import select

    from bot.core.errors import UserError
    from bot.core.groups import find_case
    from bot.core.meetings import meeting_number
    from bot.core.minutes import minutes_of
    from storage.models import CoreGroup

    case = find_case(session, reference)
    group = (
        session.exec(select(CoreGroup).where(CoreGroup.case_id == case.id)).first()
        if case
        else None
    )
    if case is None or group is None or group.id is None:
        raise UsageError(f"no core group has the case reference {reference!r}")
    try:
        meeting = meeting_number(session, group_id=group.id, number=number, reference=reference)
    except UserError as err:
        raise UsageError(err.message) from None
    minutes = minutes_of(session, meeting=meeting)
    if minutes is None:
        raise UsageError(f"meeting {number} of {reference} has no minutes yet")
    return minutes, group.id


def _cmd_member_email(args: argparse.Namespace) -> int:
    """Record or clear where a member's copies of the minutes go by email."""
    from sqlmodel import col, select

    from bot.core.distribution import masked
    from bot.core.errors import BadInput
    from bot.core.people import identity_of, set_email, valid_email
    from storage.db import check_schema, session_scope
    from storage.enums import Platform
    from storage.models import Case, CoreGroup, Membership, Person

    email = None
    if args.email is not None:
        try:
            email = valid_email(args.email, example="--email reception@castle.nhs.uk")
        except BadInput as err:
            raise UsageError(err.message) from None
    settings = load_settings()
    with _database(settings) as engine:
        check_schema(engine)
        with session_scope(engine) as session:
            person: Person | None = None
            if args.user is not None:
                if args.platform is None:
                    raise UsageError("--user needs --platform (slack, teams or local)")
                ident = identity_of(session, Platform(args.platform), args.user)
                person = session.get(Person, ident.person_id) if ident else None
            else:
                if args.case is None:
                    raise UsageError('--name needs --case, e.g. --case CP-2026-0142 --name "Jo"')
                found = session.exec(
                    select(Person)
                    .join(Membership, col(Membership.person_id) == Person.id)
                    .join(CoreGroup, col(CoreGroup.id) == Membership.group_id)
                    .join(Case, col(Case.id) == CoreGroup.case_id)
                    .where(Case.reference == args.case, col(Membership.active).is_(True))
                ).all()
                named = [p for p in found if p.display_name.casefold() == args.name.casefold()]
                if len(named) > 1:
                    raise UsageError(f"more than one member of {args.case} is called {args.name}")
                person = named[0] if named else None
            if person is None:
                raise UsageError("no such person: check --user/--platform, or --case and --name")
            set_email(person, email)
            session.add(person)
            name = person.display_name
    if email is None:
        _out(f"{name}'s email address is removed; their copies of the minutes go in chat.")
    else:
        _out(f"{name}'s copies of the minutes will go by email to {masked(email)}.")
    return 0


def _cmd_teams_package(args: argparse.Namespace) -> int:
    """Build the Teams app package."""
    from pathlib import Path

    from bot.teams_package import build_package

    path = build_package(load_settings(), Path(args.out))
    _out(f"Teams app package written to {path}; upload it in Teams (Apps → Manage your apps).")
    return 0


def _cmd_version(args: argparse.Namespace) -> int:
    """Print the package version and the database schema revision this code needs."""
    from storage.db import head_revision

    python = ".".join(str(part) for part in sys.version_info[:3])
    _out(f"coregroup-bot {__version__} (database schema {head_revision()}, Python {python})")
    return 0


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Create or upgrade the schema and say what changed."""
    from storage.db import current_revision, upgrade

    settings = load_settings()
    with _database(settings) as engine:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    where = masked_url(settings.database_url)
    if before == after:
        _out(f"Database at {where} is already at {after}; nothing to do.")
    elif before is None:
        _out(f"Database at {where} upgraded to {after}.")
    else:
        _out(f"Database at {where} upgraded from {before} to {after}.")
    return 0


def _cmd_db_current(args: argparse.Namespace) -> int:
    """Report the schema revision of DATABASE_URL and whether it is up to date."""
    from storage.db import current_revision, head_revision, refuse_newer

    settings = load_settings()
    with _database(settings) as engine:
        current = current_revision(engine)
    refuse_newer(current)
    where, head = masked_url(settings.database_url), head_revision()
    if current is None:
        _out(f"Database at {where} has no schema yet; run `coregroup db upgrade` to create it.")
    elif current == head:
        _out(f"Database at {where} is at {current} (up to date).")
    else:
        _out(
            f"Database at {where} is at {current}; this version needs {head}. "
            "Run `coregroup db upgrade`."
        )
    return 0


def _cmd_timescales(args: argparse.Namespace) -> int:
    """Print every statutory deadline for a case, with the rule behind each."""
    from bot.core.calendar import WorkingCalendar, format_day
    from bot.core.policy import timescales

    icpc: date = args.icpc
    nation: Nation = args.nation
    # A core group may meet on the day of the ICPC, straight after it; a review conference may not.
    for option, days, same_day_ok in (
        ("--meeting", args.meeting, True),
        ("--review", args.review, False),
    ):
        for day in days:
            if day < icpc or (day == icpc and not same_day_ok):
                where = "before" if day < icpc else "on the day of"
                later = (icpc + timedelta(days=14)).isoformat()
                raise UsageError(
                    f"{option} {day.isoformat()} is {where} the ICPC ({icpc.isoformat()}); "
                    f"give a later date, e.g. {option} {later}"
                )
    settings = load_settings()
    calendar = WorkingCalendar(nation, settings.closure_days)
    book = _policy_book(settings, args.policy_file)
    deadlines = timescales(
        icpc=icpc,
        meetings=args.meeting,
        reviews=args.review,
        calendar=calendar,
        policy=book.for_nation(nation),
    )
    if args.json:
        payload = {
            "icpc": icpc.isoformat(),
            "nation": nation.value,
            "deadlines": [deadline.as_dict() for deadline in deadlines],
        }
        _out(json.dumps(payload, indent=2))
        return 0
    _out(f"Timescales for a case with its ICPC on {format_day(icpc)} ({nation.label})")
    _out(f"Policy: {_policy_origin(book)}")
    if settings.closure_days:
        days = ", ".join(format_day(day) for day in sorted(settings.closure_days))
        _out(f"Local closure days: {days}")
    _out()
    for deadline in deadlines:
        _out(f"{format_day(deadline.due):<16} {deadline.rule}")
    return 0


def _cmd_policy_show(args: argparse.Namespace) -> int:
    """Print the timescales in force, nation by nation, with where each value came from."""
    book = _policy_book(load_settings(), args.policy_file)
    _out(f"Policy: {_policy_origin(book)}")
    for warning in book.looser():
        _out(f"Looser than the default (POLICY_ALLOW_LOOSER=true): {warning}.")
    shown = None
    for line in book.lines():
        if args.nation is not None and line.nation is not args.nation:
            continue
        if line.nation is not shown:
            _out(f"\n{line.nation.label}")
            shown = line.nation
        _out(f"  {line.name:<34} {line.value:<17} {line.source}")
    return 0


# --- helpers ------------------------------------------------------------------------------------


def _policy_book(settings: Settings, policy_file: Path | None) -> PolicyBook:
    """The timescales from `policy_file` (or POLICY_FILE) and POLICY_* settings, checked."""
    from bot.config import policy_environment
    from bot.core.policy_book import PolicyError, load_policy_book

    path = policy_file if policy_file is not None else settings.policy_file
    if path is not None and not path.is_file():
        raise ConfigError(f"Invalid configuration — POLICY_FILE: no such file: {path}")
    try:
        return load_policy_book(
            path=path,
            env=policy_environment(),
            name=settings.policy_name,
            allow_looser=settings.policy_allow_looser,
        )
    except PolicyError as exc:
        raise ConfigError(f"Invalid configuration — {exc}") from None


def _policy_origin(book: PolicyBook) -> str:
    """Where the policy in force came from, in words."""
    if not (book.default or book.nations or book.env):
        return "the statutory guidance defaults (no POLICY_FILE or POLICY_* settings)"
    where = f" from {book.origin}" if book.origin else ""
    env = " and POLICY_* settings" if book.env else ""
    return f"{book.name}{where}{env}, over the statutory guidance defaults"


def masked_url(url: str) -> str:
    """A database URL fit to print: any password replaced by ***."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable DATABASE_URL)"


def _engine(settings: Settings) -> Engine:
    """An engine for DATABASE_URL, turning a malformed URL or missing driver into ConfigError."""
    from sqlalchemy.exc import ArgumentError

    from bot.data_keys import keys_for
    from storage.db import make_engine

    keys = keys_for(settings)
    try:
        return make_engine(settings.database_url, keys)
    except ArgumentError:
        raise ConfigError(
            "Invalid configuration — DATABASE_URL: not a database URL I can use; for example "
            "sqlite:///path/to/coregroup.db or postgresql+psycopg://user@host:5432/coregroup"
        ) from None
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"Invalid configuration — DATABASE_URL needs the driver {exc.name!r}, which is not "
            "installed; for PostgreSQL run: pip install 'coregroup-bot[postgres]'"
        ) from None


@contextmanager
def _database(settings: Settings) -> Iterator[Engine]:
    """An engine for DATABASE_URL, disposed after; an unreachable database is CommandFailed."""
    from sqlalchemy.exc import OperationalError

    engine = _engine(settings)
    try:
        yield engine
    except OperationalError as exc:
        # The driver's first line says what failed (refused, unknown host, bad password) without
        # echoing the URL; SQLAlchemy's own text would add the SQL and a link.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unknown error"
        where = masked_url(settings.database_url)
        raise CommandFailed(f"Cannot use the database at {where}: {reason}") from None
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `coregroup` command line; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error already printed (2)
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    from storage.crypto import KeyProblem
    from storage.db import SchemaOutOfDate

    handler: Handler | None = args.handler
    if handler is None:
        args.parser.print_help(sys.stderr)
        return USAGE_ERROR
    try:
        return handler(args)
    except UsageError as exc:
        _err(f"{args.parser.prog}: {exc}")
        return USAGE_ERROR
    except (ConfigError, SchemaOutOfDate) as exc:
        _err(str(exc))
        return USAGE_ERROR
    except (CommandFailed, KeyProblem) as exc:
        _err(str(exc))
        return RUNTIME_ERROR
