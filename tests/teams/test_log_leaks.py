"""A journey over the Bot Connector's wire at LOG_LEVEL=DEBUG and LOG_FORMAT=json writes JSON
lines with no token, secret (the app password, DATA_KEY), person's name, email, child's initials
or anything a user typed."""

from __future__ import annotations

import json
import os

import pytest

from bot.logs import configure_logging
from tests.teams.conftest import (
    APP_SECRET,
    GENERAL,
    PRIYA,
    SAM,
    FakeConnector,
    FakeGraph,
    TeamsDriver,
    titles,
)

REF = "CP-2026-0142"
TYPED = ("Zanzibar-heater", "Quillfeather club", "worried about Marmaduke")
EMAIL = "george.elm@example.org"
INITIALS = "QX"


def test_a_teams_journey_at_debug_logs_no_personal_data_or_secrets(
    teams: TeamsDriver,
    connector: FakeConnector,
    graph: FakeGraph,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("DEBUG", "json")
    connector.roster[PRIYA.id] = {"id": PRIYA.id, "name": PRIYA.name, "aadObjectId": PRIYA.aad}
    teams.say(
        SAM, f"new {REF} icpc 18/12/2026 initials {INITIALS}", conversation=GENERAL, kind="channel"
    )
    teams.say(
        SAM,
        f'add {REF} {PRIYA.at()} school agency "Oak Primary"',
        conversation=GENERAL,
        kind="channel",
        mentions=(PRIYA,),
    )
    (chat,) = graph.chats
    group = {"conversation": chat, "kind": "groupChat"}
    teams.say(SAM, f'outcome add "The home is warm, with no {TYPED[0]}"', **group)
    teams.say(
        SAM,
        f"action {PRIYA.at()} to set up a {TYPED[1]} place by 15/1/2027",
        mentions=(PRIYA,),
        **group,
    )
    teams.say(SAM, f"nonsense {EMAIL}", **group)
    connector.fail = [(429, {"Retry-After": "0"}), (403, {})]  # retried, then refused: logged
    teams.say(PRIYA, TYPED[2])
    teams.say(PRIYA, TYPED[2])
    sent = teams.say(SAM, "close the plan ended", **group)
    confirm = next(s for s in reversed(sent) if s.conversation == SAM.dm)
    teams.click(SAM, confirm, titles(confirm.card())[0])
    assert graph.chats[chat]["topic"].endswith("(closed)")  # the journey really ran
    wire = " ".join(str(s.activity) for s in connector.sent)
    assert TYPED[0] in wire and TYPED[1] in wire and PRIYA.name in wire

    lines = capsys.readouterr().err.splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert entries and any(e["request_id"] != "-" for e in entries)
    assert any(e["level"] in ("WARNING", "ERROR") for e in entries)  # the refusal was logged
    names = [part for who in (SAM, PRIYA) for part in (who.name, *who.name.split())]
    # The Bot Connector's access tokens, the inbound JWTs ("eyJ…"), the app password, DATA_KEY.
    tokens = [*connector.tokens, "Bearer ", "eyJ", APP_SECRET, os.environ["DATA_KEY"]]
    for line in lines:
        for word in [*TYPED, EMAIL, f"initials {INITIALS}", *names, *tokens]:
            assert word not in line, (word, line)
