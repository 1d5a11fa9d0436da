"""Fixtures: the fake Slack Web API, and the real app in HTTP mode on an ephemeral port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from bot.adapters.slack import SlackRuntime, build_slack_runtime, slack_routes
from bot.adapters.slack_outbox import Pacer
from bot.adapters.web import WebServer, build_web_app
from bot.clock import FakeClock
from bot.config import Settings
from storage.enums import Platform
from tests.factories import in_team
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.signing import SIGNING_SECRET, SlackClient

# The people of journey 1, as Slack users.
KEY_WORKER = "U0KEYWORK"
PARENT = "U0PARENT1"
SCHOOL = "U0SCHOOL1"
HEALTH = "U0HEALTH1"
GP = "U0GPDOC01"
POLICE = "U0POLICE1"
PEOPLE = {
    KEY_WORKER: "Sam Okafor",
    PARENT: "Jo Parent",
    SCHOOL: "Alex School",
    HEALTH: "Kim Health",
    GP: "Dr Lee",
    POLICE: "Pat Police",
}


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fake Slack Web API with journey 1's people; every call must match Slack's spec."""
    fake = FakeSlack().start()
    for user_id, name in PEOPLE.items():
        fake.add_user(user_id, name)
    yield fake
    fake.stop()
    assert fake.problems == [], "calls that break Slack's spec or Block Kit limits"


@pytest.fixture
def slack_settings(fake_slack: FakeSlack) -> Settings:
    """Settings for HTTP mode against the fake Web API."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token=None,
        slack_api_url=fake_slack.api_url,
        port=0,
    )


@dataclass
class RunningApp:
    """The app under test: its runtime, its server and a client playing Slack."""

    runtime: SlackRuntime
    server: WebServer
    slack: SlackClient
    fake: FakeSlack


@pytest.fixture
def slack_app(
    engine: Engine, clock: FakeClock, fake_slack: FakeSlack, slack_settings: Settings
) -> Iterator[RunningApp]:
    """The real Slack app in HTTP mode on 127.0.0.1 and an ephemeral port, on a fresh database.

    The key worker is in a social-work team (as `coregroup team` puts him): he may start groups."""
    in_team(engine, clock, platform=Platform.SLACK, user_id=KEY_WORKER, name=PEOPLE[KEY_WORKER])
    runtime = build_slack_runtime(slack_settings, engine, clock, pacer=Pacer(0.0))
    server = WebServer(
        build_web_app(engine, slack_routes(runtime.app), ready=runtime.ready),
        host="127.0.0.1",
        port=0,
    ).start()
    yield RunningApp(runtime, server, SlackClient(server.url, fake_slack), fake_slack)
    server.stop()
    runtime.close()  # finish the work in hand before the database goes away
