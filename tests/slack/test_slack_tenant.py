"""Requests from another workspace are refused, and a replayed signed request runs once."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.adapters.slack import build_slack_runtime, slack_routes
from bot.adapters.slack_outbox import Pacer
from bot.adapters.web import WebServer, build_web_app
from bot.clock import FakeClock
from bot.config import Settings
from storage.models import Action, ProcessedEvent
from tests.slack.conftest import KEY_WORKER, PARENT, SCHOOL, RunningApp
from tests.slack.fake_slack import FakeSlack
from tests.slack.signing import SlackClient
from tests.slack.test_slack_journeys import button, card_with, run, start_group

OTHER = "T0OTHERWS"
SENTINEL = "Jamie Smith"
REFUSED = "This app is installed for another workspace"


def test_a_command_from_another_workspace_is_refused_and_not_run(
    slack_app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    answer, _ = slack_app.slack.slash_command(
        f"action @jo to see {SENTINEL}", user_id=KEY_WORKER, team_id=OTHER
    )
    assert answer.status == 200
    assert REFUSED in answer.json()["text"]
    assert answer.json()["response_type"] == "ephemeral"
    slack_app.slack.slash_command("help", user_id=KEY_WORKER)  # the next, ours, is answered
    slack_app.fake.wait_responses()
    assert len(slack_app.fake.responses) == 1
    assert f"workspace {OTHER}" in caplog.text
    assert SENTINEL not in caplog.text


def test_an_event_from_another_workspace_is_ignored(
    slack_app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    answer, _ = slack_app.slack.dm(f"about {SENTINEL}", user_id=PARENT, team_id=OTHER)
    assert answer.status == 200
    slack_app.slack.dm("hello", user_id=PARENT)
    slack_app.fake.wait_calls("chat.postMessage")
    assert len(slack_app.fake.calls_to("chat.postMessage")) == 1
    assert SENTINEL not in caplog.text


def test_a_replayed_command_creates_one_action_and_one_reply(slack_app: RunningApp) -> None:
    channel = start_group(slack_app)
    run(slack_app, f"add <@{SCHOOL}|alex> school", channel, wait="conversations.open")
    run(slack_app, 'outcome add "The children attend school every day"', channel, wait="respond")
    already = len(slack_app.fake.responses)
    run(
        slack_app,
        f'action <@{SCHOOL}|alex> to "check attendance daily" by 15/1/2027',
        channel,
        wait="respond",
    )
    replay = slack_app.slack.replay()  # the same signed bytes, well inside the 5 minutes
    assert replay.status == 200 and replay.body == ""
    slack_app.slack.slash_command("help", user_id=KEY_WORKER, channel_id=channel.id)
    slack_app.fake.wait_responses(already + 2)  # the action's reply, then help's: no third
    assert len(slack_app.fake.responses) == already + 2
    with Session(slack_app.runtime.dispatcher.engine) as session:
        assert len(session.exec(select(Action)).all()) == 1


def test_a_replayed_click_runs_once(slack_app: RunningApp) -> None:
    channel = start_group(slack_app)
    run(slack_app, f"add <@{SCHOOL}|alex> school", channel, wait="conversations.open")
    run(slack_app, 'outcome add "The children attend school every day"', channel, wait="respond")
    run(
        slack_app, f'action <@{SCHOOL}|alex> to "check daily" by 15/1/2027', channel, wait="respond"
    )
    card = card_with(slack_app, channel, "action.done")
    done = button(card, "action.done")
    slack_app.slack.block_action(
        user_id=SCHOOL,
        action_id=done["action_id"],
        value=done["value"],
        channel_id=channel.id,
        message_ts=card["ts"],
    )
    assert slack_app.slack.replay().status == 200
    slack_app.fake.wait_calls("chat.update", 2)  # the card and its copy in Alex's DM
    already = len(slack_app.fake.responses)
    slack_app.slack.slash_command("help", user_id=KEY_WORKER)  # queued after the replay
    slack_app.fake.wait_responses(already + 1)
    assert len(slack_app.fake.calls_to("chat.update")) == 2
    with Session(slack_app.runtime.dispatcher.engine) as session:
        keys = session.exec(select(ProcessedEvent.key)).all()
    assert len([key for key in keys if key.startswith("trigger:")]) == len(set(keys))


@pytest.fixture
def grid_app(
    engine: Engine, clock: FakeClock, fake_slack: FakeSlack, slack_settings: Settings
) -> Iterator[SlackClient]:
    """The app installed for an Enterprise Grid org by SLACK_TEAM_ID (which wins over auth.test)."""
    settings = slack_settings.model_copy(update={"slack_team_id": "E0COUNCIL"})
    runtime = build_slack_runtime(settings, engine, clock, pacer=Pacer(0.0))
    server = WebServer(build_web_app(engine, slack_routes(runtime.app)), port=0).start()
    yield SlackClient(server.url, fake_slack)
    server.stop()
    runtime.close()


def test_enterprise_grid_checks_the_enterprise_id(
    grid_app: SlackClient, fake_slack: FakeSlack
) -> None:
    ours, _ = grid_app.slash_command(
        "help", user_id=KEY_WORKER, team_id=OTHER, enterprise_id="E0COUNCIL"
    )
    theirs, _ = grid_app.slash_command("help", user_id=KEY_WORKER, enterprise_id="E0ELSEWHERE")
    assert ours.body == "" and REFUSED in theirs.json()["text"]
    fake_slack.wait_responses()
    assert len(fake_slack.responses) == 1


@pytest.mark.parametrize("value", ["t0lower", "X0COUNCIL", "T0 SPACE", "T"])
def test_a_slack_team_id_that_is_not_one_is_a_config_error(value: str) -> None:
    with pytest.raises(ValidationError, match="SLACK_TEAM_ID|Slack team id"):
        Settings(_env_file=None, slack_team_id=value)  # type: ignore[call-arg]
