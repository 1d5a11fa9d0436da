"""Planning at scale: a first start and a change of rules re-plan every group in one tick, only
the routine re-plan keeps to the time budget, and marking many groups fits the drivers' limits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, func, insert
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.reminders import ASAP, ReminderSettings, mark_changed
from bot.scheduler import ReminderEngine
from storage.enums import GroupStatus, Platform
from storage.models import Case, CoreGroup, ReminderPlanState

# No time at all for planning: only what must be planned at once gets planned.
NO_BUDGET = ReminderSettings(plan_batch=10, plan_budget=timedelta(0))


def _groups(engine: Engine, clock: FakeClock, count: int) -> list[int]:
    """`count` open groups written in bulk, as a migration from another system would."""
    now = clock.now()
    with Session(engine) as s:
        first = s.exec(select(func.count()).select_from(Case)).one()
        s.execute(
            insert(Case),
            [
                {"reference": f"CP-2026-{first + n:05d}", "icpc_date": date(2026, 11, 2),
                 "created_at": now}
                for n in range(count)
            ],
        )  # fmt: skip
        cases = s.exec(select(Case.id).order_by(col(Case.id))).all()[first:]
        s.execute(
            insert(CoreGroup),
            [
                {"case_id": c, "platform": Platform.LOCAL, "status": GroupStatus.ACTIVE,
                 "created_at": now}
                for c in cases
            ],
        )  # fmt: skip
        s.commit()
        return list(s.exec(select(CoreGroup.id).order_by(col(CoreGroup.id))).all())


def _engine(engine: Engine, clock: FakeClock, settings: ReminderSettings) -> ReminderEngine:
    return ReminderEngine(
        engine=engine, clock=clock, outboxes={}, locale=Locale(), settings=settings
    )


def _waiting(engine: Engine) -> int:
    """Groups still waiting for their first (or a changed) plan."""
    with Session(engine) as s:
        return s.exec(
            select(func.count())
            .select_from(ReminderPlanState)
            .where(ReminderPlanState.next_plan_at <= ASAP)
        ).one()


def test_a_first_start_plans_every_group_in_one_tick_whatever_the_budget(
    engine: Engine, clock: FakeClock
) -> None:
    ids = _groups(engine, clock, 45)
    report = _engine(engine, clock, NO_BUDGET).tick()
    assert report.planned == len(ids)
    assert _waiting(engine) == 0


def test_the_routine_re_plan_keeps_to_the_budget(engine: Engine, clock: FakeClock) -> None:
    _groups(engine, clock, 45)
    reminders = _engine(engine, clock, NO_BUDGET)
    reminders.tick()
    # A day on, every group's look-ahead is running out: one batch a tick, the rest later.
    clock.set(clock.now() + timedelta(days=1, minutes=1))
    assert reminders.tick().planned == NO_BUDGET.plan_batch


def test_changing_reminder_settings_re_plans_every_group_in_the_next_tick(
    engine: Engine, clock: FakeClock
) -> None:
    ids = _groups(engine, clock, 25)
    _engine(engine, clock, NO_BUDGET).tick()
    clock.set(clock.now() + timedelta(minutes=5))
    assert _engine(engine, clock, NO_BUDGET).tick().planned == 0  # a restart: nothing changed
    sooner = ReminderSettings(plan_batch=10, plan_budget=timedelta(0), action_before_working_days=3)
    clock.set(clock.now() + timedelta(minutes=5))
    assert _engine(engine, clock, sooner).tick().planned == len(ids)
    assert _waiting(engine) == 0


def test_marking_more_groups_than_one_statement_can_bind(engine: Engine, clock: FakeClock) -> None:
    # PostgreSQL takes 65,535 bind parameters a statement: three a group overflow at 21,846.
    ids = _groups(engine, clock, 22_000)
    with engine.begin() as conn:
        conn.execute(ReminderPlanState.__table__.delete())  # type: ignore[attr-defined]
        mark_changed(conn, ids)
        mark_changed(conn, ids[:10])
    with Session(engine) as s:
        states = s.exec(select(ReminderPlanState.changes, ReminderPlanState.next_plan_at)).all()
    assert len(states) == len(ids)
    assert sorted({c for c, _ in states}) == [1, 2]
    assert {n for _, n in states} == {datetime(2000, 1, 1, tzinfo=UTC)}
