"""Journey 2 and the update commands through the local chat: `updates`, the conversation in direct
messages (resumed after a pause and a restart), quick answers, `back`, `myupdate` and changing an
answer, the brief — and nobody answering or seeing someone else's update."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from bot.core.people import Who
from storage.enums import (
    ActionEventKind,
    ActionStatus,
    AttendanceStatus,
    Platform,
    ReminderStatus,
    UpdateState,
)
from storage.models import (
    Action,
    ActionEvent,
    Attendance,
    ChatIdentity,
    MemberUpdate,
    Reminder,
    UpdateAnswer,
)
from tests.scenarios.conftest import ChatDriver

REF = "CP-2026-0142"
SPACE = "#cg-cp-2026-0142"

# Journey 1 done: the group, two outcomes with actions for the health visitor and the parent, and
# the first meeting on Wed 6 Jan 2027; three working days before it the chair asks for updates.
SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup add @alex hv
/coregroup add @ruth gp
/coregroup add @dan police
/coregroup outcome add "The children live in a home that is warm and safe"
/coregroup action @alex to arrange a developmental check by 15/1 outcome 1
/coregroup action @jo to keep the heating on and the home warm by 15/1 outcome 1
/coregroup schedule 6/1 2pm at "Family Centre"
clock 2026-12-31 10:00
"""


@pytest.fixture
def group(chat: ChatDriver) -> ChatDriver:
    """The group set up and its first meeting booked."""
    chat(SETUP)
    return chat


def dm_to(out: str, name: str) -> str:
    """The direct messages to `name` in a transcript, joined."""
    parts = out.split("\n[")
    return "\n".join(p for p in parts if p.startswith(f"DM to {name}]"))


def person_id(engine: Engine, name: str) -> int:
    """The id of the local-chat person called `name`."""
    with Session(engine) as s:
        return s.exec(select(ChatIdentity.person_id).where(ChatIdentity.user_id == name)).one()


def update_of(engine: Engine, name: str) -> tuple[MemberUpdate, dict[str, UpdateAnswer]]:
    """`name`'s update for the (only) meeting, with the answers by question."""
    with Session(engine) as s:
        update = s.exec(
            select(MemberUpdate).where(MemberUpdate.person_id == person_id(engine, name))
        ).one()
        rows = s.exec(select(UpdateAnswer).where(UpdateAnswer.update_id == update.id)).all()
        return update, {r.question: r for r in rows}


def action_of(engine: Engine, name: str) -> tuple[Action, list[ActionEvent]]:
    """`name`'s action and its history."""
    with Session(engine) as s:
        action = s.exec(select(Action).where(Action.owner_id == person_id(engine, name))).one()
        events = s.exec(
            select(ActionEvent)
            .where(ActionEvent.action_id == action.id)
            .order_by(col(ActionEvent.id))
        ).all()
        return action, list(events)


# --- journey 2 ----------------------------------------------------------------------------------


def test_journey_2_updates_are_collected_by_conversation_and_briefed(
    group: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    asked = group("/coregroup updates")
    for name in ("alex", "ruth", "jo", "dan"):
        assert f"DM to {name}]" in asked
    assert "I've asked these members for their update before the meeting on Wed 6 Jan 2027" in (
        asked
    )

    # The health visitor answers two questions and is called away.
    first = group("as alex\nin progress\nbooked for 5 Jan at the clinic")
    assert "What is working well for the child and family?" in dm_to(first, "alex")
    _, answers = update_of(engine, "alex")
    assert len(answers) == 2

    # Two days later, after a restart (a fresh chat and dispatcher on the same database), the
    # health visitor carries on exactly where they left off.
    group("clock +2d")
    restarted = ChatDriver(engine, clock)
    later = restarted(
        """
        as alex
        Mum is keeping appointments
        damp in the back bedroom
        skip
        yes
        """
    )
    assert "question 3 of" not in later  # the third question was asked before the pause
    assert "Your update is complete" in later
    update, answers = update_of(engine, "alex")
    assert update.state == UpdateState.COMPLETE
    assert answers["going_well"].answer == "Mum is keeping appointments"
    assert answers["must_know"].skipped
    action, events = action_of(engine, "alex")
    assert action.status == ActionStatus.IN_PROGRESS
    assert events[-1].kind == ActionEventKind.NOTE and events[-1].note == (
        "booked for 5 Jan at the clinic"
    )
    assert any(e.kind == ActionEventKind.STATUS and e.new_value == "in-progress" for e in events)

    # The GP skips everything; still complete, nothing invented.
    gp = restarted("as ruth\nskip\nskip\nskip\nskip")
    assert "Your update is complete" in gp
    update, answers = update_of(engine, "ruth")
    assert update.state == UpdateState.COMPLETE and all(a.skipped for a in answers.values())

    # The parent is asked the same things in family wording, and sends apologies.
    parent = restarted(
        """
        as jo
        still doing it - the landlord came on Monday
        The kids are sleeping better
        no
        skip
        I can't make it
        Please tell them the heating is fixed now
        """
    )
    family = dm_to(parent, "jo")
    assert "What's going well at home?" in family
    assert "Will you be able to come to the meeting on Wed 6 Jan 2027, 14:00?" in family
    assert "Sorry you can't make it." in family
    assert "What is working well for the child and family?" not in family
    with Session(engine) as s:
        row = s.exec(
            select(Attendance).where(Attendance.person_id == person_id(engine, "jo"))
        ).one()
        assert row.status == AttendanceStatus.APOLOGIES
        assert row.note == "Please tell them the heating is fixed now"

    # The day before, the brief lists apologies and who has not replied (the police officer has
    # not; the chair started but did not finish).
    brief = restarted("as sam\nclock 2027-01-05 09:00\n/coregroup brief")
    assert "Jo, parent / carer — written update sent" in brief
    assert "No reply yet: Sam, key worker (social worker); Dan, police" in brief
    assert "Part-way" not in brief
    assert "Outcome 1: The children live in a home that is warm and safe" in brief
    assert "booked for 5 Jan at the clinic" in brief
    assert "Alex, health visitor: " not in brief.split("New concerns")[1].split("==")[1]
    assert "Worries: damp in the back bedroom" in brief


def test_the_brief_posted_to_the_space_keeps_written_answers_from_the_family(
    group: ChatDriver,
) -> None:
    group("/coregroup updates\nas alex\nin progress\nskip\nskip\nworried about the damp\n")
    posted = group("as sam\n/coregroup brief post")

    channel = posted.split("[to Sam, only you]")[0]
    assert f"[{SPACE}]" in channel
    assert "worried about the damp" not in channel
    assert "the chair has them for the meeting" in channel
    assert "Posted the brief to the group." in posted


# --- the conversation ---------------------------------------------------------------------------


def test_quick_answer_buttons_save_and_update_the_question_in_place(
    group: ChatDriver, engine: Engine
) -> None:
    out = group("/coregroup updates")
    done_button = next(
        line.split("]")[0].split("[")[-1]
        for line in dm_to(out, "alex").splitlines()
        if "] Done" in line
    )
    clicked = group(f"as alex\nclick {done_button}")

    assert "[message updated]" in clicked and "Your answer: Done" in clicked
    action, events = action_of(engine, "alex")
    assert action.status == ActionStatus.DONE
    assert events[-1].kind == ActionEventKind.STATUS and events[-1].actor_id == person_id(
        engine, "alex"
    )
    assert "Any note on action 1?" in clicked


def test_stuck_tells_the_plan_and_asks_what_is_stopping_it(
    group: ChatDriver, engine: Engine
) -> None:
    out = group("/coregroup updates\nas alex\nstuck: the family moved GP")

    action, events = action_of(engine, "alex")
    assert action.status == ActionStatus.DECLINED
    assert events[-1].note == "the family moved GP"
    assert "What's stopping action 1?" not in out  # the reason came with the answer
    assert "What is working well" in out


def test_an_unclear_status_is_asked_again_and_nothing_typed_is_lost(group: ChatDriver) -> None:
    out = group("/coregroup updates\nas alex\ndnoe")
    assert "Sorry, I didn't catch that. Did you mean “done”?" in out
    assert "You typed: dnoe" in out


def test_back_re_asks_the_previous_question_and_keep_moves_on(
    group: ChatDriver, engine: Engine
) -> None:
    out = group(
        """
        /coregroup updates
        as alex
        done
        back
        """
    )
    assert "Going back one question." in out and "Your answer was: Done" in out
    out = group("in progress\nkeep")
    _, answers = update_of(engine, "alex")
    assert answers["action:1:status".replace("1", str(action_of(engine, "alex")[0].id))].answer == (
        "in-progress"
    )
    assert "Any note on action 1?" in out


def test_later_keeps_the_place_and_help_explains(group: ChatDriver) -> None:
    out = group("/coregroup updates\nas alex\nlater")
    assert "I'll keep your place" in out and "question 1" in out
    assert "“back” to change the last answer" in group("?")


def test_myupdate_shows_answers_with_change_buttons_and_locks_once_the_meeting_starts(
    group: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    group("/coregroup updates\nas ruth\nGood school attendance\nskip\nskip\nyes")
    shown = group("/coregroup myupdate")
    assert "Working well: Good school attendance" in shown
    change = next(
        line.split("]")[0].split("[")[-1] for line in shown.splitlines() if "] Change" in line
    )
    changed = group(f"click {change}\nAttendance is now 96%")
    assert "Your answer was: Good school attendance" in changed
    assert "Your update is complete" in changed
    _, answers = update_of(engine, "ruth")
    assert answers["going_well"].answer == "Attendance is now 96%"

    # Once the meeting starts the answers are locked, with a friendly word.
    late = group("clock 2027-01-06 14:01\n/coregroup myupdate")
    assert "these answers are now locked" in late and "] Change" not in late
    assert "update answers are now locked" in group(f"click {change}")


def test_myupdate_starts_the_conversation_when_it_has_not_begun(group: ChatDriver) -> None:
    out = group(f"as dan\nin {SPACE}\n/coregroup myupdate")
    assert "Hello Dan. The core group for CP-2026-0142 meets on Wed 6 Jan 2027, 14:00." in (
        dm_to(out, "dan")
    )
    assert "I've sent you the next question in a direct message." in out
    assert "Your action" not in out.split("[DM to dan]")[0]  # nothing of it in the space


@pytest.mark.parametrize("command", ["updates", "myupdate", "brief", "brief post"])
def test_outsiders_naming_the_case_learn_nothing_from_update_commands(
    group: ChatDriver, command: str
) -> None:
    name, _, rest = command.partition(" ")
    out = group(f"as zed\n/coregroup {name} {REF} {rest}")
    assert "I can't find a core group matching CP-2026-0142 that you belong to." in out
    assert "Wed 6 Jan" not in out and "DM to" not in out and SPACE not in out


def test_messages_from_people_without_an_open_update_are_left_alone(
    group: ChatDriver, engine: Engine
) -> None:
    assert "I'm the core group assistant" in group("as zed\nhello")
    group("as sam\n/coregroup updates")
    # In the group's space a message is a message, not an answer.
    group(f"as alex\nin {SPACE}\ndone")
    _, answers = update_of(engine, "alex")
    assert answers == {}


def test_a_cancelled_meeting_stops_the_conversation(group: ChatDriver, engine: Engine) -> None:
    group("/coregroup updates\nas sam\n/coregroup cancel 1 family unwell")
    out = group("as alex\ndone")
    assert "update for the meeting" not in out
    _, answers = update_of(engine, "alex")
    assert answers == {}


def test_a_reply_to_an_action_reminder_sent_after_the_question_is_not_taken_as_an_answer(
    group: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    group("/coregroup updates")
    action, _ = action_of(engine, "alex")
    with Session(engine) as s:
        s.add(
            Reminder(
                dedup_key=f"action-due:{action.id}",
                kind="action-due",
                group_id=action.group_id,
                person_id=action.owner_id,
                subject_id=action.id,
                due_at=clock.now(),
                status=ReminderStatus.SENT,
                sent_at=clock.now() + timedelta(minutes=5),
                created_at=clock.now(),
            )
        )
        s.commit()
    group("clock +10m\nas alex\ndone - referral sent")
    _, answers = update_of(engine, "alex")
    assert answers == {}


# --- who may ------------------------------------------------------------------------------------


def test_only_the_chair_asks_for_updates_and_only_when_a_meeting_is_booked(
    group: ChatDriver,
) -> None:
    assert "Only the chair or key worker can ask members for their updates" in group(
        "as alex\n/coregroup updates"
    )
    outsider = group(f"as zed\n/coregroup updates {REF}")
    assert "I can't find a core group matching CP-2026-0142" in outsider
    assert "DM to" not in outsider
    group("as sam\n/coregroup cancel 1")
    assert "No meeting is booked for CP-2026-0142." in group("/coregroup updates")


def test_nobody_can_answer_or_change_someone_elses_update(
    group: ChatDriver, engine: Engine
) -> None:
    group("/coregroup updates")
    update, _ = update_of(engine, "alex")
    for who in ("ruth", "zed"):
        person = Who(Platform.LOCAL, who, who.title())
        answer = group.dispatcher.click(
            person, "update.answer", f"{update.id}:going_well:skip", text=None
        )
        change = group.dispatcher.click(person, "update.change", f"{update.id}:going_well")
        for reply in (answer, change):
            assert "That question isn't one of yours" in reply.to_actor_text()
            assert not [o for o in reply.outbound if "CP-2026" in o.message.text]
    assert update_of(engine, "alex")[1] == {}


def test_the_brief_is_for_the_chair(group: ChatDriver) -> None:
    assert "Only the chair or key worker can see the pre-meeting brief" in group(
        "as alex\n/coregroup brief"
    )
    assert "That's something your key worker does." in group("as jo\n/coregroup brief")
