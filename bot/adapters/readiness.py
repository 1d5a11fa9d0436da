"""`GET /readyz`: whether this instance can do its work now, and which dependency stops it.

`/healthz` (bot.adapters.web) is liveness: the process answers and its database does. `/readyz` is
what a load balancer asks before sending traffic: every dependency the configured platform needs
is checked — the database, and Slack's `auth.test`, or Microsoft's login (a Bot Connector token)
and Microsoft Graph — and the answer is 503 until all of them work, 200 after. While the instance
shuts down (SIGTERM) it is 503 again, so traffic drains away before the process exits.

The body names each check with `ok` or a short reason (`unreachable (ConnectionRefusedError)`,
`auth.test refused: invalid_auth`); it never holds a token, a password or a URL's credentials.
A success is trusted for `recheck` seconds so a busy load balancer does not hammer Slack or Entra;
a failure is always checked again on the next request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import yarl
from aiohttp import web
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine

from bot.adapters.slack_outbox import DEFAULT_API_URL
from bot.adapters.teams_auth import BOT_FRAMEWORK_SCOPE, GRAPH_SCOPE, TokenError, TokenSource
from bot.adapters.teams_outbox import IoLoop
from bot.adapters.web import database_ok
from bot.config import Settings

READY = "ok"
PROBE_TIMEOUT = 5.0  # seconds: a dependency that hangs is not ready
RECHECK_SECONDS = 30.0

# A probe answers None when its dependency works, else a short reason fit to show anyone.
Probe = Callable[[], Awaitable[str | None]]


@dataclass
class Readiness:
    """The probes behind `/readyz`, the successes remembered, and whether we are draining."""

    probes: Mapping[str, Probe]
    recheck: float = RECHECK_SECONDS
    timeout: float = PROBE_TIMEOUT
    now: Callable[[], float] = time.monotonic
    draining: bool = False
    _ok_at: dict[str, float] = field(default_factory=dict)

    async def check(self) -> dict[str, str]:
        """Each dependency's state: `ok`, or why it is not ready."""
        names = list(self.probes)
        results = await asyncio.gather(*(self._one(name) for name in names))
        return dict(zip(names, results, strict=True))

    async def _one(self, name: str) -> str:
        ok_at = self._ok_at.get(name)
        if ok_at is not None and self.now() - ok_at < self.recheck:
            return READY
        try:
            reason = await asyncio.wait_for(self.probes[name](), self.timeout)
        except TimeoutError:
            reason = f"no answer within {self.timeout:g}s"
        if reason is None:
            self._ok_at[name] = self.now()
            return READY
        self._ok_at.pop(name, None)
        return reason

    def drain(self) -> None:
        """Answer 503 from now on: the instance is shutting down."""
        self.draining = True


def readiness_routes(readiness: Readiness) -> list[web.RouteDef]:
    """`GET /readyz` for the shared web server."""

    async def readyz(request: web.Request) -> web.Response:
        if readiness.draining:
            return web.json_response({"status": "shutting down", "checks": {}}, status=503)
        checks = await readiness.check()
        ready = all(state == READY for state in checks.values())
        body: dict[str, Any] = {"status": "ready" if ready else "not ready", "checks": checks}
        return web.json_response(body, status=200 if ready else 503)

    return [web.get("/readyz", readyz)]


# --- the probes -----------------------------------------------------------------------------------


def _failure(exc: BaseException) -> str:
    return f"unreachable ({type(exc).__name__})"


def database_probe(engine: Engine) -> Probe:
    """`SELECT 1` on the database, off the event loop."""

    async def probe() -> str | None:
        ok = await asyncio.get_running_loop().run_in_executor(None, database_ok, engine)
        return None if ok else "unreachable"

    return probe


def slack_probe(settings: Settings) -> Probe:
    """Slack's `auth.test` with the bot token: Slack is reachable and the token is good."""
    base_url = settings.slack_api_url or DEFAULT_API_URL
    client = WebClient(
        token=settings.slack_bot_token,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        timeout=int(PROBE_TIMEOUT),
        retry_handlers=[],  # a probe reports; the load balancer asks again
    )

    def auth_test() -> str | None:
        try:
            client.auth_test()
        except SlackApiError as exc:
            return f"auth.test refused: {exc.response.get('error') or 'unknown_error'}"
        except (SlackClientError, OSError) as exc:
            return _failure(exc)
        return None

    async def probe() -> str | None:
        return await asyncio.to_thread(auth_test)

    return probe


def login_probe(tokens: TokenSource) -> Probe:
    """A Bot Connector token from Microsoft's login (msal caches it until it expires)."""

    async def probe() -> str | None:
        try:
            await tokens.token(BOT_FRAMEWORK_SCOPE)
        except TokenError as exc:
            return "unreachable" if exc.retryable else "token refused (check the app's secret)"
        return None

    return probe


def graph_probe(tokens: TokenSource, io: IoLoop, graph_url: str, app_id: str) -> Probe:
    """A Graph token, and the one read the bot itself makes (its app in the tenant's catalog)."""
    url = yarl.URL(graph_url.rstrip("/") + "/appCatalogs/teamsApps").with_query(
        {"$filter": f"externalId eq '{app_id}'"}
    )

    async def get() -> str | None:
        try:
            token = await tokens.token(GRAPH_SCOPE)
        except TokenError as exc:
            return "no token: " + ("login unreachable" if exc.retryable else "refused")
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with io.session.get(url, headers=headers) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            return _failure(exc)
        return None if 200 <= status < 300 else f"answered {status}"

    async def probe() -> str | None:
        return await io.run_from(get())

    return probe


# --- what each platform needs ---------------------------------------------------------------------


def slack_readiness(settings: Settings, engine: Engine) -> Readiness:
    """The database and Slack."""
    return Readiness({"database": database_probe(engine), "slack": slack_probe(settings)})


def teams_readiness(
    engine: Engine, tokens: TokenSource | None, io: IoLoop, graph_url: str, app_id: str | None
) -> Readiness:
    """The database, Microsoft's login and Graph; only the database in the anonymous mode."""
    probes: dict[str, Probe] = {"database": database_probe(engine)}
    if tokens is not None and app_id:
        probes["microsoft_login"] = login_probe(tokens)
        probes["graph"] = graph_probe(tokens, io, graph_url, app_id)
    return Readiness(probes)
