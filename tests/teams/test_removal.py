"""A removal from the group chat that Microsoft Graph refuses: the person can still read the
chat, so the chair is told so plainly and what to ask the Teams admin, nothing more is posted
there (no card there is edited), and the removal is kept and retried, across a restart; once
Graph lets it through, what was held is posted in order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.adapters.teams import TeamsSettings, build_teams_runtime
from bot.adapters.web import WebServer, build_web_app
from bot.clock import FakeClock
from bot.config import Settings
from tests.teams.conftest import (
    ALEX,
    PRIYA,
    SAM,
    FakeConnector,
    FakeGraph,
    Issuer,
    TeamsDriver,
    User,
)
from tests.teams.test_workflow import REF, joined, last_card, only, start_group

LONDON = ZoneInfo("Europe/London")
JO = User("jo", "Jo Parent")


def group_with_jo(teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph) -> str:
    """Sam's group with Priya and Jo (a parent) in its chat, and one outcome; the chat's id."""
    chat_id = start_group(teams, connector, graph)
    connector.roster[JO.id] = {"id": JO.id, "name": JO.name, "aadObjectId": JO.aad}
    teams.say(SAM, f"add {JO.at()} parent", mentions=(JO,), conversation=chat_id, kind="groupChat")
    teams.say(SAM, 'outcome add "Mia is safe at home"', conversation=chat_id, kind="groupChat")
    assert JO.aad in graph.chats[chat_id]["members"]
    return chat_id


@contextmanager
def restarted(
    teams: TeamsDriver, settings: Settings, teams_settings: TeamsSettings, issuer: Issuer
) -> Iterator[TeamsDriver]:
    """The bot started again on the same database: it has seen nobody since."""
    engine, clock = teams.runtime.dispatcher.engine, teams.runtime.dispatcher.clock
    runtime = build_teams_runtime(settings, engine, clock, teams_settings)
    runtime.http.backoff = 0.01
    server = WebServer(build_web_app(engine, runtime.routes(engine)), host="127.0.0.1").start()
    try:
        yield TeamsDriver(runtime, server, issuer, teams.connector)
    finally:
        server.stop()
        runtime.close()


def test_a_refused_removal_holds_the_group_chat_and_is_retried_until_it_works(
    teams: TeamsDriver,
    connector: FakeConnector,
    graph: FakeGraph,
    engine: Engine,
    clock: FakeClock,
    bot_settings: Settings,
    teams_settings: TeamsSettings,
) -> None:
    clock.set(datetime(2026, 12, 18, 15, 0, tzinfo=LONDON))
    chat_id = group_with_jo(teams, connector, graph)
    group = {"conversation": chat_id, "kind": "groupChat"}
    posted = len(connector.to(chat_id))
    graph.refuse_removals = 2

    sent = teams.say(SAM, f"remove {JO.at()}", mentions=(JO,), **group)
    told = joined(only(sent, SAM.dm))
    assert "Teams would not let me take Jo Parent out of the group chat" in told
    assert "Jo Parent can still read it" in told
    assert "nothing new will be posted in the group chat" in told
    assert "ask your Teams administrator to remove Jo Parent" in told
    assert JO.aad in graph.chats[chat_id]["members"]
    sent = teams.say(
        SAM, f'action {PRIYA.at()} to "visit the family" by 15/1/2027', mentions=(PRIYA,), **group
    )
    assert "it is kept and will be posted once they are out" in joined(only(sent, SAM.dm))
    assert len(connector.to(chat_id)) == posted  # not the leaving notice, not the action card

    assert teams.runtime.retry_deferred() == 0  # not due yet
    clock.advance(timedelta(seconds=31))
    assert teams.runtime.retry_deferred() == 0  # refused again: kept, tried later
    assert JO.aad in graph.chats[chat_id]["members"] and len(connector.to(chat_id)) == posted

    # The bot restarts: what was kept is in the database, not in the old process (whose
    # runtime the fixture closes).
    restarted = build_teams_runtime(bot_settings, engine, clock, teams_settings)
    try:
        clock.advance(timedelta(seconds=30))
        assert restarted.retry_deferred() == 0  # the second refusal doubled the wait
        clock.advance(timedelta(minutes=2))
        assert restarted.retry_deferred() == 3  # the removal, then the two held posts
        assert JO.aad not in graph.chats[chat_id]["members"]
        texts = [s.text() for s in connector.to(chat_id)[posted:]]
        assert len(texts) == 2 and "Jo Parent has left the core group" in texts[0]
        assert "visit the family" in texts[1].lower()
        # Sam, who was told of the refusal, is told it is over, after the held posts went.
        assert connector.to(SAM.dm)[-1].text() == (
            'Jo Parent is now out of the group chat "cg-cp-2026-0142", and what was kept for it '
            "has been posted there."
        )
        assert restarted.retry_deferred() == 0  # done once
    finally:
        restarted.close()


def test_while_a_removal_is_refused_cards_in_the_group_chat_are_not_updated(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 12, 18, 15, 0, tzinfo=LONDON))
    chat_id = group_with_jo(teams, connector, graph)
    group = {"conversation": chat_id, "kind": "groupChat"}
    teams.say(
        SAM, f'action {PRIYA.at()} to "visit the family" by 15/1/2027', mentions=(PRIYA,), **group
    )
    card = last_card(connector, chat_id, "Done")
    graph.refuse_removals = 5
    teams.say(SAM, f"remove {JO.at()}", mentions=(JO,), **group)
    posted = len(connector.to(chat_id))

    sent = teams.click(PRIYA, card, "Done", **group)
    # Priya is answered in her 1:1 chat; the card Jo can still see keeps what it showed.
    assert "Done" in joined(only(sent, PRIYA.dm))
    assert [u for u in connector.updates() if u.conversation == chat_id] == []
    assert len(connector.to(chat_id)) == posted


def test_a_removal_graph_cannot_answer_is_kept_and_retried_too(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph, clock: FakeClock
) -> None:
    chat_id = group_with_jo(teams, connector, graph)
    group = {"conversation": chat_id, "kind": "groupChat"}
    posted = len(connector.to(chat_id))
    graph.refuse_removals, graph.refusal_status = 5, 503  # every try of the first attempt
    sent = teams.say(SAM, f"remove {JO.at()}", mentions=(JO,), **group)
    assert "Jo Parent can still read it" in joined(only(sent, SAM.dm))
    assert len(connector.to(chat_id)) == posted  # the leaving notice is held
    clock.advance(timedelta(seconds=31))
    assert teams.runtime.retry_deferred() == 2  # Graph answers again: removed, notice posted
    assert JO.aad not in graph.chats[chat_id]["members"]
    assert "Jo Parent has left the core group" in connector.to(chat_id)[posted].text()


def test_a_person_added_back_ends_the_retry_and_the_held_posts_go(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph, clock: FakeClock
) -> None:
    chat_id = group_with_jo(teams, connector, graph)
    group = {"conversation": chat_id, "kind": "groupChat"}
    posted = len(connector.to(chat_id))
    graph.refuse_removals = 5  # any further try to remove Jo would be refused
    teams.say(SAM, f"remove {JO.at()}", mentions=(JO,), **group)
    teams.say(SAM, f"add {JO.at()} parent", mentions=(JO,), **group)
    assert len(connector.to(chat_id)) == posted
    clock.advance(timedelta(seconds=31))
    assert teams.runtime.retry_deferred() == 3  # no removal needed now; the two notices go
    assert graph.refuse_removals == 4 and JO.aad in graph.chats[chat_id]["members"]
    texts = [s.text() for s in connector.to(chat_id)[posted:]]
    assert "Jo Parent has left the core group" in texts[0] and "Jo Parent" in texts[1]


def test_a_removal_typed_after_a_restart_finds_the_person_in_the_group_chats_roster(
    teams: TeamsDriver,
    connector: FakeConnector,
    graph: FakeGraph,
    issuer: Issuer,
    bot_settings: Settings,
    teams_settings: TeamsSettings,
) -> None:
    chat_id = group_with_jo(teams, connector, graph)
    posted = len(connector.to(chat_id))
    # Restarted, the bot has not seen Jo's Entra id, and Sam's 1:1 chat's roster has only Sam.
    with restarted(teams, bot_settings, teams_settings, issuer) as again:
        sent = again.say(SAM, f"remove {REF} {JO.at()}", mentions=(JO,))
    assert JO.aad not in graph.chats[chat_id]["members"]
    assert "Jo Parent has left the core group" in connector.to(chat_id)[posted].text()
    told = joined(only(sent, SAM.dm))
    assert "couldn't" not in told and "still read" not in told


def test_a_person_the_chats_roster_cannot_place_is_kept_as_refused_not_counted_out(
    teams: TeamsDriver,
    connector: FakeConnector,
    graph: FakeGraph,
    clock: FakeClock,
    issuer: Issuer,
    bot_settings: Settings,
    teams_settings: TeamsSettings,
) -> None:
    chat_id = group_with_jo(teams, connector, graph)
    posted = len(connector.to(chat_id))
    connector.refuse_rosters = 1
    with restarted(teams, bot_settings, teams_settings, issuer) as again:
        sent = again.say(SAM, f"remove {REF} {JO.at()}", mentions=(JO,))
        told = joined(only(sent, SAM.dm))
        assert "I couldn't take Jo Parent out of the group chat" in told
        assert "Jo Parent may still be able to read it" in told
        assert "nothing new will be posted in the group chat" in told
        assert "couldn't add" not in told and "Graph" not in told
        assert JO.aad in graph.chats[chat_id]["members"]
        assert len(connector.to(chat_id)) == posted  # the leaving notice is held

        clock.advance(timedelta(seconds=31))
        assert again.runtime.retry_deferred() == 2  # the roster answers: removed, notice posted
    assert JO.aad not in graph.chats[chat_id]["members"]
    assert "Jo Parent has left the core group" in connector.to(chat_id)[posted].text()
    assert "Jo Parent is now out of the group chat" in connector.to(SAM.dm)[-1].text()


def test_a_group_chat_that_is_gone_counts_the_removal_done(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph, clock: FakeClock
) -> None:
    chat_id = group_with_jo(teams, connector, graph)
    posted = len(connector.to(chat_id))
    del graph.chats[chat_id]  # deleted in Teams: Graph answers 404 for it; nobody can read it
    sent = teams.say(
        SAM, f"remove {JO.at()}", mentions=(JO,), conversation=chat_id, kind="groupChat"
    )
    assert "still read" not in joined(only(sent, SAM.dm))
    assert "Jo Parent has left the core group" in connector.to(chat_id)[posted].text()
    clock.advance(timedelta(seconds=31))
    assert teams.runtime.retry_deferred() == 0  # nothing kept


def test_a_member_graph_no_longer_has_is_out(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph, clock: FakeClock
) -> None:
    chat_id = group_with_jo(teams, connector, graph)
    posted = len(connector.to(chat_id))
    graph.refuse_removals, graph.refusal_status = 1, 404  # left the chat just before
    sent = teams.say(
        SAM, f"remove {JO.at()}", mentions=(JO,), conversation=chat_id, kind="groupChat"
    )
    assert "still read" not in joined(only(sent, SAM.dm))
    assert "Jo Parent has left the core group" in connector.to(chat_id)[posted].text()
    clock.advance(timedelta(seconds=31))
    assert teams.runtime.retry_deferred() == 0


def test_a_click_in_a_held_chat_that_cannot_be_answered_privately_adds_nothing_there(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph
) -> None:
    chat_id = group_with_jo(teams, connector, graph)
    group = {"conversation": chat_id, "kind": "groupChat"}
    teams.say(
        SAM, f'action {PRIYA.at()} to "visit the family" by 15/1/2027', mentions=(PRIYA,), **group
    )
    card = last_card(connector, chat_id, "Done")
    graph.refuse_removals = 5
    teams.say(SAM, f"remove {JO.at()}", mentions=(JO,), **group)
    posted = len(connector.to(chat_id))
    connector.fail = [(403, {})]  # Priya's 1:1 chat refuses the answer
    teams.click(PRIYA, card, "Done", **group)
    assert connector.attempts and connector.fail == []
    assert len(connector.to(chat_id)) == posted


def test_removing_someone_the_chats_roster_does_not_list_holds_nothing(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph
) -> None:
    chat_id = start_group(teams, connector, graph)
    group = {"conversation": chat_id, "kind": "groupChat"}
    sent = teams.say(SAM, f"add {ALEX.at()} gp", mentions=(ALEX,), **group)
    assert "I couldn't add Alex Kerr" in joined(only(sent, SAM.dm))  # never in the chat
    posted = len(connector.to(chat_id))
    sent = teams.say(SAM, f"remove {ALEX.at()}", mentions=(ALEX,), **group)
    told = joined(only(sent, SAM.dm))
    assert "couldn't" not in told and "still" not in told
    assert "Alex Kerr has left the core group" in connector.to(chat_id)[posted].text()
