"""The action card's buttons and replies in words to action reminders (journey 3)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from bot.core.people import Who
from bot.render.text import render_text
from storage.db import session_scope
from storage.enums import (
    ActionEventKind,
    ActionStatus,
    AuditKind,
    GroupStatus,
    Platform,
    ReminderStatus,
)
from storage.models import Action, ActionEvent, AuditEntry, CoreGroup, Reminder
from tests.scenarios.conftest import ChatDriver
from tests.scenarios.test_plan import (
    CHANNEL,
    IN_GROUP,
    REF,
    Plan,
    actions,
    build_plan,
    button,
    events,
    section,
    start_plan,
)

CANT = "Can't do"


@pytest.fixture
def plan(engine: Engine, clock: FakeClock) -> Plan:
    """The two groups of test_plan.build_plan."""
    return build_plan(engine, clock)


@pytest.fixture
def card(chat: ChatDriver, plan: Plan) -> str:
    """Kim adds Sam's action; the transcript with its card in the channel and in Sam's DMs."""
    start_plan(chat, "Jamie's home is warm and safe")
    return chat("/coregroup action @sam to book the GP appointment by Friday")


def the_action(engine: Engine) -> Action:
    [action] = actions(engine)
    return action


def status_events(engine: Engine, action_id: int | None) -> list[ActionEvent]:
    return [e for e in events(engine, action_id or 0) if e.kind == ActionEventKind.STATUS]


def click_as(chat: ChatDriver, user: str, action: str, value: str, text: str | None = None) -> str:
    """Press a button as `user` with any value (as a crafted request could) and show the reply."""
    reply = chat.dispatcher.click(Who(Platform.LOCAL, user, user.title()), action, value, text=text)
    return "\n".join(render_text(o.message, lambda _b: 0) for o in reply.outbound)


def remind(
    engine: Engine, clock: FakeClock, action_id: int | None, person_id: int, ago: timedelta
) -> None:
    """A sent action reminder, as the reminder engine records it."""
    sent = clock.now() - ago
    with session_scope(engine) as s:
        action = s.get(Action, action_id)
        assert action is not None
        s.add(
            Reminder(
                dedup_key=f"action-due:{action_id}:{person_id}:{sent.isoformat()}",
                kind="action-due",
                group_id=action.group_id,
                person_id=person_id,
                subject_id=action_id,
                due_at=sent,
                status=ReminderStatus.SENT,
                sent_at=sent,
                created_at=sent,
            )
        )


# --- done ---------------------------------------------------------------------------------------


def test_done_updates_the_card_in_place_with_who_and_when(
    chat: ChatDriver, engine: Engine, plan: Plan, clock: FakeClock, card: str
) -> None:
    clock.advance(timedelta(days=1, hours=1, minutes=2))  # Tue 24 Nov 2026, 10:02
    out = chat(f"as sam\nclick {button(section(card, '[DM to sam]'), 'Done')}")
    updated = section(out, "[message updated]")
    assert "Status: Done — by Sam, Tue 24 Nov 2026, 10:02" in updated
    assert "[" not in updated.replace("[message updated]", "")  # no buttons left
    assert "Marked action 1 (CP-2026-0142) done." in out
    action = the_action(engine)
    assert action.status == ActionStatus.DONE
    [event] = status_events(engine, action.id)
    assert (event.actor_id, event.old_value, event.new_value) == (
        plan.people["sam"],
        "open",
        "done",
    )
    assert event.at == clock.now()


def test_pressing_done_twice_is_harmless(chat: ChatDriver, engine: Engine, card: str) -> None:
    chat(f"as sam\nclick {button(section(card, '[DM to sam]'), 'Done')}")
    out = chat(f"click {button(section(card, f'[#{CHANNEL}]'), 'Done')}")
    assert "Action 1 was already marked done — nothing changed. Done — by Sam" in out
    assert len(status_events(engine, the_action(engine).id)) == 1


def test_owner_can_add_a_note_when_pressing_done_through_a_crafted_text(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    out = click_as(chat, "sam", "action.done", str(the_action(engine).id), "referral sent")
    assert "Marked action 1 (CP-2026-0142) done, with the note: referral sent" in out
    [event] = status_events(engine, the_action(engine).id)
    assert event.note == "referral sent"


# --- in progress, can't do, new date ------------------------------------------------------------


def test_in_progress_asks_for_the_latest_and_records_it(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    out = chat(f"as sam\nclick {button(section(card, '[DM to sam]'), 'In progress')}")
    assert "? What's the latest?" in out
    out = chat("GP surgery rang back, slot offered for 2 Dec")
    assert "Status: In progress — by Sam" in section(out, "[message updated]")
    assert "Latest note from Sam, Mon 23 Nov 2026, 09:00: GP surgery rang back" in out
    [event] = status_events(engine, the_action(engine).id)
    assert (event.new_value, event.note) == (
        "in-progress",
        "GP surgery rang back, slot offered for 2 Dec",
    )
    # Pressing it again with more news is kept as a note, not lost.
    out = chat(f"click {button(out, 'In progress')}\nappointment booked")
    assert [e.kind for e in events(engine, the_action(engine).id or 0)][-1] == ActionEventKind.NOTE


def test_cant_do_records_the_reason_and_tells_the_chair(
    chat: ChatDriver, engine: Engine, plan: Plan, card: str
) -> None:
    out = chat(f"as sam\nclick {button(section(card, '[DM to sam]'), CANT)}")
    assert "? What's stopping it? The chair will be told." in out
    out = chat("the family have moved to a new GP")
    assert (
        "Status: Can't be done — by Sam, Mon 23 Nov 2026, 09:00. "
        "Reason: the family have moved to a new GP" in out
    )
    assert "I've told Kim." in out
    dm = section(out, "[DM to kim]")
    assert f"== Action 1 can't be done · {REF} ==" in dm
    assert "Reason: the family have moved to a new GP" in dm
    assert "/coregroup action reassign 1 @name" in dm
    action = the_action(engine)
    assert action.status == ActionStatus.DECLINED
    assert status_events(engine, action.id)[0].note == "the family have moved to a new GP"


def test_cant_do_without_a_reason_is_refused(chat: ChatDriver, engine: Engine, card: str) -> None:
    out = click_as(chat, "sam", "action.cannot", str(the_action(engine).id), "  ")
    assert "Please say what's stopping it, so the chair can help." in out
    assert the_action(engine).status == ActionStatus.OPEN


def test_owners_new_date_is_a_proposal_the_chair_accepts(
    chat: ChatDriver, engine: Engine, plan: Plan, card: str
) -> None:
    out = chat(f"as sam\nclick {button(section(card, '[DM to sam]'), 'New date')}")
    assert '? When by? e.g. "next Friday" or "15/1"' in out
    out = chat("4/12")
    assert "I've asked Kim to move action 1 (CP-2026-0142) to Fri 4 Dec 2026" in out
    assert the_action(engine).due_on == date(2026, 11, 27)
    dm = section(out, "[DM to kim]")
    assert "Sam asks to move action 1 from Fri 27 Nov 2026 to Fri 4 Dec 2026" in dm
    out = chat(f"as kim\nclick {button(dm, 'Accept')}")
    assert "Accepted: action 1 (CP-2026-0142) is now due Fri 4 Dec 2026." in out
    assert "Kim agreed your new date: Fri 4 Dec 2026." in section(out, "[DM to sam]")
    action = the_action(engine)
    assert action.due_on == date(2026, 12, 4)
    kinds = [(e.kind, e.old_value, e.new_value) for e in events(engine, action.id or 0)][1:]
    assert kinds == [
        (ActionEventKind.DATE_PROPOSED, "2026-11-27", "2026-12-04"),
        (ActionEventKind.DUE_CHANGED, "2026-11-27", "2026-12-04"),
    ]
    out = chat(f"click {button(dm, 'Accept')}")
    assert "This request has already been dealt with" in out
    assert len(events(engine, action.id or 0)) == 3


def test_chair_declines_a_proposed_date_and_the_owner_is_told_why(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    out = chat(f"as sam\nclick {button(section(card, '[DM to sam]'), 'New date')}\n15/1")
    dm = section(out, "[DM to kim]")
    out = chat(
        f"as kim\nclick {button(dm, 'Decline')}\nthe appointment is needed before the meeting"
    )
    assert (
        "Declined: action 1 (CP-2026-0142) stays due Fri 27 Nov 2026 (not Fri 15 Jan 2027)." in out
    )
    told = section(out, "[DM to sam]")
    assert "Their reason: the appointment is needed before the meeting" in told
    action = the_action(engine)
    assert action.due_on == date(2026, 11, 27)
    assert events(engine, action.id or 0)[-1].kind == ActionEventKind.DATE_DECLINED


def test_only_a_chair_answers_a_date_proposal(chat: ChatDriver, engine: Engine, card: str) -> None:
    chat(f"as sam\nclick {button(section(card, '[DM to sam]'), 'New date')}\n15/1")
    proposal = events(engine, the_action(engine).id or 0)[-1]
    out = click_as(chat, "sam", "action.accept_date", str(proposal.id))
    assert "Only the chair or key worker can agree new dates for actions" in out
    assert the_action(engine).due_on == date(2026, 11, 27)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("31/02", "31/02 is not a real date"),
        ("yesterday", "That date is in the past (Sun 22 Nov 2026)."),
        ("soon", '"soon" is too vague'),
    ],
)
def test_new_date_bad_input_is_refused_and_nothing_recorded(
    chat: ChatDriver, engine: Engine, card: str, typed: str, message: str
) -> None:
    out = chat(f"as sam\nclick {button(section(card, '[DM to sam]'), 'New date')}\n{typed}")
    assert message in out
    assert f"(You typed: {typed})" in out
    assert len(events(engine, the_action(engine).id or 0)) == 1


def test_chair_pressing_new_date_changes_it_directly_and_tells_the_owner(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    out = chat(f"click {button(section(card, f'[#{CHANNEL}]'), 'New date')}\nSaturday")
    assert "Moved action 1 (CP-2026-0142) from Fri 27 Nov 2026 to Sat 28 Nov 2026." in out
    assert "the next working day is Mon 30 Nov 2026" in out
    assert "Kim has changed the due date." in section(out, "[DM to sam]")
    assert the_action(engine).due_on == date(2026, 11, 28)


# --- who may press ------------------------------------------------------------------------------


def test_another_member_pressing_gets_a_polite_refusal(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    number = button(section(card, f"[#{CHANNEL}]"), "Done")
    out = chat(f"as ruth\nclick {number}")
    assert "Sorry — only Sam (whose action it is) or the chair can update action 1." in out
    assert the_action(engine).status == ActionStatus.OPEN


def test_chair_may_press_for_the_owner(
    chat: ChatDriver, engine: Engine, plan: Plan, card: str
) -> None:
    chat(f"click {button(section(card, f'[#{CHANNEL}]'), 'Done')}")
    [event] = status_events(engine, the_action(engine).id)
    assert (event.actor_id, event.new_value) == (plan.people["kim"], "done")


def test_family_member_is_refused_and_cannot_see_private_actions(
    chat: ChatDriver, engine: Engine, plan: Plan, card: str
) -> None:
    shared = the_action(engine)
    out = click_as(chat, "jo", "action.done", str(shared.id))
    assert "Sorry — only Sam" in out
    chat("/coregroup action @ruth to share the hospital letter by Friday private")
    private = actions(engine)[-1]
    hidden = click_as(chat, "jo", "action.done", str(private.id))
    missing = click_as(chat, "jo", "action.done", "999999")
    assert hidden == missing
    assert "I can't find that." in hidden  # the parent's words for "not found"
    assert actions(engine)[-1].status == ActionStatus.OPEN


@pytest.mark.parametrize(
    "action", ["action.done", "action.progress", "action.cannot", "action.newdate"]
)
def test_non_member_clicking_another_groups_action_learns_nothing(
    chat: ChatDriver, engine: Engine, card: str, action: str
) -> None:
    real = click_as(chat, "olly", action, str(the_action(engine).id), "4/12")
    missing = click_as(chat, "olly", action, "999999", "4/12")
    junk = click_as(chat, "olly", action, "not-a-number", "4/12")
    assert real == missing == junk
    assert "I can't find a core group that you belong to." in real
    assert "GP" not in real and REF not in real
    assert the_action(engine).status == ActionStatus.OPEN
    assert len(events(engine, the_action(engine).id or 0)) == 1


def test_non_member_cannot_answer_proposals_undo_or_replies_of_another_group(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    chat(f"as sam\nclick {button(section(card, '[DM to sam]'), 'New date')}\n15/1")
    proposal = events(engine, the_action(engine).id or 0)[-1]
    missing = click_as(chat, "olly", "action.accept_date", "999999")
    assert click_as(chat, "olly", "action.accept_date", str(proposal.id)) == missing
    declined = click_as(chat, "olly", "action.decline_date", str(proposal.id), "no")
    assert declined == click_as(chat, "olly", "action.decline_date", "999999", "no")
    assert click_as(chat, "olly", "action.undo", str(proposal.id)) == missing
    value = f"{the_action(engine).id}|done||"
    assert click_as(chat, "olly", "action.reply", value) == missing
    assert the_action(engine).status == ActionStatus.OPEN


def test_clicks_are_audited_with_ids_only(
    chat: ChatDriver, engine: Engine, plan: Plan, card: str
) -> None:
    chat(f"as sam\nclick {button(section(card, '[DM to sam]'), CANT)}\nfamily moved to Leeds")
    with Session(engine) as s:
        row = s.exec(select(AuditEntry).where(AuditEntry.what == "click:action.cannot")).one()
    assert (row.kind, row.group_id, row.actor_id) == (
        AuditKind.CHANGE,
        plan.group_id,
        plan.people["sam"],
    )
    assert row.detail == f"action={the_action(engine).id}"


def test_buttons_on_a_closed_group_are_refused(chat: ChatDriver, engine: Engine, card: str) -> None:
    with session_scope(engine) as s:
        group = s.exec(select(CoreGroup).where(CoreGroup.channel_id == CHANNEL)).one()
        group.status = GroupStatus.CLOSED
    out = chat(f"as sam\nclick {button(section(card, '[DM to sam]'), 'Done')}")
    assert "is closed, so it can't be changed" in out
    assert the_action(engine).status == ActionStatus.OPEN


# --- undo ---------------------------------------------------------------------------------------


def test_undo_reverts_a_change_and_keeps_both_in_history(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    out = chat(f"as sam\nclick {button(section(card, '[DM to sam]'), 'Done')}")
    undo = button(out, "Undo")
    out = chat(f"click {undo}")
    assert "Undone: action 1 (CP-2026-0142) is open again." in out
    assert "Status: Open" in out
    action = the_action(engine)
    assert action.status == ActionStatus.OPEN
    assert [(e.old_value, e.new_value, e.note) for e in status_events(engine, action.id)] == [
        ("open", "done", None),
        ("done", "open", "undo"),
    ]
    out = chat(f"click {undo}")
    assert "has changed since then (or this was already undone)" in out
    assert len(status_events(engine, action.id)) == 2


def test_undoing_a_reply_drops_its_note_from_the_card_but_not_from_history(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    out = chat("as sam\nspoke to mum, visit booked")
    out = chat(f"click {button(out, 'Undo')}")
    assert "Latest note" not in section(out, "[message updated]")
    out = chat(f"{IN_GROUP}\n/coregroup action 1")
    assert "Sam added a note. Note: spoke to mum, visit booked" in out
    assert "Sam withdrew the note above" in out
    out = chat("done — referral sent")
    assert "Marked" not in out  # in the channel, words are not replies to reminders
    out = chat("in dm\ndone — referral sent")
    chat(f"click {button(out, 'Undo')}")
    out = chat(f"{IN_GROUP}\n/coregroup action 1")
    assert "Sam changed the status: done → open, undoing the change above" in out
    assert "Latest note" not in out


def test_only_the_person_who_changed_it_or_the_chair_may_undo(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    chat(f"as sam\nclick {button(section(card, '[DM to sam]'), 'Done')}")
    event = status_events(engine, the_action(engine).id)[0]
    out = click_as(chat, "ruth", "action.undo", str(event.id))
    assert "Only the person who made that change, or the chair, can undo it." in out
    assert the_action(engine).status == ActionStatus.DONE


# --- replies in words ---------------------------------------------------------------------------


def test_reply_done_with_a_note_applies_to_the_reminded_action(
    chat: ChatDriver, engine: Engine, plan: Plan, clock: FakeClock, card: str
) -> None:
    chat("/coregroup action @sam to send the school report by 4/12")
    first = actions(engine)[0]
    remind(engine, clock, first.id, plan.people["sam"], timedelta(hours=2))
    out = chat("as sam\ndone — referral sent")
    assert "Marked action 1 (CP-2026-0142) done, with the note: referral sent" in out
    button(out, "Undo")
    first, second = actions(engine)
    assert (first.status, second.status) == (ActionStatus.DONE, ActionStatus.OPEN)
    assert status_events(engine, first.id)[0].note == "referral sent"
    with Session(engine) as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.what == "reply:done")).one()
    assert audit.detail == f"action={first.id}"


def test_reply_uses_the_most_recent_reminder(
    chat: ChatDriver, engine: Engine, plan: Plan, clock: FakeClock, card: str
) -> None:
    chat("/coregroup action @sam to send the school report by 4/12")
    first, second = actions(engine)
    remind(engine, clock, first.id, plan.people["sam"], timedelta(days=2))
    remind(engine, clock, second.id, plan.people["sam"], timedelta(hours=1))
    chat("as sam\nDone!")
    first, second = actions(engine)
    assert (first.status, second.status) == (ActionStatus.OPEN, ActionStatus.DONE)


def test_reply_need_until_moves_the_date_tells_the_chair_and_can_be_undone(
    chat: ChatDriver, engine: Engine, plan: Plan, clock: FakeClock, card: str
) -> None:
    remind(engine, clock, the_action(engine).id, plan.people["sam"], timedelta(hours=1))
    out = chat("as sam\nneed until next Friday")
    assert "Action 1 (CP-2026-0142) is already due Fri 27 Nov 2026; nothing changed." in out
    out = chat("need until 4/12")
    assert (
        "Moved action 1 (CP-2026-0142) from Fri 27 Nov 2026 to Fri 4 Dec 2026. I've told Kim."
        in out
    )
    assert "Sam needs until Fri 4 Dec 2026 for action 1" in section(out, "[DM to kim]")
    assert the_action(engine).due_on == date(2026, 12, 4)
    out = chat(f"click {button(out, 'Undo')}")
    assert the_action(engine).due_on == date(2026, 11, 27)
    assert "Sam has undone their last change to action 1" in section(out, "[DM to kim]")
    changes = [
        (e.old_value, e.new_value)
        for e in events(engine, the_action(engine).id or 0)
        if e.kind == ActionEventKind.DUE_CHANGED
    ]
    assert changes == [("2026-11-27", "2026-12-04"), ("2026-12-04", "2026-11-27")]


def test_reply_same_date_is_kept_as_a_note(
    chat: ChatDriver, engine: Engine, plan: Plan, clock: FakeClock, card: str
) -> None:
    out = chat("as sam\nI'll have it done by Friday, GP confirmed")
    assert "Added a note to action 1 (CP-2026-0142): GP confirmed" in out
    assert the_action(engine).due_on == date(2026, 11, 27)


def test_reply_cant_declines_with_the_reason_and_tells_the_chair(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    out = chat("as sam\ncan't, the family moved GP")
    assert (
        "Recorded that action 1 (CP-2026-0142) can't be done, because: the family moved GP." in out
    )
    assert "Reason: the family moved GP" in section(out, "[DM to kim]")
    assert the_action(engine).status == ActionStatus.DECLINED


def test_reply_cant_without_a_reason_asks_for_one(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    out = chat("as sam\ncannot do this")
    assert "What's stopping it? The chair will be told." in out
    assert the_action(engine).status == ActionStatus.OPEN
    out = chat(f"click {button(out, 'Tell the chair why')}\nmum has refused consent")
    assert "because: mum has refused consent" in out
    assert the_action(engine).status == ActionStatus.DECLINED


def test_reply_with_news_is_a_note(chat: ChatDriver, engine: Engine, card: str) -> None:
    out = chat("as sam\nspoke to mum, visit booked")
    assert "Added a note to action 1 (CP-2026-0142): spoke to mum, visit booked" in out
    action = the_action(engine)
    assert action.status == ActionStatus.OPEN
    last = events(engine, action.id or 0)[-1]
    assert (last.kind, last.note) == (ActionEventKind.NOTE, "spoke to mum, visit booked")


def test_unclear_reply_asks_rather_than_guessing(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    out = chat("as sam\nmaybe?")
    assert "I'm not sure what you mean for action 1 (CP-2026-0142)" in out
    for label in ("Done", "In progress", CANT, "Just a note"):
        button(out, label)
    assert len(events(engine, the_action(engine).id or 0)) == 1
    chat(f"click {button(out, 'In progress')}")
    [event] = status_events(engine, the_action(engine).id)
    assert (event.new_value, event.note) == ("in-progress", None)


def test_unclear_reply_can_be_kept_as_just_a_note(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    out = chat("as sam\ncan't get hold of mum")
    chat(f"click {button(out, 'Just a note')}")
    last = events(engine, the_action(engine).id or 0)[-1]
    assert (last.kind, last.note) == (ActionEventKind.NOTE, "can't get hold of mum")


def test_reply_with_an_impossible_date_asks_for_a_date(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    out = chat("as sam\nneed until 31/02")
    assert "31/02 is not a real date" in out
    out = chat(f"click {button(out, 'Give a date')}\n11/12")
    assert "to Fri 11 Dec 2026" in out
    assert the_action(engine).due_on == date(2026, 12, 11)


def test_reply_asks_which_action_when_there_are_several_and_no_reminder(
    chat: ChatDriver, engine: Engine, plan: Plan, card: str
) -> None:
    chat("/coregroup action @sam to send the school report by 4/12")
    out = chat("as sam\ndone - sent it")
    assert "Thanks — which of your actions is this about?" in out
    out = chat(f"click {button(out, '2 · CP-2026-0142: Send the school report')}")
    assert "Marked action 2 (CP-2026-0142) done, with the note: sent it" in out
    first, second = actions(engine)
    assert (first.status, second.status) == (ActionStatus.OPEN, ActionStatus.DONE)


def test_a_merged_reminder_about_several_actions_asks_which(
    chat: ChatDriver, engine: Engine, plan: Plan, clock: FakeClock, card: str
) -> None:
    chat("/coregroup action @sam to send the school report by 4/12")
    chat("/coregroup action @sam to call the school nurse by 4/12")
    first, second, third = actions(engine)
    remind(engine, clock, third.id, plan.people["sam"], timedelta(days=1))
    for action in (first, second):
        remind(engine, clock, action.id, plan.people["sam"], timedelta(hours=1))
    out = chat("as sam\nDone!")
    assert "which of your actions is this about?" in out
    labels = re.findall(r"\[\d+\] (\d) · ", out)
    assert labels == ["1", "2"]
    assert all(a.status == ActionStatus.OPEN for a in actions(engine))


def test_a_reminder_older_than_two_weeks_is_not_used(
    chat: ChatDriver, engine: Engine, plan: Plan, clock: FakeClock, card: str
) -> None:
    chat("/coregroup action @sam to send the school report by 4/12")
    remind(engine, clock, actions(engine)[0].id, plan.people["sam"], timedelta(days=15))
    out = chat("as sam\ndone")
    assert "which of your actions is this about?" in out


def test_reply_about_an_action_already_done_changes_nothing(
    chat: ChatDriver, engine: Engine, plan: Plan, clock: FakeClock, card: str
) -> None:
    remind(engine, clock, the_action(engine).id, plan.people["sam"], timedelta(hours=1))
    chat(f"as sam\nclick {button(section(card, '[DM to sam]'), 'Done')}")
    out = chat("done")
    assert "Action 1 was already marked done — nothing changed." in out
    out = chat("can't, moved away")
    assert "is already done, so I haven't changed anything" in out
    assert len(status_events(engine, the_action(engine).id)) == 1


def test_messages_go_to_others_when_there_is_no_action_to_be_about(
    chat: ChatDriver, engine: Engine, card: str
) -> None:
    out = chat("as ruth\ndone")
    assert "I'm the core group assistant." in out
    out = chat(f"as sam\n{IN_GROUP}\ndone")
    assert "Marked" not in out
    assert the_action(engine).status == ActionStatus.OPEN


def test_reminder_for_an_action_since_given_to_someone_else_is_ignored(
    chat: ChatDriver, engine: Engine, plan: Plan, clock: FakeClock, card: str
) -> None:
    remind(engine, clock, the_action(engine).id, plan.people["sam"], timedelta(hours=1))
    chat("/coregroup action reassign 1 @ruth")
    out = chat("as sam\ndone")
    assert "I'm the core group assistant." in out
    assert the_action(engine).status == ActionStatus.OPEN
    with Session(engine) as s:
        assert (
            s.exec(
                select(ActionEvent).where(col(ActionEvent.actor_id) == plan.people["sam"])
            ).first()
            is None
        )
