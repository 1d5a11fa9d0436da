"""Putting the pieces together: database, clock, dispatcher, adapters and the reminder scheduler."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TextIO

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from bot.adapters.local import LocalChat, LocalDirectory
from bot.clock import Clock, FakeClock
from bot.config import Settings
from bot.core.context import Locale
from bot.core.people import Directory
from bot.core.ports import Outbox
from bot.core.reminders import ReminderSettings
from bot.scheduler import ReminderEngine, start_scheduler
from commands import build_registry
from commands.dispatch import Dispatcher
from storage.enums import Platform

log = logging.getLogger(__name__)


def locale_from(settings: Settings) -> Locale:
    """The local-authority settings the core needs."""
    return Locale.from_settings(settings)


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


def local_chat(
    *, engine: Engine, clock: FakeClock, locale: Locale, out: TextIO, echo: bool
) -> LocalChat:
    """The local chat over `engine`, with reminders firing whenever its clock moves."""
    dispatcher = build_dispatcher(
        engine=engine,
        clock=clock,
        locale=locale,
        platform=Platform.LOCAL,
        directory=LocalDirectory(),
    )
    chat = LocalChat(dispatcher=dispatcher, clock=clock, out=out, echo=echo)
    # One sender: the transcript is a single stream, so messages must not interleave.
    reminders = ReminderEngine(
        engine=engine,
        clock=clock,
        outboxes={Platform.LOCAL: chat},
        locale=locale,
        settings=ReminderSettings(send_workers=1),
    )
    chat.on_clock = reminders.on_clock
    return chat


def start_reminders(
    *, engine: Engine, clock: Clock, locale: Locale, platform: Platform, outbox: Outbox
) -> BackgroundScheduler:
    """Start APScheduler ticking the reminder ledger, sending through `outbox`."""
    reminders = ReminderEngine(
        engine=engine, clock=clock, outboxes={platform: outbox}, locale=locale
    )
    log.info("reminder scheduler started for %s", platform.value)
    return start_scheduler(reminders)


def serve_platform(settings: Settings, engine: Engine, clock: Clock) -> bool:
    """Serve Slack or Teams when configured (blocks until stopped); False when neither is."""
    from bot.adapters.teams import is_anonymous, load_teams_settings

    def reminders_for(platform: Platform) -> Callable[[Outbox], BackgroundScheduler]:
        def start(outbox: Outbox) -> BackgroundScheduler:
            return start_reminders(
                engine=engine,
                clock=clock,
                locale=locale_from(settings),
                platform=platform,
                outbox=outbox,
            )

        return start

    if settings.platform == "slack":
        from bot.adapters.slack import run_slack

        run_slack(settings, engine, clock, on_outbox=reminders_for(Platform.SLACK))
        return True
    if settings.platform == "teams" or is_anonymous(settings, load_teams_settings()):
        from bot.adapters.teams import run_teams

        run_teams(settings, engine, clock, on_outbox=reminders_for(Platform.TEAMS))
        return True
    return False
