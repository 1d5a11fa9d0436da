"""The durable record of Teams work waiting on a group chat (table `teamspending`).

A removal Microsoft Graph refused is kept ("removal") until the person is out of the chat or
back in the group; while one is pending for a group, its chat gets nothing new: each post for
it is kept ("post", the rendered activities, sealed) and sent in order once the removal is done.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from storage.db import session_scope
from storage.models import TeamsPending

REMOVAL = "removal"
POST = "post"


def hold_removal(
    engine: Engine,
    *,
    group_id: int,
    chat: str,
    person_id: int,
    aad_id: str | None,
    told: int | None,
    now: datetime,
    wait: timedelta,
    error: str,
) -> None:
    """Keep a refused removal, to be tried again after `wait`; `aad_id` None: not found yet;
    `told`: who was told of the refusal (to be told when it is done)."""
    with session_scope(engine) as session:
        session.add(
            TeamsPending(
                kind=REMOVAL,
                group_id=group_id,
                chat=chat,
                payload={"person_id": person_id, "aad_id": aad_id, "told": told},
                created_at=now,
                next_try_at=now + wait,
                last_error=error[:100],
            )
        )


def hold_post(
    engine: Engine, *, group_id: int, chat: str, payload: dict[str, Any], now: datetime
) -> int:
    """Keep a post for the group's chat until no removal is pending; returns its id."""
    row = TeamsPending(
        kind=POST, group_id=group_id, chat=chat, payload=payload, created_at=now, next_try_at=now
    )
    with session_scope(engine) as session:
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def removal_pending(engine: Engine, group_id: int) -> bool:
    """Whether someone removed from the group may still be in its chat."""
    with Session(engine) as session:
        found = session.exec(
            select(TeamsPending.id).where(
                TeamsPending.kind == REMOVAL,
                TeamsPending.group_id == group_id,
                col(TeamsPending.done_at).is_(None),
            )
        ).first()
    return found is not None


def posts_refused(engine: Engine, group_id: int, since: datetime) -> bool:
    """Whether a post held for the group's chat since `since` was refused for good."""
    with Session(engine) as session:
        found = session.exec(
            select(TeamsPending.id).where(
                TeamsPending.kind == POST,
                TeamsPending.group_id == group_id,
                TeamsPending.created_at >= since,
                col(TeamsPending.done_at).is_not(None),
                col(TeamsPending.last_error).is_not(None),
            )
        ).first()
    return found is not None


def chats_held(engine: Engine, chats: set[str]) -> set[str]:
    """Those of `chats` someone removed may still be in: nothing new is shown there."""
    if not chats:
        return set()
    with Session(engine) as session:
        found = session.exec(
            select(TeamsPending.chat).where(
                TeamsPending.kind == REMOVAL,
                col(TeamsPending.chat).in_(sorted(chats)),
                col(TeamsPending.done_at).is_(None),
            )
        ).all()
    return set(found)


def due_removals(engine: Engine, now: datetime) -> list[TeamsPending]:
    """The refused removals due to be tried again, oldest first."""
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.exec(
                select(TeamsPending)
                .where(
                    TeamsPending.kind == REMOVAL,
                    col(TeamsPending.done_at).is_(None),
                    TeamsPending.next_try_at <= now,
                )
                .order_by(col(TeamsPending.id))
            ).all()
        )


def released_posts(engine: Engine) -> list[TeamsPending]:
    """Held posts of groups with no removal pending any more, oldest first."""
    with Session(engine, expire_on_commit=False) as session:
        pending = select(TeamsPending.group_id).where(
            TeamsPending.kind == REMOVAL, col(TeamsPending.done_at).is_(None)
        )
        return list(
            session.exec(
                select(TeamsPending)
                .where(
                    TeamsPending.kind == POST,
                    col(TeamsPending.done_at).is_(None),
                    col(TeamsPending.group_id).not_in(pending),
                )
                .order_by(col(TeamsPending.id))
            ).all()
        )


def tried(
    engine: Engine,
    row_id: int,
    now: datetime,
    *,
    error: str | None,
    wait: timedelta | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record one try: done (no `error`, or no `wait`: given up), else due again after `wait`;
    `payload` replaces what is left to do (a post part-sent)."""
    with session_scope(engine) as session:
        row = session.get(TeamsPending, row_id)
        assert row is not None
        row.attempts += 1
        row.last_error = error[:100] if error else None
        if payload is not None:
            row.payload = payload
        if error is None or wait is None:
            row.done_at = now
        else:
            row.next_try_at = now + wait
        session.add(row)
