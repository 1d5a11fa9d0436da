"""Issue 10, rules a chair relies on, through the local chat: meeting numbers that never change
once shown, a warning when a second "first" meeting is booked, and who may start a group."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from storage.enums import MeetingKind, MeetingStatus, Platform
from storage.models import Case, Meeting
from tests.factories import in_team
from tests.scenarios.conftest import ChatDriver
from tests.scenarios.test_meetings import LONDON, REF

SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup add @priya school
"""


def booked(engine: Engine) -> list[Meeting]:
    with Session(engine) as s:
        return list(s.exec(select(Meeting).order_by(col(Meeting.id))).all())


def test_booking_an_earlier_meeting_does_not_renumber_the_announced_ones(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(SETUP)
    chat('/coregroup schedule 6/1 2pm at "Family Centre"\n/coregroup schedule 13/1 2pm')
    # An earlier meeting is booked after both were announced as meetings 1 and 2.
    out = chat("/coregroup schedule 5/1 10am")
    assert "Booked: meeting 3 for CP-2026-0142" in out
    listing = chat("/coregroup meetings")
    assert "1. Wed 6 Jan 2027, 14:00" in listing and "2. Wed 13 Jan 2027, 14:00" in listing
    assert "3. Tue 5 Jan 2027, 10:00" in listing
    # `cancel 1` and `move 2` hit the meetings that were shown with those numbers.
    chat("/coregroup cancel 1 the earlier date suits the family")
    chat("/coregroup move 2 to 14/1 2pm")
    first, second, third = booked(engine)
    assert first.status == MeetingStatus.CANCELLED
    assert second.starts_at.astimezone(LONDON).replace(tzinfo=None) == datetime(2027, 1, 14, 14)
    assert third.status == MeetingStatus.SCHEDULED
    assert third.starts_at.astimezone(LONDON).replace(tzinfo=None) == datetime(2027, 1, 5, 10)
    # Still the same numbers after the cancellation and the move.
    listing = chat("/coregroup meetings")
    assert "1. Wed 6 Jan 2027, 14:00" in listing and "cancelled" in listing
    assert "2. Thu 14 Jan 2027, 14:00" in listing and "3. Tue 5 Jan 2027, 10:00" in listing


def test_booking_a_second_first_meeting_warns(chat: ChatDriver, engine: Engine) -> None:
    chat(SETUP)
    chat('/coregroup schedule 6/1 2pm at "Family Centre"')
    out = chat("/coregroup schedule 5/1 10am")
    assert (
        "Meeting 1 (Wed 6 Jan 2027, 14:00) is already booked as the first meeting, so there "
        "are now two. If this one replaces it: `/coregroup cancel 1`."
    ) in out
    assert [m.kind for m in booked(engine)] == [MeetingKind.FIRST, MeetingKind.FIRST]
    # A later meeting is a regular one: no warning.
    assert "already booked as the first meeting" not in chat("/coregroup schedule 20/1 2pm")


# --- who may start a group ----------------------------------------------------------------------


def refusal(out: str) -> str:
    """The reply's words, without the line echoing what was typed."""
    return "\n".join(
        line for line in out.splitlines() if "You typed" not in line and not line.startswith(">")
    )


def test_only_social_workers_and_managers_in_a_team_may_start_a_group(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    out = chat("clock 2026-12-18 15:00\nas eve\n/coregroup new CP-2026-0777 icpc 18/12/2026")
    assert "I can't start that core group for you." in out
    assert "Ask your team manager or the case's social worker" in out
    assert "coregroup team" in out  # what an administrator runs
    with Session(engine) as s:
        assert s.exec(select(Case)).all() == []
    # Once in a team (as `coregroup team` puts her), she may.
    in_team(engine, clock, platform=Platform.LOCAL, user_id="eve", name="Eve", team="South")
    assert "Core group started for CP-2026-0777" in chat(
        "/coregroup new CP-2026-0777 icpc 18/12/2026"
    )
    in_team(engine, clock, platform=Platform.LOCAL, user_id="tam", name="Tam", manager=True)
    assert "Core group started for CP-2026-0778" in chat(
        "as tam\n/coregroup new CP-2026-0778 icpc 18/12/2026"
    )


def test_a_refusal_for_a_reference_in_use_is_the_same_as_any_refusal(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    chat(SETUP)
    # Someone outside a team: the same words for a reference in use and for a new one.
    chat("as eve")
    taken = chat(f"/coregroup new {REF} icpc 18/12/2026")
    unused = chat("/coregroup new CP-2026-0999 icpc 18/12/2026")
    assert refusal(taken) == refusal(unused)
    # A social worker in another team, for a group she can't see: the same words again.
    in_team(engine, clock, platform=Platform.LOCAL, user_id="kim", name="Kim", team="South")
    chat("as kim")
    theirs = chat(f"/coregroup new {REF} icpc 18/12/2026")
    assert refusal(theirs).replace("Kim", "Eve") == refusal(taken)
    assert "already" not in refusal(theirs).replace("already started", "")
    # The parent is told in her words.
    family = chat("as jo\n/coregroup new CP-2026-0888 icpc 18/12/2026")
    assert "That's something your key worker does." in family
