"""People and their chat identities: who is acting, and who a mention refers to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.config import checked_email
from bot.core.errors import BadInput
from storage.enums import Platform
from storage.models import ChatIdentity, Membership, Person


@dataclass(frozen=True)
class Who:
    """A platform user as an adapter sees them."""

    platform: Platform
    user_id: str
    display_name: str = ""
    timezone: str | None = None


class Directory(Protocol):
    """Looks up a platform user the bot has not met yet (Slack users.info, Graph, local names)."""

    def describe(self, user_id: str) -> Who | None: ...


MENTION = re.compile(r"^<@([A-Za-z0-9._:-]+)(?:\|([^>]*))?>$")


def identity_of(session: Session, platform: Platform, user_id: str) -> ChatIdentity | None:
    """The stored identity for a platform user id."""
    return session.exec(
        select(ChatIdentity).where(
            ChatIdentity.platform == platform, ChatIdentity.user_id == user_id
        )
    ).first()


def person_for(session: Session, who: Who, clock: Clock) -> Person:
    """The person behind a platform user, created on first contact."""
    ident = identity_of(session, who.platform, who.user_id)
    if ident is not None:
        person = session.get(Person, ident.person_id)
        assert person is not None
        return person
    person = Person(display_name=who.display_name or who.user_id, created_at=clock.now())
    if who.timezone:
        person.timezone = who.timezone
    session.add(person)
    session.flush()
    assert person.id is not None
    session.add(
        ChatIdentity(
            person_id=person.id,
            platform=who.platform,
            user_id=who.user_id,
            handle=(who.display_name or who.user_id).split(" ")[0].lower(),
        )
    )
    session.flush()
    return person


def resolve_person(
    session: Session,
    token: str,
    *,
    platform: Platform,
    directory: Directory,
    clock: Clock,
    group_id: int | None = None,
) -> Person:
    """The person a mention (`<@U123>`, `<@U123|sam>`, `@sam`) or a member's name refers to."""
    match = MENTION.match(token)
    if match:
        user_id = match.group(1)
        ident = identity_of(session, platform, user_id)
        if ident is not None:
            person = session.get(Person, ident.person_id)
            assert person is not None
            return person
        who = directory.describe(user_id)
        if who is None:
            raise BadInput(f"I can't find that person ({token}) in this workspace.")
        return person_for(session, who, clock)
    name = token.removeprefix("@").strip()
    if not name:
        raise BadInput("Say who: mention them, e.g. `@sam`.")
    ident = session.exec(
        select(ChatIdentity).where(
            ChatIdentity.platform == platform, col(ChatIdentity.handle) == name.lower()
        )
    ).first()
    if ident is not None:
        person = session.get(Person, ident.person_id)
        assert person is not None
        return person
    if group_id is not None:
        members = session.exec(
            select(Person)
            .join(Membership, col(Membership.person_id) == Person.id)
            .where(Membership.group_id == group_id, col(Membership.active).is_(True))
        ).all()
        folded = name.casefold()
        hits = [
            p
            for p in members
            if p.display_name.casefold() == folded
            or p.display_name.casefold().split(" ")[0] == folded
        ]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise BadInput(
                f"More than one member is called {name}.",
                hint="Mention the person you mean with @ so I can tell them apart.",
            )
    who = directory.describe(name)
    if who is None:
        raise BadInput(
            f"I don't know who {token} is.",
            hint="Mention them with @ (pick them from the list as you type).",
        )
    return person_for(session, who, clock)


EMAIL_OFF = ("none", "off", "remove", "clear")


def valid_email(text: str, *, example: str) -> str:
    """An email address in its normal form, or BadInput saying what is wrong with it."""
    try:
        return checked_email(text)
    except ValueError as exc:
        raise BadInput(
            f"'{text}' isn't an email address I can use: {exc}",
            hint=f"For example: `{example}`",
        ) from None


def set_email(person: Person, email: str | None) -> None:
    """Record where the person's copies of the minutes go by email (None: back to chat)."""
    person.email = email
    person.outside_chat = email is not None


def outside_person(session: Session, *, name: str, email: str, clock: Clock) -> Person:
    """Someone with no chat account (a GP practice, a parent): known by name and email only."""
    person = Person(display_name=name[:120], created_at=clock.now())
    set_email(person, email)
    session.add(person)
    session.flush()
    return person
