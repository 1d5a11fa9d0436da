"""Retention over the Bot Connector's wire, on a frozen clock: the daily job deletes the bot's
activities in a group closed longer than the retention period and in its leavers' 1:1 chats;
an open group's, and those of a member who stays, are left; a refusal is retried the next day."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from bot.clock import FakeClock
from bot.config import Settings
from bot.housekeeping import run_housekeeping
from storage.enums import Platform
from tests.teams.conftest import (
    ALEX,
    GENERAL,
    PRIYA,
    SAM,
    FakeConnector,
    FakeGraph,
    TeamsDriver,
    User,
    titles,
)

# The group is closed on the test clock's first day, Mon 23 Nov 2026; six months on:
A_DAY_BEFORE = datetime(2027, 5, 22, 9, 0, tzinfo=UTC)


def start(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph, ref: str, who: User
) -> str:
    """Sam starts a group from a team channel and adds `who`; returns the group chat's id."""
    connector.roster[who.id] = {"id": who.id, "name": who.name, "aadObjectId": who.aad}
    before = set(graph.chats)
    teams.say(SAM, f"new {ref} icpc 18/12/2026", conversation=GENERAL, kind="channel")
    teams.say(
        SAM,
        f'add {ref} {who.at()} school agency "Oak Primary"',
        conversation=GENERAL,
        kind="channel",
        mentions=(who,),
    )
    (chat_id,) = set(graph.chats) - before
    return chat_id


def posted(connector: FakeConnector, conversation: str) -> set[tuple[str, str]]:
    return {(s.conversation, s.activity_id) for s in connector.to(conversation)}


def test_the_daily_job_deletes_exactly_the_closed_groups_activities(
    teams: TeamsDriver,
    connector: FakeConnector,
    graph: FakeGraph,
    engine: Engine,
    clock: FakeClock,
    bot_settings: Settings,
    tmp_path: Path,
) -> None:
    closed = start(teams, connector, graph, "CP-2026-0142", PRIYA)
    teams.say(SAM, "summary", conversation=closed, kind="groupChat")
    sent = teams.say(SAM, "close the plan ended", conversation=closed, kind="groupChat")
    confirm = next(s for s in reversed(sent) if s.conversation == SAM.dm)
    teams.click(SAM, confirm, titles(confirm.card())[0])
    still_open = start(teams, connector, graph, "CP-2026-0143", ALEX)
    gone = posted(connector, closed) | posted(connector, PRIYA.dm)
    kept = posted(connector, still_open) | posted(connector, ALEX.dm) | posted(connector, SAM.dm)
    assert posted(connector, closed) and posted(connector, PRIYA.dm) and kept
    settings = bot_settings.model_copy(
        update={"audit_key": base64.b64encode(b"k" * 32).decode(), "documents_dir": tmp_path}
    )
    erasers = {Platform.TEAMS: teams.runtime.outbox}

    clock.set(A_DAY_BEFORE)
    run_housekeeping(engine=engine, clock=clock, settings=settings, erasers=erasers)
    assert connector.deleted == []

    connector.refuse_deletes = 1
    clock.set(A_DAY_BEFORE + timedelta(days=2))
    run_housekeeping(engine=engine, clock=clock, settings=settings, erasers=erasers)
    assert len(gone - set(connector.deleted)) == 1

    clock.set(A_DAY_BEFORE + timedelta(days=3))
    run_housekeeping(engine=engine, clock=clock, settings=settings, erasers=erasers)
    assert set(connector.deleted) == gone and len(connector.deleted) == len(gone)
    assert not kept & set(connector.deleted)
