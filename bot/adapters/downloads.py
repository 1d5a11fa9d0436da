"""`GET /documents/{token}`: the file a signed link names, on the bot's one web server.

The token (bot.adapters.signed_links) says which file and for whom; the file is made afresh from
the database and only if that person may still have it. Any refusal is the same plain page, so a
guessed or stale link tells nobody anything. Responses are never cached.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import Engine

from bot.adapters.signed_links import PATH, BadLink, LinkSigner
from bot.core.context import Locale
from bot.core.documents.delivery import download
from bot.core.documents.files import Rendered
from bot.core.documents.render_docx import TemplateError
from bot.core.report_render import download as report_download
from storage.db import session_scope

NOT_AVAILABLE = (
    "This link has expired or is not valid any more. Ask the chair of the core group for a new "
    "copy, or type `/coregroup minutes export` in the chat."
)
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def download_routes(*, engine: Engine, locale: Locale, signer: LinkSigner) -> list[web.RouteDef]:
    """The download route for the shared web server."""

    def fetch(token: str) -> Rendered | str:
        try:
            claims = signer.verify(token)
        except BadLink:
            return NOT_AVAILABLE
        try:
            with session_scope(engine) as session:
                found = download(
                    session,
                    source=claims.source,
                    person_id=claims.person_id,
                    tz=locale.tz,
                    options=locale.documents,
                    now=signer.clock.now(),
                ) or report_download(
                    session,
                    source=claims.source,
                    person_id=claims.person_id,
                    locale=locale,
                    now=signer.clock.now(),
                )
        except TemplateError as err:
            return f"{err.message} {err.hint}"
        return found if found is not None else NOT_AVAILABLE

    async def serve(request: web.Request) -> web.Response:
        rendered = await asyncio.to_thread(fetch, request.match_info["token"])
        if isinstance(rendered, str):
            return web.Response(
                status=404, text=rendered, content_type="text/plain", headers=_HEADERS
            )
        return web.Response(
            body=rendered.data,
            headers={
                **_HEADERS,
                "Content-Type": rendered.mime_type,
                "Content-Disposition": f'attachment; filename="{rendered.filename}"',
            },
        )

    return [web.get(PATH + "{token}", serve)]
