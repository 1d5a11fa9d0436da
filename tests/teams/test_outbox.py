"""Sending to Teams: retries, pacing, and proactive messages from stored conversation references."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.adapters.teams_outbox import CONVERSATION_LIMITS, PACE_MARGIN, Pacer
from bot.core.ports import DeliveryError
from bot.messages import Message, ToGroup, ToPerson
from storage.enums import Platform
from storage.models import ChatIdentity
from tests.teams.conftest import PRIYA, SAM, FakeConnector, FakeGraph, SendLimits, TeamsDriver
from tests.teams.test_workflow import start_group


def person_id(engine: Engine, user_id: str) -> int:
    with Session(engine) as s:
        ident = s.exec(select(ChatIdentity).where(ChatIdentity.user_id == user_id)).one()
        return ident.person_id


def test_throttled_sends_are_retried_honouring_retry_after(
    teams: TeamsDriver, connector: FakeConnector
) -> None:
    connector.fail = [(429, {"Retry-After": "0"}), (503, {}), (412, {})]
    teams.say(SAM, "help")
    assert connector.attempts == 4
    assert len(connector.to(SAM.dm)) == 1


def test_a_send_that_keeps_failing_raises_delivery_error_and_a_refusal_is_not_retried(
    teams: TeamsDriver, connector: FakeConnector, engine: Engine
) -> None:
    teams.say(SAM, "help")  # Sam's 1:1 chat is now on record
    sam = person_id(engine, SAM.id)
    connector.fail = [(503, {})] * 5
    with pytest.raises(DeliveryError) as failed:
        teams.runtime.outbox.send(ToPerson(sam), Message.plain("Reminder"))
    assert failed.value.retryable
    connector.fail, connector.attempts = [(403, {})], 0
    with pytest.raises(DeliveryError) as refused:
        teams.runtime.outbox.send(ToPerson(sam), Message.plain("Reminder"))
    assert not refused.value.retryable and connector.attempts == 1


def test_proactive_message_uses_the_stored_reference_and_carries_its_key(
    teams: TeamsDriver, connector: FakeConnector, engine: Engine
) -> None:
    teams.say(SAM, "help")
    sam = person_id(engine, SAM.id)
    outbox = teams.runtime.outbox
    due = Message(text="CP-2026-0142: action 1 is due", key="action-due:1:2027-01-15")
    ref = outbox.send(ToPerson(sam), due)
    last = connector.to(SAM.dm)[-1]
    assert ref == f"{SAM.dm}|{last.activity_id}"
    assert last.activity["channelData"] == {"coregroupKey": "action-due:1:2027-01-15"}
    assert last.activity["summary"] == "CP-2026-0142: reminder"  # the case and the kind only
    assert outbox.find_sent(ToPerson(sam), "action-due:1:2027-01-15") == ref
    assert outbox.find_sent(ToPerson(sam), "another-key") is None
    assert len(connector.opened) == 0  # the 1:1 chat Sam started was reused


def test_proactive_message_to_someone_who_never_wrote_opens_a_chat_and_remembers_it(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph, engine: Engine
) -> None:
    start_group(teams, connector, graph)
    priya = person_id(engine, PRIYA.id)
    teams.runtime.outbox.send(ToPerson(priya), Message.plain("Please send your update"))
    teams.runtime.outbox.send(ToPerson(priya), Message.plain("A second message"))
    # Priya never wrote to the bot: one 1:1 chat was opened for her (in the tenant), then reused.
    for_priya = [o for o in connector.opened if o["members"] == [{"id": PRIYA.id}]]
    assert len(for_priya) == 1 and for_priya[0]["tenantId"]
    assert [s.text() for s in connector.to(PRIYA.dm)[-2:]] == [
        "Please send your update",
        "A second message",
    ]
    with Session(engine) as s:
        ident = s.exec(select(ChatIdentity).where(ChatIdentity.user_id == PRIYA.id)).one()
        assert ident.platform == Platform.TEAMS and ident.dm_channel_id == PRIYA.dm


def test_a_group_without_a_space_cannot_be_sent_to(teams: TeamsDriver) -> None:
    with pytest.raises(DeliveryError, match="no Teams space"):
        teams.runtime.outbox.send(ToGroup(999), Message.plain("Brief"))


# --- pacing ---------------------------------------------------------------------------------------


class FakeTime:
    """A clock for the pacer: sleeping moves it on."""

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def sends(pacer: Pacer, key: str, count: int) -> list[float]:
    """The times at which `count` sends to `key` were allowed."""

    async def run() -> list[float]:
        times = []
        for _ in range(count):
            await pacer.wait(key)
            times.append(pacer.now())
        return times

    return asyncio.run(run())


@pytest.mark.parametrize(("window", "limit"), CONVERSATION_LIMITS[:3])
def test_pacing_keeps_every_conversation_window(window: float, limit: int) -> None:
    clock = FakeTime()
    times = sends(Pacer(now=clock.time, sleep=clock.sleep), "conv", 70)
    for i, start in enumerate(times):
        within = [t for t in times[i:] if t < start + window]
        assert len(within) <= limit, (window, limit, start)


def test_pacing_lets_seven_through_at_once_and_other_conversations_are_not_held_up() -> None:
    clock = FakeTime()
    pacer = Pacer(now=clock.time, sleep=clock.sleep)
    assert sends(pacer, "a", 7) == [0.0] * 7
    assert sends(pacer, "a", 1) == [1.0 + PACE_MARGIN]
    assert sends(pacer, "b", 1) == [1.0 + PACE_MARGIN]  # no wait for another conversation


def test_a_paced_send_arriving_quicker_than_the_ones_before_it_is_not_one_too_many() -> None:
    clock = FakeTime()
    times = sends(Pacer(now=clock.time, sleep=clock.sleep), "conv", 16)
    # Microsoft counts each send as it arrives: the first burst took 30 ms to arrive, the rest 0.
    arrivals = [t + (0.03 if t == 0.0 else 0.0) for t in times]
    at = iter(arrivals)
    limits = SendLimits(now=lambda: next(at))
    assert [limits.take("conv") for _ in arrivals] == [0.0] * len(arrivals)  # no 429


def test_retention_deletes_a_message_the_bot_sent_through_the_connector(
    teams: TeamsDriver, connector: FakeConnector, engine: Engine
) -> None:
    teams.say(SAM, "help")
    outbox = teams.runtime.outbox
    ref = outbox.send(ToPerson(person_id(engine, SAM.id)), Message.plain("Reminder"))
    assert outbox.delete(ref) is True
    assert connector.deleted == [(SAM.dm, ref.split("|")[1])]
    assert outbox.delete("not-a-teams-ref") is False
