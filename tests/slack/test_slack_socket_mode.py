"""Socket Mode end to end: the app connects as Slack's SDK does (apps.connections.open on the fake
Web API → a local WebSocket server speaking the envelope protocol), acks every envelope, does the
work, and reconnects when Slack says `disconnect`. Replies reach the fake Web API."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.adapters.slack import SlackRuntime, build_slack_runtime, connect_socket_mode
from bot.adapters.slack_outbox import Pacer
from bot.clock import FakeClock
from bot.config import Settings
from bot.render.blockkit import ASK_SUFFIX
from tests.slack.conftest import KEY_WORKER, PARENT
from tests.slack.fake_slack import APP_TOKEN, BOT_TOKEN, BOT_USER_ID, TEAM_ID, FakeSlack, shown
from tests.slack.socket_server import FakeSocketMode


@dataclass
class SocketApp:
    runtime: SlackRuntime
    server: FakeSocketMode
    fake: FakeSlack


@pytest.fixture
def socket_app(engine: Engine, clock: FakeClock, fake_slack: FakeSlack) -> Iterator[SocketApp]:
    """The real app in Socket Mode (no signing secret, no HTTP route) against the local server."""
    server = FakeSocketMode().start()
    fake_slack.socket_url = server.url
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_signing_secret=None,
        slack_api_url=fake_slack.api_url,
        port=0,
    )
    runtime = build_slack_runtime(settings, engine, clock, pacer=Pacer(0.0))
    socket = connect_socket_mode(runtime, settings)
    try:
        server.wait_for(lambda: server.connections == 1)
        yield SocketApp(runtime, server, fake_slack)
    finally:
        socket.close()
        server.stop()
        runtime.close()


def slash(fake: FakeSlack, text: str, user_id: str = KEY_WORKER) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": TEAM_ID,
        "team_domain": "council",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": "/coregroup",
        "text": text,
        "api_app_id": "A0COREGROUP",
        "is_enterprise_install": "false",
        "response_url": fake.response_url(),
        "trigger_id": f"1.{TEAM_ID}.{uuid.uuid4().hex[:16]}",
    }


def asking_click(fake: FakeSlack) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": KEY_WORKER, "username": "sam", "team_id": TEAM_ID},
        "api_app_id": "A0COREGROUP",
        "token": "legacy",
        "container": {
            "type": "message",
            "message_ts": "1790000010.000100",
            "channel_id": "C0GROUP01",
            "is_ephemeral": False,
        },
        "trigger_id": f"2.{TEAM_ID}.{uuid.uuid4().hex[:16]}",
        "team": {"id": TEAM_ID, "domain": "council"},
        "channel": {"id": "C0GROUP01", "name": "privategroup"},
        "response_url": fake.response_url(),
        "actions": [
            {
                "action_id": f"action.cannot#0{ASK_SUFFIX}",
                "block_id": "b1",
                "type": "button",
                "value": json.dumps({"value": "17", "ask": "What's stopping it?"}),
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def dm_event(text: str, user_id: str = PARENT) -> dict[str, Any]:
    ts = f"{time.time():.6f}"
    return {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A0COREGROUP",
        "event": {
            "type": "message",
            "channel": "D" + user_id[1:],
            "user": user_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im",
        },
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "enterprise_id": None}
        ],
    }


def test_commands_clicks_and_messages_over_socket_mode_then_a_reconnect(
    socket_app: SocketApp,
) -> None:
    fake, server = socket_app.fake, socket_app.server
    [opened] = fake.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN

    command = server.envelope("slash_commands", slash(fake, "help"))
    click = server.envelope("interactive", asking_click(fake))
    event = server.envelope("events_api", dm_event("hello"), retry_attempt=0, retry_reason="")

    server.wait_for(lambda: {command, click, event} <= set(server.acks))
    [reply] = fake.wait_responses()
    assert "Core group assistant" in shown(reply.args)
    [modal] = fake.wait_calls("views.open")
    assert "What's stopping it?" in shown(modal.args["view"])
    [post] = fake.wait_calls("chat.postMessage")
    assert post.args["channel"] == "D" + PARENT[1:]

    # Slack asks for a reconnect: the app opens a new connection and carries on there.
    server.disconnect()
    server.wait_for(lambda: server.connections == 2)
    assert len(fake.calls_to("apps.connections.open")) == 2
    again = server.envelope("slash_commands", slash(fake, "help"))
    server.wait_for(lambda: again in server.acks)
    fake.wait_responses(2)


def test_a_retried_event_over_socket_mode_has_one_effect(
    socket_app: SocketApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.adapters.slack")
    fake, server = socket_app.fake, socket_app.server
    body = dm_event("hello")
    first = server.envelope("events_api", body, retry_attempt=0, retry_reason="")
    retry = server.envelope("events_api", body, retry_attempt=1, retry_reason="timeout")
    server.wait_for(lambda: {first, retry} <= set(server.acks))
    fake.wait_calls("chat.postMessage")
    fake.wait_for(lambda: "dropped a repeated delivery" in caplog.text)
    assert len(fake.calls_to("chat.postMessage")) == 1
