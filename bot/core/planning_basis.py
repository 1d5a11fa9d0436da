"""Re-plan reminders when the rules they were planned under change: the council's timescales,
closure days, display time zone or reminder settings, compared per nation with what the database
last saw."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core.calendar import Nation
from bot.core.context import Locale
from bot.core.reminders import ASAP, ReminderSettings
from storage.db import insert_for
from storage.enums import GroupStatus
from storage.models import Case, CoreGroup, PlanningBasis, ReminderPlanState


def fingerprint(locale: Locale, nation: Nation, settings: ReminderSettings) -> str:
    """A hash of everything in `locale` and `settings` that moves a reminder for a case in
    `nation`."""
    policy = locale.policies.for_nation(nation)
    text = "|".join(
        [
            repr(policy),
            ",".join(sorted(day.isoformat() for day in locale.closure_days)),
            str(locale.tz),
            settings.timing(),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def replan_changed_rules(
    session: Session, *, locale: Locale, settings: ReminderSettings, now: datetime
) -> list[Nation]:
    """Mark every open group of each nation whose rules changed since the last look for
    re-planning at once (one set-based UPDATE per nation), and remember the new rules. Returns
    the nations whose rules changed; the first look re-plans every group silently (their
    reminders were planned before the rules were recorded)."""
    seen = {row.key: row for row in session.exec(select(PlanningBasis))}
    changed = []
    for nation in Nation:
        key, mark = f"nation:{nation.value}", fingerprint(locale, nation, settings)
        row = seen.get(key)
        if row is not None and row.fingerprint == mark:
            continue
        if row is None:  # first look since this was installed: plan once under these rules
            # Several instances may look at once: the first insert wins, the others skip it.
            session.execute(
                insert_for(session.get_bind().dialect.name)(PlanningBasis)
                .values(key=key, fingerprint=mark, changed_at=now)
                .on_conflict_do_nothing(index_elements=["key"])
            )
        else:
            changed.append(nation)
            row.fingerprint, row.changed_at = mark, now
            session.add(row)
        groups = (
            select(CoreGroup.id)
            .join(Case, col(Case.id) == CoreGroup.case_id)
            .where(Case.nation == nation.value, CoreGroup.status == GroupStatus.ACTIVE)
        )
        session.execute(
            update(ReminderPlanState)
            .where(col(ReminderPlanState.group_id).in_(groups.scalar_subquery()))
            .values(changes=ReminderPlanState.changes + 1, next_plan_at=ASAP)
        )
    return changed
