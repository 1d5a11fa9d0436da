"""The messages the bot posted, by the platform's id, and their deletion under retention.

Every post to a group's space or a person's direct messages on Slack or Teams is recorded as a
`SentMessage` (place and message id only: no text). When retention erases a group's messages,
its space's posts (and the DMs its reminders, cards and copies went out as) are marked due; when
it anonymises a person, their direct messages are. `delete_due` then asks the platform to delete
each, keeping the outcome in the row, so a refusal is retried on the next daily run (a restart
loses nothing) until `MAX_ATTEMPTS`, when it is left and counted as not deleted; a busy platform
(a long rate limit, an outage) stops the run there without counting a try.
Once a closed group's space holds nothing still to delete, `archive_spaces` archives it (Slack
will not let the bot delete messages in an archived channel, so closing a Slack group leaves
its channel open until then). Each run audits by kind and count only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Engine, exists, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.db import session_scope
from storage.enums import AuditKind, GroupStatus, Platform
from storage.models import (
    Action,
    AuditEntry,
    CardCopy,
    ChatIdentity,
    CoreGroup,
    Distribution,
    Erasure,
    Meeting,
    Minutes,
    Reminder,
    SentMessage,
)

MAX_ATTEMPTS = 7  # daily runs: a week of refusals or outages, then it is left (and counted)
SPACE_ARCHIVED = "space_archived"  # the Erasure kind of a closed group's space, once archived
DELETABLE = (Platform.SLACK, Platform.TEAMS)


@runtime_checkable
class MessageEraser(Protocol):
    """Deletes a message the bot sent, by the id its outbox returned: True once it is gone,
    False if the platform refused, None if the platform is busy (rate limit, outage) and
    nothing more should be asked of it in this run."""

    def delete(self, ref: str) -> bool | None: ...


@runtime_checkable
class SpaceArchiver(Protocol):
    """Archives a closed group's space once the bot's messages in it are deleted."""

    def archive_space(self, place: str) -> bool: ...


@dataclass(frozen=True)
class Deleted:
    """What one run of `delete_due` did: per group (None for direct messages)."""

    deleted: Counter[int | None]
    refused: Counter[int | None]


def ref_of(platform: Platform, place: str, message_id: str) -> str:
    """The message's id in its outbox's form: Slack "channel:ts", Teams "conversation|activity"."""
    return f"{place}|{message_id}" if platform == Platform.TEAMS else f"{place}:{message_id}"


def split_ref(platform: Platform, ref: str) -> tuple[str, str] | None:
    """(place, message id) of an outbox ref, or None if it is not one (deferred, held, local)."""
    place, _, message_id = ref.rpartition("|" if platform == Platform.TEAMS else ":")
    if not place or not message_id or place in ("deferred", "held"):
        return None
    return place, message_id


def record_sent(
    engine: Engine,
    *,
    platform: Platform,
    place: str,
    message_id: str,
    now: datetime,
    service_url: str | None = None,
) -> None:
    """Record one message the bot posted (a repeat is ignored)."""
    try:
        with session_scope(engine) as session:
            session.add(
                SentMessage(
                    platform=platform,
                    place=place,
                    message_id=message_id,
                    service_url=service_url,
                    sent_at=now,
                )
            )
    except IntegrityError:
        return  # recorded already (a retried post that Slack or Teams deduplicated)


# --- making them due ----------------------------------------------------------------------------


def queue_group(session: Session, group_id: int, now: datetime) -> int:
    """Mark due for deletion every recorded post in the group's space, and the posts its
    reminders, cards and minutes copies went out as (DMs too); returns how many."""
    group = session.get(CoreGroup, group_id)
    if group is None or group.platform not in DELETABLE:
        return 0
    platform = Platform(group.platform)
    marked = 0
    for place, message_id in _group_refs(session, platform, group_id):
        row = _ensure(session, platform, place, message_id, now)
        if row.erase_from is None:
            row.erase_from, row.group_id = now, group_id
            session.add(row)
            marked += 1
    session.flush()
    if group.channel_id:
        marked += _mark(session, platform, SentMessage.place == group.channel_id, group_id, now)
    return marked


def queue_people(session: Session, person_ids: Any, group_id: int, now: datetime) -> int:
    """Mark due for deletion every recorded post in these people's direct messages (a select of
    person ids, read before their identities go); returns how many."""
    total = 0
    for platform in DELETABLE:
        places = select(ChatIdentity.dm_channel_id).where(
            ChatIdentity.platform == platform,
            col(ChatIdentity.person_id).in_(person_ids),
            col(ChatIdentity.dm_channel_id).is_not(None),
        )
        total += _mark(session, platform, col(SentMessage.place).in_(places), group_id, now)
    return total


def _mark(session: Session, platform: Platform, where: Any, group_id: int, now: datetime) -> int:
    result = session.execute(
        update(SentMessage)
        .where(
            col(SentMessage.platform) == platform,
            where,
            col(SentMessage.erase_from).is_(None),
        )
        .values(erase_from=now, group_id=group_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _ensure(
    session: Session, platform: Platform, place: str, message_id: str, now: datetime
) -> SentMessage:
    """The row of a post, made if it was recorded only elsewhere (a reminder, a card, a copy)."""
    row = session.exec(
        select(SentMessage).where(
            SentMessage.platform == platform,
            SentMessage.place == place,
            SentMessage.message_id == message_id,
        )
    ).first()
    return row or SentMessage(platform=platform, place=place, message_id=message_id, sent_at=now)


def _group_refs(session: Session, platform: Platform, group_id: int) -> list[tuple[str, str]]:
    """The reminders', live cards' and minutes copies' posts recorded for the group."""
    refs = list(
        session.exec(
            select(Reminder.message_ref).where(
                Reminder.group_id == group_id, col(Reminder.message_ref).is_not(None)
            )
        ).all()
    )
    refs += session.exec(
        select(Distribution.message_ref).where(
            col(Distribution.minutes_id).in_(
                select(Minutes.id).where(
                    col(Minutes.meeting_id).in_(
                        select(Meeting.id).where(Meeting.group_id == group_id)
                    )
                )
            ),
            col(Distribution.message_ref).is_not(None),
        )
    ).all()
    found = [split_ref(platform, ref) for ref in refs if ref]
    cards = session.exec(
        select(CardCopy.place, CardCopy.message_id).where(
            CardCopy.platform == platform,
            col(CardCopy.card).in_(_card_names(session, group_id)),
        )
    ).all()
    pairs = [pair for pair in found if pair is not None] + [(p, m) for p, m in cards]
    return list(dict.fromkeys(pairs))


def _card_names(session: Session, group_id: int) -> list[str]:
    ids = session.exec(select(Action.id).where(Action.group_id == group_id)).all()
    return [f"action:{i}" for i in ids]


# --- deleting them ------------------------------------------------------------------------------


def pending(session: Session, platform: Platform) -> list[SentMessage]:
    """The posts due for deletion on `platform` that may still be tried, oldest first."""
    return list(
        session.exec(
            select(SentMessage)
            .where(
                SentMessage.platform == platform,
                col(SentMessage.erase_from).is_not(None),
                col(SentMessage.erased_at).is_(None),
                SentMessage.attempts < MAX_ATTEMPTS,
            )
            .order_by(col(SentMessage.id))
        ).all()
    )


def delete_due(engine: Engine, erasers: Mapping[Platform, MessageEraser], now: datetime) -> Deleted:
    """Ask each platform to delete the posts due on it; the outcome is kept per row, and the
    run is audited per group by kind and count."""
    deleted: Counter[int | None] = Counter()
    refused: Counter[int | None] = Counter()
    for platform, eraser in erasers.items():
        with Session(engine, expire_on_commit=False) as session:
            rows = pending(session, platform)
        for row in rows:
            ok = eraser.delete(ref_of(platform, row.place, row.message_id))
            if ok is None:
                break  # busy: the rest wait for the next run, their tries not counted
            with session_scope(engine) as session:
                stored = session.get(SentMessage, row.id)
                assert stored is not None
                stored.attempts += 1
                if ok:
                    stored.erased_at, stored.last_error = now, None
                else:
                    stored.last_error = "refused"
                session.add(stored)
            if ok:
                deleted[row.group_id] += 1
            elif row.attempts + 1 >= MAX_ATTEMPTS:
                refused[row.group_id] += 1
    with session_scope(engine) as session:
        for group_id in sorted(set(deleted) | set(refused), key=lambda g: g or 0):
            session.add(
                AuditEntry(
                    at=now,
                    actor_id=None,
                    group_id=group_id,
                    kind=AuditKind.CHANGE,
                    what="retention:erased",
                    detail=f"kind=chat_messages deleted={deleted[group_id]} "
                    f"not_deleted={refused[group_id]}",
                )
            )
    return Deleted(deleted, refused)


def archive_spaces(
    engine: Engine, archivers: Mapping[Platform, SpaceArchiver], now: datetime
) -> int:
    """Archive the space of each closed group whose messages were erased and whose space holds
    nothing still to try; returns how many were archived (audited by kind only)."""
    archived = 0
    for platform, archiver in archivers.items():
        still = exists().where(
            col(SentMessage.place) == col(CoreGroup.channel_id),
            col(SentMessage.platform) == platform,
            col(SentMessage.erased_at).is_(None),
            col(SentMessage.erase_from).is_not(None),
            col(SentMessage.attempts) < MAX_ATTEMPTS,
        )
        with Session(engine) as session:
            groups = session.exec(
                select(CoreGroup.id, CoreGroup.channel_id).where(
                    CoreGroup.platform == platform,
                    CoreGroup.status == GroupStatus.CLOSED,
                    col(CoreGroup.channel_id).is_not(None),
                    col(CoreGroup.id).in_(
                        select(Erasure.group_id).where(Erasure.kind == "messages")
                    ),
                    col(CoreGroup.id).not_in(
                        select(Erasure.group_id).where(Erasure.kind == SPACE_ARCHIVED)
                    ),
                    ~still,
                )
            ).all()
        for group_id, place in groups:
            assert group_id is not None and place is not None
            if not archiver.archive_space(place):
                continue  # tried again on the next daily run
            with session_scope(engine) as session:
                session.add(Erasure(group_id=group_id, kind=SPACE_ARCHIVED, erased_at=now))
                session.add(
                    AuditEntry(
                        at=now,
                        actor_id=None,
                        group_id=group_id,
                        kind=AuditKind.CHANGE,
                        what="retention:erased",
                        detail="kind=chat_space archived",
                    )
                )
            archived += 1
    return archived
