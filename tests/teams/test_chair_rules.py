"""Issue 10's chair rules over Teams' wire format: the conference chair told of a disagreement in
their 1:1 chat may then read the group's status (read only) there, and is refused anything that
changes the group; they are not added to the group chat."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import FakeClock
from tests.teams.conftest import PRIYA, SAM, FakeConnector, FakeGraph, TeamsDriver, User
from tests.teams.test_workflow import REF, joined, only, start_group

CHRIS = User("chris", "Chris Conference")


def test_the_conference_chair_reads_status_after_a_disagreement_and_changes_nothing(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 12, 18, 15, 0, tzinfo=ZoneInfo("Europe/London")))
    chat_id = start_group(teams, connector, graph)
    connector.roster[CHRIS.id] = {"id": CHRIS.id, "name": CHRIS.name, "aadObjectId": CHRIS.aad}
    named = teams.say(
        SAM,
        f"conference-chair {CHRIS.at()}",
        conversation=chat_id,
        kind="groupChat",
        mentions=(CHRIS,),
    )
    assert "named you as the conference chair" in joined(only(named, CHRIS.dm))
    # Named, but told of nothing yet: to Chris the group does not exist.
    assert "I can't find a core group matching" in joined(teams.say(CHRIS, f"status {REF}"))

    told = teams.say(
        PRIYA,
        'disagree "School disagrees with stepping down visits"',
        conversation=chat_id,
        kind="groupChat",
    )
    to_chris = joined(only(told, CHRIS.dm))
    assert "you can now read the group's status and minutes (read only)" in to_chris
    assert "stepping down visits" in to_chris

    status = joined(teams.say(CHRIS, f"status {REF}"))
    assert "I can't find" not in status and REF in status
    for typed in (f"schedule {REF} 6/1 2pm", f"members {REF}"):
        refused = joined(teams.say(CHRIS, typed))
        assert "As the conference chair you can read the status and minutes" in refused, typed
    members = graph.chats[chat_id]["members"]
    assert PRIYA.aad in members and CHRIS.aad not in members
