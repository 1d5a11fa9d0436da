"""`GET /readyz` on the Teams side, through real HTTP against the fake login and Graph: 503 while
Microsoft's login drops every connection, 200 once it answers; never a secret in the body."""

from __future__ import annotations

import requests
from sqlalchemy import Engine

from bot.adapters.readiness import readiness_routes, teams_readiness
from bot.adapters.web import WebServer, build_web_app
from tests.teams.conftest import APP_SECRET, FakeConnector, FakeGraph, TeamsDriver


def test_readyz_turns_ready_once_microsoft_login_answers(
    engine: Engine, teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph
) -> None:
    runtime = teams.runtime
    readiness = teams_readiness(
        engine, runtime.http.tokens, runtime.io, graph.url, runtime.bot.app_id
    )
    server = WebServer(build_web_app(engine, readiness_routes(readiness)), host="127.0.0.1")
    server.start()
    try:
        connector.drop_logins = 10_000  # Entra is unreachable
        down = requests.get(server.url + "/readyz", timeout=20)
        assert down.status_code == 503
        checks = down.json()["checks"]
        assert checks["database"] == "ok"
        assert checks["microsoft_login"] == "unreachable"
        assert checks["graph"] == "no token: login unreachable"
        assert APP_SECRET not in down.text

        connector.drop_logins = 0  # and back
        up = requests.get(server.url + "/readyz", timeout=20)
        assert up.status_code == 200, up.text
        assert up.json()["checks"] == {"database": "ok", "microsoft_login": "ok", "graph": "ok"}
    finally:
        server.stop()
