"""A post Slack deferred (429) and then refused for good is not lost in silence: a reminder it
carried is failed in the ledger (not claimed sent) and its chair told; a group post's chairs are
told privately that a message to the group's space could not be delivered. Over the fake Slack."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.reminders import Kind
from bot.scheduler import ReminderEngine
from storage.enums import Platform, ReminderStatus
from storage.models import Reminder, SlackDelivery
from tests.slack.conftest import KEY_WORKER, PEOPLE, SCHOOL, RunningApp
from tests.slack.fake_slack import FakeSlack, shown
from tests.slack.test_slack_journeys import REFERENCE, run, start_group

LOST = "A message to the group wasn't delivered"


def dms_to(fake: FakeSlack, user: str) -> str:
    return "\n".join(
        shown(c.args)
        for c in fake.calls_to("chat.postMessage")
        if c.args["channel"] == "D" + user[1:] and c.status == 200
    )


def kept(engine: Engine) -> list[SlackDelivery]:
    with Session(engine) as session:
        return list(session.exec(select(SlackDelivery).where(SlackDelivery.kind == "post")))


def test_a_deferred_group_post_slack_then_refuses_is_told_to_the_chair(
    slack_app: RunningApp, clock: FakeClock
) -> None:
    fake, engine = slack_app.fake, slack_app.runtime.dispatcher.engine
    channel = start_group(slack_app)
    fake._api_conversations_open({"users": KEY_WORKER})
    fake.rate_limit("chat.postMessage", retry_after=20)
    run(slack_app, f"add <@{SCHOOL}|alex> school", channel, wait="respond")
    fake.wait_for(lambda: [d for d in kept(engine) if d.group_id is not None])
    fake.fail("chat.postMessage", "is_archived")  # the first kept post: the group's

    clock.advance(timedelta(seconds=21))
    slack_app.runtime.retry_deferred()

    [lost] = [d for d in kept(engine) if d.group_id is not None]
    assert lost.done_at is not None and lost.last_error == "is_archived"
    told = dms_to(fake, KEY_WORKER)
    assert LOST in told and f"for the group's space for {REFERENCE} could not be" in told


def test_a_deferred_reminder_slack_then_refuses_is_not_claimed_sent(
    slack_app: RunningApp, engine: Engine, clock: FakeClock
) -> None:
    fake = slack_app.fake
    channel = start_group(slack_app)
    run(slack_app, f"add <@{SCHOOL}|alex> school", channel, wait="conversations.open")
    run(slack_app, 'outcome add "The children attend school"', channel, wait="respond")
    run(slack_app, f'action <@{SCHOOL}|alex> to "ring daily" by 15/1/2027', channel, wait="respond")
    fake._api_conversations_open({"users": KEY_WORKER})
    reminders = ReminderEngine(
        engine=engine,
        clock=clock,
        outboxes={Platform.SLACK: slack_app.runtime.outbox},
        locale=Locale(),
    )
    clock.advance(timedelta(days=30))
    fake.rate_limit("chat.postMessage", retry_after=600)
    reminders.run_until(clock.now())
    with Session(engine) as s:
        deferred = s.exec(
            select(Reminder).where(col(Reminder.message_ref).startswith("deferred:"))
        ).all()
        assert deferred and all(r.status == ReminderStatus.SENT for r in deferred)
        ids = [r.id for r in deferred]

    fake.fail("chat.postMessage", "channel_not_found", times=len(kept(engine)))
    clock.advance(timedelta(seconds=601))
    slack_app.runtime.retry_deferred()
    with Session(engine) as s:
        now = s.exec(select(Reminder).where(col(Reminder.id).in_(ids))).all()
        assert all(r.status == ReminderStatus.FAILED and r.sent_at is None for r in now)
        notices = s.exec(select(Reminder).where(Reminder.kind == Kind.DELIVERY_FAILED)).all()
        # The reminder was the chair's own, so the group's space hears (as for any failure).
        assert [(n.subject_id, n.person_id) for n in notices] == [(ids[0], None)]

    reminders.run_until(clock.now())
    said = "\n".join(shown(m) for m in channel.messages)
    assert f"I couldn't deliver a note about a quiet outcome to {PEOPLE[KEY_WORKER]}" in said
