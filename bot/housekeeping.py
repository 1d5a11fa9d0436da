"""The daily housekeeping job: seal yesterday's audit rows, apply the retention policy, and
forget the delivery records only a recent retry or crash could need."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete
from sqlmodel import Session, col

from bot.audit_key import audit_key
from bot.clock import Clock
from bot.config import Settings
from bot.core.audit_log import seal_days
from bot.core.retention import KINDS, MessageEraser, RetentionPolicy, erase
from bot.logs import log_failure
from storage.db import session_scope
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


def run_housekeeping(
    *, engine: Engine, clock: Clock, settings: Settings, eraser: MessageEraser | None = None
) -> None:
    """Seal the finished days, then erase what has passed its period (logged by kind only)."""
    now = clock.now()
    with session_scope(engine) as session:
        sealed = seal_days(session, audit_key(settings), now)
    with session_scope(engine) as session:
        erased = erase(session, retention_policy(settings), now, eraser)
    with session_scope(engine) as session:
        forgotten = forget_delivery_records(session, now)
    kinds = Counter(item.kind for item in erased)
    log.info(
        "housekeeping: %d audit day(s) sealed; erased %s; %d old delivery record(s) forgotten",
        len(sealed),
        ", ".join(f"{kind} of {n} group(s)" for kind, n in sorted(kinds.items())) or "nothing",
        forgotten,
    )


def forget_delivery_records(session: Session, now: datetime) -> int:
    """Delete handled-event and replay keys and Teams send records older than
    DELIVERY_RECORD_DAYS (they only guard against a retry, a replay or a crash just now)."""
    before = now - timedelta(days=DELIVERY_RECORD_DAYS)
    events = session.execute(delete(ProcessedEvent).where(col(ProcessedEvent.at) < before))
    sends = session.execute(delete(TeamsSend).where(col(TeamsSend.started_at) < before))
    return int(events.rowcount or 0) + int(sends.rowcount or 0)  # type: ignore[attr-defined]


def safe_housekeeping(
    *, engine: Engine, clock: Clock, settings: Settings, eraser: MessageEraser | None = None
) -> None:
    """The scheduler's job: a failure is logged (type and place only), never raised."""
    try:
        run_housekeeping(engine=engine, clock=clock, settings=settings, eraser=eraser)
    except Exception:
        log_failure(log, "housekeeping failed")
