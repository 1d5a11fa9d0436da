"""The real Slack app on worker processes: a worker killed while it runs a command is replaced,
the person is told their command may not have been done (it is not run again blindly), and the
next command is answered by the replacement."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bot.adapters.slack import INTERRUPTED, build_slack_runtime, slack_routes
from bot.adapters.slack_work import ProcessWork
from bot.adapters.web import WebServer, build_web_app
from bot.clock import FakeClock
from bot.config import Settings
from tests.slack.conftest import KEY_WORKER, RunningApp
from tests.slack.fake_slack import FakeSlack, shown
from tests.slack.signing import SlackClient


@pytest.fixture
def process_app(
    engine: Engine,
    clock: FakeClock,
    fake_slack: FakeSlack,
    slack_settings: Settings,
    database_url: str,
) -> Iterator[RunningApp]:
    """The Slack app with one worker process of one thread, on this test's database."""
    settings = slack_settings.model_copy(update={"database_url": database_url})
    runtime = build_slack_runtime(settings, engine, clock, processes=1)
    server = WebServer(
        build_web_app(engine, slack_routes(runtime.app), ready=runtime.ready), host="127.0.0.1"
    ).start()
    yield RunningApp(runtime, server, SlackClient(server.url, fake_slack), fake_slack)
    fake_slack.release()
    server.stop()
    runtime.close()


def _until(check: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_command_interrupted_by_a_dead_worker_is_reported_not_rerun(
    process_app: RunningApp,
) -> None:
    work = process_app.runtime.work
    assert isinstance(work, ProcessWork)
    _until(work.ready)
    process_app.fake.hold("users.info", after=0)  # the command is in flight in the worker
    process_app.slack.slash_command("help", user_id=KEY_WORKER)
    _until(lambda: process_app.fake.held == 1)
    os.kill(work.pids()[0], signal.SIGKILL)

    [told] = process_app.fake.wait_responses(timeout=30)
    assert INTERRUPTED in shown(told.args)
    process_app.fake.release()
    _until(lambda: work.replaced == 1 and work.ready())
    _, again = process_app.slack.slash_command("help", user_id=KEY_WORKER)
    answers = process_app.fake.wait_responses(2, timeout=60)
    assert answers[1].args["url"].endswith(again.rsplit("/", 1)[1])
    assert len(process_app.fake.responses) == 2  # the interrupted command never ran again
