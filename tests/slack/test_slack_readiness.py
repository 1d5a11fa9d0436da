"""`GET /readyz` on Slack, through real HTTP: 503 naming what is missing, 200 once it works.

Slack's Web API starts unreachable — nothing listens on the port SLACK_API_URL names — and the
fake Web API is started on that very port later, as a network coming back would.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, create_engine

from bot.adapters.readiness import readiness_routes, slack_readiness
from bot.adapters.web import WebServer, build_web_app
from bot.config import Settings
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.signing import SIGNING_SECRET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_for(port: int, token: str = BOT_TOKEN) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=f"http://127.0.0.1:{port}/api/",
        port=0,
    )


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[WebServer] = []

    def start(settings: Settings, engine: Engine) -> tuple[WebServer, Any]:
        readiness = slack_readiness(settings, engine)
        app = build_web_app(engine, readiness_routes(readiness))
        server = WebServer(app, host="127.0.0.1").start()
        servers.append(server)
        return server, readiness

    yield start
    for server in servers:
        server.stop()


def get(server: WebServer, path: str) -> requests.Response:
    return requests.get(server.url + path, timeout=10)


def assert_no_secrets(text: str) -> None:
    for secret in (BOT_TOKEN, SIGNING_SECRET):
        assert secret not in text


def test_readyz_turns_ready_once_slack_appears(engine: Engine, serve: Any) -> None:
    port = free_port()
    server, _ = serve(settings_for(port), engine)

    down = get(server, "/readyz")
    assert down.status_code == 503
    body = down.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["slack"].startswith("unreachable (")
    assert_no_secrets(down.text)
    assert get(server, "/healthz").status_code == 200  # alive all along: no restart needed

    fake = FakeSlack(port=port).start()
    try:
        up = get(server, "/readyz")
        assert up.status_code == 200, up.text
        assert up.json() == {"status": "ready", "checks": {"database": "ok", "slack": "ok"}}
        assert len(fake.calls_to("auth.test")) == 1
        get(server, "/readyz")  # a success is trusted for a while: Slack is not asked again
        assert len(fake.calls_to("auth.test")) == 1
    finally:
        fake.stop()


def test_a_refused_token_is_named_without_the_token(engine: Engine, serve: Any) -> None:
    fake = FakeSlack().start()
    try:
        port = int(fake.url.rsplit(":", 1)[1])
        server, _ = serve(settings_for(port, token="xoxb-wrong-token-0000"), engine)
        answer = get(server, "/readyz")
    finally:
        fake.stop()
    assert answer.status_code == 503
    assert answer.json()["checks"]["slack"] == "auth.test refused: invalid_auth"
    assert "xoxb-wrong-token-0000" not in answer.text


def test_an_unreachable_database_is_named(serve: Any, tmp_path: Any) -> None:
    fake = FakeSlack().start()
    broken = create_engine(f"sqlite:///{tmp_path}/no/such/dir/bot.db")
    try:
        port = int(fake.url.rsplit(":", 1)[1])
        server, _ = serve(settings_for(port), broken)
        answer = get(server, "/readyz")
    finally:
        fake.stop()
    assert answer.status_code == 503
    assert answer.json()["checks"] == {"database": "unreachable", "slack": "ok"}


def test_readyz_is_503_while_shutting_down(engine: Engine, serve: Any) -> None:
    fake = FakeSlack().start()
    try:
        port = int(fake.url.rsplit(":", 1)[1])
        server, readiness = serve(settings_for(port), engine)
        assert get(server, "/readyz").status_code == 200
        readiness.drain()
        answer = get(server, "/readyz")
    finally:
        fake.stop()
    assert answer.status_code == 503
    assert answer.json()["status"] == "shutting down"
