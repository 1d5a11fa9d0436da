"""Modals open from the ack path, whatever the work queue holds; `/healthz` waits for the workers.

Slack's trigger_id is good for 3 seconds after the click. A modal that waited behind queued work
would answer `expired_trigger_id` under load, so the app opens it before the work is queued.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.adapters.slack import (
    MODAL_FAILED,
    ModalOpener,
    build_slack_app,
    slack_routes,
)
from bot.adapters.slack_outbox import slack_client
from bot.adapters.slack_work import ProcessWork, Runner, SlackJob
from bot.adapters.web import WebServer, build_web_app
from bot.config import Settings
from bot.render.blockkit import ASK_CALLBACK, ASK_SUFFIX, FORM_CALLBACK
from tests.slack.conftest import KEY_WORKER, RunningApp
from tests.slack.fake_slack import FakeSlack, shown
from tests.slack.signing import SlackClient

ASKING_BUTTON = f"action.cannot#0{ASK_SUFFIX}"
ASKING_VALUE = json.dumps({"value": "17", "ask": "What's stopping it? The chair will be told."})


class Blocked:
    """A work queue that never gets to its jobs: the worst backlog there is."""

    def __init__(self) -> None:
        self.jobs: list[SlackJob] = []

    def submit(self, job: SlackJob) -> None:
        self.jobs.append(job)


@pytest.fixture
def blocked(
    engine: Engine, fake_slack: FakeSlack, slack_settings: Settings
) -> Iterator[tuple[SlackClient, Blocked]]:
    """The real Slack app in HTTP mode whose work queue never moves."""
    work = Blocked()
    client = slack_client(slack_settings)
    modals = ModalOpener(client, work.submit)
    app = build_slack_app(slack_settings, client=client, submit=work.submit, modals=modals)
    server = WebServer(build_web_app(engine, slack_routes(app)), host="127.0.0.1").start()
    yield SlackClient(server.url, fake_slack), work
    server.stop()
    modals.close()


def test_a_button_that_asks_opens_its_modal_while_the_queue_is_stuck(
    blocked: tuple[SlackClient, Blocked], fake_slack: FakeSlack
) -> None:
    slack, work = blocked
    clicked = time.monotonic()
    answer, _ = slack.block_action(
        user_id=KEY_WORKER,
        action_id=ASKING_BUTTON,
        value=ASKING_VALUE,
        channel_id="C0GROUP01",
        message_ts="1790000010.000100",
    )
    assert answer.status == 200

    [opened] = fake_slack.wait_calls("views.open", timeout=3.0)
    assert time.monotonic() - clicked < 3.0, "Slack's trigger_id lasts 3 seconds"
    view = opened.args["view"]
    assert view["callback_id"] == ASK_CALLBACK
    assert "What's stopping it?" in shown(view)
    packed = json.loads(view["private_metadata"])
    assert (packed["a"], packed["v"], packed["c"]) == ("action.cannot", "17", "C0GROUP01")
    assert work.jobs == []  # nothing waited for the queue


def test_a_command_form_opens_while_the_queue_is_stuck(
    blocked: tuple[SlackClient, Blocked], fake_slack: FakeSlack
) -> None:
    slack, work = blocked
    for command in ("new", "action", "schedule"):
        slack.slash_command(command, user_id=KEY_WORKER, channel_id="C0GROUP01")
    opened = fake_slack.wait_calls("views.open", 3, timeout=3.0)
    assert {o.args["view"]["callback_id"] for o in opened} == {FORM_CALLBACK}
    assert work.jobs == []


def test_clicks_and_commands_without_a_modal_still_go_to_the_work(
    blocked: tuple[SlackClient, Blocked], fake_slack: FakeSlack
) -> None:
    slack, work = blocked
    slack.slash_command("help", user_id=KEY_WORKER)
    slack.block_action(
        user_id=KEY_WORKER,
        action_id="action.done#0",
        value="17",
        channel_id="C0GROUP01",
        message_ts="1790000010.000100",
    )
    fake_slack.wait_for(lambda: len(work.jobs) == 2)
    assert [j.kind for j in work.jobs] == ["command", "action"]
    assert fake_slack.calls_to("views.open") == []


def test_when_slack_will_not_open_the_modal_the_person_is_told(slack_app: RunningApp) -> None:
    slack_app.fake.fail("views.open", "expired_trigger_id")
    slack_app.slack.block_action(
        user_id=KEY_WORKER,
        action_id=ASKING_BUTTON,
        value=ASKING_VALUE,
        channel_id="C0GROUP01",
        message_ts="1790000010.000100",
    )
    [told] = slack_app.fake.wait_responses()
    text = shown(told.args)
    assert "couldn't open the question window (expired_trigger_id)" in text
    assert "click the button again" in text


def test_when_a_form_will_not_open_the_command_runs_as_typed(slack_app: RunningApp) -> None:
    slack_app.fake.fail("views.open", "expired_trigger_id")
    slack_app.slack.slash_command("schedule", user_id=KEY_WORKER)
    [told] = slack_app.fake.wait_responses()
    assert "schedule" in shown(told.args)
    assert MODAL_FAILED not in shown(told.args)


# --- readiness ----------------------------------------------------------------------------------


def _runner_once(gate: str) -> Runner:
    """In a worker process: a runner that exists only once the file `gate` does."""
    while not Path(gate).exists():
        time.sleep(0.01)
    return lambda job: None


def test_healthz_says_starting_until_a_worker_can_work(engine: Engine, tmp_path: Path) -> None:
    gate = tmp_path / "workers-may-start"
    factory: Callable[[], Runner] = partial(_runner_once, str(gate))
    work = ProcessWork(factory, processes=2, threads=1)
    server = WebServer(build_web_app(engine, ready=work.ready), host="127.0.0.1").start()
    client = SlackClient(server.url, fake=None)  # type: ignore[arg-type]
    try:
        starting = client.request("GET", "/healthz")
        assert starting.status == 503 and starting.json() == {"status": "starting"}
        gate.touch()
        deadline = time.monotonic() + 60
        while not work.ready() and time.monotonic() < deadline:
            time.sleep(0.05)
        answer = client.request("GET", "/healthz")
        assert answer.status == 200 and answer.json() == {"status": "ok"}
    finally:
        server.stop()
        work.close()
