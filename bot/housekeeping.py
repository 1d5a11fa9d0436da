"""The daily housekeeping job: seal yesterday's audit rows and apply the retention policy."""

from __future__ import annotations

import logging
from collections import Counter

from sqlalchemy import Engine

from bot.audit_key import audit_key
from bot.clock import Clock
from bot.config import Settings
from bot.core.audit_log import seal_days
from bot.core.retention import KINDS, MessageEraser, RetentionPolicy, erase
from bot.logs import log_failure
from storage.db import session_scope

log = logging.getLogger(__name__)
DAILY_HOURS = 24


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
    kinds = Counter(item.kind for item in erased)
    log.info(
        "housekeeping: %d audit day(s) sealed; erased %s",
        len(sealed),
        ", ".join(f"{kind} of {n} group(s)" for kind, n in sorted(kinds.items())) or "nothing",
    )


def safe_housekeeping(
    *, engine: Engine, clock: Clock, settings: Settings, eraser: MessageEraser | None = None
) -> None:
    """The scheduler's job: a failure is logged (type and place only), never raised."""
    try:
        run_housekeeping(engine=engine, clock=clock, settings=settings, eraser=eraser)
    except Exception:
        log_failure(log, "housekeeping failed")
