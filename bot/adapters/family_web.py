"""The family's pages under /family/… on the bot's one web server: server-rendered, no script.

`GET /family/<link>` asks for the code; the right code starts a session (a signed cookie,
`HttpOnly; SameSite=Strict`, `Secure` unless the bot runs on http://localhost, ended after
FAMILY_SESSION_MINUTES (30) without use). The pages then live at fixed addresses with no case
data in them: /family/meeting, /family/before, /family/agreed (+ .pdf / .docx), /family/you (the
young person's page), /family/times. Every form carries a CSRF token; every response a strict
Content-Security-Policy (nothing but this server's own stylesheet), `no-store` and no referrer.
Nothing here logs what anyone typed, or any link.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine

from bot.adapters.mailer import Mailer, SmtpSettings
from bot.clock import Clock
from bot.config import Settings
from bot.core import family, family_pages, young_voice
from bot.core.context import Locale
from bot.core.documents.delivery import download, source_of
from bot.core.documents.model import Format
from bot.core.family import LinkRefused, Signer, Visitor
from bot.core.ports import Outbox
from bot.logs import log_failure
from bot.messages import Heading, Message, Text, ToPerson
from storage.db import session_scope
from storage.enums import CopyKind

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("family_templates")
SESSION_COOKIE = "cg_family"
CSRF_COOKIE = "cg_csrf"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# Sends an "I don't feel safe" alert at once, in chat and by email (bot.app.AlertSender).
Alert = Callable[[family_pages.UnsafeAlert], None]


def secure_cookies(public_url: str | None) -> bool:
    """Cookies are `Secure` except when the pages are served on http://localhost."""
    if not public_url:
        return True
    parts = urlsplit(public_url)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    return not (parts.scheme == "http" and local)


@dataclass
class Page:
    """What a handler decided, worked out off the event loop: a page, a redirect or a file."""

    template: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    redirect: str | None = None
    session: str | None = None  # a new session cookie value
    clear_session: bool = False
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FamilyWeb:
    """The family's pages: everything they need, injected (the clock too, for tests)."""

    engine: Engine
    locale: Locale
    signer: Signer
    clock: Clock
    alert: Alert | None = None
    secure: bool = True

    def __post_init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.css = (TEMPLATES / "family.css").read_bytes()

    # Routes --------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """The /family/… routes for the shared web server (fixed pages before the link)."""
        return [
            web.get("/family/family.css", self._css),
            web.get("/family/meeting", self._wrap(self.meeting)),
            web.get("/family/before", self._wrap(self.before)),
            web.post("/family/before", self._wrap(self.before_post, form=True)),
            web.get("/family/agreed", self._wrap(self.agreed)),
            web.get("/family/agreed.{fmt:pdf|docx}", self._wrap(self.agreed_file)),
            web.get("/family/you", self._wrap(self.young)),
            web.post("/family/you", self._wrap(self.young_post, form=True)),
            web.post("/family/unsafe", self._wrap(self.unsafe, form=True)),
            web.get("/family/times", self._wrap(self.times)),
            web.post("/family/times", self._wrap(self.times_post, form=True)),
            web.post("/family/signout", self._wrap(self.signout, form=True)),
            web.get("/family/{token}", self._wrap(self.link)),
            web.post("/family/{token}", self._wrap(self.code, form=True)),
        ]

    async def _css(self, request: web.Request) -> web.Response:
        headers = {**HEADERS, "Cache-Control": "public, max-age=3600"}
        return web.Response(body=self.css, content_type="text/css", headers=headers)

    def _wrap(self, handler: Callable[..., Page], *, form: bool = False) -> Any:
        async def serve(request: web.Request) -> web.StreamResponse:
            data: dict[str, str] = {}
            if form:
                posted = await request.post()
                data = {k: v for k, v in posted.items() if isinstance(v, str)}
            nonce = request.cookies.get(CSRF_COOKIE)
            fresh = nonce is None or len(nonce) < 16
            nonce = secrets.token_urlsafe(16) if fresh else nonce
            assert nonce is not None
            request_data = _Request(
                match=dict(request.match_info),
                query=dict(request.query),
                form=data,
                session=request.cookies.get(SESSION_COOKIE),
                nonce=nonce,
            )
            page, html = await asyncio.to_thread(self._run, handler, request_data)
            response = self._respond(page, html)
            if fresh:
                self._cookie(response, CSRF_COOKIE, nonce)
            return response

        return serve

    def _run(self, handler: Callable[[_Request], Page], request: _Request) -> tuple[Page, str]:
        """The handler and the page's HTML, both off the event loop."""
        page = handler(request)
        if page.redirect is not None or page.body is not None:
            return page, ""
        return page, self.env.get_template(page.template).render(**page.context)

    def _respond(self, page: Page, html: str) -> web.StreamResponse:
        response: web.StreamResponse
        if page.redirect is not None:
            response = web.Response(status=303, headers={**HEADERS, "Location": page.redirect})
        elif page.body is not None:
            response = web.Response(body=page.body, headers={**HEADERS, **page.headers})
        else:
            response = web.Response(
                text=html, status=page.status, content_type="text/html", headers=HEADERS
            )
        if page.session is not None:
            self._cookie(response, SESSION_COOKIE, page.session)
        if page.clear_session:
            response.del_cookie(SESSION_COOKIE, path="/family")
        return response

    def _cookie(self, response: web.StreamResponse, name: str, value: str) -> None:
        response.set_cookie(
            name, value, path="/family", httponly=True, secure=self.secure, samesite="Strict"
        )

    # Helpers ------------------------------------------------------------------------------

    def _refused(self, reason: str, *, status: int = 403, clear: bool = True) -> Page:
        return Page(
            "refused.html",
            {"message": family.REFUSALS[reason], "title": "This page can't be opened"},
            status=status,
            clear_session=clear,
        )

    def _signed_in(self, request: _Request, render: Callable[[Any, Visitor, str], Page]) -> Page:
        """Run `render` for the visitor of a live session (sliding its idle time), or refuse."""
        if not request.session:
            return self._refused("session", status=401, clear=False)
        now = self.clock.now()
        try:
            with session_scope(self.engine) as session:
                visitor, sid = family.session_visitor(
                    session, signer=self.signer, token=request.session, now=now
                )
                page = render(session, visitor, sid)
        except LinkRefused as refused:
            return self._refused(refused.reason, status=401)
        page.session = page.session or (
            None
            if page.clear_session
            else self.signer.session_token(
                invite_id=visitor.invite.id or 0, person_id=visitor.person_id, sid=sid, now=now
            )
        )
        return page

    def _page(self, template: str, visitor: Visitor, sid: str, **context: Any) -> Page:
        return Page(
            template,
            {
                "visitor": {"name": visitor.first_name, "young": visitor.young_person},
                "csrf": self.signer.csrf(sid),
                **context,
            },
        )

    def _csrf_ok(self, request: _Request, sid: str) -> bool:
        return self.signer.csrf_ok(sid, request.form.get("csrf"))

    # The link and the code -----------------------------------------------------------------

    def link(self, request: _Request) -> Page:
        """The code form of a valid link (nothing else is shown before the code)."""
        now = self.clock.now()
        try:
            with session_scope(self.engine) as session:
                visitor = family.open_link(
                    session, signer=self.signer, token=request.match["token"], now=now
                )
                left = family.tries_left(visitor, max_tries=self.locale.family_code_tries)
        except LinkRefused as refused:
            return self._refused(refused.reason)
        return self._code_page(request, left=left)

    def _code_page(
        self, request: _Request, *, left: int, error: str = "", status: int = 200
    ) -> Page:
        return Page(
            "code.html",
            {"csrf": self.signer.csrf(request.nonce), "error": error, "left": left},
            status=status,
        )

    def code(self, request: _Request) -> Page:
        """Check the code: a session on success; a kind refusal and the tries left otherwise."""
        now = self.clock.now()
        if not self.signer.csrf_ok(request.nonce, request.form.get("csrf")):
            page = self.link(request)  # the form again (or why the link opens nothing)
            if page.template == "code.html":
                page.context["error"] = (
                    "The page had been open a long time, so please type your code again."
                )
                page.status = 403
            return page
        try:
            with session_scope(self.engine) as session:
                visitor = family.open_link(
                    session, signer=self.signer, token=request.match["token"], now=now
                )
                ok = family.enter_code(
                    session,
                    visitor=visitor,
                    code=request.form.get("code", ""),
                    now=now,
                    max_tries=self.locale.family_code_tries,
                )
                left = family.tries_left(visitor, max_tries=self.locale.family_code_tries)
                invite_id, person_id = visitor.invite.id or 0, visitor.person_id
        except LinkRefused as refused:
            return self._refused(refused.reason)
        if not ok:
            if left == 0:
                return self._refused("locked")
            plural = "try" if left == 1 else "tries"
            error = f"That code isn't right. Please check it and try again ({left} {plural} left)."
            return self._code_page(request, left=left, error=error, status=403)
        sid = secrets.token_urlsafe(16)
        token = self.signer.session_token(
            invite_id=invite_id, person_id=person_id, sid=sid, now=now
        )
        return Page(redirect="/family/meeting", session=token)

    def signout(self, request: _Request) -> Page:
        """End the session now."""

        def render(session: Any, visitor: Visitor, sid: str) -> Page:
            if not self._csrf_ok(request, sid):
                return Page(redirect="/family/meeting")
            return Page(
                "refused.html",
                {
                    "title": "You have left the page",
                    "message": "You have left the page safely. "
                    "To come back, open the link you were sent and type your code.",
                },
                clear_session=True,
            )

        return self._signed_in(request, render)

    # The pages -----------------------------------------------------------------------------

    def meeting(self, request: _Request) -> Page:
        """ "Our next meeting"."""

        def render(session: Any, visitor: Visitor, sid: str) -> Page:
            page = family_pages.meeting_page(
                session, visitor, now=self.clock.now(), tz=self.locale.tz
            )
            return self._page("meeting.html", visitor, sid, page=page, here="meeting")

        return self._signed_in(request, render)

    def before(self, request: _Request) -> Page:
        """ "Before the meeting": one question at a time, every answer saved as it is given."""

        def render(session: Any, visitor: Visitor, sid: str) -> Page:
            if visitor.young_person:
                return Page(redirect="/family/you")
            page = family_pages.before_page(
                session,
                visitor,
                now=self.clock.now(),
                tz=self.locale.tz,
                change=request.query.get("change"),
            )
            saved = request.query.get("saved") == "1"
            return self._page("before.html", visitor, sid, page=page, here="before", saved=saved)

        return self._signed_in(request, render)

    def before_post(self, request: _Request) -> Page:
        """Save one answer, or show the page again with the reason and the words kept."""

        def render(session: Any, visitor: Visitor, sid: str) -> Page:
            form = request.form
            if not self._csrf_ok(request, sid):
                page = family_pages.before_page(
                    session,
                    visitor,
                    now=self.clock.now(),
                    tz=self.locale.tz,
                    change=form.get("question"),
                )
                page.error = (
                    "Sorry, that didn't save because the page was out of date. Your words are "
                    "still below: please press Save again."
                )
                page.typed = form.get("answer", "")
                result = self._page("before.html", visitor, sid, page=page, here="before")
                result.status = 403
                return result
            failed = family_pages.answer_before(
                session,
                visitor,
                key=form.get("question", ""),
                choice=form.get("choice", ""),
                text=form.get("answer", ""),
                skip="skip" in form,
                now=self.clock.now(),
                tz=self.locale.tz,
            )
            if failed is None:
                return Page(redirect="/family/before?saved=1")
            result = self._page("before.html", visitor, sid, page=failed, here="before")
            result.status = 422
            return result

        return self._signed_in(request, render)

    def agreed(self, request: _Request) -> Page:
        """ "What was agreed"."""

        def render(session: Any, visitor: Visitor, sid: str) -> Page:
            page = family_pages.agreed_page(
                session,
                visitor,
                now=self.clock.now(),
                tz=self.locale.tz,
                options=self.locale.documents,
            )
            return self._page("agreed.html", visitor, sid, page=page, here="agreed")

        return self._signed_in(request, render)

    def agreed_file(self, request: _Request) -> Page:
        """The visitor's copy of the latest published minutes as PDF or Word (audited)."""

        def render(session: Any, visitor: Visitor, sid: str) -> Page:
            minutes = family_pages.latest_published(session, group_id=visitor.group_id)
            if minutes is None or minutes.id is None:
                return self._page("agreed.html", visitor, sid, page=None, here="agreed")
            kind = CopyKind.YOUNG_PERSON if visitor.young_person else CopyKind.FAMILY
            fmt = Format(request.match["fmt"])
            rendered = download(
                session,
                source=source_of(minutes.id, kind, fmt),
                person_id=visitor.person_id,
                tz=self.locale.tz,
                options=self.locale.documents,
                now=self.clock.now(),
            )
            if rendered is None:
                return self._page("agreed.html", visitor, sid, page=None, here="agreed")
            return Page(
                body=rendered.data,
                headers={
                    "Content-Type": rendered.mime_type,
                    "Content-Disposition": f'attachment; filename="{rendered.filename}"',
                },
            )

        return self._signed_in(request, render)

    def young(self, request: _Request) -> Page:
        """The young person's own page."""

        def render(session: Any, visitor: Visitor, sid: str) -> Page:
            if not visitor.young_person:
                return Page(redirect="/family/before")
            page = family_pages.young_page(
                session, visitor, now=self.clock.now(), tz=self.locale.tz
            )
            return self._page("you.html", visitor, sid, page=page, here="you")

        return self._signed_in(request, render)

    def young_post(self, request: _Request) -> Page:
        """Save the young person's answers; the page again with what was saved or why not."""

        def render(session: Any, visitor: Visitor, sid: str) -> Page:
            if not visitor.young_person:
                return Page(redirect="/family/before")
            now, tz = self.clock.now(), self.locale.tz
            if not self._csrf_ok(request, sid):
                typed = {k: request.form.get(k, "") for k in young_voice.KEYS}
                page = family_pages.young_page(session, visitor, now=now, tz=tz, typed=typed)
                page.error = (
                    "Sorry, that didn't save because the page was out of date. Your words are "
                    "still here: please press Save again."
                )
                result = self._page("you.html", visitor, sid, page=page, here="you")
                result.status = 403
                return result
            page = family_pages.answer_young(session, visitor, form=request.form, now=now, tz=tz)
            result = self._page("you.html", visitor, sid, page=page, here="you")
            result.status = 422 if page.error else 200
            return result

        return self._signed_in(request, render)

    def unsafe(self, request: _Request) -> Page:
        """ "I don't feel safe": tell the key worker and the duty contact at once, and tell the
        young person who will contact them and what to do in an emergency."""

        def render(session: Any, visitor: Visitor, sid: str) -> Page:
            if not self._csrf_ok(request, sid):
                # Never lose this press: the page asks once more, with the button.
                page = family_pages.young_page(
                    session, visitor, now=self.clock.now(), tz=self.locale.tz
                )
                page.error = "Sorry, please press the button again."
                result = self._page("you.html", visitor, sid, page=page, here="you")
                result.status = 403
                return result
            alert = family_pages.unsafe_alert(
                session,
                visitor,
                now=self.clock.now(),
                tz=self.locale.tz,
                duty_email=self.locale.duty_email,
            )
            pending.append(alert)
            return self._page("safe.html", visitor, sid, told=alert.told, here="you")

        pending: list[family_pages.UnsafeAlert] = []
        page = self._signed_in(request, render)
        for alert in pending:  # after the audit row is committed
            if self.alert is not None:
                self.alert(alert)
        return page

    def times(self, request: _Request) -> Page:
        """ "Find a time"."""

        def render(session: Any, visitor: Visitor, sid: str) -> Page:
            page = family_pages.times_page(
                session, visitor, now=self.clock.now(), tz=self.locale.tz
            )
            return self._page("times.html", visitor, sid, page=page, here="times")

        return self._signed_in(request, render)

    def times_post(self, request: _Request) -> Page:
        """Save the family's ranking of the offered times."""

        def render(session: Any, visitor: Visitor, sid: str) -> Page:
            now, tz = self.clock.now(), self.locale.tz
            if not self._csrf_ok(request, sid):
                page = family_pages.times_page(session, visitor, now=now, tz=tz, typed=request.form)
                page.error = "Sorry, that didn't save because the page was out of date. Please "
                page.error += "press Save again."
                result = self._page("times.html", visitor, sid, page=page, here="times")
                result.status = 403
                return result
            page = family_pages.answer_times(session, visitor, form=request.form, now=now, tz=tz)
            result = self._page("times.html", visitor, sid, page=page, here="times")
            result.status = 422 if page.error else 200
            return result

        return self._signed_in(request, render)


@dataclass(frozen=True)
class _Request:
    """What a handler may read of a request (taken on the event loop)."""

    match: dict[str, str]
    query: dict[str, str]
    form: dict[str, str]
    session: str | None
    nonce: str


@dataclass
class AlertSender:
    """Sends an "I don't feel safe" alert now, whatever the hour: a direct message to each person
    through the platform's Outbox, and an email to each address through the Mailer. One failure
    never stops the others; log lines carry no names, addresses or words."""

    outbox: Outbox | None = None
    mailer: Mailer | None = None

    def __call__(self, alert: family_pages.UnsafeAlert) -> None:
        message = Message(
            text=alert.text,
            blocks=(Heading("Urgent: a young person doesn't feel safe"), Text(alert.text)),
        )
        for person_id in alert.chat_to if self.outbox is not None else ():
            assert self.outbox is not None
            try:
                self.outbox.send(ToPerson(person_id), message)
            except Exception:  # every recipient gets their try
                log_failure(log, "unsafe alert: chat message to person %s failed", person_id)
        for address in alert.emails if self.mailer is not None else ():
            assert self.mailer is not None
            try:
                self.mailer.send(
                    to=address, subject=alert.subject, text=alert.text, attachment=None
                )
            except Exception:
                log_failure(log, "unsafe alert: an email failed")
        if self.outbox is None and self.mailer is None:
            log.error("unsafe alert raised but no chat or email is configured to send it")


def mailer_for(settings: Settings | None) -> Mailer | None:
    """The mailer the alerts use, when SMTP is set up."""
    smtp = SmtpSettings.from_settings(settings) if settings is not None else None
    return Mailer(smtp) if smtp is not None else None


def family_routes(
    *,
    engine: Engine,
    locale: Locale,
    clock: Clock,
    alert: Alert | None = None,
) -> list[web.RouteDef]:
    """The family's pages when PUBLIC_URL and the link secret are set; none otherwise."""
    if not (locale.public_url and locale.link_secret):
        return []
    signer = Signer(
        secret=locale.link_secret,
        base_url=locale.public_url,
        session_idle=timedelta(minutes=locale.family_session_minutes),
    )
    site = FamilyWeb(
        engine=engine,
        locale=locale,
        signer=signer,
        clock=clock,
        alert=alert,
        secure=secure_cookies(locale.public_url),
    )
    return site.routes()
