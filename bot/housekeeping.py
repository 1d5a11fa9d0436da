"""The daily housekeeping job: seal yesterday's audit rows, apply the retention policy (deleting
the bot's chat messages through the platform and archiving closed spaces after), and forget the
delivery records only a recent retry or crash could need."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete
from sqlmodel import Session, col

from bot.audit_key import audit_key
from bot.clock import Clock
from bot.config import Settings
from bot.core.audit_log import seal_days
from bot.core.retention import KINDS, RetentionPolicy, erase
from bot.core.sent_messages import MessageEraser, SpaceArchiver, archive_spaces, delete_due
from bot.logs import log_failure
from storage.db import session_scope
from storage.enums import Platform
from storage.models import ProcessedEvent, TeamsSend

log = logging.getLogger(__name__)
DAILY_HOURS = 24
# How long a handled event, replay key or Teams send record is kept: far past Slack's 5-minute
# signature window, its event retries and any crash-recovery, short enough not to pile up.
DELIVERY_RECORD_DAYS = 7


def retention_policy(settings: Settings) -> RetentionPolicy:
    """The retention periods and the local documents folder from the settings."""
    months = {kind: settings.retention_months_for(kind) for kind in KINDS}
    return RetentionPolicy(months=months, documents_dir=settings.documents_dir)


Erasers = Mapping[Platform, MessageEraser]


def run_housekeeping(
    *, engine: Engine, clock: Clock, settings: Settings, erasers: Erasers | None = None
) -> None:
    """Seal the finished days, erase what has passed its period, delete the bot's chat messages
    that are due through `erasers` (one per platform this process talks to) and archive the
    spaces left empty of them; logged by kind and count only."""
    now = clock.now()
    with session_scope(engine) as session:
        sealed = seal_days(session, audit_key(settings), now)
    with session_scope(engine) as session:
        erased = erase(session, retention_policy(settings), now)
    chat = delete_due(engine, erasers or {}, now)
    archivers = {p: e for p, e in (erasers or {}).items() if isinstance(e, SpaceArchiver)}
    archived = archive_spaces(engine, archivers, now)
    with session_scope(engine) as session:
        forgotten = forget_delivery_records(session, now)
    kinds = Counter(item.kind for item in erased)
    log.info(
        "housekeeping: %d audit day(s) sealed; erased %s; %d chat message(s) deleted, %d left "
        "for good; %d space(s) archived; %d old delivery record(s) forgotten",
        len(sealed),
        ", ".join(f"{kind} of {n} group(s)" for kind, n in sorted(kinds.items())) or "nothing",
        chat.deleted.total(),
        chat.refused.total(),
        archived,
        forgotten,
    )


def forget_delivery_records(session: Session, now: datetime) -> int:
    """Delete handled-event and replay keys and Teams send records older than
    DELIVERY_RECORD_DAYS (they only guard against a retry, a replay or a crash just now)."""
    before = now - timedelta(days=DELIVERY_RECORD_DAYS)
    events = session.execute(delete(ProcessedEvent).where(col(ProcessedEvent.at) < before))
    sends = session.execute(delete(TeamsSend).where(col(TeamsSend.started_at) < before))
    return int(events.rowcount or 0) + int(sends.rowcount or 0)  # type: ignore[attr-defined]


class DailyJob:
    """Housekeeping on a clock that moves only when told (the local chat, the demo): runs at
    the first look and then whenever the clock has moved a day or more past the last run."""

    def __init__(self, *, engine: Engine, clock: Clock, settings: Settings) -> None:
        self.engine, self.clock, self.settings = engine, clock, settings
        self.last: datetime | None = None

    def on_clock(self) -> bool:
        """Run housekeeping if a day has passed on the clock; whether it ran."""
        now = self.clock.now()
        if self.last is not None and now - self.last < timedelta(hours=DAILY_HOURS):
            return False
        self.last = now
        safe_housekeeping(engine=self.engine, clock=self.clock, settings=self.settings)
        return True


def safe_housekeeping(
    *, engine: Engine, clock: Clock, settings: Settings, erasers: Erasers | None = None
) -> None:
    """The scheduler's job: a failure is logged (type and place only), never raised."""
    try:
        run_housekeeping(engine=engine, clock=clock, settings=settings, erasers=erasers)
    except Exception:
        log_failure(log, "housekeeping failed")
