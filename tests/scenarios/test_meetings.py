"""Meetings through the local chat: schedule (and its button), move, cancel, the list, venue and
link, held, attendance, decisions and the contingency plan — happy paths, bad input, and who may."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.core.people import Who
from storage.enums import AttendanceStatus, MeetingKind, MeetingStatus, Platform
from storage.models import (
    Attendance,
    Case,
    ChatIdentity,
    CoreGroup,
    Meeting,
    ReviewConference,
)
from tests.scenarios.conftest import ChatDriver

LONDON = ZoneInfo("Europe/London")
REF = "CP-2026-0142"
SPACE = "#cg-cp-2026-0142"

# Journey 1: the ICPC was Fri 18 Dec 2026; the first core group is due by Wed 6 Jan 2027.
SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup add @alex hv
/coregroup add @ruth gp
"""


@pytest.fixture
def group(chat: ChatDriver) -> ChatDriver:
    """A group whose key worker (sam) chairs, with a parent, a health visitor and a GP."""
    chat(SETUP)
    return chat


def meetings(engine: Engine) -> list[Meeting]:
    """The group's meetings in date order."""
    with Session(engine) as s:
        return list(s.exec(select(Meeting).order_by(col(Meeting.starts_at))).all())


def local(when: datetime) -> datetime:
    """A stored time as London wall-clock time, without the zone, for easy comparison."""
    return when.astimezone(LONDON).replace(tzinfo=None)


def attendance(engine: Engine, meeting_id: int | None) -> dict[str, AttendanceStatus]:
    """Each person's attendance at a meeting, by local-chat name."""
    with Session(engine) as s:
        rows = s.exec(
            select(Attendance, ChatIdentity)
            .join(ChatIdentity, col(ChatIdentity.person_id) == Attendance.person_id)
            .where(Attendance.meeting_id == meeting_id)
        ).all()
        return {ident.user_id: AttendanceStatus(a.status) for a, ident in rows}


def group_id(engine: Engine) -> int:
    """The id of the group for REF."""
    with Session(engine) as s:
        case = s.exec(select(Case).where(Case.reference == REF)).one()
        found = s.exec(select(CoreGroup).where(CoreGroup.case_id == case.id)).one()
        assert found.id is not None
        return found.id


# --- schedule -----------------------------------------------------------------------------------


def test_schedule_books_invites_everyone_and_announces_to_the_group(
    group: ChatDriver, engine: Engine
) -> None:
    out = group('/coregroup schedule 6/1 2pm at "Family Centre, Oak Road"')

    [meeting] = meetings(engine)
    assert local(meeting.starts_at) == datetime(2027, 1, 6, 14, 0)
    assert meeting.kind == MeetingKind.FIRST and meeting.venue == "Family Centre, Oak Road"
    assert attendance(engine, meeting.id) == {
        name: AttendanceStatus.INVITED for name in ("sam", "jo", "alex", "ruth")
    }
    announcement, confirmation = out.split("[to Sam, only you]")
    assert f"[{SPACE}]" in announcement
    assert "When: Wed 6 Jan 2027, 14:00" in announcement
    assert "Where: Family Centre, Oak Road" in announcement
    assert "first core group meeting (meeting 1)" in announcement
    assert "Booked: meeting 1 for CP-2026-0142" in confirmation
    assert "Please check" not in confirmation  # in time, on a working day


def test_the_button_on_the_new_reply_books_the_first_meeting(
    chat: ChatDriver, engine: Engine
) -> None:
    out = chat(
        f"""
        clock 2026-12-18 15:00
        as sam
        /coregroup new {REF} icpc 18/12/2026
        click 1
        5/1 10am at "Oak Road Children's Centre"
        """
    )

    [meeting] = meetings(engine)
    assert local(meeting.starts_at) == datetime(2027, 1, 5, 10, 0)
    assert meeting.venue == "Oak Road Children's Centre"
    assert "Meeting booked — CP-2026-0142" in out


def test_an_old_schedule_button_refuses_once_a_meeting_is_booked(
    chat: ChatDriver, engine: Engine
) -> None:
    out = chat(
        f"""
        clock 2026-12-18 15:00
        as sam
        /coregroup new {REF} icpc 18/12/2026
        /coregroup schedule 5/1 10am at "Oak Road Children's Centre"
        click 1
        6/1 2pm
        """
    )

    assert len(meetings(engine)) == 1  # the stale button booked nothing more
    assert "This button is out of date: meeting 1 is already booked for Tue 5 Jan 2027" in out
    assert "(You typed: 6/1 2pm)" in out


def test_a_date_after_the_first_meeting_deadline_is_booked_with_a_warning_naming_it(
    group: ChatDriver, engine: Engine
) -> None:
    out = group("/coregroup schedule 8/1 2pm")

    assert len(meetings(engine)) == 1
    assert "⚠ Please check:" in out
    assert (
        "This is after the first core group deadline of Wed 6 Jan 2027 "
        "(within 10 working days of the ICPC — statutory guidance default)." in out
    )


def test_a_bank_holiday_is_warned_with_its_name(group: ChatDriver) -> None:
    out = group("/coregroup schedule 28/12 10am")

    assert "Mon 28 Dec 2026 is not a working day (Boxing Day (substitute day))." in out


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("31/02 2pm", "31/02 is not a real date: February has 28 days in 2027."),
        ("yesterday 2pm", "That date is in the past (Thu 17 Dec 2026)."),
        ("blah", 'I couldn\'t read "blah" as a date.'),
        ("6/1", "Please add a time to Wed 6 Jan 2027."),
        ("", "When should the meeting be?"),
    ],
)
def test_schedule_refuses_dates_it_cannot_use_and_shows_an_example(
    group: ChatDriver, engine: Engine, typed: str, says: str
) -> None:
    out = group(f"/coregroup schedule {typed}")

    assert meetings(engine) == []
    assert says in out
    assert "For example: `/coregroup schedule next Tue 2pm" in out
    assert f"You typed: /coregroup schedule {typed}".strip() in out


def test_a_typo_in_the_command_or_the_kind_suggests_the_right_word(group: ChatDriver) -> None:
    assert "Did you mean `schedule`?" in group("/coregroup shedule friday 2pm")
    out = group("/coregroup schedule 6/1 2pm kind reglar")
    assert "Did you mean regular?" in out


def test_kind_is_inferred_first_then_regular_then_after_a_review(
    group: ChatDriver, engine: Engine
) -> None:
    group("/coregroup schedule 6/1 2pm")
    group("/coregroup schedule 10/2 2pm")
    with Session(engine) as s:
        case = s.exec(select(Case).where(Case.reference == REF)).one()
        assert case.id is not None
        s.add(
            ReviewConference(
                case_id=case.id, held_on=date(2027, 3, 15), recorded_at=datetime.now(LONDON)
            )
        )
        s.commit()
    group("/coregroup schedule 22/3 2pm")
    group("/coregroup schedule 1/3 2pm kind after-review")

    kinds = [(local(m.starts_at).date(), MeetingKind(m.kind)) for m in meetings(engine)]
    assert kinds == [
        (date(2027, 1, 6), MeetingKind.FIRST),
        (date(2027, 2, 10), MeetingKind.REGULAR),
        (date(2027, 3, 1), MeetingKind.AFTER_REVIEW),  # as the chair said
        (date(2027, 3, 22), MeetingKind.AFTER_REVIEW),
    ]


def test_a_second_meeting_the_same_day_is_refused_with_how_to_move_it(
    group: ChatDriver, engine: Engine
) -> None:
    group("/coregroup schedule 6/1 2pm")
    out = group("/coregroup schedule 6/1 4pm")

    assert len(meetings(engine)) == 1
    assert "Meeting 1 is already booked that day (Wed 6 Jan 2027, 14:00)." in out
    assert "/coregroup move 1 to Wed 6 Jan 2027 16:00" in out


def test_a_call_link_is_kept_and_a_bad_one_explained(group: ChatDriver, engine: Engine) -> None:
    out = group("/coregroup schedule 6/1 2pm link ftp://nope")
    assert "should start with https://" in out
    assert meetings(engine) == []

    out = group("/coregroup schedule 6/1 2pm link https://meet.example.org/cg-0142")
    assert "Video call: https://meet.example.org/cg-0142" in out
    assert meetings(engine)[0].call_link == "https://meet.example.org/cg-0142"


def test_members_cannot_schedule_and_outsiders_learn_nothing(
    group: ChatDriver, engine: Engine
) -> None:
    member = group("as alex\n/coregroup schedule 6/1 2pm")
    assert "Only the chair or key worker can book meetings for CP-2026-0142." in member

    outsider = group(f"as zed\n/coregroup schedule {REF} 6/1 2pm")
    assert "I can't find a core group matching CP-2026-0142 that you belong to." in outsider
    assert "Family" not in outsider and "meeting" not in outsider.lower().split("you typed")[0]

    # Pressing the schedule button with another group's id tells them nothing either.
    reply = group.dispatcher.click(
        Who(Platform.LOCAL, "zed", "Zed"), "meeting.schedule", str(group_id(engine)), text="6/1 2pm"
    )
    assert "I can't find a core group" in reply.to_actor_text()
    assert meetings(engine) == []


@pytest.mark.parametrize(
    "command",
    [
        "schedule 7/1 2pm",
        "move 1 to 7/1 2pm",
        "cancel 1",
        "meetings",
        'venue 1 "Clinic"',
        "link 1 https://meet.example.org/x",
        "held 1",
        "attendance @sam attended 1",
        'decision "x" 1',
        'contingency "x" 1',
    ],
)
def test_outsiders_naming_the_case_learn_nothing_from_meeting_commands(
    group: ChatDriver, engine: Engine, command: str
) -> None:
    group("/coregroup schedule 6/1 2pm\nclock 2027-01-06 15:00")
    name, _, rest = command.partition(" ")
    out = group(f"as zed\n/coregroup {name} {REF} {rest}")

    assert "I can't find a core group matching CP-2026-0142 that you belong to." in out
    assert "Wed 6 Jan" not in out and SPACE not in out
    [meeting] = meetings(engine)
    assert meeting.status == MeetingStatus.SCHEDULED and meeting.venue == ""


def test_the_schedule_button_is_for_the_chair(group: ChatDriver, engine: Engine) -> None:
    reply = group.dispatcher.click(
        Who(Platform.LOCAL, "jo", "Jo"), "meeting.schedule", str(group_id(engine)), text="6/1 2pm"
    )
    assert "That's something your key worker does." in reply.to_actor_text()  # Jo: the parent
    reply = group.dispatcher.click(
        Who(Platform.LOCAL, "sam", "Sam"), "meeting.schedule", "not-a-group", text="6/1 2pm"
    )
    assert "That button no longer works." in reply.to_actor_text()
    assert meetings(engine) == []


# --- move, cancel, list -------------------------------------------------------------------------


def test_move_keeps_the_time_when_only_a_day_is_given_and_tells_the_group(
    group: ChatDriver, engine: Engine
) -> None:
    group('/coregroup schedule 6/1 2pm at "Family Centre"')
    out = group("/coregroup move 1 to 5/1")

    assert local(meetings(engine)[0].starts_at) == datetime(2027, 1, 5, 14, 0)
    assert f"[{SPACE}]" in out and "Meeting moved — CP-2026-0142" in out
    assert "Was Wed 6 Jan 2027, 14:00" in out

    group("/coregroup move to 5/1 10am")
    assert local(meetings(engine)[0].starts_at) == datetime(2027, 1, 5, 10, 0)


def test_move_explains_what_went_wrong(group: ChatDriver, engine: Engine) -> None:
    assert "No meeting is booked for CP-2026-0142." in group("/coregroup move to Fri 10am")
    group("/coregroup schedule 6/1 2pm")
    assert "There's no meeting 7 for CP-2026-0142" in group("/coregroup move 7 to 5/1 10am")
    assert "not a real date" in group("/coregroup move 1 to 31/02")
    assert "in the past" in group("/coregroup move 1 to yesterday")
    assert "already at Wed 6 Jan 2027, 14:00" in group("/coregroup move 1 to 6/1 2pm")
    assert local(meetings(engine)[0].starts_at) == datetime(2027, 1, 6, 14, 0)
    assert "That's something your key worker does." in group("as jo\n/coregroup move 1 to 5/1")


def test_cancel_tells_the_group_at_once_with_the_reason(group: ChatDriver, engine: Engine) -> None:
    group("/coregroup schedule 6/1 2pm")
    out = group("/coregroup cancel 1 family unwell")

    [meeting] = meetings(engine)
    assert meeting.status == MeetingStatus.CANCELLED
    assert meeting.cancel_reason == "family unwell"
    assert f"[{SPACE}]" in out and "Meeting cancelled — CP-2026-0142" in out
    assert "Reason: family unwell" in out
    assert "was cancelled, so I can't move it" in group("/coregroup move 1 to 7/1 2pm")
    assert "Only the chair or key worker can cancel meetings" in group(
        "/coregroup schedule 7/1 2pm\nas ruth\n/coregroup cancel"
    )


def test_meetings_lists_upcoming_and_earlier_with_their_status(group: ChatDriver) -> None:
    group(
        """
        /coregroup schedule 6/1 2pm at "Family Centre"
        /coregroup schedule 7/1 2pm
        /coregroup cancel 2 clash with court
        /coregroup schedule 10/2 10am
        clock 2027-01-06 15:00
        /coregroup held 1
        """
    )
    family = group("as jo\n/coregroup meetings")
    assert "== Your family's meetings ==" in family
    assert "1. Wed 6 Jan 2027, 14:00 — first meeting — Family Centre" in family
    out = group("as alex\n/coregroup meetings")

    upcoming, earlier = out.split("Earlier:")
    assert "3. Wed 10 Feb 2027, 10:00 — core group meeting — place to be confirmed — booked" in (
        upcoming
    )
    assert "1. Wed 6 Jan 2027, 14:00 — first core group meeting — Family Centre — held" in earlier
    assert "2. Thu 7 Jan 2027, 14:00" in earlier and "cancelled (clash with court)" in earlier


def test_outsiders_cannot_list_a_groups_meetings(group: ChatDriver) -> None:
    group("/coregroup schedule 6/1 2pm")
    out = group(f"as zed\n/coregroup meetings {REF}")
    assert "I can't find a core group matching CP-2026-0142" in out
    assert "Wed 6 Jan" not in out


# --- venue and link -----------------------------------------------------------------------------


def test_venue_and_link_are_changed_and_announced(group: ChatDriver, engine: Engine) -> None:
    group("/coregroup schedule 6/1 2pm")
    out = group('/coregroup venue 1 "Family Centre, Room 4"')
    assert "Venue changed — CP-2026-0142" in out and "Where: Family Centre, Room 4" in out
    group("/coregroup link https://meet.example.org/cg")
    group("/coregroup venue none")

    [meeting] = meetings(engine)
    assert meeting.venue == "" and meeting.call_link == "https://meet.example.org/cg"
    assert "should start with https://" in group("/coregroup link meet.example.org")
    assert "Where will the meeting be?" in group("/coregroup venue")
    assert "Only the chair or key worker can change the venue" in group(
        'as alex\n/coregroup venue "Clinic"'
    )


# --- held, attendance, decisions ----------------------------------------------------------------


def test_held_takes_attendance_from_what_members_said_beforehand(
    group: ChatDriver, engine: Engine
) -> None:
    group(
        """
        /coregroup schedule 6/1 2pm
        clock 2027-01-04 09:00
        /coregroup updates
        as alex
        skip
        skip
        skip
        yes
        as ruth
        skip
        skip
        skip
        can't make it
        away on a course
        """
    )
    out = group("as sam\nclock 2027-01-06 15:05\n/coregroup held")

    [meeting] = meetings(engine)
    assert meeting.status == MeetingStatus.HELD
    assert attendance(engine, meeting.id) == {
        "alex": AttendanceStatus.ATTENDED,
        "ruth": AttendanceStatus.APOLOGIES,
        "jo": AttendanceStatus.INVITED,
        "sam": AttendanceStatus.INVITED,
    }
    assert "Meeting 1 recorded as held" in out
    assert "Ruth: sent apologies (away on a course)" in out
    # Nobody who said nothing is minuted as absent (Jo is the parent): the chair is asked instead.
    assert "Jo: not recorded" in out and "did not attend" not in out
    assert "Attendance at meeting 1 isn't recorded for Sam and Jo" in out


def test_held_refuses_a_meeting_not_started_or_already_held(group: ChatDriver) -> None:
    assert "No meeting has taken place yet" in group("/coregroup held")
    group("/coregroup schedule 6/1 2pm")
    assert "Meeting 1 hasn't started yet (Wed 6 Jan 2027, 14:00)." in group("/coregroup held 1")
    group("clock 2027-01-06 14:30\n/coregroup held")
    assert "already recorded as held" in group("/coregroup held")
    assert "Only the chair, key worker or minute-taker can record a meeting" in group(
        "as jo\n/coregroup held"
    )


def test_attendance_is_corrected_after_and_apologies_taken_before(
    group: ChatDriver, engine: Engine
) -> None:
    group(
        """
        /coregroup schedule 6/1 2pm
        /coregroup schedule 10/2 2pm
        clock 2027-01-06 15:00
        /coregroup held 1
        """
    )
    assert "Sam: attended — meeting 1" in group("/coregroup attendance @sam attended")
    assert "Ruth: sent apologies — meeting 2" in group("/coregroup attendance @ruth apologies")

    first, second = meetings(engine)
    assert attendance(engine, first.id)["sam"] == AttendanceStatus.ATTENDED
    assert attendance(engine, second.id)["ruth"] == AttendanceStatus.APOLOGIES
    assert "hasn't happened yet" in group("/coregroup attendance @jo absent 2")
    assert "Did you mean attended?" in group("/coregroup attendance @jo atended")
    assert "isn't a member of the core group" in group("/coregroup attendance @zed attended")


def test_the_minute_taker_records_decisions_and_contingency_for_the_minutes(
    group: ChatDriver, engine: Engine
) -> None:
    group("/coregroup schedule 6/1 2pm")
    early = group('/coregroup decision "Contact stays supervised"')
    assert "No meeting has taken place yet" in early
    group("clock 2027-01-06 14:20\n/coregroup minute-taker @alex")
    out = group(
        """
        as alex
        /coregroup decision "Contact with dad stays supervised"
        /coregroup decision "Refer to the parenting course" 1
        /coregroup contingency "If the heating fails again, the family moves to Nan's"
        """
    )
    assert "Added to the decision of meeting 1 (Wed 6 Jan 2027), item 2:" in out

    [meeting] = meetings(engine)
    assert meeting.decisions.splitlines() == [
        "Contact with dad stays supervised",
        "Refer to the parenting course",
    ]
    assert meeting.contingency == "If the heating fails again, the family moves to Nan's"
    assert "What should the decision say?" in group("/coregroup decision")
    assert "Only the chair, key worker or minute-taker can add to the decision" in group(
        'as jo\n/coregroup decision "no"'
    )
