"""A first start and a bulk re-plan at national scale: every group planned in one pass, with
wall time, this process's CPU and PostgreSQL's server CPU, against the per-group ORM path
measured in the same run on a subset.

Usage (PostgreSQL: a fresh schema, dropped afterwards; SQLite: a temporary file):

    python -m bench.first_start --url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        [--groups 50000] [--compare 2000]
    python -m bench.first_start --url sqlite --groups 2000

The data is bench/reminders_scale.py's synthetic country (per group: six members, three
outcomes, ten actions, two meetings). Measured:

1. The per-group ORM path on the first `--compare` groups (SQLModel objects from `load_states`,
   row-by-row upsert, withdrawals read back and compared in Python), then the bulk path on the
   same groups (plain rows, temporary tables, three set-based statements), both from an empty
   ledger and with the same derivation: the honest ratio of the two designs.
2. The first start: `ReminderEngine.plan` with the shipped settings plans every group from
   nothing (rules recorded, plan states made, every group planned, digests).
3. A bulk re-plan: a closure day is added, so every group of every nation is re-planned in the
   next tick; what moves is moved and what no longer applies withdrawn.
Not included: building the data, sending.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, select

from bench.reminders_scale import (
    NOW,
    RESULTS,
    SERVER,
    InstantPlatform,
    engine_for,
    fresh_schema,
    generate,
    ledger_size,
    measured,
    print_results,
)
from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.reminders import (
    Occurrence,
    PlanDue,
    load_plan_states,
    load_states,
    plan_window,
    upsert,
    withdraw_stale,
    write_batch,
)
from bot.scheduler import ReminderEngine
from storage.db import make_engine, upgrade
from storage.enums import Platform
from storage.models import Reminder

BATCH = 1000  # the shipped plan_batch


def _cpu(extra: dict[str, Any], groups: int) -> float:
    """Add per-group and per-second figures for the last measurement; its CPU (both sides)."""
    took = RESULTS[-1]
    cpu = (took.cpu or 0) + (took.db_cpu or 0)
    extra.update(
        groups=groups,
        groups_per_s=round(groups / max(took.seconds, 1e-9)),
        ms_cpu_per_group=round(cpu / max(groups, 1) * 1000, 3),
    )
    return cpu


def _subset(reminders: ReminderEngine, groups: int, *, bulk: bool) -> None:
    """Plan groups 1..`groups` from an empty ledger, batch by batch, by one path."""
    now = NOW - timedelta(hours=1)
    ids = list(range(1, groups + 1))
    planner, settings = reminders.planner, reminders.settings
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        with Session(reminders.engine) as session:
            if bulk:  # as the scheduler reads a batch: no action due past the look-ahead
                hi = now + settings.horizon
                states = load_plan_states(session, batch, actions_due_by=planner.action_horizon(hi))
            else:
                states = load_states(session, batch)
            windows: dict[int, datetime] = {}
            desired: dict[int, set[str]] = {}
            occurrences: list[Occurrence] = []
            for gid in batch:
                due = PlanDue(gid, 0, None, asap=True)
                lo, hi = plan_window(due, now=now, settings=settings, locale=reminders.locale)
                found = planner.derive(states[gid], lo=lo, hi=hi) if gid in states else {}
                windows[gid], desired[gid] = lo, set(found)
                occurrences.extend(found.values())
            if bulk:
                write_batch(session, occurrences, windows=windows, now=now)
            else:
                upsert(session, occurrences, now=now)
                withdraw_stale(session, windows=windows, desired=desired)
            session.commit()


def _empty_ledger(reminders: ReminderEngine) -> int:
    with Session(reminders.engine) as session:
        rows = session.exec(select(func.count()).select_from(Reminder)).one()
        session.execute(delete(Reminder))
        session.commit()
    return rows


def compare(url: str, groups: int) -> tuple[float, float]:
    """The per-group ORM path and the bulk path on the same groups; CPU per group of each."""
    reminders = engine_for(url, InstantPlatform())
    per_group = []
    for bulk, name in ((False, "per-group ORM path"), (True, "bulk path")):
        with measured(f"{name}: plan {groups} groups from empty") as extra:
            _subset(reminders, groups, bulk=bulk)
        per_group.append(_cpu(extra, groups) / groups)
        extra.update(ledger_rows=_empty_ledger(reminders))
    return per_group[0], per_group[1]


def first_start(url: str) -> int:
    """Every group planned from nothing by the scheduler, in one pass."""
    reminders = engine_for(url, InstantPlatform())
    with measured("=> first start: ReminderEngine.plan, every group") as extra:
        report = reminders.plan(NOW - timedelta(hours=1))
    _cpu(extra, report.planned)
    extra.update(ledger=ledger_size(reminders.engine))
    return report.planned


def replan(url: str) -> int:
    """Add a closure day (tomorrow): the next tick re-plans every group in one pass."""
    reminders = ReminderEngine(
        engine=SERVER.watch(make_engine(url)),
        clock=FakeClock(NOW),
        outboxes={Platform.SLACK: InstantPlatform()},
        locale=Locale(closure_days=((NOW + timedelta(days=1)).date(),)),
        instance="bench",
    )
    with measured("=> bulk re-plan: a closure day added, every group") as extra:
        report = reminders.plan(NOW - timedelta(minutes=30))
    _cpu(extra, report.planned)
    extra.update(withdrawn=report.withdrawn, ledger=ledger_size(reminders.engine))
    return report.planned


def main() -> None:
    """Build the country, then compare, first start and re-plan; print the figures."""
    from storage.crypto import new_key_text

    os.environ.setdefault("DATA_KEY", new_key_text())  # throw-away data, a throw-away key
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="PostgreSQL URL or `sqlite` (default: BENCH_DATABASE_URL)")
    parser.add_argument("--groups", type=int, default=50_000)
    parser.add_argument("--compare", type=int, default=2_000, help="groups on both paths")
    args = parser.parse_args()
    url = args.url or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    with fresh_schema(url or "") as schema_url:
        engine = SERVER.watch(make_engine(schema_url))
        upgrade(engine)
        with measured("generate the data (not part of any figure)") as extra:
            extra.update(generate(engine, args.groups))
        engine.dispose()
        old, new = compare(schema_url, min(args.compare, args.groups))
        first_start(schema_url)
        replan(schema_url)
    print_results()
    print(f"CPU per group, process + database: per-group ORM path {old * 1000:.3f} ms, ")
    print(f"bulk path {new * 1000:.3f} ms: {old / max(new, 1e-12):.1f}x less")


if __name__ == "__main__":
    main()
