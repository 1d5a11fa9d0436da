"""The bulk planning path (plain rows in, temporary tables and set-based statements out) leaves
exactly the ledger the per-group path leaves: the same rows added, moved, revived, withdrawn and
kept, for groups of every shape."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.reminders import (
    Planner,
    ReminderSettings,
    load_plan_states,
    load_states,
    upsert,
    withdraw_stale,
    write_batch,
)
from storage.enums import ActionStatus, ConcernState, GroupStatus, MeetingStatus, ReminderStatus
from storage.models import Action, Concern, CoreGroup, Meeting, Person, Reminder, ReviewConference
from tests.factories import at_london, build_core_group, local_today, managed_team

# Three weeks ahead: every kind of reminder has a chance to fall inside the window.
SETTINGS = ReminderSettings(horizon=timedelta(days=21))
PLANNER = Planner(locale=Locale(), settings=SETTINGS)
Snapshot = list[tuple[Any, ...]]


def _per_group(session: Session, ids: list[int], lo: datetime, hi: datetime) -> None:
    """The per-group path: ORM objects, one group at a time, row by row."""
    for gid in ids:
        state = load_states(session, [gid]).get(gid)
        found = PLANNER.derive(state, lo=lo, hi=hi) if state else {}
        upsert(session, found.values(), now=lo)
        withdraw_stale(session, windows={gid: lo}, desired={gid: set(found)})


def _bulk(session: Session, ids: list[int], lo: datetime, hi: datetime) -> None:
    """The bulk path, as the scheduler runs it for a batch."""
    states = load_plan_states(session, ids, actions_due_by=PLANNER.action_horizon(hi))
    occurrences = [
        o
        for gid in ids
        if gid in states
        for o in PLANNER.derive(states[gid], lo=lo, hi=hi).values()
    ]
    write_batch(session, occurrences, windows=dict.fromkeys(ids, lo), now=lo)


def _ledger(session: Session) -> Snapshot:
    rows = session.exec(select(Reminder).order_by(col(Reminder.dedup_key))).all()
    return [
        (r.dedup_key, r.kind, r.group_id, r.person_id, r.subject_id, r.due_at, r.not_after,
         r.status, r.attempts, r.payload)
        for r in rows
    ]  # fmt: skip


def _both(engine: Engine, ids: list[int], lo: datetime, hi: datetime) -> tuple[Snapshot, Snapshot]:
    """Each path from the same committed ledger; the bulk path's result is kept."""
    found: list[Snapshot] = []
    paths: list[Callable[[Session, list[int], datetime, datetime], None]] = [_per_group, _bulk]
    for path in paths:
        with Session(engine) as session:
            path(session, ids, lo, hi)
            session.flush()
            found.append(_ledger(session))
            if path is _bulk:
                session.commit()
            else:
                session.rollback()
    return found[0], found[1]


def _varied_groups(session: Session, clock: FakeClock) -> list[int]:
    """Groups of many shapes: nations, a closed one, a team with managers and unrecorded
    minutes, an unanswered concern, a review conference, a family taking evening messages in
    another time zone, overdue actions."""
    today = local_today(clock)
    built = [build_core_group(session=session, clock=clock) for _ in range(4)]
    for data, nation in zip(
        built, ["england", "wales", "scotland", "northern-ireland"], strict=True
    ):
        data.case.nation = nation
        session.add(data.case)
    first = built[0]
    first.actions[0].due_on = today - timedelta(days=12)  # overdue long enough to escalate
    first.actions[1].due_on = today - timedelta(days=1)
    session.add_all(first.actions[:2])
    parent = next(p for p in first.members.values() if p.is_family)
    parent.timezone, parent.contact_start_hour, parent.contact_end_hour = "America/New_York", 18, 21
    session.add(parent)
    second = built[1]
    assert second.group.id is not None and second.chair.id is not None
    school = next(p for p in second.members.values() if not p.is_family and p != second.chair)
    assert school.id is not None
    session.add(
        Concern(
            group_id=second.group.id, author_id=school.id, text="worried", state=ConcernState.ASKED,
            raised_at=clock.now() - timedelta(hours=20),
        )
    )  # fmt: skip
    session.add(
        ReviewConference(
            case_id=second.case.id or 0, held_on=today - timedelta(days=3),
            recorded_at=clock.now() - timedelta(days=2),
        )
    )  # fmt: skip
    closed = built[3].group
    closed.status = GroupStatus.CLOSED
    session.add(closed)
    managed_team(
        session, clock, name="Team North", manager="mina", year=2031, groups=3, today=today
    )
    session.commit()
    return [g for g in session.exec(select(CoreGroup.id).order_by(col(CoreGroup.id))).all() if g]


def test_bulk_and_per_group_planning_leave_the_same_ledger(
    engine: Engine, clock: FakeClock
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        ids = _varied_groups(session, clock)
    lo = clock.now()
    per_group, bulk = _both(engine, ids, lo, lo + SETTINGS.horizon)
    assert bulk == per_group
    kinds = {row[1] for row in bulk}
    assert len(bulk) > 100 and len(kinds) >= 10  # a varied ledger, not an empty one

    # A day on, things changed: a meeting moved, an action done, a row snoozed, one withdrawn
    # row derived again, one sent; what each path adds, moves, revives and withdraws matches.
    clock.set(clock.now() + timedelta(days=1))
    with Session(engine, expire_on_commit=False) as session:
        meeting = session.exec(
            select(Meeting)
            .where(Meeting.status == MeetingStatus.SCHEDULED)
            .order_by(col(Meeting.id))
        ).first()
        assert meeting is not None
        meeting.starts_at = at_london(local_today(clock) + timedelta(days=4), 14)
        session.add(meeting)
        pending = session.exec(
            select(Reminder)
            .where(Reminder.status == ReminderStatus.PENDING)
            .order_by(col(Reminder.due_at), col(Reminder.id))
        ).all()
        pending[0].status = ReminderStatus.SENT
        pending[1].status = ReminderStatus.WITHDRAWN
        session.add_all(pending[:2])
        person = session.exec(select(Person.id)).first()
        session.add(
            Reminder(
                dedup_key=f"snooze:{pending[2].id}", kind=pending[2].kind,
                group_id=pending[2].group_id, person_id=person, due_at=clock.now(),
                created_at=clock.now(),
            )
        )  # fmt: skip
        action = session.exec(
            select(Reminder).where(col(Reminder.kind).startswith("action"))
        ).first()
        assert action is not None and action.subject_id is not None
        done = session.get(Action, action.subject_id)
        assert done is not None
        done.status = ActionStatus.DONE
        session.add(done)
        session.commit()
    lo = clock.now()
    per_group, bulk = _both(engine, ids, lo, lo + SETTINGS.horizon)
    assert bulk == per_group
    statuses = {row[7] for row in bulk}
    assert {ReminderStatus.WITHDRAWN, ReminderStatus.PENDING, ReminderStatus.SENT} <= statuses


def test_an_empty_batch_writes_nothing(engine: Engine, clock: FakeClock) -> None:
    with Session(engine) as session:
        assert write_batch(session, [], windows={}, now=clock.now()) == []
        assert load_plan_states(session, []) == {}


def test_actions_past_the_horizon_are_not_read_and_change_nothing(
    engine: Engine, clock: FakeClock
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        ids = _varied_groups(session, clock)
        actions = session.exec(select(Action).order_by(col(Action.id))).all()
        for n, action in enumerate(actions):  # due dates from overdue to well past the horizon
            action.due_on = local_today(clock) + timedelta(days=3 * n - 15)
        session.add_all(actions)
        session.commit()
    lo, settings = clock.now(), ReminderSettings()
    hi = lo + settings.horizon
    planner = Planner(locale=Locale(), settings=settings)
    with Session(engine) as session:
        every = load_plan_states(session, ids)
        some = load_plan_states(session, ids, actions_due_by=planner.action_horizon(hi))
    assert sum(len(s.actions) for s in some.values()) < sum(len(s.actions) for s in every.values())
    fresh = Planner(locale=Locale(), settings=settings)
    for gid in every:
        assert planner.derive(some[gid], lo=lo, hi=hi) == fresh.derive(every[gid], lo=lo, hi=hi)


def test_a_planner_used_for_other_windows_derives_what_a_fresh_one_does(
    engine: Engine, clock: FakeClock
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        ids = _varied_groups(session, clock)
        states = load_states(session, ids)
    settings = ReminderSettings()
    used = Planner(locale=Locale(), settings=settings)
    windows = [
        (clock.now() + timedelta(days=d), timedelta(days=h)) for d in (0, 3, 9) for h in (2, 14)
    ]
    for lo, span in windows:  # what one window worked out must not leak into another
        fresh = Planner(locale=Locale(), settings=settings)
        for state in states.values():
            got, want = (p.derive(state, lo=lo, hi=lo + span) for p in (used, fresh))
            assert got == want  # Occurrence equality leaves the detail out: compare it too
            assert [o.detail for o in got.values()] == [o.detail for o in want.values()]
