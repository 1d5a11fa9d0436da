"""Planning at scale: a first start and a change of rules (reminder settings, closure days, one
nation's timescales) re-plan every affected group in one tick, only the routine re-plan keeps to
the time budget, and marking many groups fits the drivers' limits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, func, insert
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from bot.core.calendar import Nation
from bot.core.context import Locale
from bot.core.policy_book import PolicyBook
from bot.core.reminders import ASAP, ReminderSettings, mark_changed
from bot.scheduler import ReminderEngine
from storage.enums import GroupStatus, Platform, ReminderStatus
from storage.models import Case, CoreGroup, Reminder, ReminderPlanState
from tests.factories import build_core_group, make_action

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


def _restart(engine: Engine, clock: FakeClock, locale: Locale) -> ReminderEngine:
    """The bot started again with other local rules (the same reminder settings)."""
    return ReminderEngine(
        engine=engine, clock=clock, outboxes={}, locale=locale, settings=WEEK_AHEAD
    )


WEEK_AHEAD = ReminderSettings(horizon=timedelta(days=7))


def _due(engine: Engine, key_start: str) -> list[datetime]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(Reminder.due_at).where(
                    col(Reminder.dedup_key).startswith(key_start),
                    Reminder.status == ReminderStatus.PENDING,
                )
            ).all()
        )


def test_a_new_closure_day_moves_the_reminders_due_that_day_within_one_tick(
    engine: Engine, clock: FakeClock
) -> None:
    # Mon 23 Nov 2026: an action due on Wed 25 Nov is reminded of at 09:00 that morning.
    with Session(engine) as s:
        data = build_core_group(session=s, clock=clock)
        owner = data.chair
        action = make_action(
            session=s, clock=clock, group=data.group, owner=owner, due_on=date(2026, 11, 25)
        )
        s.commit()
        key = f"action:{action.id}:2026-11-25:due:"
    _restart(engine, clock, Locale()).tick()
    assert _due(engine, key) == [datetime(2026, 11, 25, 9, 0, tzinfo=UTC)]

    # The council closes on Wed 25 Nov: the next tick moves it to Tue 24 Nov, the working day
    # before, without waiting for the daily re-plan.
    clock.set(clock.now() + timedelta(minutes=1))
    closed = _restart(engine, clock, Locale(closure_days=(date(2026, 11, 25),)))
    assert closed.tick().planned == 1
    assert _due(engine, key) == [datetime(2026, 11, 24, 9, 0, tzinfo=UTC)]


def test_a_policy_change_for_one_nation_re_plans_only_that_nations_groups(
    engine: Engine, clock: FakeClock
) -> None:
    with Session(engine) as s:
        groups = [build_core_group(session=s, clock=clock) for _ in range(3)]
        groups[0].case.nation = "wales"
        s.add(groups[0].case)
        s.commit()
    _restart(engine, clock, Locale()).tick()
    clock.set(clock.now() + timedelta(minutes=1))
    welsh = PolicyBook(nations=((Nation.WALES, (("record_working_days", 1),)),))
    assert _restart(engine, clock, Locale(policies=welsh)).tick().planned == 1
