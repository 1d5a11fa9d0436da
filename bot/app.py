"""Putting the pieces together: database, clock, dispatcher, adapters and the reminder scheduler."""

from __future__ import annotations

import dataclasses
import functools
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from bot.adapters.family_web import AlertSender, family_routes, mailer_for
from bot.adapters.local import LocalChat, LocalDirectory
from bot.adapters.mailer import Mailer, SmtpSettings
from bot.adapters.signed_links import LinkSigner
from bot.adapters.web import WebServer, build_web_app
from bot.clock import Clock, FakeClock
from bot.config import Settings
from bot.core.context import Locale
from bot.core.people import Directory
from bot.core.ports import Outbox
from bot.core.reminders import ReminderSettings
from bot.core.sent_messages import MessageEraser
from bot.distribution import DistributionSettings, Distributor
from bot.housekeeping import DAILY_HOURS, DailyJob, safe_housekeeping
from bot.scheduler import ReminderEngine, ReminderScheduler, start_scheduler
from commands import build_registry
from commands.dispatch import Dispatcher
from storage.enums import Platform

log = logging.getLogger(__name__)

# How often queued copies of published minutes are picked up on Slack and Teams.
COPIES_EVERY_SECONDS = 10
# The daily seal-and-retention job first runs a few minutes after start, then every 24 hours.
HOUSEKEEPING_FIRST_RUN = timedelta(minutes=5)


def locale_from(settings: Settings) -> Locale:
    """The local-authority settings the core needs."""
    return Locale.from_settings(settings)


def with_local_links(locale: Locale, *, host: str, port: int) -> Locale:
    """The locale for the local chat's family pages: PUBLIC_URL and the link secret when set,
    else this machine's address and a secret made for this run (its links end when it stops)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return dataclasses.replace(
        locale,
        public_url=locale.public_url or f"http://{shown}:{port}",
        link_secret=locale.link_secret or secrets.token_urlsafe(32),
    )


def start_family_web(
    *,
    engine: Engine,
    clock: Clock,
    locale: Locale,
    host: str,
    port: int,
    outbox: Outbox | None = None,
    settings: Settings | None = None,
) -> WebServer | None:
    """Serve the family's pages for the local chat on host:port; None if the port is taken.
    "I don't feel safe" alerts go through `outbox` (the local chat) and SMTP when set up."""
    alert = AlertSender(outbox, mailer_for(settings))
    routes = family_routes(engine=engine, locale=locale, clock=clock, alert=alert)
    app = build_web_app(engine, routes)
    try:
        return WebServer(app, host=host, port=port).start()
    except OSError as exc:
        log.warning("the family's pages could not start on port %s: %s", port, exc.strerror)
        return None


def build_dispatcher(
    *, engine: Engine, clock: Clock, locale: Locale, platform: Platform, directory: Directory
) -> Dispatcher:
    """A dispatcher with every command registered."""
    return Dispatcher(
        engine=engine,
        clock=clock,
        locale=locale,
        platform=platform,
        directory=directory,
        registry=build_registry(),
    )


def distributor_for(
    *,
    engine: Engine,
    clock: Clock,
    locale: Locale,
    outboxes: Mapping[Platform, Outbox],
    settings: Settings | None,
) -> Distributor:
    """The sender of copies of published minutes: chat through `outboxes`, email over SMTP."""
    smtp = SmtpSettings.from_settings(settings) if settings is not None else None
    return Distributor(
        engine=engine,
        clock=clock,
        outboxes=outboxes,
        locale=locale,
        mailer=Mailer(smtp) if smtp is not None else None,
        links=LinkSigner.from_settings(settings, clock) if settings is not None else None,
        settings=DistributionSettings(
            email_links=settings is not None and settings.email_delivery == "link",
            email_link_ttl=timedelta(hours=settings.email_link_hours if settings else 72),
        ),
    )


def local_chat(
    *,
    engine: Engine,
    clock: FakeClock,
    locale: Locale,
    out: TextIO,
    echo: bool,
    settings: Settings | None = None,
    files_dir: Path | None = None,
    daily: DailyJob | None = None,
) -> LocalChat:
    """The local chat over `engine`, with reminders firing whenever its clock moves, the copies
    of published minutes sent as soon as a reply queues them, and `daily` (housekeeping) run
    whenever the clock passes a day since its last run."""
    dispatcher = build_dispatcher(
        engine=engine,
        clock=clock,
        locale=locale,
        platform=Platform.LOCAL,
        directory=LocalDirectory(),
    )
    folder = files_dir or (settings.documents_dir if settings is not None else None)
    chat = LocalChat(dispatcher=dispatcher, clock=clock, out=out, echo=echo, files_dir=folder)
    # One sender: the transcript is a single stream, so messages must not interleave.
    reminders = ReminderEngine(
        engine=engine,
        clock=clock,
        outboxes={Platform.LOCAL: chat},
        locale=locale,
        settings=ReminderSettings(send_workers=1),
    )
    copies = distributor_for(
        engine=engine,
        clock=clock,
        locale=locale,
        outboxes={Platform.LOCAL: chat},
        settings=settings,
    )

    def on_clock() -> None:
        reminders.on_clock()
        copies.safe_run()  # retries of copies that could not go the first time
        if daily is not None:
            daily.on_clock()

    chat.on_clock = on_clock
    chat.after_reply = copies.safe_run
    return chat


def start_reminders(
    *,
    engine: Engine,
    clock: Clock,
    locale: Locale,
    platform: Platform,
    outbox: Outbox,
    settings: Settings | None = None,
) -> ReminderScheduler:
    """Start APScheduler ticking the reminder ledger and sending queued copies of minutes."""
    reminders = ReminderEngine(
        engine=engine, clock=clock, outboxes={platform: outbox}, locale=locale
    )
    copies = distributor_for(
        engine=engine, clock=clock, locale=locale, outboxes={platform: outbox}, settings=settings
    )
    log.info("reminder scheduler started for %s", platform.value)
    scheduler = start_scheduler(reminders)
    scheduler.add_job(
        copies.safe_run,
        IntervalTrigger(seconds=COPIES_EVERY_SECONDS),
        id="distribution",
        max_instances=1,
        coalesce=True,
    )
    if settings is not None:
        erasers = {platform: outbox} if isinstance(outbox, MessageEraser) else {}
        scheduler.add_job(
            functools.partial(
                safe_housekeeping, engine=engine, clock=clock, settings=settings, erasers=erasers
            ),
            IntervalTrigger(hours=DAILY_HOURS),
            id="housekeeping",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC) + HOUSEKEEPING_FIRST_RUN,
        )
    return scheduler


def serve_platform(settings: Settings, engine: Engine, clock: Clock) -> bool:
    """Serve Slack or Teams when configured (blocks until stopped); False when neither is."""
    from bot.adapters.teams import load_teams_settings, teams_requested

    def reminders_for(platform: Platform) -> Callable[[Outbox], ReminderScheduler]:
        def start(outbox: Outbox) -> ReminderScheduler:
            return start_reminders(
                engine=engine,
                clock=clock,
                locale=locale_from(settings),
                platform=platform,
                outbox=outbox,
                settings=settings,
            )

        return start

    if settings.platform == "slack":
        from bot.adapters.slack import run_slack

        run_slack(settings, engine, clock, on_outbox=reminders_for(Platform.SLACK))
        return True
    if teams_requested(settings, load_teams_settings()):
        from bot.adapters.teams import run_teams

        run_teams(settings, engine, clock, on_outbox=reminders_for(Platform.TEAMS))
        return True
    return False
