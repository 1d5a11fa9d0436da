"""The Slack Outbox and delivery against the fake Web API: keyed sends, recovery, DMs, failures,
pacing and channel membership."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from bot.adapters.slack import Origin, slack_handlers
from bot.adapters.slack_outbox import Pacer, SlackOutbox
from bot.clock import FakeClock
from bot.config import Settings
from bot.core.ports import DeliveryError
from bot.messages import AddToSpace, Message, Reply, ToGroup, ToPerson
from storage.enums import Platform
from storage.models import ChatIdentity, SentMessage
from tests.factories import make_group, make_person
from tests.slack.conftest import GP, PARENT, RunningApp
from tests.slack.fake_slack import FakeSlack


def _group(slack_app: RunningApp, clock: FakeClock, fake: FakeSlack) -> int:
    channel = fake.add_channel("cg-cp-2026-0142")
    with Session(slack_app.runtime.dispatcher.engine) as session:
        group = make_group(
            session=session, clock=clock, platform=Platform.SLACK, channel_id=channel.id
        )
        session.commit()
        assert group.id is not None
        return group.id


def _person(engine: Engine, clock: FakeClock, user_id: str | None) -> int:
    with Session(engine) as session:
        person = make_person(
            session=session,
            clock=clock,
            platform=Platform.SLACK if user_id else None,
            user_id=user_id,
        )
        session.commit()
        assert person.id is not None
        return person.id


def test_a_keyed_message_carries_its_key_and_can_be_found_again(
    slack_app: RunningApp, clock: FakeClock
) -> None:
    outbox, fake = slack_app.runtime.outbox, slack_app.fake
    to = ToGroup(_group(slack_app, clock, fake))
    message = Message.plain("Reminder: the core group meets tomorrow at 10:00.")

    ref = outbox.send(to, Message(message.text, message.blocks, key="meeting:7:brief"))

    [post] = fake.calls_to("chat.postMessage")
    assert post.args["metadata"] == {
        "event_type": "coregroup_reminder",
        "event_payload": {"key": "meeting:7:brief"},
    }
    assert ref == f"{post.args['channel']}:{fake.channels[post.args['channel']].messages[0]['ts']}"
    assert outbox.find_sent(to, "meeting:7:brief") == ref
    assert outbox.find_sent(to, "meeting:8:brief") is None
    history = fake.calls_to("conversations.history")
    assert [c.args["include_all_metadata"] in ("1", "true", True) for c in history] == [True] * 2


def test_a_first_dm_opens_the_conversation_once_and_remembers_it(
    slack_app: RunningApp, clock: FakeClock, engine: Engine
) -> None:
    outbox, fake = slack_app.runtime.outbox, slack_app.fake
    person_id = _person(engine, clock, PARENT)

    outbox.send(ToPerson(person_id), Message.plain("Your update for Thursday's meeting"))
    outbox.send(ToPerson(person_id), Message.plain("Thanks, that's everything"))

    assert len(fake.calls_to("conversations.open")) == 1
    assert [c.args["channel"] for c in fake.calls_to("chat.postMessage")] == ["D" + PARENT[1:]] * 2
    with Session(engine) as session:
        ident = session.exec(select(ChatIdentity).where(ChatIdentity.user_id == PARENT)).one()
    assert ident.dm_channel_id == "D" + PARENT[1:]


def test_nothing_to_find_where_nothing_was_ever_sent(
    slack_app: RunningApp, clock: FakeClock, engine: Engine
) -> None:
    person_id = _person(engine, clock, GP)
    assert slack_app.runtime.outbox.find_sent(ToPerson(person_id), "any") is None
    assert slack_app.fake.calls_to("conversations.history") == []


def test_a_person_not_on_slack_is_a_permanent_failure(
    slack_app: RunningApp, clock: FakeClock, engine: Engine
) -> None:
    person_id = _person(engine, clock, None)
    with pytest.raises(DeliveryError) as raised:
        slack_app.runtime.outbox.send(ToPerson(person_id), Message.plain("hello"))
    assert raised.value.retryable is False


def test_an_archived_channel_is_a_permanent_failure_and_a_429_storm_a_retryable_one(
    slack_app: RunningApp, clock: FakeClock
) -> None:
    outbox, fake = slack_app.runtime.outbox, slack_app.fake
    group_id = _group(slack_app, clock, fake)
    fake.fail("chat.postMessage", "is_archived")
    with pytest.raises(DeliveryError) as archived:
        outbox.send(ToGroup(group_id), Message.plain("hello"))
    assert archived.value.retryable is False

    fake.fail("chat.postMessage", "internal_error")
    with pytest.raises(DeliveryError) as flaky:
        outbox.send(ToGroup(group_id), Message.plain("hello"))
    assert flaky.value.retryable is True


class TimeMachine:
    """A monotonic clock that only moves when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def test_posts_to_one_channel_are_spaced_a_second_apart_others_are_not_held_up() -> None:
    machine = TimeMachine()
    pacer = Pacer(1.0, now=lambda: machine.now, sleep=machine.sleep)

    for channel in ("C1", "C1", "C2", "C1"):
        pacer.wait_turn(channel)

    # C1 waits 1 s before its 2nd post; C2 goes at once; C1's 3rd waits its second in turn.
    assert machine.sleeps == [1.0, 1.0]


def test_a_burst_of_reminders_to_one_channel_goes_out_paced(
    slack_app: RunningApp, clock: FakeClock
) -> None:
    machine = TimeMachine()
    outbox = SlackOutbox(
        slack_app.runtime.outbox.client,
        slack_app.runtime.dispatcher,
        pacer=Pacer(1.0, now=lambda: machine.now, sleep=machine.sleep),
    )
    to = ToGroup(_group(slack_app, clock, slack_app.fake))
    for n in range(5):
        outbox.send(to, Message(f"Reminder {n}", key=f"r{n}"))
    assert machine.sleeps == [1.0] * 4
    assert len(slack_app.fake.calls_to("chat.postMessage")) == 5


def test_inviting_people_some_already_in_the_channel_invites_the_rest(
    slack_app: RunningApp, clock: FakeClock, engine: Engine, slack_settings: Settings
) -> None:
    fake = slack_app.fake
    group_id = _group(slack_app, clock, fake)
    channel = next(c for c in fake.channels.values() if c.name == "cg-cp-2026-0142")
    channel.members.add(PARENT)
    people = (_person(engine, clock, PARENT), _person(engine, clock, GP))
    handlers = slack_handlers(slack_settings, engine, clock)

    handlers.deliver(Reply(effects=[AddToSpace(group_id, people)]), Origin(user_id=PARENT))

    assert {PARENT, GP} <= channel.members
    invites = [c.args["users"] for c in fake.calls_to("conversations.invite")]
    assert invites == [f"{PARENT},{GP}", PARENT, GP]


def test_retention_deletes_a_message_the_bot_sent_with_chat_delete(
    slack_app: RunningApp, clock: FakeClock
) -> None:
    outbox, fake = slack_app.runtime.outbox, slack_app.fake
    ref = outbox.send(ToGroup(_group(slack_app, clock, fake)), Message.plain("Reminder"))
    channel = next(c for c in fake.channels.values() if c.name == "cg-cp-2026-0142")
    assert len(channel.messages) == 1

    assert outbox.delete(ref) is True
    assert channel.messages == []
    assert outbox.delete(ref) is True  # already gone counts as deleted
    assert [c.args["ts"] for c in fake.calls_to("chat.delete")] == [ref.split(":")[1]] * 2
    assert outbox.delete("deferred:4") is False


def test_a_post_that_went_out_is_not_failed_when_its_record_for_retention_cannot_be_written(
    slack_app: RunningApp, clock: FakeClock, engine: Engine
) -> None:
    outbox, fake = slack_app.runtime.outbox, slack_app.fake
    group = _group(slack_app, clock, fake)

    def fail(conn: object, cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SENTMESSAGE"):
            raise engine.dialect.loaded_dbapi.OperationalError("server closed the connection")

    event.listen(engine, "before_cursor_execute", fail)
    try:
        ref = outbox.send(ToGroup(group), Message.plain("Reminder"))  # no error: it was posted
    finally:
        event.remove(engine, "before_cursor_execute", fail)
    assert ref.partition(":")[2] and len(fake.calls_to("chat.postMessage")) == 1
    outbox.send(ToGroup(group), Message.plain("Another"))
    with Session(engine) as s:
        recorded = s.exec(select(SentMessage.message_id)).all()
    assert len(recorded) == 1 and ref.partition(":")[2] not in recorded  # only the second
