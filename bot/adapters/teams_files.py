"""Files in Teams: a bot cannot simply attach a file to a message, so the card offers a download
button whose short-lived signed link the bot itself serves (bot.adapters.downloads)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.adapters.signed_links import LinkSigner
from bot.messages import Attachment
from bot.render.adaptive import escape, plain

NO_LINKS = (
    "The file itself can't be shared here yet: Teams downloads need PUBLIC_URL and "
    "DOCUMENT_LINK_SECRET to be set (ask your administrator). Ask the chair for a copy."
)


@dataclass(frozen=True)
class DownloadLinks:
    """Signed download links that last `ttl`, with their expiry shown in `tz`."""

    signer: LinkSigner
    ttl: timedelta
    tz: ZoneInfo


def offer_download(
    activity: dict[str, Any], attachment: Attachment, links: DownloadLinks | None, *, person_id: int
) -> None:
    """Add to a card activity a button that downloads `attachment` (or say why it can't)."""
    card = activity["attachments"][0]["content"]
    body = card.setdefault("body", [])
    if links is None or not attachment.source:
        body.append({"type": "TextBlock", "text": escape(NO_LINKS), "wrap": True})
        return
    url, expires = links.signer.url(source=attachment.source, person_id=person_id, ttl=links.ttl)
    until = expires.astimezone(links.tz).strftime("%H:%M on %a %-d %b")
    body.append(
        {
            "type": "TextBlock",
            "text": escape(f"{attachment.filename} — the download link works until {until}."),
            "wrap": True,
            "isSubtle": True,
        }
    )
    card.setdefault("actions", []).append(
        {"type": "Action.OpenUrl", "title": plain(f"Download {attachment.filename}"), "url": url}
    )
