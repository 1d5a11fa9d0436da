"""The family's own way in: a personal, signed, expiring link plus a six-digit code sent separately.

`/coregroup invite @alex` (the chair) makes a FamilyInvite for one family member of one group and
hands back the link and the code. The link is a JWT (HS256, the bot's link secret) naming the
invite and the person; the database keeps only a hash of the link and a salted hash of the code,
so a copy of the database opens nothing. Opening the link asks for the code before anything is
shown; five wrong codes (FAMILY_CODE_TRIES) lock the link. A new invite, `invite @alex revoke`,
the person leaving the group or the group closing all end the link, and a refused link never
says which group it was for.

After the code, the web adapter keeps a session cookie (`Session`, signed the same way) that ends
after 30 minutes (FAMILY_SESSION_MINUTES) without use; every request checks the invite again, so
a revoke ends an open session at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from sqlmodel import Session, col, select

from bot.core.errors import BadInput
from bot.core.groups import active_membership
from storage.enums import AuditKind, GroupStatus, Role
from storage.models import AuditEntry, CoreGroup, FamilyInvite, Membership, Person

ALGORITHM = "HS256"
LINK_AUDIENCE = "coregroup-family-link"
SESSION_AUDIENCE = "coregroup-family-session"
PATH = "/family/"
CODE_DIGITS = 6
_PBKDF2_ROUNDS = 120_000
YOUNG_PERSON_MIN_AGE = 8


class LinkRefused(Exception):
    """A link or session that opens nothing: `reason` is one of the keys of REFUSALS."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# What a refused link says: kindly, the same for every group, and who to ask.
REFUSALS = {
    "invalid": "This link doesn't work. Please check you copied all of it, or ask your social "
    "worker for a new one.",
    "expired": "This link has run out: links only last a short while to keep your family's "
    "information safe. Please ask your social worker for a new one.",
    "revoked": "This link has been switched off, so it doesn't open anything any more. Please "
    "ask your social worker for a new one.",
    "locked": "This link is locked because the code was typed wrongly too many times. That's to "
    "keep your family's information safe. Please ask your social worker for a new link.",
    "session": "You were away for a while, so we closed the page to keep your information safe. "
    "Please open the link you were sent again and type your code.",
}


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _hash_code(code: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", code.encode(), salt, _PBKDF2_ROUNDS)
    return f"pbkdf2${_PBKDF2_ROUNDS}${salt.hex()}${digest.hex()}"


def _code_matches(code: str, stored: str) -> bool:
    try:
        _, rounds, salt, digest = stored.split("$")
    except ValueError:
        return False
    tried = hashlib.pbkdf2_hmac("sha256", code.encode(), bytes.fromhex(salt), int(rounds))
    return hmac.compare_digest(tried.hex(), digest)


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


@dataclass(frozen=True)
class Signer:
    """Signs and reads the family's links and session cookies with the bot's link secret."""

    secret: str
    base_url: str
    session_idle: timedelta = timedelta(minutes=30)

    def link_token(self, *, invite_id: int, person_id: int, expires: datetime) -> str:
        """The token of an invite's link."""
        claims = {
            "inv": invite_id,
            "sub": str(person_id),
            "aud": LINK_AUDIENCE,
            "exp": int(expires.timestamp()),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def link_url(self, token: str) -> str:
        """The full address of a link."""
        return f"{self.base_url.rstrip('/')}{PATH}{token}"

    def read_link(self, token: str, *, now: datetime) -> tuple[int, int]:
        """(invite id, person id) of a well-formed link; LinkRefused("invalid"/"expired")."""
        claims = self._decode(token, LINK_AUDIENCE)
        if now >= _utc(int(claims["exp"])):
            raise LinkRefused("expired")
        return _ids(claims)

    def session_token(self, *, invite_id: int, person_id: int, sid: str, now: datetime) -> str:
        """A session cookie's value, good for `session_idle` from `now`."""
        claims = {
            "inv": invite_id,
            "sub": str(person_id),
            "sid": sid,
            "aud": SESSION_AUDIENCE,
            "exp": int((now + self.session_idle).timestamp()),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def read_session(self, token: str, *, now: datetime) -> tuple[int, int, str]:
        """(invite id, person id, session id) of a live session; LinkRefused("session")."""
        try:
            claims = self._decode(token, SESSION_AUDIENCE)
        except LinkRefused:
            raise LinkRefused("session") from None
        if now >= _utc(int(claims["exp"])) or not isinstance(claims.get("sid"), str):
            raise LinkRefused("session")
        invite_id, person_id = _ids(claims)
        return invite_id, person_id, claims["sid"]

    def csrf(self, nonce: str) -> str:
        """The form token that goes with a session id or a pre-session nonce."""
        return hmac.new(self.secret.encode(), f"csrf:{nonce}".encode(), "sha256").hexdigest()

    def csrf_ok(self, nonce: str | None, sent: str | None) -> bool:
        """Whether a form's token matches its cookie."""
        return bool(nonce and sent) and hmac.compare_digest(self.csrf(nonce or ""), sent or "")

    def _decode(self, token: str, audience: str) -> dict:
        try:
            return jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=audience,
                # Expiry is checked against the bot's own clock (simulated in tests).
                options={"verify_exp": False, "require": ["exp", "sub", "inv", "aud"]},
            )
        except jwt.PyJWTError:
            raise LinkRefused("invalid") from None


def _ids(claims: dict) -> tuple[int, int]:
    invite, subject = claims.get("inv"), str(claims.get("sub"))
    if not isinstance(invite, int) or not subject.isdigit():
        raise LinkRefused("invalid")
    return invite, int(subject)


# --- the chair's side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewInvite:
    """What the chair sends: the link, and the code to send another way."""

    invite: FamilyInvite
    url: str
    code: str


def family_membership(session: Session, *, group_id: int, person_id: int) -> Membership | None:
    """The person's active membership of the group if they take part as family."""
    membership = active_membership(session, group_id=group_id, person_id=person_id)
    if membership is None:
        return None
    person = session.get(Person, person_id)
    if Role(membership.role).is_family or (person is not None and person.is_family):
        return membership
    return None


def create_invite(
    session: Session,
    *,
    signer: Signer,
    group_id: int,
    person: Person,
    created_by: int,
    now: datetime,
    ttl: timedelta,
) -> NewInvite:
    """A new link for a family member (ending any earlier one they had for this group)."""
    assert person.id is not None
    membership = family_membership(session, group_id=group_id, person_id=person.id)
    if membership is None:
        raise BadInput(
            f"{person.display_name} isn't in the group as family, so they don't need a link: "
            "professionals take part in the chat.",
            hint="Add them as a parent or child first, e.g. `/coregroup add @alex parent`.",
        )
    if Role(membership.role) is Role.CHILD and (membership.age or 0) < YOUNG_PERSON_MIN_AGE:
        raise BadInput(
            f"A child gets their own page from the age of {YOUNG_PERSON_MIN_AGE}, once the key "
            "worker has recorded their age.",
            hint="The key worker records it with `/coregroup age @sam 12`.",
        )
    revoke_invites(session, group_id=group_id, person_id=person.id, now=now)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    invite = FamilyInvite(
        group_id=group_id,
        person_id=person.id,
        code_hash=_hash_code(code),
        created_by=created_by,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(invite)
    session.flush()
    assert invite.id is not None
    token = signer.link_token(invite_id=invite.id, person_id=person.id, expires=invite.expires_at)
    invite.token_hash = _hash_token(token)
    session.add(invite)
    session.flush()
    return NewInvite(invite, signer.link_url(token), code)


def revoke_invites(session: Session, *, group_id: int, person_id: int, now: datetime) -> int:
    """End every live link a person has for a group; how many were live."""
    rows = session.exec(
        select(FamilyInvite).where(
            FamilyInvite.group_id == group_id,
            FamilyInvite.person_id == person_id,
            col(FamilyInvite.revoked_at).is_(None),
        )
    ).all()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    session.flush()
    return sum(1 for row in rows if row.expires_at > now)


# --- the family's side --------------------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    """Who a valid link or session belongs to, and in which group, as what."""

    invite: FamilyInvite
    person: Person
    membership: Membership

    @property
    def group_id(self) -> int:
        """The one group this visitor can see."""
        return self.invite.group_id

    @property
    def person_id(self) -> int:
        """The visitor's person id."""
        assert self.person.id is not None
        return self.person.id

    @property
    def young_person(self) -> bool:
        """Whether the visitor is the child (their own page and wording)."""
        return Role(self.membership.role) is Role.CHILD

    @property
    def first_name(self) -> str:
        """How the pages greet them."""
        return self.person.display_name.split(" ")[0]


def _live(session: Session, invite: FamilyInvite | None, person_id: int, now: datetime) -> Visitor:
    """The visitor of a live invite; LinkRefused otherwise."""
    if invite is None or invite.person_id != person_id:
        raise LinkRefused("invalid")
    if invite.revoked_at is not None:
        raise LinkRefused("revoked")
    if invite.expires_at <= now:
        raise LinkRefused("expired")
    if invite.locked_at is not None:
        raise LinkRefused("locked")
    # One query (this runs on every page): the person's active membership of an active group.
    row = session.exec(
        select(Membership, Person)
        .join(Person, col(Person.id) == Membership.person_id)
        .join(CoreGroup, col(CoreGroup.id) == Membership.group_id)
        .where(
            Membership.group_id == invite.group_id,
            Membership.person_id == person_id,
            col(Membership.active).is_(True),
            CoreGroup.status == GroupStatus.ACTIVE,
        )
    ).first()
    if row is None:
        raise LinkRefused("revoked")
    membership, person = row
    if not (Role(membership.role).is_family or person.is_family):
        raise LinkRefused("revoked")
    return Visitor(invite, person, membership)


def open_link(session: Session, *, signer: Signer, token: str, now: datetime) -> Visitor:
    """The visitor a link is for, before the code; LinkRefused if it opens nothing."""
    invite_id, person_id = signer.read_link(token, now=now)
    invite = session.get(FamilyInvite, invite_id)
    if invite is not None and not hmac.compare_digest(invite.token_hash or "", _hash_token(token)):
        raise LinkRefused("invalid")  # a link re-signed with the right ids: still not ours
    return _live(session, invite, person_id, now)


def enter_code(
    session: Session, *, visitor: Visitor, code: str, now: datetime, max_tries: int
) -> bool:
    """Whether `code` is right; a wrong one counts, and the `max_tries`th locks the link
    (audited)."""
    invite = visitor.invite
    typed = "".join(ch for ch in code if ch.isdigit())
    if len(typed) == CODE_DIGITS and _code_matches(typed, invite.code_hash):
        invite.last_used_at = now
        session.add(invite)
        record(session, visitor, now, AuditKind.READ, "family:signed-in", f"invite={invite.id}")
        return True
    invite.failed_tries += 1
    if invite.failed_tries >= max_tries:
        invite.locked_at = now
    session.add(invite)
    what = "family:locked" if invite.locked_at else "family:wrong-code"
    record(session, visitor, now, AuditKind.DENIED, what, f"invite={invite.id}")
    return False


def tries_left(visitor: Visitor, *, max_tries: int) -> int:
    """Wrong codes still allowed before the link locks."""
    return max(0, max_tries - visitor.invite.failed_tries)


def session_visitor(
    session: Session, *, signer: Signer, token: str, now: datetime
) -> tuple[Visitor, str]:
    """The visitor of a live session cookie and its session id; LinkRefused otherwise."""
    invite_id, person_id, sid = signer.read_session(token, now=now)
    visitor = _live(session, session.get(FamilyInvite, invite_id), person_id, now)
    return visitor, sid


def record(
    session: Session, visitor: Visitor, now: datetime, kind: AuditKind, what: str, detail: str = ""
) -> None:
    """Audit what a family member did on their pages, like a chat action (ids only)."""
    session.add(
        AuditEntry(
            at=now,
            actor_id=visitor.person_id,
            group_id=visitor.group_id,
            kind=kind,
            what=what[:80],
            detail=detail[:500],
        )
    )
