"""Issue 10: answers to the update questions are read as meant. "Yes I'll be there" is not a
written update; a skipped attendance question leaves the member "attendance not known" rather
than out of every list; "No" and "Nothing new" are not listed as worries or new concerns."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.models import Attendance, UpdateAnswer
from tests.scenarios.conftest import ChatDriver
from tests.scenarios.test_family_safety import SETUP, last

# Priya's questions: her action's status and note, working well, worries, must know, attend.


@pytest.fixture
def group(chat: ChatDriver) -> ChatDriver:
    chat(SETUP)
    chat("/coregroup updates")
    return chat


def answers(engine: Engine) -> dict[str, UpdateAnswer]:
    with Session(engine) as s:
        return {a.question: a for a in s.exec(select(UpdateAnswer)).all()}


def attendance(engine: Engine) -> dict[int, Attendance]:
    with Session(engine) as s:
        return {a.person_id: a for a in s.exec(select(Attendance)).all()}


def brief_part(chat: ChatDriver, heading: str) -> str:
    brief = chat("as sam\n/coregroup brief")
    return brief.split(f"== {heading} ==")[1].split("==")[0]


def test_yes_ill_be_there_is_an_answer_not_a_written_update(
    group: ChatDriver, engine: Engine
) -> None:
    out = group("as priya\nin progress\nskip\nskip\nskip\nskip\nyes I'll be there")
    assert "Your update is complete" in out
    assert "Coming to the meeting: Yes, I'll be there" in out
    given = answers(engine)
    assert given["attend"].answer == "yes"
    assert "written_update" not in given
    assert all(a.note == "" for a in attendance(engine).values())
    replies = brief_part(group, "Apologies")
    assert "Coming: " in replies and "Priya, school safeguarding lead" in replies
    assert "written update" not in replies
    # Other words after "yes" stay with the answer; they are not a written update either.
    out = group("as dan\nskip\nskip\nskip\nyes, but I'll be 10 minutes late")
    assert "Yes, I'll be there — but I'll be 10 minutes late" in out
    assert "written_update" not in answers(engine)


def test_a_skipped_attendance_question_shows_as_attendance_not_known(
    group: ChatDriver, engine: Engine
) -> None:
    group("as priya\nin progress\nskip\nMia is settled\nskip\nskip\nskip")
    replies = brief_part(group, "Apologies")
    assert "Attendance not known: " in replies
    unknown = replies.split("Attendance not known: ")[1].splitlines()[0]
    assert "Priya, school safeguarding lead" in unknown
    assert "Coming: " not in replies
    # The draft, before anyone marks the meeting held, does not guess either.
    draft = group("clock 2027-01-06 15:30\nas sam\n/coregroup draft")
    assert "Not recorded whether they came: " in last(draft, "[DM to priya]")
    assert (
        "Priya — school safeguarding lead"
        in (
            last(draft, "[DM to priya]")
            .split("Not recorded whether they came: ")[1]
            .splitlines()[0]
        )
    )


@pytest.mark.parametrize("nothing", ["No", "Nothing new", "nothing", "none at the moment"])
def test_no_and_nothing_new_are_not_listed_as_worries_or_new_concerns(
    group: ChatDriver, engine: Engine, nothing: str
) -> None:
    group(f"as priya\nin progress\nskip\nMia is settled\n{nothing}\n{nothing}\nyes")
    assert answers(engine)["must_know"].answer == nothing  # kept as given
    concerns = brief_part(group, "New concerns: what the group must know")
    assert "None raised in the updates." in concerns and f": {nothing}" not in concerns
    updates = brief_part(group, "Updates from members")
    assert "Working well: Mia is settled" in updates and "Worries" not in updates
    draft = group("clock 2027-01-06 15:30\nas sam\n/coregroup held 1\n/coregroup draft")
    minutes = last(draft, "[DM to priya]")
    seven = minutes.split("== 7.")[1].split("== 8.")[0]
    nine = minutes.split("== 9.")[1].split("== 10.")[0]
    assert f"- {nothing} (Priya)" not in seven and f"- {nothing} (Priya)" not in nine
    assert "- None raised in the updates." in nine
