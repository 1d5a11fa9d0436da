"""Issue 10, rules a chair relies on, for what people type: a meeting outside working hours is
warned of, `hepl` suggests help, outcomes and actions have a length limit, and contact hours
may run overnight."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.models import Action, Meeting, Outcome, Person
from tests.factories import named
from tests.scenarios.conftest import ChatDriver
from tests.scenarios.test_meetings import REF

SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup add @priya school
"""


def test_a_meeting_at_3am_or_outside_working_hours_is_booked_with_a_warning(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(SETUP)
    out = chat("/coregroup schedule 6/1 03:00")
    assert "Booked: meeting 1" in out
    assert "03:00 is outside working hours (08:00 to 18:00)" in out
    assert "Did you mean 15:00?" in out
    late = chat("/coregroup schedule 7/1 7pm")
    assert "19:00 is outside working hours" in late and "Did you mean" not in late
    in_hours = chat("/coregroup move 1 to 6/1 2pm")
    assert "outside working hours" not in in_hours
    with Session(engine) as s:
        assert len(s.exec(select(Meeting)).all()) == 2


def test_hepl_suggests_help_not_held(chat: ChatDriver) -> None:
    chat(SETUP)
    out = chat("/coregroup hepl")
    assert "Did you mean `help`?" in out and "`held`" not in out
    assert "Did you mean `held`?" in chat("/coregroup hedl")
    assert "Did you mean `schedule`?" in chat("/coregroup shedule 6/1 2pm")


def test_outcome_and_action_text_have_a_length_limit(chat: ChatDriver, engine: Engine) -> None:
    chat(SETUP)
    long_outcome = "Jamie is safe at home " * 20  # 440 characters
    out = chat(f'/coregroup outcome add "{long_outcome}"')
    assert "That outcome is 439 characters; it can have up to 300" in out
    chat('/coregroup outcome add "Jamie is safe at home"')
    long_action = "book the GP appointment and go with mum " * 15
    out = chat(f"/coregroup action @priya to {long_action} by 8/1")
    assert "That action is" in out and "it can have up to 500" in out
    chat("/coregroup action @priya to book the GP appointment by 8/1")
    out = chat(f'/coregroup action edit 1 "{long_action}"')
    assert "it can have up to 500" in out
    out = chat(f'/coregroup outcome edit 1 "{long_outcome}"')
    assert "it can have up to 300" in out
    with Session(engine) as s:
        assert [o.title for o in s.exec(select(Outcome)).all()] == ["Jamie is safe at home"]
        assert [a.description for a in s.exec(select(Action)).all()] == ["Book the GP appointment"]


def test_overnight_contact_hours_work(chat: ChatDriver, engine: Engine) -> None:
    chat(SETUP)
    out = chat("as priya\n/coregroup hours 22:00-07:00")
    assert "Done: I'll send you direct messages only from 22:00 to 07:00 (overnight)" in out
    with Session(engine) as s:
        priya = s.exec(select(Person).where(named(s, "Priya"))).one()
        assert (priya.contact_start_hour, priya.contact_end_hour) == (22, 7)
    assert "from 22:00 to 07:00 (overnight)" in chat("/coregroup hours")
    # The notice five working days ahead (Tue 29 Dec) goes to Sam in the morning; to Priya it
    # waits for her window that evening, and reaches her before midnight.
    chat("as sam\n/coregroup schedule 6/1 2pm")
    morning = chat("clock 2026-12-29 12:00")
    assert "[DM to sam]" in morning and "[DM to priya]" not in morning
    evening = chat("clock 2026-12-29 22:30")
    assert "meeting in 5 working days" in evening.split("[DM to priya]")[1]


def test_help_for_one_command_is_in_family_words_for_a_parent(chat: ChatDriver) -> None:
    chat(SETUP)
    out = chat("as jo\n/coregroup help status")
    assert "when and where the next meeting is, and what you agreed to do" in out
    assert "Usage:" not in out and "case reference" not in out
    theirs = chat("/coregroup help schedule")
    assert "That's something your key worker does. Here is what you can ask me:" in theirs
    assert "Usage:" not in theirs and "statutory" not in theirs
    assert "I don't know that one." in chat("/coregroup help hepl")


def test_move_without_to_works(chat: ChatDriver, engine: Engine) -> None:
    chat(SETUP + "/coregroup schedule 5/1 10am\n/coregroup schedule 12/1 10am")
    out = chat("/coregroup move 1 6/1 2pm")
    assert "Moved: meeting 1" in out
    with Session(engine) as s:
        first = s.exec(select(Meeting).order_by(Meeting.id)).first()  # type: ignore[arg-type]
        assert first is not None and f"{first.starts_at:%d/%m %H:%M}" == "06/01 14:00"
    # "6 Jan" is still a date, not meeting 6.
    assert "Moved: meeting 2" in chat("/coregroup move 2 to 13 Jan")


def test_starting_soon_is_not_sent_after_a_long_clock_jump(chat: ChatDriver) -> None:
    chat(SETUP + "/coregroup schedule 6/1 2pm")
    out = chat("clock 2027-02-01 10:00")
    assert "Starting soon" not in out
    # In time, it still goes.
    chat("/coregroup schedule 8/2 2pm")
    assert "Starting soon" in chat("clock 2027-02-08 13:30")
