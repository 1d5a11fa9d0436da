"""The family's pages over real HTTP (aiohttp's test client) against a group set up in the local
chat: a chair invites a parent, the parent opens the link, types the code and uses the pages."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import Engine

from bot.adapters.family_web import AlertSender, family_routes
from bot.adapters.web import build_web_app
from bot.clock import FakeClock
from bot.core.context import Locale
from tests.scenarios.conftest import ChatDriver

REF = "CP-2026-0142"
SECRET = "a-test-secret-that-is-long-enough-0123456789"
PUBLIC_URL = "http://127.0.0.1:8080"

SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup add @alex hv
/coregroup add @kai child
/coregroup outcome add "The children live in a home that is warm and safe"
/coregroup action @jo to keep the heating on and the home warm by 15/1 outcome 1
/coregroup schedule 6/1 2pm at "Family Centre, Oak Road"
clock 2026-12-31 10:00
"""
LINK = re.compile(r"http://127\.0\.0\.1:8080/family/(\S+)")
CODE = re.compile(r"Their code: (\d{3}) (\d{3})")


DUTY = "duty.desk@northshire.example"


def family_locale() -> Locale:
    return Locale(public_url=PUBLIC_URL, link_secret=SECRET, duty_email=DUTY)


@dataclass
class FakeMailer:
    """Keeps each email instead of sending it."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, **kw: Any) -> str:
        self.sent.append(kw)
        return f"<{len(self.sent)}@test>"


def invite(chat: ChatDriver, name: str) -> tuple[str, str]:
    """The path and code the chair gets for `name`."""
    out = chat(f"as sam\n/coregroup {REF} invite @{name}")
    link, code = LINK.search(out), CODE.search(out)
    assert link and code, out
    return f"/family/{link.group(1)}", code.group(1) + code.group(2)


class Browser:
    """A synchronous face on aiohttp's test client: one cookie jar, like one phone."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.app = app

        async def start() -> TestClient:
            client = TestClient(TestServer(app))
            await client.start_server()
            return client

        self.client = self.loop.run_until_complete(start())

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def get(self, path: str, **kw: Any) -> Page:
        return self._run(self._do("GET", path, **kw))

    def post(self, path: str, data: dict[str, str] | None = None, **kw: Any) -> Page:
        return self._run(self._do("POST", path, data=data or {}, **kw))

    async def _do(self, method: str, path: str, **kw: Any) -> Page:
        kw.setdefault("allow_redirects", True)
        async with self.client.request(method, path, **kw) as resp:
            return Page(resp.status, await resp.read(), resp, dict(resp.headers), resp.url.path)

    def csrf(self, page: Page) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)

    def sign_in(self, path: str, code: str) -> Page:
        form = self.get(path)
        assert form.status == 200, form.text
        return self.post(path, {"csrf": self.csrf(form), "code": code})

    def forget_cookies(self) -> None:
        self.client.session.cookie_jar.clear()


@dataclass
class Page:
    status: int
    body: bytes
    response: ClientResponse
    headers: dict[str, str]
    path: str
    text: str = field(init=False)

    def __post_init__(self) -> None:
        self.text = self.body.decode("utf-8", "replace")


@dataclass
class Site:
    chat: ChatDriver
    engine: Engine
    clock: FakeClock
    browser: Browser
    make_app: Callable[[], Any]
    mailer: FakeMailer

    def new_browser(self) -> Browser:
        browser = Browser(self.make_app())
        self._extra.append(browser)
        return browser

    _extra: list[Browser] = field(default_factory=list)


@pytest.fixture
def site(engine: Engine, clock: FakeClock, tmp_path: Path) -> Iterator[Site]:
    """The group set up; the family's pages served on the same clock and database."""
    chat = ChatDriver(engine, clock, tmp_path / "files", locale=family_locale())
    chat(SETUP)

    mailer = FakeMailer()
    alert = AlertSender(chat.local, mailer)  # type: ignore[arg-type]

    def make_app() -> Any:
        locale = chat.dispatcher.locale
        routes = family_routes(engine=engine, locale=locale, clock=clock, alert=alert)
        return build_web_app(engine, routes)

    browser = Browser(make_app())
    made = Site(chat, engine, clock, browser, make_app, mailer)
    yield made
    for extra in made._extra:
        extra.close()
    browser.close()
