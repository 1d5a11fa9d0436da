"""Issue 10, rules a chair relies on, for the minutes: a meeting held with no attendance recorded
says so (and the draft and publishing warn), an amendment answers only a change asked for in the
same section, and the minute-taker hears of change requests and minutes deadlines."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.enums import AttendanceStatus
from storage.models import Attendance
from tests.scenarios.conftest import ChatDriver
from tests.scenarios.test_meetings import REF
from tests.scenarios.test_minutes import button, to

SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup add @dan police
/coregroup add @alex health visitor
/coregroup minute-taker @alex
/coregroup schedule 21/12 10am
clock 2026-12-21 12:00
"""
NOT_RECORDED = "Nobody's attendance at meeting 1 is recorded"


def attendance(engine: Engine) -> set[str]:
    with Session(engine) as s:
        return {a.status for a in s.exec(select(Attendance)).all()}


def test_held_with_no_attendance_recorded_says_not_recorded_and_warns(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(SETUP)
    out = chat("/coregroup held 1")
    assert "Sam: not recorded" in out and "did not attend" not in out
    assert NOT_RECORDED in out
    assert "`/coregroup attendance @sam attended 1`" in out
    assert attendance(engine) == {AttendanceStatus.INVITED}
    drafted = chat("/coregroup draft")
    assert NOT_RECORDED in to(drafted, "[to Sam")
    assert "Not recorded whether they came: Sam" in drafted
    # Publishing warns too (it goes ahead: the chair may know better).
    approve = button(chat.out.getvalue(), "Approve", "[DM to dan]")
    chat(f"as dan\nclick {approve}\nas sam")
    published = chat("/coregroup publish")
    assert NOT_RECORDED in to(published, "[to Sam")
    assert "are published" in published


def test_held_keeps_the_attendance_members_gave_and_asks_for_the_rest(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(SETUP)
    out = chat("/coregroup attendance @dan attended 1\n/coregroup held 1")
    assert NOT_RECORDED not in out
    # Nobody who said nothing is minuted as absent: the chair is asked about each of them.
    assert AttendanceStatus.ABSENT not in attendance(engine)
    assert "isn't recorded for Sam, Jo and Alex" in out
    recorded = "/coregroup attendance @sam attended 1\n/coregroup attendance @jo absent 1\n"
    chat(recorded + "/coregroup attendance @alex apologies 1")
    assert attendance(engine) == {
        AttendanceStatus.ATTENDED,
        AttendanceStatus.ABSENT,
        AttendanceStatus.APOLOGIES,
    }
    drafted = chat("/coregroup draft")
    assert "isn't recorded" not in drafted and NOT_RECORDED not in drafted


def _asked(chat: ChatDriver, who: str, comment: str) -> str:
    change = button(chat.out.getvalue(), "Request a change", f"[DM to {who}]")
    return chat(f"as {who}\nclick {change}\n{comment}\nas sam")


def test_an_amendment_answers_only_a_change_asked_for_in_the_same_section(
    chat: ChatDriver,
) -> None:
    chat(SETUP + "/coregroup attendance @dan attended 1\n/coregroup held 1\n/coregroup draft")
    _asked(chat, "dan", "Section 4: Mia said she likes her new school")
    out = chat('/coregroup amend 7 "Working well: Mia is settled at school"')
    assert "answers the change asked for by Dan" not in out
    assert "Still open: Dan's change (section 4)" in to(out, "[to Sam")
    refused = chat("/coregroup publish")
    assert "Dan asked for a change to version 2" in refused
    out = chat('/coregroup amend 4 "Mia said she likes her new school"')
    assert "answers the change asked for by Dan" in out
    assert "Still open" not in to(out, "[to Sam")


def test_the_minute_taker_is_told_of_change_requests(chat: ChatDriver) -> None:
    chat(SETUP + "/coregroup attendance @dan attended 1\n/coregroup held 1")
    chat("as alex\n/coregroup draft\nas sam")
    out = _asked(chat, "dan", "Section 4: Mia said she likes her new school")
    assert "Dan asked for a change to version 1" in to(out, "[DM to alex]")
    assert "Dan asked for a change to version 1" in to(out, "[DM to sam]")


def test_the_minute_taker_is_reminded_of_minutes_deadlines(chat: ChatDriver) -> None:
    chat(SETUP + "/coregroup attendance @dan attended 1\n/coregroup held 1\n/coregroup draft")
    # Record on the case system by Wed 23 Dec (2 working days).
    out = chat("clock 2026-12-23 10:00")
    assert "Minutes due on the case system" in to(out, "[DM to alex]")
