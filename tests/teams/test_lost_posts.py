"""A group post held for the group chat (a removal was pending) that the Bot Connector then
refuses for good is told to the group's chair privately, in plain words, over real HTTP."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import FakeClock
from storage.models import TeamsPending
from tests.teams.conftest import SAM, FakeConnector, FakeGraph, TeamsDriver
from tests.teams.test_removal import JO, group_with_jo
from tests.teams.test_workflow import REF, joined, only


def test_a_held_group_post_teams_then_refuses_is_told_to_the_chair(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph, clock: FakeClock, engine: Engine
) -> None:
    chat_id = group_with_jo(teams, connector, graph)
    group = {"conversation": chat_id, "kind": "groupChat"}
    posted = len(connector.to(chat_id))
    graph.refuse_removals, graph.refusal_status = 5, 503
    sent = teams.say(SAM, f"remove {JO.at()}", mentions=(JO,), **group)
    assert "Jo Parent can still read it" in joined(only(sent, SAM.dm))
    to_sam = len(connector.to(SAM.dm))

    connector.fail = [(403, {})]  # the group chat refuses the held leaving notice
    clock.advance(timedelta(seconds=31))
    teams.runtime.retry_deferred()

    assert len(connector.to(chat_id)) == posted  # never posted
    with Session(engine) as s:
        [held] = s.exec(select(TeamsPending).where(TeamsPending.kind == "post")).all()
        assert held.done_at is not None and held.last_error
    told = "\n".join(a.text() for a in connector.to(SAM.dm)[to_sam:])
    assert "A message to the group wasn't delivered" in told
    assert f"A message for the group's space for {REF} could not be delivered" in told
    assert "Teams refused a message kept for it, so the members have not seen it" in told
    assert "has been posted there" not in told
