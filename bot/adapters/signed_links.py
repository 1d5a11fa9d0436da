"""Short-lived signed links: a URL the bot serves that names one file for one person.

The token is a JWT signed with HS256 and DOCUMENT_LINK_SECRET. It carries what to serve
(`src`, e.g. "minutes/12/family/pdf" — the file is made again when the link is opened, never
stored), for whom (`sub`, a person id, so access is checked again at download time) and when it
stops working (`exp`, checked against the bot's clock, so tests can move time). Tampered, expired
or foreign tokens are all just "not valid". Reusable for any page the bot serves to a person.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from bot.clock import Clock
from bot.config import Settings

ALGORITHM = "HS256"
AUDIENCE = "coregroup-link"
PATH = "/documents/"


class BadLink(Exception):
    """The link is not valid: expired, altered, or not one of ours."""


@dataclass(frozen=True)
class LinkClaims:
    """What a valid link grants: one source, for one person, until a time."""

    source: str
    person_id: int
    expires: datetime


class LinkSigner:
    """Makes and checks signed links under the bot's public URL."""

    def __init__(self, *, secret: str, base_url: str, clock: Clock) -> None:
        self.secret = secret
        self.base_url = base_url.rstrip("/")
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> LinkSigner | None:
        """A signer when PUBLIC_URL and DOCUMENT_LINK_SECRET are set, else None."""
        if not (settings.public_url and settings.document_link_secret):
            return None
        return cls(secret=settings.document_link_secret, base_url=settings.public_url, clock=clock)

    def token(self, *, source: str, person_id: int, ttl: timedelta) -> tuple[str, datetime]:
        """A signed token for `source` and `person_id`, and when it expires."""
        now = self.clock.now()
        expires = now + ttl
        claims = {
            "src": source,
            "sub": str(person_id),
            "aud": AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": secrets.token_urlsafe(8),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM), expires

    def url(self, *, source: str, person_id: int, ttl: timedelta) -> tuple[str, datetime]:
        """The full URL of a signed link, and when it expires."""
        token, expires = self.token(source=source, person_id=person_id, ttl=ttl)
        return f"{self.base_url}{PATH}{token}", expires

    def verify(self, token: str) -> LinkClaims:
        """The claims of a valid, unexpired token; BadLink otherwise."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                # Times are checked below against the bot's own clock (simulated in tests).
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["exp", "sub", "src", "aud"],
                },
            )
        except jwt.PyJWTError:
            raise BadLink("not a valid link") from None
        expires = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
        if self.clock.now() >= expires:
            raise BadLink("the link has expired")
        subject = str(claims["sub"])
        if not subject.isdigit() or not isinstance(claims["src"], str):
            raise BadLink("not a valid link")
        return LinkClaims(source=claims["src"], person_id=int(subject), expires=expires)
