"""End to end through the Microsoft 365 Agents Playground (npm @microsoft/m365agentsplayground),
the Teams client emulator, with the bot in its anonymous development mode.

The Playground is driven over its own HTTP API: `POST /_conversation/v1/conversations/{id}/messages`
sends what a user types (with mention entities), `POST /_conversation/v1/submit` presses a card's
button, `GET /_internal/v1/config` names its users and chats. What the bot sent is read from the
Playground's log file (M365_AGENTS_PLAYGROUND_LOGFILE): each Bot Connector call the bot made, with
the activity and the id the Playground gave it. The Playground does not surface another user's 1:1
chat, so those conversations' ids are read from the bot's database (where the bot keeps them).

Skipped, with the reason, when the Playground or Node.js is not installed (`.ci/run` installs it
into its work folder; by hand: `npm install --prefix .cache/playground
@microsoft/m365agentsplayground@0.2.28`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.adapters.teams import TeamsRuntime, TeamsSettings, build_teams_runtime, teams_routes
from bot.adapters.web import WebServer, build_web_app
from bot.clock import FakeClock
from bot.config import Settings
from bot.distribution import Distributor
from storage.enums import MinutesStatus, Platform
from storage.models import ChatIdentity, Minutes, UpdateAnswer
from tests.factories import in_team
from tests.teams.conftest import submit_data, titles, unescape

ROOT = Path(__file__).resolve().parents[2]
LONDON = ZoneInfo("Europe/London")
REF = "CP-2026-0142"
WAIT = 60.0  # seconds: the Playground answers in milliseconds; this only bounds a hang


def _playground() -> str | None:
    found = os.environ.get("AGENTS_PLAYGROUND") or str(
        ROOT / ".cache" / "playground" / "node_modules" / ".bin" / "agentsplayground"
    )
    return found if Path(found).exists() and shutil.which("node") else None


PLAYGROUND = _playground()
pytestmark = pytest.mark.skipif(
    PLAYGROUND is None,
    reason="the Agents Playground is not installed (npm install --prefix .cache/playground "
    "@microsoft/m365agentsplayground@0.2.28, or set AGENTS_PLAYGROUND); .ci/run installs it",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BotMessage:
    """One message the bot sent (or replaced), as the Playground logged it."""

    id: str
    activity: dict[str, Any]
    method: str

    def card(self) -> dict[str, Any]:
        (attachment,) = self.activity["attachments"]
        return attachment["content"]

    def text(self) -> str:
        lines: list[str] = []
        _texts(self.card(), lines)
        return "\n".join(lines)


def _texts(node: Any, lines: list[str]) -> None:
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            lines.append(unescape(node["text"]).replace("**", ""))
        for fact in node.get("facts", []):
            lines.append(f"{unescape(fact['title'])}: {unescape(fact['value'])}")
        for value in node.values():
            _texts(value, lines)
    elif isinstance(node, list):
        for item in node:
            _texts(item, lines)


class Playground:
    """The running Playground: send as a user, press buttons, read what the bot sent."""

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log
        self.config = requests.get(f"{url}/_internal/v1/config", timeout=10).json()["config"]
        self.bot_id = self.config["bot"]["id"]
        self.me = self.config["currentUser"]
        self.users = {u["name"]: u for u in [self.me, *self.config["users"]]}
        self.personal = self.config["personalChat"]["id"]
        self.group_chat = self.config["groupChats"][0]["id"]

    def entries(self) -> list[dict[str, Any]]:
        """Every JSON entry of the log, oldest first."""
        found = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            start = line.find("{")
            if start < 0:
                continue
            try:
                found.append(json.loads(line[start:]))
            except ValueError:
                continue
        return found

    def bot_messages(self) -> list[BotMessage]:
        """What the bot sent to the Playground's Bot Connector, oldest first."""
        sent = []
        for entry in self.entries():
            log = entry.get("log") or {}
            body = (log.get("request") or {}).get("body")
            if log.get("from") != "User Application" or not isinstance(body, dict):
                continue
            answer = (log.get("response") or {}).get("body") or {}
            message_id = str(answer.get("id") or log.get("messageId") or "")
            if body.get("type") == "message" and body.get("attachments"):
                sent.append(BotMessage(message_id, body, "PUT" if "id" in body else "POST"))
        return sent

    def _handled(self) -> int:
        return sum(
            1
            for e in self.entries()
            if (e.get("log") or {}).get("to") == "User Application"
            and (e.get("log") or {}).get("response")
        )

    def _until_handled(self, before: int) -> list[BotMessage]:
        sent = len(self.bot_messages())
        deadline = time.monotonic() + WAIT
        while self._handled() <= before:
            if time.monotonic() > deadline:
                raise AssertionError("the bot did not answer the Playground in time")
            time.sleep(0.05)
        return self.bot_messages()[sent:]

    def say(
        self, user: str, conversation: str, text: str, *, mentions: tuple[str, ...] = ()
    ) -> list[BotMessage]:
        """`user` types `text` (`@Name` in `mentions` become mention entities); what came back."""
        before, sent = self._handled(), len(self.bot_messages())
        entities = []
        for name in mentions:
            account = self.bot_id if name == "bot" else self.users[name]["id"]
            label = self.config["bot"]["name"] if name == "bot" else name
            entities.append({"mentioned": {"id": account}, "text": f"<at>{label}</at>"})
        body = {
            "from": {"id": self.users[user]["id"]},
            "text": text,
            "textFormat": "plain",
            "mentions": entities,
        }
        answer = requests.post(
            f"{self.url}/_conversation/v1/conversations/{conversation}/messages",
            json=body,
            timeout=WAIT,
        )
        assert answer.status_code == 200, answer.text
        self._until_handled(before)
        return self.bot_messages()[sent:]

    def in_group(self, user: str, command: str, *mentions: str) -> list[BotMessage]:
        """`user` addresses the bot in the group chat: `@Test Bot <command>`."""
        bot = self.config["bot"]["name"]
        return self.say(
            user, self.group_chat, f"<at>{bot}</at> {command}", mentions=("bot", *mentions)
        )

    def click(
        self, user: str, conversation: str, message: BotMessage, title: str
    ) -> list[BotMessage]:
        """`user` presses the button `title` on a card the bot sent."""
        before, sent = self._handled(), len(self.bot_messages())
        body = {
            "conversation": {"id": conversation},
            "from": {"id": self.users[user]["id"]},
            "replyToId": message.id,
            "value": submit_data(message.card(), title, None),
        }
        answer = requests.post(f"{self.url}/_conversation/v1/submit", json=body, timeout=WAIT)
        assert answer.status_code == 200, answer.text
        self._until_handled(before)
        return self.bot_messages()[sent:]


def joined(messages: list[BotMessage]) -> str:
    return "\n".join(m.text() for m in messages)


@pytest.fixture
def playground(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> Iterator[tuple[Playground, Engine, TeamsRuntime]]:
    """The bot (anonymous mode, fake clock) on 127.0.0.1, and the Playground in front of it."""
    runtime = build_teams_runtime(
        Settings(), engine, clock, TeamsSettings(teams_anonymous_dev=True)
    )
    server = WebServer(build_web_app(engine, teams_routes(runtime.bot)), host="127.0.0.1").start()
    port, log = _free_port(), tmp_path / "playground.log"
    env = {
        **os.environ,
        "TEAMSAPPTESTER_BROWSER": "none",  # no browser to open
        "M365_AGENTS_PLAYGROUND_LOGFILE": str(log),
    }
    assert PLAYGROUND is not None
    process = subprocess.Popen(
        [PLAYGROUND, "start", "-e", f"{server.url}/api/messages", "-c", "msteams", "-p", str(port)]
        + ["--dt"],  # no telemetry: the machine has no network
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Listening on "), first
        # The Playground connects to the bot on its first request (here: reading its config).
        client = Playground(f"http://127.0.0.1:{int(first.split()[-1])}", log)
        deadline = time.monotonic() + WAIT
        while "Connected." not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "the Playground never reached the bot"
            time.sleep(0.05)
        yield client, engine, runtime
    finally:
        process.terminate()
        process.wait(timeout=30)
        server.stop()
        runtime.close()


def _dm_of(engine: Engine, user_id: str) -> str:
    with Session(engine) as s:
        ident = s.exec(
            select(ChatIdentity).where(
                ChatIdentity.platform == Platform.TEAMS, ChatIdentity.user_id == user_id
            )
        ).one()
        assert ident.dm_channel_id
        return ident.dm_channel_id


def test_the_journey_through_the_agents_playground(
    playground: tuple[Playground, Engine, TeamsRuntime], clock: FakeClock
) -> None:
    pg, engine, runtime = playground
    clock.set(datetime(2026, 12, 18, 15, 0, tzinfo=LONDON))
    chair, megan, adele = pg.me["name"], "Megan Bowen", "Adele Vance"

    # Help in the 1:1 chat: hints say how to address the bot in Teams, no backticks, and <date>
    # placeholders survive.
    shown = joined(pg.say(chair, pg.personal, "help"))
    assert "@Core Group Bot status" in shown and "`" not in shown
    assert "/coregroup" not in shown and "<date>" in shown

    # A new group from the group chat: the private answer goes to the 1:1, and the group chat is
    # told where it went (it also stands in for the group's space in this mode).
    # Only social workers in a team may start a group: the chair is put in one first, as
    # `coregroup team` would.
    in_team(engine, clock, platform=Platform.TEAMS, user_id=pg.me["id"], name=chair)
    sent = pg.in_group(chair, f"new {REF} icpc 18/12/2026")
    assert f"Core group started for {REF}" in joined(sent)
    assert "I've answered you in our 1:1 chat" in joined(sent)

    # Members added by mention, names with spaces and the Playground's own user ids.
    pg.in_group(chair, f'add <at>{megan}</at> school agency "Oak Primary"', megan)
    sent = pg.in_group(chair, f"add <at>{adele}</at> gp", adele)
    assert "I don't know the role" not in joined(sent)
    members = joined(pg.in_group(chair, "members"))
    assert megan in members and adele in members

    # An action for Megan: its card goes to the group chat and to her 1:1 chat.
    pg.in_group(chair, 'outcome add "Mia attends school every day"')
    sent = pg.in_group(
        chair,
        f'action <at>{megan}</at> to "make a referral to the school nurse" by 15/1/2027 outcome 1',
        megan,
    )
    cards = [m for m in sent if "Done" in titles(m.card())]
    assert len(cards) == 2, joined(sent)
    megan_dm = _dm_of(engine, pg.users[megan]["id"])
    # Megan clicks Done in her 1:1 chat: both copies are replaced, no live buttons left.
    mine = next(c for c in cards if c.id in _copies_in(engine, megan_dm))
    updated = [m for m in pg.click(megan, megan_dm, mine, "Done") if m.method == "PUT"]
    assert {m.id for m in updated} == {c.id for c in cards}
    for card in updated:
        assert "Status: Done — by Megan Bowen" in card.text()
        assert "Done" not in titles(card.card())

    # The update conversation: a meeting, then the chair asks; Megan answers in her 1:1 chat.
    pg.in_group(chair, 'schedule 6/1/2027 2pm at "Family Centre"')
    clock.set(datetime(2026, 12, 31, 10, 0, tzinfo=LONDON))
    asked = pg.say(chair, pg.personal, "updates")
    assert asked
    pg.say(megan, megan_dm, "Mia is settled and her attendance is up")
    with Session(engine) as s:
        answers = [a.answer for a in s.exec(select(UpdateAnswer)).all()]
    assert "Mia is settled and her attendance is up" in answers

    # Draft → approve (Megan, one click in the group chat) → publish, copies to every member.
    clock.set(datetime(2027, 1, 6, 16, 30, tzinfo=LONDON))
    sent = pg.in_group(chair, "draft")
    draft = next(m for m in reversed(sent) if "Approve" in titles(m.card()))
    assert f"Draft minutes — {REF}" in draft.text()
    approved = pg.click(megan, pg.group_chat, draft, "Approve")
    assert "They can now be published" in joined(approved)
    assert "Published version 1." in joined(pg.in_group(chair, "publish"))
    # The copies go out from the distribution sender (the scheduler runs it every few seconds).
    before = len(pg.bot_messages())
    Distributor(
        engine=engine,
        clock=clock,
        outboxes={Platform.TEAMS: runtime.outbox},
        locale=runtime.dispatcher.locale,
    ).run_pending()
    published = pg.bot_messages()[before:]
    assert sum(f"Minutes — {REF}" in m.text() for m in published) >= 3
    with Session(engine) as s:
        assert s.exec(select(Minutes)).one().status == MinutesStatus.PUBLISHED
    for message in pg.bot_messages():  # previews carry only the case and the kind
        assert megan not in message.activity.get("summary", "")
        assert "Mia" not in message.activity.get("summary", "")


def _copies_in(engine: Engine, conversation: str) -> set[str]:
    from storage.models import CardCopy

    with Session(engine) as s:
        rows = s.exec(select(CardCopy).where(CardCopy.place == conversation)).all()
        return {r.message_id for r in rows}
