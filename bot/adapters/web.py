"""The bot's one HTTP server: each platform adds its routes; `GET /healthz` checks the database
and, given `ready`, that the workers can work.

Slack adds `POST /slack/events` (bot.adapters.slack.slack_routes); another platform adds its own
route list the same way, e.g. `build_web_app(engine, [*slack_routes(app), *teams_routes(...)])`.
`WebServer` runs the aiohttp application on its own thread and event loop, so the caller (the CLI,
a test, the benchmark) keeps its thread and can stop the server cleanly.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable

from aiohttp import web
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

HEALTH_TIMEOUT = 5.0  # seconds: an unreachable database must not hang the health check
ENGINE = web.AppKey("engine", Engine)
READY: web.AppKey[Callable[[], bool]] = web.AppKey("ready")


def database_ok(engine: Engine) -> bool:
    """Whether `SELECT 1` works on the database."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


async def _healthz(request: web.Request) -> web.Response:
    ready = request.app.get(READY)
    if ready is not None and not ready():
        return web.json_response({"status": "starting"}, status=503)
    loop = asyncio.get_running_loop()
    check = loop.run_in_executor(None, database_ok, request.app[ENGINE])
    try:
        ok = await asyncio.wait_for(check, HEALTH_TIMEOUT)
    except TimeoutError:
        ok = False
    if ok:
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "database unreachable"}, status=503)


def build_web_app(
    engine: Engine,
    routes: Iterable[web.RouteDef] = (),
    *,
    ready: Callable[[], bool] | None = None,
) -> web.Application:
    """An aiohttp application serving `GET /healthz` plus the platforms' `routes`.

    `/healthz` answers 200 only when the database answers and `ready()` (the workers can work)
    says so; 503 with `{"status": "starting"}` until then.
    """
    app = web.Application()
    app[ENGINE] = engine
    if ready is not None:
        app[READY] = ready
    app.add_routes([web.get("/healthz", _healthz), *routes])
    return app


class WebServer:
    """Runs an aiohttp application on a background thread; `port=0` picks a free port."""

    def __init__(self, app: web.Application, *, host: str = "0.0.0.0", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._serve, name="web-server", daemon=True)

    def start(self) -> WebServer:
        """Start listening; returns once the port is bound (raises OSError if it cannot be)."""
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread to finish."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        """The base URL to reach the server from this machine."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def _serve(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(self.app, access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self.port)
            loop.run_until_complete(site.start())
        except OSError as exc:
            self._error = exc
            self._ready.set()
            loop.run_until_complete(runner.cleanup())
            loop.close()
            return
        self.port = runner.addresses[0][1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()
