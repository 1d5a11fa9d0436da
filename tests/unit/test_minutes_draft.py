"""The minutes core: the body, the assembled draft, approval, deadlines, disagreements."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from bot.clock import FakeClock
from bot.core import minutes as core
from bot.core.calendar import Nation, WorkingCalendar
from bot.core.policy import Policy
from storage.enums import ActionStatus, MeetingStatus, MinutesStatus, Role, Verdict
from storage.models import Meeting, Minutes, Person
from tests.factories import (
    build_core_group,
    make_action,
    make_group,
    make_meeting,
    make_membership,
    make_outcome,
    make_person,
)

LONDON = ZoneInfo("Europe/London")
ENGLAND = WorkingCalendar(Nation.ENGLAND)
POLICY = Policy()


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=LONDON)


def draft(session: Session, meeting: Meeting, author: Person) -> core.MinutesBody:
    assert author.id is not None
    return core.assemble(
        session, meeting=meeting, author_id=author.id, tz=LONDON, calendar=ENGLAND, policy=POLICY
    )


def new_minutes(
    session: Session, meeting: Meeting, author: Person, clock: FakeClock
) -> tuple[Minutes, core.MinutesVersion]:
    assert author.id is not None
    return core.create_minutes(
        session,
        meeting=meeting,
        body=core.MinutesBody({n: f"section {n}" for n in core.SECTIONS}),
        author_id=author.id,
        now=clock.now(),
        tz=LONDON,
        calendar=ENGLAND,
        policy=POLICY,
    )


# --- the body -----------------------------------------------------------------------------------


def test_the_body_round_trips_and_amends_one_section_at_a_time() -> None:
    body = core.MinutesBody({1: "one", 3: "worries and purpose"}, {3: "purpose only"})
    again = core.MinutesBody.loads(body.dumps())
    assert again == body
    assert again.text(3, family=True) == "purpose only" and again.text(3) == "worries and purpose"
    assert again.text(1, family=True) == "one"  # no separate family copy: the same text
    changed = again.amended(1, "ONE")
    assert (changed.text(1), again.text(1)) == ("ONE", "one")
    family = again.amended(3, "new purpose", family_copy=True)
    assert (family.text(3), family.text(3, family=True)) == ("worries and purpose", "new purpose")


def test_a_disagreement_replaces_the_none_recorded_line_then_adds_to_it() -> None:
    body = core.MinutesBody({10: core.NO_DISAGREEMENT})
    once = core.with_disagreement(body, "- first")
    assert once.text(10) == "- first"
    assert core.with_disagreement(once, "- second").text(10) == "- first\n- second"


# --- the assembled draft ------------------------------------------------------------------------


def test_the_draft_of_a_realistic_group(session: Session, clock: FakeClock) -> None:
    data = build_core_group(session=session, clock=clock, reference="CP-2026-0042")
    data.outcomes[1].shared_with_family = False
    held = data.meetings[1]
    body = draft(session, held, data.members[Role.HEALTH_VISITOR])
    assert body.text(1).startswith("Case reference: CP-2026-0042\nDate: ")
    assert "(core group meeting, meeting 2)" in body.text(1)
    assert "Chair: Sam Okafor\nMinute-taker: Alex Kerr" in body.text(1)
    assert (
        "Apologies: Dr Ruth Mills — GP, Riverside Surgery (Surgery commitments; written update "
        "sent)" in body.text(2)
    )
    assert "Invited but did not come: none" in body.text(2)
    assert "Category of the plan: neglect" in body.text(3)
    assert "neglect" not in body.text(3, family=True)
    assert "Jo gets support with her mental health" in body.text(6)
    assert "Jo gets support with her mental health" not in body.text(6, family=True)
    assert "The children go to school every day" in body.text(6, family=True)
    # Sections built from professionals' answers never reach the family's copy unworded.
    for withheld in core.FAMILY_WITHHELD:
        assert body.text(withheld, family=True) == core.PROFESSIONALS_ONLY
        assert body.text(withheld) != core.PROFESSIONALS_ONLY
    assert body.text(10) == core.NO_DISAGREEMENT
    assert body.text(11).startswith("Next meeting: ")
    # The booked meeting is too late: the minutes say so.
    assert (
        "Tue 1 Dec 2026, 10:00 at Family Centre, Room 2 — later than the deadline of Mon 30 Nov"
        in body.text(11)
    )
    assert "Copies of these minutes go to: Sam Okafor — key worker" in body.text(11)
    # No worries on the case and no updates yet: the sections that need them say so.
    assert "No written update from: Sam Okafor" in body.text(5)
    assert core.gaps_in(body) == [3, 4, 7, 9]


def test_actions_are_previous_outstanding_or_new_relative_to_the_meeting(
    session: Session, clock: FakeClock
) -> None:
    group = make_group(session=session, clock=clock)
    sw = make_person(session=session, clock=clock, display_name="Sam Okafor")
    make_membership(session=session, clock=clock, group=group, person=sw, role=Role.KEY_WORKER)
    outcome = make_outcome(session=session, clock=clock, group=group, title="Safe at home")
    clock.set(at(2026, 10, 30))
    make_action(
        session=session,
        clock=clock,
        group=group,
        owner=sw,
        outcome=outcome,
        description="Finished long ago",
        status=ActionStatus.DONE,
    )
    make_meeting(
        session=session,
        clock=clock,
        group=group,
        created_by=sw,
        starts_at=at(2026, 11, 2),
        status=MeetingStatus.HELD,
    )
    clock.set(at(2026, 11, 20))
    make_action(
        session=session,
        clock=clock,
        group=group,
        owner=sw,
        outcome=outcome,
        description="Done since last time",
        status=ActionStatus.DONE,
    )
    make_action(
        session=session,
        clock=clock,
        group=group,
        owner=sw,
        outcome=outcome,
        description="Still going",
        due_on=date(2026, 11, 30),
    )
    meeting = make_meeting(
        session=session,
        clock=clock,
        group=group,
        created_by=sw,
        starts_at=at(2026, 12, 7),
        status=MeetingStatus.HELD,
    )
    clock.set(at(2026, 12, 7, 11))
    make_action(
        session=session,
        clock=clock,
        group=group,
        owner=sw,
        outcome=outcome,
        description="Agreed at the meeting",
        due_on=date(2026, 12, 21),
    )
    section = draft(session, meeting, sw).text(8)
    previous, rest = section.split("Still to do:")
    outstanding, new = rest.split("New actions agreed:")
    assert "Done since last time" in previous and "Finished long ago" not in section
    assert "Still going — by Mon 30 Nov 2026 — open (overdue)" in outstanding
    assert "Agreed at the meeting — by Mon 21 Dec 2026 — open" in new
    assert "Still going" not in new and "Agreed at the meeting" not in outstanding


def test_record_and_circulation_deadlines_skip_christmas(
    session: Session, clock: FakeClock
) -> None:
    data = build_core_group(session=session, clock=clock)
    meeting = data.meetings[0]
    meeting.starts_at = at(2026, 12, 23)
    minutes, version = new_minutes(session, meeting, data.chair, clock)
    assert minutes.record_due == date(2026, 12, 29)  # 24 Dec, then 29 Dec (25, 28 are holidays)
    assert minutes.circulate_due == date(2027, 1, 4)
    assert version.number == 1 and version.change_note == "First draft"
    assert core.deadlines_line(minutes, policy=POLICY) == (
        "Record on the case system by Tue 29 Dec 2026 (2 working days); copies to all members "
        "by Mon 4 Jan 2027 (5 working days)"
    )


# --- approval -----------------------------------------------------------------------------------


def test_approval_needs_someone_other_than_the_author_and_no_open_change(
    session: Session, clock: FakeClock
) -> None:
    data = build_core_group(session=session, clock=clock)
    author, school, police = (
        data.members[Role.HEALTH_VISITOR],
        data.members[Role.SCHOOL],
        data.members[Role.POLICE],
    )
    minutes, version = new_minutes(session, data.meetings[1], author, clock)

    def say(person: Person, verdict: Verdict) -> core.Approval:
        assert person.id is not None
        core.review(
            session,
            minutes=minutes,
            version=version,
            person_id=person.id,
            verdict=verdict,
            comment="",
            now=clock.now(),
        )
        return core.approval_of(session, version=version)

    assert not say(author, Verdict.APPROVE).ready  # the author's own word does not count
    assert say(school, Verdict.APPROVE).ready and minutes.status == MinutesStatus.APPROVED
    assert not say(police, Verdict.CHANGE).ready and minutes.status == MinutesStatus.DRAFT
    assert say(police, Verdict.APPROVE).ready  # their latest word replaces the request
    second = core.add_version(
        session,
        minutes=minutes,
        body=core.body_of(version),
        author_id=data.chair.id or 0,
        note="x",
        now=clock.now(),
    )
    assert second.number == 2 and not core.approval_of(session, version=second).ready
    assert minutes.status == MinutesStatus.DRAFT


# --- deadlines ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recorded", "today", "expected"),
    [
        (at(2027, 1, 8), date(2027, 1, 8), "done Fri 8 Jan 2027 — on time (due by Fri 8 Jan 2027)"),
        (at(2027, 1, 11), date(2027, 1, 11), "done Mon 11 Jan 2027 — LATE (due by Fri 8 Jan 2027)"),
        (None, date(2027, 1, 7), "not done yet — due by Fri 8 Jan 2027"),
        (None, date(2027, 1, 8), "not done yet — due today"),
        (None, date(2027, 1, 9), "not done yet — OVERDUE (due by Fri 8 Jan 2027)"),
    ],
)
def test_deadline_statuses(recorded: datetime | None, today: date, expected: str) -> None:
    minutes = Minutes(
        meeting_id=1,
        record_due=date(2027, 1, 8),
        circulate_due=date(2027, 1, 13),
        recorded_at=recorded,
        created_at=at(2027, 1, 6),
    )
    lines = core.deadline_statuses(minutes, today=today, tz=LONDON)
    assert lines[0] == f"Recorded on the case system: {expected}"
    assert lines[1].startswith("Copies sent to all members: not done yet")


def test_minutes_due_lists_those_not_yet_recorded_or_sent(
    session: Session, clock: FakeClock
) -> None:
    data = build_core_group(session=session, clock=clock)
    first, _ = new_minutes(session, data.meetings[0], data.chair, clock)
    second, _ = new_minutes(session, data.meetings[1], data.chair, clock)
    assert data.group.id is not None
    assert core.minutes_due(session, group_id=data.group.id) == [first, second]
    first.recorded_at = first.circulated_at = clock.now()
    second.recorded_at = clock.now()
    session.flush()
    assert core.minutes_due(session, group_id=data.group.id) == [second]


# --- disagreements ------------------------------------------------------------------------------


def test_which_disagreements_a_meetings_minutes_record(session: Session, clock: FakeClock) -> None:
    data = build_core_group(session=session, clock=clock)
    first, second = data.meetings[0], data.meetings[1]
    assert data.group.id is not None and data.chair.id is not None

    def raise_(meeting_id: int | None, when: datetime, detail: str) -> None:
        core.record_disagreement(
            session,
            group_id=data.group.id or 0,
            meeting_id=meeting_id,
            raised_by=data.chair.id or 0,
            detail=detail,
            escalated_to="",
            now=when,
        )

    raise_(first.id, first.starts_at + timedelta(hours=2), "about the first")
    raise_(None, first.starts_at - timedelta(days=1), "before any meeting")
    raise_(None, first.starts_at + timedelta(days=3), "between the two")
    raise_(second.id, second.starts_at + timedelta(hours=1), "about the second")
    assert [d.detail for d in core.disagreements_for(session, meeting=first)] == [
        "before any meeting",
        "about the first",
    ]
    assert [d.detail for d in core.disagreements_for(session, meeting=second)] == [
        "between the two",
        "about the second",
    ]
    line = core.disagreement_line(
        session,
        core.disagreements_for(session, meeting=second)[1],
        group_id=data.group.id,
        tz=LONDON,
    )
    assert line.startswith("- Sam Okafor (key worker (social worker)), ")
    assert line.endswith('"about the second" Not shared with anyone outside the group yet.')


def test_the_escalation_note_names_who_was_told() -> None:
    tina, pat = Person(display_name="Tina Lee"), Person(display_name="Pat Moss")
    when = at(2027, 1, 6, 11)
    assert core.escalation_note(managers=[tina], conference_chair=pat, when=when, tz=LONDON) == (
        "Shared with the team manager (Tina Lee) and the conference chair (Pat Moss) on "
        "Wed 6 Jan 2027, 11:00."
    )
    assert core.escalation_note(
        managers=[], conference_chair=None, when=when, tz=LONDON
    ).startswith("Not shared yet")
