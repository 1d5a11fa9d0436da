"""What a reply answers: messages that take a reply, by their platform id, and held replies.

A message that expects a reply names what it is about (`Message.expects`: "update:12",
"action:7,9", "concern:3"). When it is sent, the adapter (or the reminder engine) records that
against the platform's id for the message; a reply in its thread (Slack), its reply chain or a
quote of it (Teams), or `reply <n>` (the local chat) then carries that id, and the dispatcher
looks up what it answers here. A message that could answer two things is held while its author
says which, so nothing they typed is lost however long it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.core.errors import NotFound
from storage.db import insert_for
from storage.enums import Platform
from storage.models import HeldReply, Prompt

UPDATE, ACTION, CONCERN = "update", "action", "concern"
KINDS = (UPDATE, ACTION, CONCERN)


@dataclass(frozen=True)
class Target:
    """What a reply answers: a kind and the ids it names (several actions of one reminder)."""

    kind: str
    ids: tuple[int, ...]

    @property
    def token(self) -> str:
        """The form stored with a sent message and carried in buttons."""
        return f"{self.kind}:{','.join(str(i) for i in self.ids)}"

    @property
    def id(self) -> int:
        """The first (usually the only) id."""
        return self.ids[0]

    @classmethod
    def parse(cls, token: str | None) -> Target | None:
        """The target a stored token names; None for anything unreadable."""
        kind, _, ids = (token or "").partition(":")
        parts = ids.split(",")
        if kind not in KINDS or not all(p.isdigit() for p in parts):
            return None
        return cls(kind, tuple(int(p) for p in parts))


def target(kind: str, *ids: int | None) -> str:
    """The token for a kind and its ids."""
    return Target(kind, tuple(i for i in ids if i is not None)).token


def remember_prompt(
    session: Session, *, platform: Platform, ref: str, expects: str, now: datetime
) -> None:
    """Record what a reply to the message `ref` answers (the latest record for a ref wins)."""
    row = session.exec(
        select(Prompt).where(Prompt.platform == platform, Prompt.message_ref == ref[:200])
    ).first()
    if row is None:
        row = Prompt(platform=platform, message_ref=ref[:200], expects=expects)
    row.expects, row.sent_at = expects[:200], now
    session.add(row)
    session.flush()


def remember_prompts(
    session: Session, prompts: Sequence[tuple[Platform, str, str, datetime]]
) -> None:
    """`remember_prompt` for many sent messages (platform, ref, what a reply answers, when it
    was sent) at once, in one statement."""
    if not prompts:
        return
    table = Prompt.__table__  # type: ignore[attr-defined]
    stmt = insert_for(session.get_bind().dialect.name)(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.platform, table.c.message_ref],
        set_={"expects": stmt.excluded.expects, "sent_at": stmt.excluded.sent_at},
    )
    latest = {(platform, ref[:200]): (expects[:200], at) for platform, ref, expects, at in prompts}
    session.execute(
        stmt,
        [
            {"platform": platform.value, "message_ref": ref, "expects": expects, "sent_at": at}
            for (platform, ref), (expects, at) in latest.items()
        ],
    )


def expected_by(session: Session, *, platform: Platform, ref: str) -> Target | None:
    """What a reply to the message `ref` answers, if it was one that takes a reply."""
    row = session.exec(
        select(Prompt).where(Prompt.platform == platform, Prompt.message_ref == ref[:200])
    ).first()
    return Target.parse(row.expects) if row is not None else None


def hold(session: Session, *, person_id: int, text: str, now: datetime) -> HeldReply:
    """Keep a message while its author says what it answers."""
    row = HeldReply(person_id=person_id, text=text, held_at=now)
    session.add(row)
    session.flush()
    return row


def take_held(session: Session, *, held_id: int, person_id: int, now: datetime) -> str:
    """The text of the author's held message, marked used; NotFound for anyone else's."""
    row = session.get(HeldReply, held_id)
    if row is None or row.person_id != person_id:
        raise NotFound(
            "That question isn't one of yours, or it no longer exists.",
            hint="Type your message again and I'll take it from there.",
        )
    if row.used_at is not None:
        raise NotFound(
            "You've already told me what that message was about.",
            hint="Type a new message if there's more to say.",
        )
    row.used_at = now
    session.add(row)
    session.flush()
    return row.text
