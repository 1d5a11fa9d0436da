"""A journey over Slack's wire at LOG_LEVEL=DEBUG and LOG_FORMAT=json writes JSON lines with no
token, secret, person's name, email, child's initials or anything a user typed (the fake Web API
sees all of those, so the journey really carried them)."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.clock import FakeClock
from bot.config import Settings
from bot.housekeeping import run_housekeeping
from bot.logs import configure_logging
from storage.enums import Platform
from tests.slack.conftest import KEY_WORKER, PARENT, PEOPLE, SCHOOL, RunningApp
from tests.slack.fake_slack import BOT_TOKEN
from tests.slack.signing import SIGNING_SECRET

TYPED = ("Zanzibar-heater", "Quillfeather club", "worried about Marmaduke")
EMAIL = "george.elm@example.org"
INITIALS = "QX"


def forbidden() -> list[str]:
    """Everything that must never reach a log line."""
    names = [part for name in PEOPLE.values() for part in (name, *name.split()) if len(part) > 3]
    secrets = [BOT_TOKEN, SIGNING_SECRET, os.environ["DATA_KEY"], "xoxb-", "xapp-", "Bearer "]
    return [*TYPED, EMAIL, f"initials {INITIALS}", *names, *secrets]


def test_a_slack_journey_at_debug_logs_no_personal_data_or_secrets(
    slack_app: RunningApp,
    slack_settings: Settings,
    engine: Engine,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("DEBUG", "json")
    fake, slack = slack_app.fake, slack_app.slack
    slack.slash_command(f"new CP-2026-0142 icpc 18/12/2026 initials {INITIALS}", user_id=KEY_WORKER)
    fake.wait_calls("pins.add")
    name = fake.calls_to("conversations.create")[-1].args["name"]
    channel = next(c for c in fake.channels.values() if c.name == name)

    def run(text: str, wait: str) -> None:
        already = len(fake.calls_to(wait)) if wait != "respond" else len(fake.responses)
        slack.slash_command(text, user_id=KEY_WORKER, channel_id=channel.id)
        if wait == "respond":
            fake.wait_responses(already + 1)
        else:
            fake.wait_calls(wait, already + 1)

    run(f"add <@{PARENT}|jo> parent", "conversations.open")
    run(f"add <@{SCHOOL}|alex> school", "conversations.open")
    run(f'outcome add "The home is warm, with no {TYPED[0]}"', "respond")
    run(f"action <@{SCHOOL}|alex> to set up a {TYPED[1]} place by 15/1/2027", "respond")
    run(f"nonsense {EMAIL}", "respond")
    posts = len(fake.calls_to("chat.postMessage"))
    fake.fail("chat.postMessage", "internal_error")  # refused: logged
    slack.dm(TYPED[2], user_id=PARENT)
    fake.wait_calls("chat.postMessage", posts + 1)
    posts += 1
    slack.dm(TYPED[2], user_id=PARENT)
    fake.wait_calls("chat.postMessage", posts + 1)
    run("close confirm plan ended", "conversations.setTopic")
    slack_app.runtime.work.close()  # everything in hand has been logged
    # Seven months on, the daily job deletes the group's messages (one refused) and archives.
    fake.fail("chat.delete", "cant_delete_message")
    clock.set(datetime(2027, 7, 1, 9, 0, tzinfo=UTC))
    daily = slack_settings.model_copy(
        update={"audit_key": base64.b64encode(b"k" * 32).decode(), "documents_dir": tmp_path}
    )
    erasers = {Platform.SLACK: slack_app.runtime.outbox}
    run_housekeeping(engine=engine, clock=clock, settings=daily, erasers=erasers)
    assert fake.calls_to("chat.delete")

    wire = " ".join(str(c.args) for c in [*fake.calls, *fake.responses])
    assert TYPED[0] in wire and TYPED[1] in wire and PEOPLE[SCHOOL] in wire  # really carried
    lines = capsys.readouterr().err.splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert entries and any(e["request_id"] != "-" for e in entries)
    assert any(e["level"] in ("WARNING", "ERROR") for e in entries)  # the refusal was logged
    for line in lines:
        for word in forbidden():
            assert word not in line, (word, line)
