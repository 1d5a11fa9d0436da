"""A local WebSocket server standing in for Slack's Socket Mode endpoint (aiohttp).

It speaks the envelope protocol ("Using Socket Mode", api.slack.com): on each connection it sends
`hello`; the test sends envelopes (`slash_commands`, `interactive`, `events_api`, each with an
`envelope_id`) and `disconnect`; every message the app sends back is recorded, so a test can
check each envelope was acknowledged with `{"envelope_id": …}`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

PATH = "/link/"


class FakeSocketMode:
    """Slack's side of Socket Mode on 127.0.0.1 and an ephemeral port."""

    def __init__(self) -> None:
        self.connections = 0
        self.acks: dict[str, dict[str, Any]] = {}
        self._socket: web.WebSocketResponse | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._serve, name="fake-socket-mode", daemon=True)

    # Lifecycle -----------------------------------------------------------------------------------

    def start(self) -> FakeSocketMode:
        """Start listening; returns once the port is bound."""
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        """Close the connection and stop serving."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def url(self) -> str:
        """A fresh wss-style URL, as apps.connections.open hands out (plain ws on 127.0.0.1)."""
        return f"ws://127.0.0.1:{self.port}{PATH}?ticket={uuid.uuid4().hex}&app_id=A0COREGROUP"

    # What Slack sends ----------------------------------------------------------------------------

    def envelope(self, kind: str, payload: dict[str, Any], **extra: Any) -> str:
        """Send one envelope on the current connection; returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        self._send(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                **extra,
            }
        )
        return envelope_id

    def disconnect(self) -> None:
        """Ask the app to reconnect, as Slack does every few hours ("refresh_requested")."""
        self._send(
            {
                "type": "disconnect",
                "reason": "refresh_requested",
                "debug_info": {"host": "applink-fake"},
            }
        )

    def wait_for(self, check: Callable[[], Any], *, timeout: float = 10.0) -> Any:
        """Poll `check` until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for the app")
            time.sleep(0.02)

    # The server ----------------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        socket = self.wait_for(lambda: self._socket if self._socket is not None else None)
        asyncio.run_coroutine_threadsafe(socket.send_json(message), self._loop).result(10)

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self.connections += 1
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": "A0COREGROUP"},
            }
        )
        self._socket = socket
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "envelope_id" in data:
                self.acks[str(data["envelope_id"])] = data
        if self._socket is socket:
            self._socket = None
        return socket

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.add_routes([web.get(PATH, self._link)])
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        self._ready.set()
        self._loop.run_forever()
