"""People and their chat identities: who is acting, and who a mention refers to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session, col, or_, select

from bot.clock import Clock
from bot.config import checked_email
from bot.core.errors import Ambiguous, BadInput, Choice
from storage.blind_index import handle_of, name_index
from storage.db import insert_for
from storage.enums import Platform, Role
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
    """The person behind a platform user, created on first contact.

    A new user's first requests may arrive together (a double click, several commands after a
    start-up): the identity is inserted with ON CONFLICT DO NOTHING, and the request that loses
    the race drops the person it made and uses the one that won.
    """
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
    values = {
        "person_id": person.id,
        "platform": who.platform,
        "user_id": who.user_id,
        "handle_index": name_index(session.connection(), handle_of(person.display_name)),
    }
    statement = (
        insert_for(session.get_bind().dialect.name)(ChatIdentity)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["platform", "user_id"])
        .returning(col(ChatIdentity.id))
    )
    created = session.execute(statement).scalar_one_or_none()
    if created is not None:
        return person
    session.delete(person)  # another request met them first
    session.flush()
    ident = identity_of(session, who.platform, who.user_id)
    assert ident is not None
    winner = session.get(Person, ident.person_id)
    assert winner is not None
    return winner


def resolve_person(
    session: Session,
    token: str,
    *,
    platform: Platform,
    directory: Directory,
    clock: Clock,
    group_id: int | None = None,
) -> Person:
    """The person a mention (`<@U123>`, `<@U123|sam>`, `@sam`) or a member's name refers to.

    Only a platform's real mention (or, in the local chat, an exact user id) names someone
    outside the group. A typed name is taken as one member of the group when it fits exactly one
    person; when it could mean anyone else, the actor is asked to choose (`Ambiguous`), never
    guessed: a fuzzy match must not welcome the wrong person into a case.
    """
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
    chosen: int | None = None
    picked = CHOSEN.match(name)
    if picked:  # a choice made with the buttons `Ambiguous` offered: `@sam#12`
        name, chosen = picked.group(1), int(picked.group(2))
    if not name:
        raise BadInput("Say who: mention them, e.g. `@sam`.")
    if platform == Platform.LOCAL and chosen is None:
        # The local chat's people are their one-word user ids: `@sam` is an exact mention.
        ident = identity_of(session, platform, name.lower())
        if ident is not None:
            person = session.get(Person, ident.person_id)
            assert person is not None
            return person
    candidates = name_candidates(session, name, platform=platform, group_id=group_id)
    if chosen is not None:
        for person, _ in candidates:
            if person.id == chosen:
                return person
        raise BadInput(
            f"I don't know who {token} is.",
            hint="Mention them with @ (pick them from the list as you type).",
        )
    if len(candidates) == 1 and candidates[0][1] is not None:
        return candidates[0][0]  # the one member of the group with that name
    if candidates:
        shown = candidates[:MAX_CHOICES]
        raise Ambiguous(
            f"More than one person is called {name}: who do you mean?"
            if len(candidates) > 1
            else f"Nobody in the group is called {name}: do you mean this person?",
            token=token,
            choices=tuple(
                Choice(
                    person_id=p.id or 0,
                    label=p.display_name if role is None else f"{p.display_name} ({role.label})",
                )
                for p, role in shown
            ),
            hint="Choose one, or mention them with @ (pick them from the list as you type).",
        )
    who = directory.describe(name)
    if who is None:
        raise BadInput(
            f"I don't know who {token} is.",
            hint="Mention them with @ (pick them from the list as you type).",
        )
    return person_for(session, who, clock)


# `@sam#12`: the choice of person 12 for the typed name `@sam`, made with a button.
CHOSEN = re.compile(r"^(.+)#(\d{1,12})$")
MAX_CHOICES = 8


def name_candidates(
    session: Session, name: str, *, platform: Platform, group_id: int | None
) -> list[tuple[Person, Role | None]]:
    """Everyone a typed name could mean: the group's members whose name (or its first word) it
    is, with their role there, then other people on the platform known by that name."""
    folded = name.casefold()
    found: list[tuple[Person, Role | None]] = []
    seen: set[int] = set()
    if group_id is not None:
        rows = session.exec(
            select(Person, Membership)
            .join(Membership, col(Membership.person_id) == Person.id)
            .where(Membership.group_id == group_id, col(Membership.active).is_(True))
            .order_by(col(Membership.id))
        ).all()
        for person, membership in rows:
            display = person.display_name.casefold()
            if (display == folded or display.split(" ")[0] == folded) and person.id not in seen:
                found.append((person, Role(membership.role)))
                seen.add(person.id or 0)
    typed = name_index(session.connection(), name)
    others = session.exec(
        select(Person)
        .join(ChatIdentity, col(ChatIdentity.person_id) == Person.id)
        .where(
            ChatIdentity.platform == platform,
            or_(col(ChatIdentity.handle_index) == typed, col(Person.name_index) == typed),
        )
    ).all()
    # Names are sealed, so sorted here rather than in SQL (the few people a name matches).
    for person in sorted(others, key=lambda p: (p.display_name.casefold(), p.id or 0)):
        if person.id not in seen:
            found.append((person, None))
            seen.add(person.id or 0)
    return found


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
