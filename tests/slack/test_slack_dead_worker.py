"""The real Slack app on worker processes: a worker killed while it runs a command is replaced,
the person is told their command may not have been done (it is not run again blindly), and the
next command is answered by the replacement."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

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


def _command(app: RunningApp) -> None:
    app.slack.slash_command("help", user_id=KEY_WORKER)


def _click(app: RunningApp) -> None:
    app.slack.block_action(
        user_id=KEY_WORKER,
        action_id="action.done",
        value="1",
        channel_id="C0GENERAL",
        message_ts="1700000000.000100",
    )


def _dm(app: RunningApp) -> None:
    app.slack.dm("my update: all done", user_id=KEY_WORKER)


def _notices(app: RunningApp) -> list[str]:
    """What the person was told at a response_url or in their DM."""
    posts = app.fake.calls_to("chat.postMessage")
    return [shown(call.args) for call in [*app.fake.responses, *posts]]


@pytest.mark.parametrize("send", [_command, _click, _dm], ids=["command", "click", "dm"])
def test_work_interrupted_by_a_dead_worker_is_reported_not_rerun(
    process_app: RunningApp, send: Callable[[RunningApp], None]
) -> None:
    work = process_app.runtime.work
    assert isinstance(work, ProcessWork)
    _until(work.ready)
    process_app.fake.hold("users.info", after=0)  # the request is in flight in the worker
    send(process_app)
    _until(lambda: process_app.fake.held == 1)
    os.kill(work.pids()[0], signal.SIGKILL)

    _until(lambda: len(_notices(process_app)) == 1, timeout=30)
    [told] = _notices(process_app)
    assert INTERRUPTED in told
    process_app.fake.release()
    _until(lambda: work.replaced == 1 and work.ready())
    _, again = process_app.slack.slash_command("help", user_id=KEY_WORKER)
    _until(lambda: any(r.args["url"] in again for r in process_app.fake.responses))
    # The interrupted request never ran again: only the notice and the new command's answer.
    assert len(_notices(process_app)) == 2
