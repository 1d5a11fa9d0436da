"""Issue 10: every reply lands where it was meant. One conversation at a time; a reminder never
merges into the update's question; a reply naming its message (`reply <n>` here, a thread or a
reply chain on the platforms) answers that message; a reply that could answer two things asks
which; and the local chat's own commands work even while a button's question waits."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.enums import ActionEventKind, ActionStatus
from storage.models import Action, ActionEvent, MemberUpdate, Reminder, UpdateAnswer
from tests.scenarios.conftest import ChatDriver
from tests.scenarios.test_plan import button, section

REF = "CP-2026-0142"
# Priya's action is due Tue 5 Jan 2027: its "due in 2 working days" reminder falls on Thu 31 Dec
# at 09:00 (1 Jan is a bank holiday), the moment her update for the 6 Jan meeting opens.
SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup add @priya school
/coregroup outcome add "Mia is safe at home and at school"
/coregroup action @priya to check Mia's attendance every week by 5/1 outcome 1
/coregroup schedule 6/1 2pm at "Family Centre"
clock 2026-12-30 17:00
as priya
"""


@pytest.fixture
def group(chat: ChatDriver) -> ChatDriver:
    chat(SETUP)
    return chat


def priyas_messages(out: str) -> list[str]:
    return [p for p in out.split("\n[") if p.startswith("DM to priya]")]


def reply_number(out: str, words: str) -> int:
    """The number to `reply` to Priya's message that shows `words`."""
    message = next(m for m in priyas_messages(out) if words in m)
    [number] = re.findall(r"\(reply (\d+) <your words> answers this message\)", message)
    return int(number)


def update_answers(engine: Engine) -> dict[str, UpdateAnswer]:
    with Session(engine) as s:
        return {a.question: a for a in s.exec(select(UpdateAnswer)).all()}


def the_action(engine: Engine) -> Action:
    with Session(engine) as s:
        return s.exec(select(Action)).one()


def test_an_action_reminder_due_with_the_update_question_goes_as_a_message_of_its_own(
    group: ChatDriver, engine: Engine
) -> None:
    out = group("clock 2026-12-31 09:00")
    mine = priyas_messages(out)
    reminder = next(m for m in mine if "is due on Tue 5 Jan 2027, in 2 working days" in m)
    question = next(m for m in mine if "Is it done, in progress or stuck?" in m)
    assert reminder is not question
    assert "Is it done, in progress or stuck?" not in reminder and "reminders" not in reminder
    # Each says what a reply to it does.
    assert "Reply to this message in words to update action 1" in reminder
    assert "Type your answer" in question
    with Session(engine) as s:
        rows = s.exec(select(Reminder).where(Reminder.person_id.is_not(None))).all()  # type: ignore[union-attr]
        keys = {r.kind: r.batch_key for r in rows if r.kind in ("action-soon", "update-open")}
    assert len(keys) == 2 and keys["action-soon"] != keys["update-open"]


def test_a_reply_that_could_answer_the_update_or_the_reminder_asks_which_and_keeps_the_words(
    group: ChatDriver, engine: Engine
) -> None:
    group("clock 2026-12-31 09:00")
    out = group("need until 8/1")
    asked = section(out, "[DM to priya]")
    assert "Is this your answer to the question in your update, or about the action" in asked
    assert "You wrote: need until 8/1" in asked
    assert the_action(engine).due_on == date(2027, 1, 5) and update_answers(engine) == {}

    # It was about the action: the date moves, nothing goes into the update, and the update's
    # question comes back as the conversation.
    out = group(
        f"click {button(out, 'About action 1: Check Mia' + chr(39) + 's attendance every week')}"
    )
    assert "Moved action 1 (CP-2026-0142) from Tue 5 Jan 2027 to Fri 8 Jan 2027" in out
    assert "Back to your update for the meeting" in out
    assert the_action(engine).due_on == date(2027, 1, 8) and update_answers(engine) == {}

    # Now the update is the conversation: a message answers it, without asking which.
    out = group("in progress")
    assert "Is this your answer" not in out and "Saved: Action 1" in out
    assert update_answers(engine)["action:1:status"].answer == "in-progress"


def test_choosing_the_update_saves_the_words_there(group: ChatDriver, engine: Engine) -> None:
    group("clock 2026-12-31 09:00")
    out = group("in progress")
    out = group(f"click {button(out, 'My answer to the update question')}")
    assert "Saved: Action 1" in out
    assert update_answers(engine)["action:1:status"].answer == "in-progress"
    # The held words went once: pressing the other button now changes nothing.
    with Session(engine) as s:
        events = s.exec(select(ActionEvent).where(ActionEvent.kind != ActionEventKind.CREATED))
        assert [e.kind for e in events] == [ActionEventKind.STATUS]  # from the update answer


def test_replying_to_a_message_by_its_number_answers_that_message(
    group: ChatDriver, engine: Engine
) -> None:
    out = group("clock 2026-12-31 09:00")
    reminder = reply_number(out, "in 2 working days")
    question = reply_number(out, "Is it done, in progress or stuck?")
    # The update question is answered first, so it is the open conversation...
    assert "Saved: Action 1" in group(f"reply {question} in progress")
    group("clock +1h")
    # ...yet a reply to the reminder goes to the action, not into the update.
    out = group(f"reply {reminder} can't, the family moved GP")
    assert "Recorded that action 1 (CP-2026-0142) can't be done, because: the family moved GP" in (
        out
    )
    assert "I've told Sam" in out and "[DM to sam]" in out
    assert "Back to your update for the meeting" in out
    assert set(update_answers(engine)) == {"action:1:status"}
    assert the_action(engine).status == ActionStatus.DECLINED
    # A plain message answers the update's question (the conversation), not the reminder.
    out = group("skip")
    assert "Saved: Action 1 note" in out and "can't be done" not in out
    assert set(update_answers(engine)) == {"action:1:status", "action:1:note"}
    # A number no message has is refused, with how to do it right.
    assert "Say which message by its number, e.g. `reply 2 done`" in group("reply 999 done")


def test_a_thread_reply_to_a_finished_update_says_so_and_keeps_the_words(
    group: ChatDriver, engine: Engine
) -> None:
    out = group("clock 2026-12-31 09:00")
    question = reply_number(out, "Is it done, in progress or stuck?")
    group(f"reply {question} in progress\nskip\nskip\nskip\nskip\nyes")
    with Session(engine) as s:
        assert s.exec(select(MemberUpdate).where(MemberUpdate.state == "complete")).first()
    out = group(f"reply {question} actually it's done")
    assert "already complete" in out and "You typed: actually it's done" in out


def test_the_chats_own_commands_work_while_a_buttons_question_waits(group: ChatDriver) -> None:
    out = group("/coregroup action 1")
    asked = group(f"click {button(out, 'In progress')}")
    assert "? What's the latest?" in asked
    # `as`, `in`, `clock`, `/coregroup`, `whoami` and `help` are commands, not the answer.
    out = group("as jo")
    assert "you are now Jo" in out and "left unanswered" in out
    for line, shows in (
        ("in #cg-cp-2026-0142", "(you are in #cg-cp-2026-0142)"),
        ("clock +1m", "(clock: Wed 30 Dec 2026 17:01)"),
        ("/coregroup help", "Core group assistant — commands"),
        ("whoami", "(you are Priya, in direct messages"),
        ("help", "Local chat commands:"),
    ):
        group("as priya\nin dm\n/coregroup action 1")
        out = group(f"click {button(group.out.getvalue(), 'In progress')}\n{line}")
        assert shows in out, line
        assert "left unanswered" in out
        assert "Marked action 1" not in out
    # Words that only look like commands are still the answer.
    out = group("as priya\nin dm\n/coregroup action 1")
    out = group(f"click {button(out, 'In progress')}\nin progress, booked with the nurse")
    assert "Marked action 1 (CP-2026-0142) in progress, with the note: in progress, booked" in out
    out = group("/coregroup action 1")
    out = group(f"click {button(out, 'In progress')}\nas agreed with mum, weekly calls")
    assert "with the note: as agreed with mum, weekly calls" in out
