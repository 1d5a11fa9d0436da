"""The update conversation and the brief, driven directly through bot.core (no chat): which
questions are asked when, how typed answers are read, that every answer survives a crash, and
what the brief and the nudge show to whom."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.core import updates
from bot.core.calendar import Nation, WorkingCalendar
from bot.core.errors import BadInput, Conflict
from bot.core.meetings import format_when, last_held_meeting, next_meeting
from bot.core.policy import Policy
from bot.core.reminders import Kind, load_states
from bot.core.reminders.briefing import load_brief_facts
from bot.messages import Message
from storage.enums import ActionStatus, AttendanceStatus, MeetingStatus, Role, UpdateState
from storage.models import Action, Attendance, MemberUpdate, Person, Reminder, UpdateAnswer
from tests.factories import (
    GroupData,
    at_london,
    build_core_group,
    local_today,
    make_action,
    make_group,
    make_meeting,
    make_membership,
    make_outcome,
)

LONDON = ZoneInfo("Europe/London")


def text_of(message: Message) -> str:
    """Everything a message says, blocks included."""
    parts = [message.text]
    for block in message.blocks:
        for attr in ("text", "question"):
            if isinstance(getattr(block, attr, None), str):
                parts.append(getattr(block, attr))
        parts += [f"{k}: {v}" for k, v in getattr(block, "pairs", ())]
        parts += list(getattr(block, "items", ()))
        parts += [b.label for b in getattr(block, "buttons", ())]
    return "\n".join(parts)


class Small:
    """A key worker, a parent and a GP; one action for the GP; a meeting in eight days."""

    def __init__(self, session: Session, clock: FakeClock) -> None:
        self.session, self.clock = session, clock
        self.group = make_group(session=session, clock=clock)
        self.key_worker, self.parent, self.gp = (
            make_membership(
                session=session, clock=clock, group=self.group, role=role, is_chair=chair
            )
            for role, chair in (
                (Role.KEY_WORKER, True),
                (Role.PARENT_CARER, False),
                (Role.GP, False),
            )
        )
        self.people = {
            name: session.get(Person, m.person_id)
            for name, m in (("kw", self.key_worker), ("parent", self.parent), ("gp", self.gp))
        }
        outcome = make_outcome(session=session, clock=clock, group=self.group)
        self.action = make_action(
            session=session,
            clock=clock,
            group=self.group,
            owner=self.person("gp"),
            outcome=outcome,
            description="Book a health review",
        )
        self.meeting = make_meeting(
            session=session,
            clock=clock,
            group=self.group,
            created_by=self.person("kw"),
            starts_at=at_london(local_today(clock) + timedelta(days=8), 14),
        )
        session.commit()

    def person(self, name: str) -> Person:
        found = self.people[name]
        assert found is not None
        return found

    def open(self, name: str) -> updates.Conversation:
        """Open `name`'s update and load the conversation."""
        updates.open_update(
            self.session,
            meeting=self.meeting,
            person=self.person(name),
            now=self.clock.now(),
            tz=LONDON,
        )
        update = self.session.exec(
            select(MemberUpdate).where(MemberUpdate.person_id == self.person(name).id)
        ).one()
        return updates.Conversation.load(self.session, update=update, tz=LONDON)

    def say(self, convo: updates.Conversation, *lines: str) -> updates.Step:
        """Type each line into the conversation; the last step."""
        step = None
        for line in lines:
            step = updates.reply_to(convo, line, now=self.clock.now())
        assert step is not None
        return step


@pytest.fixture
def small(session: Session, clock: FakeClock) -> Small:
    return Small(session, clock)


def keys(convo: updates.Conversation) -> list[str]:
    """The questions that apply now, generalising action ids."""
    return [
        "action:status" if k.endswith(":status") else "action:note" if k.endswith(":note") else k
        for k in (q.key for q in convo.questions())
    ]


# --- which questions ----------------------------------------------------------------------------


def test_open_update_starts_the_conversation_and_reopening_asks_the_same_question(
    small: Small,
) -> None:
    now = small.clock.now()
    first = updates.open_update(
        small.session, meeting=small.meeting, person=small.person("gp"), now=now, tz=LONDON
    )
    again = updates.open_update(
        small.session, meeting=small.meeting, person=small.person("gp"), now=now, tz=LONDON
    )

    assert first is not None and again is not None
    assert "Book a health review" in text_of(first) and "Book a health review" in text_of(again)
    rows = small.session.exec(select(MemberUpdate)).all()
    assert len(rows) == 1 and rows[0].state == UpdateState.IN_PROGRESS
    assert rows[0].current_question == f"action:{small.action.id}:status"
    assert rows[0].opened_at == now
    assert first.text.endswith(
        "question 1 of 6 for your update before the meeting on "
        + (format_when(small.meeting.starts_at, LONDON).split(",")[0])
    )


def test_members_with_actions_are_asked_about_each_then_the_usual_questions(small: Small) -> None:
    assert keys(small.open("gp")) == [
        "action:status",
        "action:note",
        "going_well",
        "worries",
        "must_know",
        "attend",
    ]


def test_the_key_worker_is_asked_about_the_child_and_seen_alone_only_if_seen(small: Small) -> None:
    convo = small.open("kw")
    assert keys(convo) == [
        "going_well",
        "worries",
        "must_know",
        "child_seen",
        "child_says",
        "attend",
    ]

    small.say(convo, "skip", "skip", "skip", "yes, at home on Tuesday")
    assert "child_seen_alone" in keys(convo)
    answers = convo.answers()
    assert answers["child_seen"].answer == "yes — at home on Tuesday"
    assert convo.update.current_question == "child_seen_alone"


def test_a_written_update_is_asked_only_after_apologies(small: Small, session: Session) -> None:
    convo = small.open("gp")
    step = small.say(convo, "skip", "skip", "skip", "skip", "send apologies")
    assert "written_update" in keys(convo)
    assert "anything else for your written update" in text_of(step.message)
    attendance = session.exec(
        select(Attendance).where(Attendance.person_id == small.person("gp").id)
    ).first()
    assert attendance is not None and attendance.status == AttendanceStatus.APOLOGIES

    step = small.say(convo, "Health review booked for 12 Jan")
    assert step.complete
    assert attendance.note == "Health review booked for 12 Jan"


def test_a_skipped_status_asks_no_note(small: Small) -> None:
    convo = small.open("gp")
    small.say(convo, "skip")
    assert keys(convo)[:2] == ["action:status", "going_well"]


def test_an_action_answered_about_stays_in_the_conversation_once_done(small: Small) -> None:
    convo = small.open("gp")
    small.say(convo, "done")
    assert small.action.status == ActionStatus.DONE  # no longer an open action…
    assert keys(convo)[:2] == ["action:status", "action:note"]  # …but still in the update


# --- reading answers ----------------------------------------------------------------------------


STATUS = updates.Question("s", "s", "s", "s", updates.STATUS_OPTIONS, action_id=1, follow_up="n")
ATTEND = updates.Question("attend", "a", "a", "a", updates.ATTEND_OPTIONS)


@pytest.mark.parametrize(
    ("question", "typed", "read"),
    [
        (STATUS, "done", ("done", None)),
        (STATUS, "Done - referral sent", ("done", "referral sent")),
        (STATUS, "in progress", ("in-progress", None)),
        (STATUS, "still doing it, landlord came Monday", ("in-progress", "landlord came Monday")),
        (STATUS, "Stuck: mum moved GP", ("stuck", "mum moved GP")),
        (STATUS, "can't — the family moved", ("stuck", "the family moved")),
        (STATUS, "it's all done now", ("done", None)),
        (STATUS, "referral sent, all done", ("done", "referral sent, all done")),
        (STATUS, "need until next Friday", ("in-progress", None)),
        (ATTEND, "Yes", ("yes", None)),
        (ATTEND, "I can't make it - on leave", ("apologies", "on leave")),
        (ATTEND, "apologies", ("apologies", None)),
    ],
)
def test_typed_answers_are_read_with_any_note_kept(
    question: updates.Question, typed: str, read: tuple[str, str | None], clock: FakeClock
) -> None:
    assert updates.read_choice(question, typed, now=clock.now(), tz=LONDON) == read


def test_an_unreadable_choice_suggests_the_closest_word(clock: FakeClock) -> None:
    with pytest.raises(BadInput) as err:
        updates.read_choice(STATUS, "dnoe", now=clock.now(), tz=LONDON)
    assert "Did you mean “done”?" in err.value.message
    assert "done / in progress / stuck" in err.value.message


@pytest.mark.parametrize("typed", ["skip", "SKIP", "n/a", "N/A", "not applicable", "pass"])
def test_skip_and_not_applicable_are_always_accepted(small: Small, typed: str) -> None:
    convo = small.open("gp")
    small.say(convo, typed)
    answer = convo.answers()[f"action:{small.action.id}:status"]
    assert answer.skipped and answer.answer == ""
    assert small.action.status == ActionStatus.OPEN


def test_news_without_a_status_is_kept_as_the_note_and_the_status_asked_again(
    small: Small,
) -> None:
    convo = small.open("gp")
    step = small.say(convo, "I phoned the surgery and left a message")

    assert "kept that as your note" in text_of(step.message)
    answers = convo.answers()
    assert answers[f"action:{small.action.id}:note"].answer == (
        "I phoned the surgery and left a message"
    )
    assert f"action:{small.action.id}:status" not in answers


def test_a_bare_yes_to_an_open_question_asks_for_the_detail(small: Small) -> None:
    convo = small.open("kw")
    step = small.say(convo, "yes")
    assert "Please tell me a little more" in text_of(step.message)
    assert convo.answers() == {}


# --- saving and resuming ------------------------------------------------------------------------


def test_every_answer_is_saved_at_once_so_a_crash_loses_nothing(
    small: Small, engine: Engine
) -> None:
    convo = small.open("gp")
    small.say(convo, "in progress")
    small.session.commit()
    # A second process (after a crash) sees the answer and knows what to ask next.
    with Session(engine) as other:
        update = other.get(MemberUpdate, convo.id)
        assert update is not None
        again = updates.Conversation.load(other, update=update, tz=LONDON)
        answers = again.answers()
        assert answers[f"action:{small.action.id}:status"].answer == "in-progress"
        assert update.current_question == f"action:{small.action.id}:note"
        assert other.get(Action, small.action.id).status == ActionStatus.IN_PROGRESS  # type: ignore[union-attr]


def test_open_update_returns_nothing_once_complete(small: Small) -> None:
    convo = small.open("kw")
    step = small.say(convo, *["skip"] * 6)
    assert step.complete and convo.update.completed_at == small.clock.now()
    assert (
        updates.open_update(
            small.session,
            meeting=small.meeting,
            person=small.person("kw"),
            now=small.clock.now(),
            tz=LONDON,
        )
        is None
    )


def test_answers_are_locked_once_the_meeting_starts(small: Small) -> None:
    convo = small.open("gp")
    updates.require_open(convo, small.clock.now())
    with pytest.raises(Conflict, match="locked"):
        updates.require_open(convo, small.meeting.starts_at)
    small.clock.set(small.meeting.starts_at + timedelta(minutes=1))
    assert (
        updates.active_update(
            small.session, person_id=convo.update.person_id, now=small.clock.now()
        )
        is None
    )


# --- the group ----------------------------------------------------------------------------------


def test_pending_updates_lists_members_who_have_not_finished(small: Small) -> None:
    convo = small.open("kw")
    small.say(convo, *["skip"] * 6)
    small.open("gp")

    pending = updates.pending_updates(small.session, meeting=small.meeting)
    assert [p.id for p in pending] == [small.person("parent").id, small.person("gp").id]


def test_the_nudge_asks_the_question_they_are_on_naming_only_the_case(small: Small) -> None:
    convo = small.open("gp")
    small.say(convo, "done")
    nudge = updates.nudge_message(
        small.session, meeting=small.meeting, person=small.person("gp"), tz=LONDON
    )
    shown = text_of(nudge)
    reference = convo.reference
    assert nudge.text.startswith(f"{reference}: a reminder about your update")
    assert "Any note on action" in shown
    assert [b.action for b in nudge.buttons()] == [updates.ANSWER]

    untouched = updates.nudge_message(
        small.session, meeting=small.meeting, person=small.person("parent"), tz=LONDON
    )
    assert "we'd still love to hear how things are going" in text_of(untouched)
    assert "/coregroup myupdate" in text_of(untouched)


def test_parents_get_family_wording(small: Small) -> None:
    message = updates.open_update(
        small.session,
        meeting=small.meeting,
        person=small.person("parent"),
        now=small.clock.now(),
        tz=LONDON,
    )
    assert message is not None
    shown = text_of(message)
    assert "The group supporting your family meets on" in shown
    assert "What's going well at home?" in shown
    assert "core group" not in shown.split("\n", 1)[1].lower()


@pytest.fixture
def busy(session: Session, clock: FakeClock) -> GroupData:
    """A realistic group: six members, three outcomes, ten actions, two held meetings."""
    data = build_core_group(session=session, clock=clock)
    session.commit()
    return data


def test_the_brief_in_a_space_the_family_can_see_leaves_out_written_answers(
    busy: GroupData, session: Session, clock: FakeClock
) -> None:
    meeting = next_meeting(session, group_id=busy.group.id or 0, now=clock.now())
    assert meeting is not None
    police = busy.members[Role.POLICE]
    updates.open_update(session, meeting=meeting, person=police, now=clock.now(), tz=LONDON)
    update = session.exec(select(MemberUpdate).where(MemberUpdate.person_id == police.id)).one()
    convo = updates.Conversation.load(session, update=update, tz=LONDON)
    while (question := convo.next_question(convo.answers())) is not None:
        typed = "Dad's new partner has a conviction" if question.key == "must_know" else "skip"
        updates.reply_to(convo, typed, now=clock.now())
    busy.outcomes[1].shared_with_family = False
    session.add(busy.outcomes[1])

    calendar, policy = WorkingCalendar(Nation.ENGLAND), Policy()
    channel = text_of(
        updates.brief_message(
            session, meeting=meeting, tz=LONDON, now=clock.now(), calendar=calendar, policy=policy
        )
    )
    private = text_of(
        updates.brief_message(
            session,
            meeting=meeting,
            tz=LONDON,
            now=clock.now(),
            calendar=calendar,
            policy=policy,
            private=True,
        )
    )

    assert "Dad's new partner has a conviction" in private
    assert "Dad's new partner" not in channel
    assert busy.outcomes[1].title in private and busy.outcomes[1].title not in channel
    assert busy.outcomes[0].title in channel
    last = last_held_meeting(session, group_id=busy.group.id or 0)
    assert last is not None
    held_on = format_when(last.starts_at, LONDON).split(",")[0]
    assert f"Actions from the last meeting ({held_on})" in channel
    assert "No reply yet: Sam Okafor, key worker (social worker)" in channel
    assert "Next meeting" in channel and "within 6 weeks" in channel


def test_a_brief_worded_from_a_chunks_facts_says_what_the_brief_alone_says(
    busy: GroupData, session: Session, clock: FakeClock
) -> None:
    meeting = next_meeting(session, group_id=busy.group.id or 0, now=clock.now())
    assert meeting is not None and meeting.id is not None
    police = busy.members[Role.POLICE]
    updates.open_update(session, meeting=meeting, person=police, now=clock.now(), tz=LONDON)
    update = session.exec(select(MemberUpdate).where(MemberUpdate.person_id == police.id)).one()
    convo = updates.Conversation.load(session, update=update, tz=LONDON)
    while (question := convo.next_question(convo.answers())) is not None:
        typed = "Dad's new partner has a conviction" if question.key == "must_know" else "skip"
        if question.key == "going_well":
            typed = "School attendance is up"
        updates.reply_to(convo, typed, now=clock.now())
    session.commit()
    row = Reminder(
        dedup_key="brief", kind=Kind.BRIEF.value, group_id=meeting.group_id,
        subject_id=meeting.id, due_at=clock.now(), created_at=clock.now(),
    )  # fmt: skip
    states = load_states(session, [meeting.group_id])
    facts = load_brief_facts(session, [row], states)[meeting.id]
    calendar, policy = WorkingCalendar(Nation.ENGLAND), Policy()
    for private in (False, True):
        alone, chunk = (
            updates.brief_message(
                session, meeting=meeting, tz=LONDON, now=clock.now(), calendar=calendar,
                policy=policy, private=private, facts=given,
            )
            for given in (None, facts)
        )  # fmt: skip
        assert chunk == alone
    assert "School attendance is up" in text_of(chunk)


def test_next_and_last_held_meetings_skip_cancelled_and_started_ones(
    session: Session, clock: FakeClock
) -> None:
    group = make_group(session=session, clock=clock)
    today = local_today(clock)
    held = make_meeting(
        session=session,
        clock=clock,
        group=group,
        starts_at=at_london(today - timedelta(days=7), 10),
        status=MeetingStatus.HELD,
    )
    make_meeting(
        session=session,
        clock=clock,
        group=group,
        starts_at=at_london(today + timedelta(days=2), 10),
        status=MeetingStatus.CANCELLED,
    )
    coming = make_meeting(
        session=session,
        clock=clock,
        group=group,
        starts_at=at_london(today + timedelta(days=9), 10),
    )
    assert group.id is not None
    assert next_meeting(session, group_id=group.id, now=clock.now()) == coming
    assert last_held_meeting(session, group_id=group.id) == held
    assert format_when(datetime(2027, 7, 1, 13, 0, tzinfo=ZoneInfo("UTC")), LONDON) == (
        "Thu 1 Jul 2027, 14:00"
    )


def test_update_answers_are_one_row_per_question_even_when_changed(small: Small) -> None:
    convo = small.open("kw")
    small.say(convo, "The home is warmer")
    updates.change(convo, "going_well", now=small.clock.now())
    small.say(convo, "The home is warm now")
    rows = small.session.exec(
        select(UpdateAnswer).where(UpdateAnswer.question == "going_well")
    ).all()
    assert [r.answer for r in rows] == ["The home is warm now"]
