"""The plan through the local chat: outcomes, actions, their history, lists and who may do what."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from storage.db import session_scope
from storage.enums import ActionEventKind, ActionStatus, AuditKind, OutcomeStatus, Role
from storage.models import (
    Action,
    ActionEvent,
    AuditEntry,
    ChatIdentity,
    Outcome,
    OutcomeEvent,
    Person,
)
from tests import factories
from tests.scenarios.conftest import ChatDriver

REF = "CP-2026-0142"
CHANNEL = "cg-cp-2026-0142"
OTHER_REF = "CP-2026-0999"
IN_GROUP = f"in #{CHANNEL}"


@dataclass
class Plan:
    """The group the plan tests work in: ids of the group and of each person by chat name."""

    group_id: int
    other_group_id: int
    people: dict[str, int]


# name, role, chair — Kim is the key worker and chairs; Jo is the parent.
MEMBERS = (
    ("kim", Role.KEY_WORKER, True),
    ("sam", Role.SCHOOL, False),
    ("ruth", Role.GP, False),
    ("jo", Role.PARENT_CARER, False),
)


@pytest.fixture
def plan(engine: Engine, clock: FakeClock) -> Plan:
    """The two groups of `build_plan`."""
    return build_plan(engine, clock)


def build_plan(engine: Engine, clock: FakeClock) -> Plan:
    """CP-2026-0142 with Kim (chair), Sam (school), Ruth (GP) and Jo (parent); and another group,
    CP-2026-0999, chaired by Olly, in which Sam is also a member."""
    with session_scope(engine) as s:
        people = {}
        for name in ("kim", "sam", "ruth", "jo", "olly"):
            person = factories.make_person(
                session=s,
                clock=clock,
                display_name=name.title(),
                user_id=name,
                is_family=name == "jo",
            )
            assert person.id is not None
            people[name] = person.id
        group = _group(s, clock, REF)
        for name, role, chair in MEMBERS:
            factories.make_membership(
                session=s,
                clock=clock,
                group=group,
                person=s.get(Person, people[name]),
                role=role,
                is_chair=chair,
            )
        other = _group(s, clock, OTHER_REF)
        for name, role, chair in (("olly", Role.KEY_WORKER, True), ("sam", Role.SCHOOL, False)):
            factories.make_membership(
                session=s,
                clock=clock,
                group=other,
                person=s.get(Person, people[name]),
                role=role,
                is_chair=chair,
            )
        assert group.id is not None and other.id is not None
        return Plan(group.id, other.id, people)


def _group(s: Session, clock: FakeClock, reference: str):  # type: ignore[no-untyped-def]
    case = factories.make_case(session=s, clock=clock, reference=reference)
    channel = "cg-" + reference.lower()
    return factories.make_group(
        session=s, clock=clock, case=case, channel_id=channel, channel_name=channel
    )


def start_plan(chat: ChatDriver, *outcomes: str) -> str:
    """Kim adds outcomes (shared) in the group's channel."""
    lines = [f'/coregroup outcome add "{title}"' for title in outcomes]
    return chat("\n".join(["as kim", IN_GROUP, *lines]))


def button(out: str, label: str, nth: int = -1) -> int:
    """The number to `click` for the nth button with this label in a transcript."""
    found = re.findall(r"\[(\d+)\] " + re.escape(label) + r"(?=\s\s|\s*$|\s*\n)", out, re.M)
    assert found, f"no {label!r} button in:\n{out}"
    return int(found[nth])


def section(out: str, header: str) -> str:
    """The lines a transcript shows under the first `header` (e.g. "[DM to sam]")."""
    start = out.index(header) + len(header)
    rest = out[start:]
    nxt = re.search(r"^(\[|>)", rest[1:], re.M)
    return rest[: nxt.start() + 1] if nxt else rest


def actions(engine: Engine) -> list[Action]:
    with Session(engine) as s:
        return list(s.exec(select(Action).order_by(col(Action.id))).all())


def events(engine: Engine, action_id: int) -> list[ActionEvent]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(ActionEvent)
                .where(ActionEvent.action_id == action_id)
                .order_by(col(ActionEvent.id))
            ).all()
        )


def outcomes(engine: Engine) -> list[Outcome]:
    with Session(engine) as s:
        return list(s.exec(select(Outcome).order_by(col(Outcome.id))).all())


# --- outcomes -----------------------------------------------------------------------------------


def test_chair_adds_numbered_outcomes_shared_posted_private_kept_from_channel(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    out = start_plan(chat, "Jamie's home is warm and safe")
    assert f"[#{CHANNEL}]\n  == Outcome 1 added to the plan · {REF} ==" in out
    out = chat('/coregroup outcome add "Mum\'s mental health support is in place" private')
    assert f"[#{CHANNEL}]" not in out
    assert "It is for professionals only" in out
    shared, private = outcomes(engine)
    assert (shared.number, shared.shared_with_family) == (1, True)
    assert (private.number, private.shared_with_family) == (2, False)
    assert private.title == "Mum's mental health support is in place"
    with Session(engine) as s:
        kinds = s.exec(select(OutcomeEvent.kind)).all()
    assert kinds == ["created", "created"]


def test_outcome_edit_keeps_the_old_wording_in_its_history(
    chat: ChatDriver, engine: Engine, plan: Plan, clock: FakeClock
) -> None:
    start_plan(chat, "Jamie's home is warm")
    clock.advance(timedelta(days=1, hours=1))
    out = chat('/coregroup outcome edit 1 "Jamie\'s home is warm, clean and safe"')
    assert "Outcome 1 now reads: Jamie's home is warm, clean and safe" in out
    [outcome] = outcomes(engine)
    assert outcome.title == "Jamie's home is warm, clean and safe"
    out = chat("/coregroup outcome 1")
    assert 'Tue 24 Nov 2026, 10:00 — Kim reworded it (it read: "Jamie\'s home is warm")' in out


def test_outcome_end_achieved_records_reason_and_points_at_open_actions(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    start_plan(chat, "The children go to school every day")
    chat("/coregroup action @sam to check attendance weekly by Friday")
    out = chat("/coregroup outcome end 1 achieved attendance is 98% this term")
    assert "Outcome 1 is marked achieved." in out
    assert "Its actions 1 are still open" in out
    assert f"[#{CHANNEL}]\n  == Outcome 1 has been achieved · {REF} ==" in out
    [outcome] = outcomes(engine)
    assert outcome.status == OutcomeStatus.ACHIEVED and outcome.ended_at is not None
    with Session(engine) as s:
        event = s.exec(select(OutcomeEvent).where(OutcomeEvent.kind == "ended")).one()
    assert (event.old_value, event.new_value) == ("active", "achieved")
    assert event.note == "attendance is 98% this term"
    out = chat("/coregroup outcome end 1")
    assert "Outcome 1 has already ended (achieved)." in out


def test_outcome_end_without_achieved_ends_it(chat: ChatDriver, engine: Engine, plan: Plan) -> None:
    start_plan(chat, "Dad attends the parenting course")
    out = chat("/coregroup outcome end 1 dad has moved out of the area")
    assert "Outcome 1 is marked ended (no longer part of the plan)." in out
    assert outcomes(engine)[0].status == OutcomeStatus.ENDED


def test_outcomes_list_progress_last_activity_and_family_sees_only_shared(
    chat: ChatDriver, engine: Engine, plan: Plan, clock: FakeClock
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat(
        """
        /coregroup outcome add "Mum's mental health support is in place" private
        /coregroup action @sam to book the GP appointment by Friday outcome 1
        /coregroup action @ruth to review medication by Friday outcome 1
        /coregroup action @ruth to write to the psychiatrist by Friday outcome 2
        """
    )
    clock.advance(timedelta(days=1))
    out = chat(f"as sam\n{IN_GROUP}\n/coregroup action 1")
    chat(f"click {button(out, 'Done')}")
    out = chat("as kim\n/coregroup outcomes")
    assert (
        "1. Jamie's home is warm and safe — 1 of 2 actions done — last activity Tue 24 Nov 2026"
        in out
    )
    assert "2. Mum's mental health support is in place — 0 of 1 actions done" in out
    assert "(professionals only)" in out
    out = chat(f"as jo\n/coregroup outcomes {REF}")
    assert "Jamie's home is warm and safe" in out
    assert "Mum's mental health" not in out
    out = chat(f"/coregroup outcome {REF} 2")
    assert "There's no outcome 2 in the plan" in out


def test_outcome_with_no_news_for_four_weeks_is_flagged(
    chat: ChatDriver, plan: Plan, clock: FakeClock
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    clock.advance(timedelta(days=29))
    out = chat("/coregroup outcomes")
    assert "⚠ nothing has happened for 29 days" in out


def test_actions_under_an_outcome_touch_its_last_activity(
    chat: ChatDriver, engine: Engine, plan: Plan, clock: FakeClock
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat("/coregroup action @sam to book the GP appointment by 4/12")
    clock.advance(timedelta(days=3))
    chat("/coregroup action due 1 11/12")
    [outcome] = outcomes(engine)
    assert outcome.last_activity_at == clock.now()


def test_only_chair_or_key_worker_changes_outcomes(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    out = chat(
        f"""
        as sam
        {IN_GROUP}
        /coregroup outcome add "Sam's own idea"
        /coregroup outcome end 1
        """
    )
    assert out.count(f"Only the chair or key worker can change the plan's outcomes for {REF}.") == 2
    assert [o.title for o in outcomes(engine)] == ["Jamie's home is warm and safe"]
    assert outcomes(engine)[0].status == OutcomeStatus.ACTIVE


def test_outcome_bad_input_is_explained(chat: ChatDriver, plan: Plan) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    out = chat(
        """
        /coregroup outcome ad "typo"
        /coregroup outcome add
        /coregroup outcome edit 7 "no such outcome"
        /coregroup outcome edit x
        /coregroup outcome
        """
    )
    assert "I don't know the outcome command 'ad'." in out
    assert "Did you mean add?" in out
    assert "Please say what needs to change." in out
    assert "There's no outcome 7 in the plan for CP-2026-0142." in out
    assert "'x' isn't a number for the outcome number." in out
    assert "What would you like to do with the plan's outcomes?" in out


# --- adding actions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "description", "due"),
    [
        (
            "@sam to book the GP appointment by Friday",
            "Book the GP appointment",
            date(2026, 11, 27),
        ),
        ("@sam: check attendance weekly, due 15/1", "Check attendance weekly", date(2027, 1, 15)),
        ("@sam book a visit by next Friday", "Book a visit", date(2026, 11, 27)),
        (
            "add @sam to ask school to be seen by the nurse by 4/12",
            "Ask school to be seen by the nurse",
            date(2026, 12, 4),
        ),
    ],
)
def test_action_phrasings(
    chat: ChatDriver, engine: Engine, plan: Plan, typed: str, description: str, due: date
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat(f"/coregroup action {typed}")
    [action] = actions(engine)
    assert (action.description, action.due_on) == (description, due)
    assert action.owner_id == plan.people["sam"]
    assert action.number == 1 and action.status == ActionStatus.OPEN


def test_new_action_card_goes_to_the_channel_and_the_owner(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    out = chat("/coregroup action @sam to book the GP appointment by Friday")
    channel = section(out, f"[#{CHANNEL}]")
    assert f"== Action 1 · {REF} ==" in channel
    assert "Book the GP appointment" in channel
    assert "Outcome: 1. Jamie's home is warm and safe" in channel
    assert "Who: Sam" in channel and "Due: Fri 27 Nov 2026" in channel
    assert "Status: Open" in channel
    assert "Done  [" in channel and "In progress" in channel and "New date" in channel
    dm = section(out, "[DM to sam]")
    assert "Kim has given you a new action for CP-2026-0142." in dm
    assert "Added action 1 for Sam, due Fri 27 Nov 2026." in out
    [event] = events(engine, actions(engine)[0].id or 0)
    assert (event.kind, event.actor_id) == (ActionEventKind.CREATED, plan.people["kim"])


def test_due_date_on_a_weekend_or_bank_holiday_warns_with_next_working_day(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    out = chat(
        """
        /coregroup action @sam to call mum by Saturday
        /coregroup action @sam to send the letter by 25/12
        """
    )
    assert (
        "Note: Sat 28 Nov 2026 is not a working day (Saturday); the next working day is "
        "Mon 30 Nov 2026. To use it: `/coregroup action due 1 30/11`" in out
    )
    assert "Fri 25 Dec 2026 is not a working day (Christmas Day)" in out
    assert "the next working day is Tue 29 Dec 2026" in out
    assert [a.due_on for a in actions(engine)] == [date(2026, 11, 28), date(2026, 12, 25)]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("@sam to book the GP by 31/02", "31/02 is not a real date: February has 28 days"),
        ("@sam to book the GP by yesterday", "That date is in the past (Sun 22 Nov 2026)."),
        ("@sam to book the GP", "When is it due? Every action needs a date."),
        ("@sam by Friday", "Please say what needs doing."),
        ("@zed to book the GP by Friday", "Zed isn't a member of the core group for CP-2026-0142"),
        ("", "What should the action be?"),
        ("reasign 1 @ruth", "Did you mean reassign?"),
    ],
)
def test_action_bad_input_is_refused_with_how_to_fix_it(
    chat: ChatDriver, engine: Engine, plan: Plan, typed: str, message: str
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    out = chat(f"/coregroup action {typed}")
    assert message in out
    assert f"(You typed: /coregroup action {typed}".rstrip() in out
    assert actions(engine) == []


def test_owner_who_is_not_a_member_gets_the_add_example_and_nobody_is_created(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    out = chat("/coregroup action @zed to book the GP by Friday")
    assert "Add them first, e.g. `/coregroup add @alex school`, then try again." in out
    with Session(engine) as s:
        assert s.exec(select(ChatIdentity).where(ChatIdentity.user_id == "zed")).first() is None


def test_several_outcomes_ask_which_and_none_asks_for_one_first(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    out = chat(f"as kim\n{IN_GROUP}\n/coregroup action @sam to book the GP by Friday")
    assert "The plan for CP-2026-0142 has no outcomes yet" in out
    assert "/coregroup outcome add" in out
    chat('/coregroup outcome add "Warm home"\n/coregroup outcome add "School every day"')
    out = chat("/coregroup action @sam to book the GP by Friday")
    assert "Which outcome is this action for?" in out
    assert "Outcomes: 1. Warm home; 2. School every day" in out
    out = chat(
        """
        /coregroup action @sam to book the GP by Friday outcome 9
        /coregroup action @sam to book the GP by Friday outcome 2
        """
    )
    assert "There's no outcome 9" in out
    [action] = actions(engine)
    with Session(engine) as s:
        outcome = s.get(Outcome, action.outcome_id)
    assert outcome is not None and outcome.number == 2


def test_private_action_is_not_posted_to_the_channel_and_hidden_from_family(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    out = chat("/coregroup action @ruth to share the hospital letter by Friday private")
    assert f"[#{CHANNEL}]" not in out
    assert "[DM to ruth]" in out
    assert "It is for professionals only, so it was not posted in the group's channel." in out
    [action] = actions(engine)
    assert action.shared_with_family is False
    out = chat(
        f"""
        as jo
        /coregroup actions all {REF}
        /coregroup action {REF} 1
        """
    )
    assert "hospital letter" not in out
    assert "No actions to show." in out
    assert "There's no action 1 in the plan for CP-2026-0142." in out


def test_actions_under_a_private_outcome_are_private(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    chat(f'as kim\n{IN_GROUP}\n/coregroup outcome add "Mum\'s support" private')
    out = chat("/coregroup action @ruth to write to the psychiatrist by Friday")
    assert f"[#{CHANNEL}]" not in out
    assert actions(engine)[0].shared_with_family is False


def test_family_members_action_under_private_outcome_hides_the_outcome_wording(
    chat: ChatDriver, plan: Plan
) -> None:
    chat(f'as kim\n{IN_GROUP}\n/coregroup outcome add "Dad\'s contact is supervised" private')
    out = chat("/coregroup action @jo to bring the children to the clinic by Friday")
    dm = section(out, "[DM to jo]")
    assert "Outcome: 1\n" in dm
    assert "supervised" not in dm


def test_only_chair_or_key_worker_adds_actions(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    out = chat(f"as sam\n{IN_GROUP}\n/coregroup action @ruth to book the GP by Friday")
    assert "Only the chair or key worker can add actions for CP-2026-0142." in out
    assert actions(engine) == []


# --- changing actions ---------------------------------------------------------------------------


def test_reassign_keeps_history_and_tells_both_owners(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat("/coregroup action @sam to book the GP appointment by Friday")
    out = chat("/coregroup action reassign 1 @ruth the GP can book it directly")
    assert "Action 1 is now Ruth's (it was Sam's)." in out
    assert "Kim has given you this action." in section(out, "[DM to ruth]")
    assert "you don't need to do it any more" in section(out, "[DM to sam]")
    [action] = actions(engine)
    assert action.owner_id == plan.people["ruth"]
    last = events(engine, action.id or 0)[-1]
    assert last.kind == ActionEventKind.REASSIGNED
    assert (last.old_value, last.new_value) == (str(plan.people["sam"]), str(plan.people["ruth"]))
    assert last.note == "the GP can book it directly"
    out = chat("/coregroup action reassign 1 @ruth")
    assert "Action 1 is already Ruth's." in out
    out = chat("/coregroup action reassign 1 @zed")
    assert "Zed isn't a member" in out


def test_cancel_records_reason_and_twice_is_harmless(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat("/coregroup action @sam to book the GP appointment by Friday")
    out = chat("/coregroup action cancel 1 the family registered with a new GP")
    assert "Cancelled action 1." in out
    assert "Status: Cancelled — by Kim" in section(out, "[DM to sam]")
    out = chat("/coregroup action cancel 1")
    assert "Action 1 was already cancelled; nothing changed." in out
    [action] = actions(engine)
    assert action.status == ActionStatus.CANCELLED
    statuses = [e for e in events(engine, action.id or 0) if e.kind == ActionEventKind.STATUS]
    assert len(statuses) == 1
    assert (statuses[0].old_value, statuses[0].new_value) == ("open", "cancelled")
    assert statuses[0].note == "the family registered with a new GP"


def test_chair_changes_due_date_with_history(chat: ChatDriver, engine: Engine, plan: Plan) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat("/coregroup action @sam to book the GP appointment by Friday")
    out = chat(
        """
        /coregroup action due 1 15/1
        /coregroup action due 1 31/02
        /coregroup action due 1 yesterday
        /coregroup action due 1
        """
    )
    assert "Action 1 is now due Fri 15 Jan 2027 (was Fri 27 Nov 2026)." in out
    assert "Kim has changed the due date." in section(out, "[DM to sam]")
    assert "31/02 is not a real date" in out
    assert "That date is in the past" in out
    assert "Please give the new due date." in out
    [action] = actions(engine)
    assert action.due_on == date(2027, 1, 15)
    changes = [e for e in events(engine, action.id or 0) if e.kind == ActionEventKind.DUE_CHANGED]
    assert [(e.old_value, e.new_value) for e in changes] == [("2026-11-27", "2027-01-15")]


def test_edit_rewords_and_keeps_the_old_wording(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat("/coregroup action @sam to book the GP appointment by Friday")
    out = chat('/coregroup action edit 1 "book the GP appointment and go with mum"')
    assert "Action 1 now reads: Book the GP appointment and go with mum" in out
    last = events(engine, actions(engine)[0].id or 0)[-1]
    assert (last.old_value, last.new_value) == (
        "Book the GP appointment",
        "Book the GP appointment and go with mum",
    )


def test_action_shows_its_full_history_who_when_what(
    chat: ChatDriver, plan: Plan, clock: FakeClock
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat("/coregroup action @sam to book the GP appointment by Friday")
    clock.advance(timedelta(hours=1, minutes=2))
    chat("/coregroup action due 1 4/12\n/coregroup action reassign 1 @ruth")
    clock.advance(timedelta(days=1))
    out = chat("as ruth\n/coregroup action 1")
    chat(f"click {button(out, 'In progress')}\nappointment on 2 Dec")
    out = chat("/coregroup action 1")
    assert "== History of action 1 ==" in out
    assert "Mon 23 Nov 2026, 09:00 — Kim added it: Book the GP appointment" in out
    assert (
        "Mon 23 Nov 2026, 10:02 — Kim changed the due date: Fri 27 Nov 2026 → Fri 4 Dec 2026" in out
    )
    assert "Mon 23 Nov 2026, 10:02 — Kim reassigned it: Sam → Ruth" in out
    assert (
        "Tue 24 Nov 2026, 10:02 — Ruth changed the status: open → in progress. "
        "Note: appointment on 2 Dec" in out
    )


def test_changes_to_actions_are_for_the_chair_only(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat("/coregroup action @sam to book the GP appointment by Friday")
    out = chat(
        f"""
        as sam
        {IN_GROUP}
        /coregroup action reassign 1 @ruth
        /coregroup action due 1 15/1
        /coregroup action edit 1 "something else"
        /coregroup action cancel 1
        as jo
        {IN_GROUP}
        /coregroup action cancel 1
        """
    )
    assert out.count("Only the chair or key worker can change actions for CP-2026-0142.") == 4
    # The parent is told in her words.
    assert out.count("That's something your key worker does.") == 1
    [action] = actions(engine)
    assert (action.owner_id, action.due_on, action.status) == (
        plan.people["sam"],
        date(2026, 11, 27),
        ActionStatus.OPEN,
    )
    assert len(events(engine, action.id or 0)) == 1


def test_done_action_cannot_be_changed_by_commands(chat: ChatDriver, plan: Plan) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    out = chat("/coregroup action @kim to visit the family by Friday")
    chat(f"click {button(out, 'Done')}")
    out = chat("/coregroup action due 1 4/12")
    assert "Action 1 is already done, so it can't be changed." in out


# --- lists --------------------------------------------------------------------------------------


def test_actions_list_puts_overdue_first_and_marks_them(
    chat: ChatDriver, plan: Plan, clock: FakeClock
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat(
        """
        /coregroup action @sam to book the GP appointment by 4/12
        /coregroup action @ruth to review medication by Wednesday
        /coregroup action @sam to call mum by Thursday
        """
    )
    clock.advance(timedelta(days=4))  # Fri 27 Nov: actions 2 and 3 are late
    out = chat("/coregroup actions")
    lines = [line.strip() for line in out.splitlines() if "•" in line]
    assert lines == [
        "• ⚠ OVERDUE by 2 days: 2. Review medication — Ruth — due Wed 25 Nov 2026 — open",
        "• ⚠ OVERDUE by 1 day: 3. Call mum — Sam — due Thu 26 Nov 2026 — open",
        "• 1. Book the GP appointment — Sam — due Fri 4 Dec 2026 — open",
    ]
    out = chat("/coregroup actions overdue")
    assert "Book the GP appointment" not in out and "Review medication" in out


def test_actions_all_includes_finished_ones_and_typos_get_a_suggestion(
    chat: ChatDriver, plan: Plan
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat(
        """
        /coregroup action @sam to book the GP appointment by 4/12
        /coregroup action @ruth to review medication by 4/12
        /coregroup action cancel 2
        """
    )
    out = chat("/coregroup actions")
    assert "Review medication" not in out
    out = chat("/coregroup actions all")
    assert "2. Review medication — Ruth — due Fri 4 Dec 2026 — cancelled" in out
    out = chat("/coregroup actions overdeu")
    assert "Did you mean overdue?" in out


def test_actions_mine_works_across_all_my_groups_from_direct_messages(
    chat: ChatDriver, plan: Plan
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat("/coregroup action @sam to book the GP appointment by 4/12")
    chat(
        """
        as olly
        in #cg-cp-2026-0999
        /coregroup outcome add "School every day"
        /coregroup action @sam to check attendance by 11/12
        """
    )
    out = chat("as sam\n/coregroup actions mine")
    assert f"== Your open actions · {REF} ==" in out
    assert f"== Your open actions · {OTHER_REF} ==" in out
    out = chat(f"{IN_GROUP}\n/coregroup actions mine")
    assert OTHER_REF not in out
    out = chat("as ruth\n/coregroup actions mine")
    assert "You have no open actions in any of your core groups." in out


def test_actions_without_a_group_in_dm_asks_which_when_several(
    chat: ChatDriver, plan: Plan
) -> None:
    out = chat("as sam\n/coregroup actions")
    assert "Which core group do you mean?" in out


def test_family_sees_shared_actions_and_their_own(chat: ChatDriver, plan: Plan) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat(
        """
        /coregroup action @sam to book the GP appointment by 4/12
        /coregroup action @ruth to share the hospital letter by 4/12 private
        /coregroup action @jo to take Jamie to the dentist by 4/12 private
        """
    )
    out = chat(f"as jo\n/coregroup actions all {REF}")
    assert "Book the GP appointment" in out
    assert "Take Jamie to the dentist" in out
    assert "hospital letter" not in out


# --- who can learn what -------------------------------------------------------------------------


def test_non_member_naming_the_case_learns_nothing(
    chat: ChatDriver, engine: Engine, plan: Plan
) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat("/coregroup action @sam to book the GP appointment by Friday")
    chat("as olly")
    for command in ("actions", "actions all", "action 1", "outcomes", "outcome 1"):
        real = chat(f"/coregroup {REF} {command}")
        fake = chat(f"/coregroup CP-2026-7777 {command}")
        assert real.replace(REF, "X") == fake.replace("CP-2026-7777", "X")
        assert "I can't find a core group" in real
        assert "GP appointment" not in real and "warm" not in real
    out = chat(f"/coregroup action {REF} @olly to read everything by Friday")
    assert "I can't find a core group matching CP-2026-0142" in out
    assert len(actions(engine)) == 1


def test_commands_are_audited_with_ids_only(chat: ChatDriver, engine: Engine, plan: Plan) -> None:
    start_plan(chat, "Jamie's home is warm and safe")
    chat("/coregroup action @sam to book the GP appointment by Friday\n/coregroup actions")
    with Session(engine) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.group_id == plan.group_id)).all()
    assert {(r.kind, r.what) for r in rows} >= {
        (AuditKind.CHANGE, "command:outcome"),
        (AuditKind.CHANGE, "command:action"),
        (AuditKind.READ, "command:actions"),
    }
    assert all("GP" not in r.detail and "warm" not in r.detail for r in rows)
