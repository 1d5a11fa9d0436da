"""Reminder rules derived from a group's state (pure, no database), and the ledger operations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.errors import NotFound
from bot.core.reminders import (
    GroupState,
    Kind,
    Occurrence,
    Part,
    PlanDue,
    Planner,
    ReminderSettings,
    Sent,
    batch_key,
    claim_due,
    compose,
    derivation_reads,
    load_states,
    mark_all_sent,
    notify_failures,
    plan_window,
    record_failure,
    release_expired,
    snooze,
    track_changes,
    upsert,
    withdraw_stale,
)
from bot.messages import Buttons, Divider, Heading, Text
from bot.scheduler import ReminderEngine, start_scheduler
from storage.enums import ActionStatus, MeetingStatus, Platform, ReminderStatus, Role
from storage.models import (
    Action,
    Case,
    CoreGroup,
    Meeting,
    Membership,
    Minutes,
    Outcome,
    Person,
    Reminder,
    ReminderPlanState,
    ReviewConference,
)
from tests.factories import GroupData, build_core_group, make_meeting

LONDON = ZoneInfo("Europe/London")
PLANNER = Planner(locale=Locale(), settings=ReminderSettings())
EARLY = datetime(2026, 10, 1, tzinfo=UTC)
LATE = datetime(2027, 3, 1, tzinfo=UTC)


def london(y: int, mo: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LONDON)


CREATED = london(2026, 10, 19, 12)  # the ICPC day: everything below exists from then on
SAM, JO, PRIYA, TINA = 1, 2, 3, 4


def _person(pid: int, name: str, **kw: object) -> Person:
    return Person(id=pid, display_name=name, created_at=CREATED, **kw)


def _member(pid: int, role: Role, *, chair: bool = False) -> Membership:
    return Membership(
        id=pid, group_id=1, person_id=pid, role=role, is_chair=chair, joined_at=CREATED
    )


def group_state(
    *,
    meetings: list[Meeting] | None = None,
    actions: list[Action] | None = None,
    outcomes: list[Outcome] | None = None,
    minutes: list[Minutes] | None = None,
    reviews: list[ReviewConference] | None = None,
    managers: list[Person] | None = None,
    nation: str = "england",
) -> GroupState:
    """Case CP-2026-0142 (ICPC Mon 19 Oct 2026): Sam chairs, Jo (parent, 18-20h), Priya."""
    members = [
        (_member(SAM, Role.KEY_WORKER, chair=True), _person(SAM, "Sam")),
        (
            _member(JO, Role.PARENT_CARER),
            _person(JO, "Jo", is_family=True, contact_start_hour=18, contact_end_hour=20),
        ),
        (_member(PRIYA, Role.SCHOOL), _person(PRIYA, "Priya", agency="Oak Primary")),
    ]
    return GroupState(
        group=CoreGroup(id=1, case_id=1, created_at=CREATED),
        case=Case(id=1, reference="CP-2026-0142", nation=nation, icpc_date=date(2026, 10, 19)),
        members=members,
        meetings=meetings or [],
        actions=actions or [],
        outcomes=outcomes or [],
        minutes={m.meeting_id: m for m in minutes or []},
        reviews=reviews or [],
        managers=managers or [],
    )


def meeting(mid: int, starts_at: datetime, **kw: object) -> Meeting:
    kw.setdefault("created_at", CREATED)
    return Meeting(id=mid, group_id=1, kind="regular", starts_at=starts_at, created_by=SAM, **kw)


def action(aid: int, owner: int, due: date, **kw: object) -> Action:
    kw.setdefault("created_at", CREATED)
    kw.setdefault("updated_at", CREATED)
    return Action(
        id=aid,
        group_id=1,
        number=aid,
        owner_id=owner,
        description="Visit",
        due_on=due,
        created_by=SAM,
        **kw,
    )


def seen(found: dict[str, Occurrence], *kinds: Kind) -> set[tuple[str, int | None, str]]:
    """(kind, person, local time) for the occurrences of the given kinds."""
    return {
        (o.kind.value, o.person_id, o.due_at.astimezone(LONDON).strftime("%a %d %b %H:%M"))
        for o in found.values()
        if o.kind in kinds
    }


MEETING = london(2026, 12, 3, 10)  # Thu 3 Dec 2026, 10:00


# --- meetings -----------------------------------------------------------------------------------


def test_members_hear_5_and_1_working_days_and_an_hour_before_in_their_own_hours() -> None:
    found = PLANNER.derive(group_state(meetings=[meeting(10, MEETING)]), lo=EARLY, hi=LATE)
    assert seen(found, Kind.MEETING_AHEAD, Kind.MEETING_SOON) == {
        ("meeting-ahead", SAM, "Thu 26 Nov 09:00"),
        ("meeting-ahead", PRIYA, "Thu 26 Nov 09:00"),
        ("meeting-ahead", JO, "Thu 26 Nov 18:00"),
        ("meeting-ahead", SAM, "Wed 02 Dec 09:00"),
        ("meeting-ahead", PRIYA, "Wed 02 Dec 09:00"),
        ("meeting-ahead", JO, "Wed 02 Dec 18:00"),
        ("meeting-soon", SAM, "Thu 03 Dec 09:00"),
        ("meeting-soon", PRIYA, "Thu 03 Dec 09:00"),
        # Jo's hours open at 18:00, after the meeting: no last-minute reminder for her.
    }
    notices = [o for o in found.values() if o.key.startswith(("meeting:", "update:", "brief:"))]
    assert notices and all(o.not_after == MEETING for o in notices)


def test_updates_open_3_working_days_before_with_a_nudge_the_next_morning_and_a_brief() -> None:
    found = PLANNER.derive(group_state(meetings=[meeting(10, MEETING)]), lo=EARLY, hi=LATE)
    assert seen(found, Kind.UPDATE_OPEN, Kind.UPDATE_NUDGE, Kind.BRIEF) == {
        ("update-open", SAM, "Mon 30 Nov 09:00"),
        ("update-open", PRIYA, "Mon 30 Nov 09:00"),
        ("update-open", JO, "Mon 30 Nov 18:00"),
        ("update-nudge", SAM, "Tue 01 Dec 09:00"),
        ("update-nudge", PRIYA, "Tue 01 Dec 09:00"),
        ("update-nudge", JO, "Tue 01 Dec 18:00"),
        ("meeting-brief", None, "Wed 02 Dec 09:00"),
    }


def test_a_nine_oclock_meeting_gets_no_reminder_an_hour_before() -> None:
    found = PLANNER.derive(
        group_state(meetings=[meeting(10, london(2026, 12, 3, 9))]), lo=EARLY, hi=LATE
    )
    assert not seen(found, Kind.MEETING_SOON)


def test_moving_a_meeting_gives_new_keys_and_a_held_one_none() -> None:
    before = PLANNER.derive(group_state(meetings=[meeting(10, MEETING)]), lo=EARLY, hi=LATE)
    moved = PLANNER.derive(
        group_state(meetings=[meeting(10, MEETING + timedelta(days=1))]), lo=EARLY, hi=LATE
    )
    meeting_keys = {k for k in before if k.startswith(("meeting:", "update:", "brief:"))}
    assert meeting_keys and not meeting_keys & set(moved)
    # A held meeting gets no notices (a cancelled one is not even loaded: see load_states).
    held = PLANNER.derive(
        group_state(meetings=[meeting(10, MEETING, status=MeetingStatus.HELD)]), lo=EARLY, hi=LATE
    )
    assert not seen(held, Kind.MEETING_AHEAD, Kind.UPDATE_OPEN, Kind.BRIEF)


def test_nothing_is_owed_for_a_time_before_the_meeting_was_booked() -> None:
    booked_late = meeting(10, MEETING, created_at=london(2026, 12, 1, 15))
    found = PLANNER.derive(group_state(meetings=[booked_late]), lo=EARLY, hi=LATE)
    assert seen(found, Kind.MEETING_AHEAD, Kind.UPDATE_OPEN, Kind.UPDATE_NUDGE) == {
        ("meeting-ahead", SAM, "Wed 02 Dec 09:00"),
        ("meeting-ahead", PRIYA, "Wed 02 Dec 09:00"),
        ("meeting-ahead", JO, "Wed 02 Dec 18:00"),
    }


def test_a_member_who_left_and_a_closed_group_get_nothing() -> None:
    state = group_state(
        meetings=[meeting(10, MEETING)], actions=[action(20, PRIYA, date(2026, 12, 11))]
    )
    state.members = [(m, p) for m, p in state.members if p.id != PRIYA]
    found = PLANNER.derive(state, lo=EARLY, hi=LATE)
    assert all(o.person_id != PRIYA for o in found.values())
    state.group.status = "closed"
    assert PLANNER.derive(state, lo=EARLY, hi=LATE) == {}


# --- actions ------------------------------------------------------------------------------------


def test_action_reminders_before_on_and_after_the_due_date_then_the_chair() -> None:
    state = group_state(actions=[action(20, PRIYA, date(2026, 12, 11))])
    found = PLANNER.derive(state, lo=EARLY, hi=london(2027, 1, 6, 12))
    assert seen(found, *[k for k in Kind if k.value.startswith(("action", "escalate"))]) == {
        ("action-soon", PRIYA, "Wed 09 Dec 09:00"),
        ("action-due", PRIYA, "Fri 11 Dec 09:00"),
        ("action-overdue", PRIYA, "Wed 16 Dec 09:00"),
        ("action-overdue", PRIYA, "Mon 21 Dec 09:00"),
        ("escalate-action", SAM, "Mon 21 Dec 09:00"),
        ("action-overdue", PRIYA, "Thu 24 Dec 09:00"),
        ("action-overdue", PRIYA, "Thu 31 Dec 09:00"),  # Christmas and its substitute skipped
        ("action-overdue", PRIYA, "Wed 06 Jan 09:00"),  # New Year's Day skipped
    }
    # Contract with the plan module: owner, subject and a kind starting with "action".
    owner_rows = [o for o in found.values() if o.kind.value.startswith("action")]
    assert all(o.person_id == PRIYA and o.subject_id == 20 for o in owner_rows)


def test_a_done_action_stops_and_one_due_on_a_saturday_is_reminded_on_friday() -> None:
    done = group_state(actions=[action(20, PRIYA, date(2026, 12, 11), status=ActionStatus.DONE)])
    assert not [k for k in PLANNER.derive(done, lo=EARLY, hi=LATE) if k.startswith("action:")]
    saturday = group_state(actions=[action(21, PRIYA, date(2026, 12, 12))])
    found = PLANNER.derive(saturday, lo=EARLY, hi=london(2026, 12, 17, 12))
    assert seen(found, Kind.ACTION_SOON, Kind.ACTION_DUE, Kind.ACTION_OVERDUE) == {
        ("action-soon", PRIYA, "Thu 10 Dec 09:00"),
        ("action-due", PRIYA, "Fri 11 Dec 09:00"),
        ("action-overdue", PRIYA, "Wed 16 Dec 09:00"),
    }


def test_the_chair_is_not_escalated_to_about_their_own_action() -> None:
    state = group_state(actions=[action(20, SAM, date(2026, 12, 11))])
    found = PLANNER.derive(state, lo=EARLY, hi=LATE)
    assert not seen(found, Kind.ESCALATE)


# --- statutory deadlines, to the chair ----------------------------------------------------------


def test_first_meeting_not_booked_five_working_days_after_the_icpc() -> None:
    found = PLANNER.derive(group_state(), lo=EARLY, hi=LATE)
    assert seen(found, Kind.FIRST_UNBOOKED) == {("first-unbooked", SAM, "Mon 26 Oct 09:00")}
    first = next(o for o in found.values() if o.kind is Kind.FIRST_UNBOOKED)
    assert first.detail["deadline"] == "2026-11-02"
    in_time = meeting(10, london(2026, 10, 30, 10))
    booked = PLANNER.derive(group_state(meetings=[in_time]), lo=EARLY, hi=LATE)
    assert not seen(booked, Kind.FIRST_UNBOOKED)


def test_a_first_meeting_booked_after_its_deadline_is_reminded_as_booked_too_late() -> None:
    late = PLANNER.derive(group_state(meetings=[meeting(10, MEETING)]), lo=EARLY, hi=LATE)
    assert seen(late, Kind.FIRST_UNBOOKED) == {("first-unbooked", SAM, "Mon 26 Oct 09:00")}
    first = next(o for o in late.values() if o.kind is Kind.FIRST_UNBOOKED)
    assert first.detail == {"deadline": "2026-11-02", "booked": "2026-12-03"}


def test_next_meeting_not_booked_ten_working_days_before_the_six_week_limit() -> None:
    found = PLANNER.derive(group_state(meetings=[meeting(10, MEETING)]), lo=EARLY, hi=LATE)
    # Limit Thu 14 Jan 2027; ten working days before, skipping the holidays: Wed 30 Dec.
    assert seen(found, Kind.NEXT_UNBOOKED) == {("next-unbooked", SAM, "Wed 30 Dec 09:00")}
    later = meeting(11, london(2027, 1, 12, 10))
    both = PLANNER.derive(group_state(meetings=[meeting(10, MEETING), later]), lo=EARLY, hi=LATE)
    assert seen(both, Kind.NEXT_UNBOOKED) == {("next-unbooked", SAM, "Tue 09 Feb 09:00")}


def test_minutes_not_recorded_in_2_or_sent_in_5_working_days() -> None:
    found = PLANNER.derive(group_state(meetings=[meeting(10, MEETING)]), lo=EARLY, hi=LATE)
    assert seen(found, Kind.MINUTES_RECORD, Kind.MINUTES_CIRCULATE) == {
        ("minutes-record", SAM, "Mon 07 Dec 09:00"),
        ("minutes-circulate", SAM, "Thu 10 Dec 09:00"),
    }
    recorded = Minutes(
        id=1,
        meeting_id=10,
        record_due=date(2026, 12, 7),
        circulate_due=date(2026, 12, 10),
        recorded_at=london(2026, 12, 4),
    )
    found = PLANNER.derive(
        group_state(meetings=[meeting(10, MEETING)], minutes=[recorded]), lo=EARLY, hi=LATE
    )
    assert seen(found, Kind.MINUTES_RECORD, Kind.MINUTES_CIRCULATE) == {
        ("minutes-circulate", SAM, "Thu 10 Dec 09:00")
    }


def test_no_meeting_booked_after_a_review_conference() -> None:
    review = ReviewConference(
        id=1, case_id=1, held_on=date(2027, 2, 1), recorded_at=london(2027, 2, 1, 15)
    )
    found = PLANNER.derive(
        group_state(meetings=[meeting(10, MEETING)], reviews=[review]), lo=EARLY, hi=LATE
    )
    assert seen(found, Kind.REVIEW_UNBOOKED) == {("review-unbooked", SAM, "Mon 08 Feb 09:00")}
    after = meeting(11, london(2027, 2, 10, 10))
    found = PLANNER.derive(
        group_state(meetings=[meeting(10, MEETING), after], reviews=[review]), lo=EARLY, hi=LATE
    )
    assert not seen(found, Kind.REVIEW_UNBOOKED)


def test_every_agency_is_asked_for_a_written_update_before_the_review() -> None:
    found = PLANNER.derive(group_state(), lo=EARLY, hi=LATE)
    # First review due by Tue 19 Jan 2027; fifteen working days before is Thu 24 Dec.
    assert seen(found, Kind.REVIEW_UPDATE) == {
        ("review-update", SAM, "Thu 24 Dec 09:00"),
        ("review-update", PRIYA, "Thu 24 Dec 09:00"),
    }
    ask = next(o for o in found.values() if o.kind is Kind.REVIEW_UPDATE)
    assert ask.detail == {"review": "2027-01-19", "aim": "2027-01-05"}


# --- drift --------------------------------------------------------------------------------------


def test_drift_to_the_chair_and_the_teams_managers() -> None:
    tina = _person(TINA, "Tina", is_team_manager=True, team_id=1)
    outcome = Outcome(
        id=30,
        group_id=1,
        number=1,
        title="Safe home",
        created_at=CREATED,
        last_activity_at=CREATED,
    )
    state = group_state(meetings=[meeting(10, MEETING)], outcomes=[outcome], managers=[tina])
    found = PLANNER.derive(state, lo=EARLY, hi=LATE)
    assert seen(found, Kind.DRIFT_MEETING, Kind.DRIFT_OUTCOME) == {
        # Six weeks from the ICPC ran out on Mon 30 Nov; the meeting is on Thu 3 Dec.
        ("drift-meeting", SAM, "Tue 01 Dec 09:00"),
        ("drift-meeting", TINA, "Tue 01 Dec 09:00"),
        # Nothing booked after Thu 3 Dec: over six weeks on Fri 15 Jan.
        ("drift-meeting", SAM, "Fri 15 Jan 09:00"),
        ("drift-meeting", TINA, "Fri 15 Jan 09:00"),
        ("drift-outcome", SAM, "Mon 16 Nov 09:00"),
        ("drift-outcome", TINA, "Mon 16 Nov 09:00"),
    }
    # Activity on one of its actions (load_states gathers the latest) counts too.
    state = group_state(outcomes=[outcome])
    state.touched = {30: london(2026, 11, 10)}
    found = PLANNER.derive(state, lo=EARLY, hi=LATE)
    assert seen(found, Kind.DRIFT_OUTCOME) == {("drift-outcome", SAM, "Tue 08 Dec 09:00")}


def test_weekly_digest_on_the_first_working_day_of_each_week() -> None:
    tina = _person(TINA, "Tina", is_team_manager=True, team_id=1)
    found = PLANNER.digests(
        [tina], platforms={}, lo=london(2026, 12, 20, 0), hi=london(2027, 1, 12, 0)
    )
    assert sorted(o.due_at for o in found.values()) == [
        london(2026, 12, 21),
        london(2026, 12, 29),  # Mon 28 Dec is the Boxing Day substitute
        london(2027, 1, 4),
        london(2027, 1, 11),
    ]
    assert "digest:4:2026-W53" in found


def test_the_plan_window_reaches_back_to_the_last_plan_but_not_beyond_the_catch_up_limit() -> None:
    settings = ReminderSettings()
    now = london(2026, 12, 3, 14)
    fresh = plan_window(PlanDue(1, 0, None), now=now, settings=settings, locale=Locale())
    assert fresh == (london(2026, 12, 3, 0), now + settings.horizon)
    after_downtime = PlanDue(1, 3, london(2026, 11, 30, 11))
    assert plan_window(after_downtime, now=now, settings=settings, locale=Locale())[0] == london(
        2026, 11, 30, 11
    )
    long_gone = PlanDue(1, 3, london(2026, 10, 1))
    assert plan_window(long_gone, now=now, settings=settings, locale=Locale())[0] == (
        now - settings.catch_up
    )


# --- merging ------------------------------------------------------------------------------------


def _row(key: str) -> Reminder:
    return Reminder(id=1, dedup_key=key, kind="action-due", due_at=CREATED, created_at=CREATED)


def test_one_message_carries_the_rows_key_and_merged_ones_a_stable_key() -> None:
    assert batch_key([_row("a")]) == "a"
    merged = batch_key([_row("a"), _row("b")])
    assert merged == batch_key([_row("b"), _row("a")]) and merged.startswith("merged:")
    assert merged != batch_key([_row("a"), _row("c")])


def test_merged_message_puts_the_news_first_the_snooze_button_then_any_question() -> None:
    news = Part("CP-1: action 1 is due today", (Text("action"),), "CP-1")
    question = Part("CP-2: update", (Text("question?"),), "CP-2", conversation=True)
    message = compose([question, news], key="k", snooze=7)
    assert message.key == "k" and message.text == "2 reminders for CP-1, CP-2"
    kinds = [type(b) for b in message.blocks]
    assert kinds == [Heading, Text, Buttons, Divider, Text]
    assert message.buttons()[0].value == "7"
    alone = compose([news], key="k", snooze=None)
    assert alone.text == news.summary and alone.blocks == news.blocks


# --- the ledger (database) ----------------------------------------------------------------------


def _occurrence(key: str, group_id: int, person_id: int | None, due: datetime) -> Occurrence:
    return Occurrence(key, Kind.ACTION_DUE, group_id, person_id, None, due)


@pytest.fixture
def group(session: Session, clock: FakeClock) -> GroupData:
    data = build_core_group(session=session, clock=clock)
    session.commit()
    return data


def _statuses(session: Session) -> dict[str, str]:
    session.expire_all()
    return {r.dedup_key: r.status for r in session.exec(select(Reminder)).all()}


def test_upsert_adds_moves_and_revives_but_never_touches_what_was_sent(
    session: Session, clock: FakeClock, group: GroupData
) -> None:
    gid, pid, now = group.group.id, group.chair.id, clock.now()
    upsert(session, [_occurrence("a", gid, pid, now), _occurrence("b", gid, pid, now)], now=now)
    session.commit()
    mark = session.exec(select(Reminder).where(Reminder.dedup_key == "b")).one()
    mark.status = ReminderStatus.SENT
    session.add(mark)
    session.commit()
    later = now + timedelta(hours=3)
    upsert(session, [_occurrence("a", gid, pid, later), _occurrence("b", gid, pid, later)], now=now)
    session.commit()
    session.expire_all()
    rows = {r.dedup_key: r for r in session.exec(select(Reminder)).all()}
    assert rows["a"].due_at == later and rows["a"].status == ReminderStatus.PENDING
    assert rows["b"].due_at == now and rows["b"].status == ReminderStatus.SENT
    gone = withdraw_stale(session, windows={gid: now}, desired={gid: {"b"}})
    session.commit()
    assert gone == [rows["a"].id] and _statuses(session)["a"] == ReminderStatus.WITHDRAWN
    upsert(session, [_occurrence("a", gid, pid, later)], now=now)
    session.commit()
    assert _statuses(session)["a"] == ReminderStatus.PENDING


def test_claims_take_every_due_row_of_a_recipient_and_are_never_doubled(
    session: Session, clock: FakeClock, group: GroupData
) -> None:
    gid, now = group.group.id, clock.now()
    a, b = group.chair.id, group.members[Role.SCHOOL].id
    upsert(
        session,
        [
            _occurrence("1", gid, a, now - timedelta(minutes=5)),
            _occurrence("2", gid, b, now - timedelta(minutes=4)),
            _occurrence("3", gid, a, now - timedelta(minutes=1)),
            _occurrence("4", gid, None, now - timedelta(minutes=1)),
            _occurrence("later", gid, a, now + timedelta(hours=1)),
        ],
        now=now,
    )
    session.commit()
    lease = timedelta(minutes=5)
    first = claim_due(session, now=now, limit=1, owner="one", lease=lease, lock=False)
    session.commit()
    assert sorted(r.dedup_key for r in first) == ["1", "3"]  # both of person a's due rows
    assert all(r.attempts == 1 and r.claimed_until == now + lease for r in first)
    rest = claim_due(session, now=now, limit=10, owner="two", lease=lease, lock=False)
    session.commit()
    assert sorted(r.dedup_key for r in rest) == ["2", "4"]
    assert claim_due(session, now=now, limit=10, owner="three", lease=lease, lock=False) == []
    assert first[0].id is not None
    not_held = mark_all_sent(session, [Sent((first[0].id,), "two", "x", now)])
    assert not_held == [first[0].id]
    assert mark_all_sent(session, [Sent((first[0].id,), "one", "x", now)]) == []
    session.commit()
    # The process holding claim "two" dies: after the lease the rows are pending again.
    assert release_expired(session, now=now + lease) == []
    released = release_expired(session, now=now + lease + timedelta(seconds=1))
    session.commit()
    assert sorted(released) == sorted(r.id for r in [*rest, first[1]])


def test_failures_back_off_then_fail_and_tell_the_chair(
    session: Session, clock: FakeClock, group: GroupData
) -> None:
    gid, now = group.group.id, clock.now()
    school = group.members[Role.SCHOOL].id
    settings = ReminderSettings(max_attempts=3, retry_after=timedelta(minutes=1))
    upsert(session, [_occurrence("x", gid, school, now)], now=now)
    session.commit()
    waits = []
    for attempt in range(3):
        rows = claim_due(
            session, now=now, limit=5, owner="o", lease=timedelta(minutes=5), lock=False
        )
        assert [r.attempts for r in rows] == [attempt + 1]
        failed = record_failure(
            session,
            ids=[rows[0].id],
            owner="o",
            error="timeout",
            retryable=True,
            now=now,
            settings=settings,
        )
        session.commit()
        if failed:
            break
        waits.append(rows[0].due_at - now)
        now = rows[0].due_at
    assert waits == [timedelta(minutes=1), timedelta(minutes=2)]
    assert (
        failed and failed[0].status == ReminderStatus.FAILED and failed[0].last_error == "timeout"
    )
    assert notify_failures(session, failed, now=now) == 1
    session.commit()
    notice = session.exec(select(Reminder).where(Reminder.kind == Kind.DELIVERY_FAILED)).one()
    assert notice.person_id == group.chair.id and notice.subject_id == failed[0].id


def test_a_change_anywhere_marks_the_group_for_planning(engine: Engine, clock: FakeClock) -> None:
    track_changes()
    with Session(engine) as session:
        data = build_core_group(session=session, clock=clock)
        session.commit()
        gid = data.group.id
        state = session.get(ReminderPlanState, gid)
        assert state is not None and state.next_plan_at.year == 2000
        state.next_plan_at, before = clock.now(), state.changes
        session.add(state)
        session.commit()
        m = data.meetings[-1]
        m.starts_at += timedelta(days=1)
        session.add(m)
        session.commit()
        session.expire_all()
        state = session.get(ReminderPlanState, gid)
        assert state is not None and state.changes == before + 1 and state.next_plan_at.year == 2000


def test_snoozing_makes_a_copy_for_the_next_working_morning_only_for_the_recipient(
    session: Session, clock: FakeClock, group: GroupData
) -> None:
    gid, now = group.group.id, clock.now()
    school = group.members[Role.SCHOOL]
    upsert(session, [_occurrence("x", gid, school.id, now)], now=now)
    session.commit()
    row = session.exec(select(Reminder)).one()
    row.status, row.batch_key, row.sent_at = ReminderStatus.SENT, "x", now
    session.add(row)
    session.commit()
    with pytest.raises(NotFound):
        snooze(session, reminder_id=row.id, person=group.chair, locale=Locale(), now=now)
    done = snooze(session, reminder_id=row.id, person=school, locale=Locale(), now=now)
    session.commit()
    assert done.count == 1 and done.until == london(2026, 11, 24)
    copy = session.exec(select(Reminder).where(Reminder.dedup_key.startswith("snooze:"))).one()
    assert copy.kind == "action-due" and copy.due_at == done.until
    assert copy.payload == {"of": "x", "nominal": now.isoformat()}
    again = snooze(session, reminder_id=row.id, person=school, locale=Locale(), now=now)
    session.commit()
    assert again.count == 1
    assert (
        len(session.exec(select(Reminder).where(Reminder.dedup_key.startswith("snooze:"))).all())
        == 1
    )


def test_meetings_from_the_factories_plan_into_the_ledger(
    session: Session, clock: FakeClock, group: GroupData
) -> None:
    extra = make_meeting(
        session=session,
        clock=clock,
        group=group.group,
        created_by=group.chair,
        starts_at=london(2026, 12, 10, 14),
    )
    session.commit()
    state = load_states(session, [group.group.id])[group.group.id]
    found = PLANNER.derive(state, lo=clock.now(), hi=clock.now() + timedelta(days=30))
    assert any(o.subject_id == extra.id and o.kind is Kind.MEETING_AHEAD for o in found.values())


def test_cancelled_meetings_and_former_members_are_not_loaded(
    session: Session, clock: FakeClock, group: GroupData
) -> None:
    booked = group.meetings[-1]
    booked.status = MeetingStatus.CANCELLED
    gone = group.memberships[2]
    gone.active = False
    session.add_all([booked, gone])
    session.commit()
    state = load_states(session, [group.group.id])[group.group.id]
    assert booked.id not in {m.id for m in state.meetings}
    assert gone.person_id not in {p.id for _, p in state.members}
    # Only open actions are loaded; every action's latest change marks its outcome as active.
    assert {a.status for a in state.actions} <= {ActionStatus.OPEN, ActionStatus.IN_PROGRESS}
    assert len(state.actions) == sum(not ActionStatus(a.status).is_closed for a in group.actions)
    assert set(state.touched) == {o.id for o in group.outcomes} and len(state.outcomes) == 3


# --- the APScheduler job ------------------------------------------------------------------------


class _Broken:
    def send(self, to: object, message: object) -> str:
        raise RuntimeError("platform exploded")

    def find_sent(self, to: object, key: str) -> str | None:
        return None


def test_the_scheduler_ticks_every_minute_one_run_at_a_time_and_survives_errors(
    engine: Engine, clock: FakeClock, group: GroupData, caplog: pytest.LogCaptureFixture
) -> None:
    clock.set(london(2026, 11, 30, 9))
    reminders = ReminderEngine(
        engine=engine, clock=clock, outboxes={Platform.LOCAL: _Broken()}, locale=Locale()
    )
    reminders.safe_tick()  # something is due and the platform blows up: logged, not raised
    assert "reminder tick failed" in caplog.text
    scheduler = start_scheduler(reminders)
    try:
        (job,) = scheduler.get_jobs()
        assert job.id == "reminders" and job.max_instances == 1 and job.coalesce
        assert job.trigger.interval == timedelta(minutes=1)
    finally:
        scheduler.shutdown(wait=True)


def test_deriving_only_some_kinds_yields_exactly_those_occurrences_of_a_whole_derivation() -> None:
    tina = _person(TINA, "Tina", is_team_manager=True, team_id=1)
    outcome = Outcome(
        id=30, group_id=1, number=1, title="Safe", created_at=CREATED, last_activity_at=CREATED
    )
    held = meeting(9, london(2026, 11, 2, 10), status=MeetingStatus.HELD)
    state = group_state(
        meetings=[held, meeting(10, MEETING)],
        actions=[action(20, JO, date(2026, 12, 9))],
        outcomes=[outcome],
        managers=[tina],
    )
    whole = PLANNER.derive(state, lo=EARLY, hi=LATE)
    kinds = {o.kind for o in whole.values()}
    assert len(kinds) >= 12  # meetings, actions, deadlines, minutes, review updates, drift
    for kind in kinds:
        some = PLANNER.derive(state, lo=EARLY, hi=LATE, kinds={kind})
        assert {k: o for k, o in some.items() if o.kind is kind} == {
            k: o for k, o in whole.items() if o.kind is kind
        }
        assert [(k, o.detail) for k, o in some.items()] == [(k, whole[k].detail) for k in some]
    assert PLANNER.derive(state, lo=EARLY, hi=LATE, kinds=set(Kind)) == whole
    assert PLANNER.derive(state, lo=EARLY, hi=LATE, kinds={Kind.DIGEST}) == {}


def test_deriving_some_kinds_reads_only_the_parts_of_the_state_it_says_it_reads() -> None:
    tina = _person(TINA, "Tina", is_team_manager=True, team_id=1)
    outcome = Outcome(
        id=30, group_id=1, number=1, title="Safe", created_at=CREATED, last_activity_at=CREATED
    )
    held = meeting(9, london(2026, 11, 2, 10), status=MeetingStatus.HELD)
    recorded = Minutes(
        id=1,
        meeting_id=9,
        record_due=date(2026, 11, 4),
        circulate_due=date(2026, 11, 9),
        recorded_at=london(2026, 11, 3),
    )
    review = ReviewConference(
        id=1, case_id=1, held_on=date(2027, 1, 18), recorded_at=london(2027, 1, 18, 15)
    )
    state = group_state(
        meetings=[held, meeting(10, MEETING)],
        actions=[action(20, JO, date(2026, 12, 9))],
        outcomes=[outcome],
        minutes=[recorded],
        reviews=[review],
        managers=[tina],
    )
    state.touched[30] = london(2026, 11, 20)
    whole = PLANNER.derive(state, lo=EARLY, hi=LATE)
    kinds = {o.kind for o in whole.values()}
    assert len(kinds) >= 12
    for kind in kinds:
        reads = derivation_reads({kind})
        # Everything it does not read left empty, as load_states leaves it.
        empty: dict[str, Any] = {
            "meetings": [],
            "actions": [],
            "touched": {},
            "outcomes": [],
            "minutes": {},
            "concerns": [],
            "reviews": [],
            "managers": [],
        }
        bare = replace(state, **{k: v for k, v in empty.items() if k not in reads})
        some = PLANNER.derive(bare, lo=EARLY, hi=LATE, kinds={kind})
        assert {k: o for k, o in some.items() if o.kind is kind} == {
            k: o for k, o in whole.items() if o.kind is kind
        }, kind


def test_a_state_loaded_for_some_parts_holds_those_and_the_group_members_and_case(
    session: Session, group: GroupData
) -> None:
    gid = group.group.id
    assert gid is not None
    whole = load_states(session, [gid])[gid]
    some = load_states(session, [gid], reads={gid: {"meetings"}})[gid]
    assert some.case.id == whole.case.id and some.members == whole.members
    assert [m.id for m in some.meetings] == [m.id for m in whole.meetings] != []
    assert whole.actions and whole.outcomes and whole.touched
    assert some.actions == [] and some.outcomes == [] and some.touched == {}
    assert some.managers == [] and some.reviews == [] and some.minutes == {}


def test_deriving_for_some_people_yields_exactly_their_occurrences_and_the_spaces() -> None:
    held = meeting(9, london(2026, 11, 2, 10), status=MeetingStatus.HELD)
    state = group_state(
        meetings=[held, meeting(10, MEETING)], actions=[action(20, JO, date(2026, 12, 9))]
    )
    whole = PLANNER.derive(state, lo=EARLY, hi=LATE)
    assert {o.person_id for o in whole.values()} >= {None, SAM, JO, PRIYA}
    for people in ({JO}, {SAM, PRIYA}, set()):
        some = PLANNER.derive(state, lo=EARLY, hi=LATE, people=people)
        assert some == {
            k: o for k, o in whole.items() if o.person_id is None or o.person_id in people
        }
