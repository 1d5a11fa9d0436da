"""Distribution of published minutes: who gets which copy, how, and a log of each copy's fate.

Publishing queues one Distribution row per member: the full minutes for professionals, the family
version for parents and carers, the young person's version for the child. Each row says how it
goes — a direct message with the file in chat, an email for someone outside chat, or nothing the
bot can do ("to send by other means"). A sender outside this module claims pending rows, sends
them and records the outcome here. The circulation deadline is met only when every member's copy
is logged as delivered (a chair may log one sent by post or by hand).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.core.meetings import format_when
from storage.enums import CopyKind, DeliveryMethod, DeliveryStatus, Platform, Role
from storage.models import ChatIdentity, Distribution, Minutes, MinutesVersion, Person

WAITING = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
NOT_REACHED = (DeliveryStatus.BOUNCED, DeliveryStatus.NO_ROUTE)


def copy_for(role: Role, *, family: bool = False) -> CopyKind:
    """The copy a member in `role` receives (`family`: a relative in another role, e.g. a nan)."""
    if role is Role.CHILD:
        return CopyKind.YOUNG_PERSON
    if role.is_family or family:
        return CopyKind.FAMILY
    return CopyKind.FULL


def masked(email: str) -> str:
    """An address as the chair may see it in shared views: "r…@nhs.net"."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"


def has_chat(session: Session, *, person_id: int, platform: Platform) -> bool:
    """Whether the bot can message the person on `platform`."""
    return (
        session.exec(
            select(ChatIdentity.id).where(
                ChatIdentity.person_id == person_id, ChatIdentity.platform == platform
            )
        ).first()
        is not None
    )


def route_for(person: Person, *, chat: bool) -> DeliveryMethod | None:
    """How a copy reaches the person: chat unless marked outside chat, else email, else none."""
    if chat and not person.outside_chat:
        return DeliveryMethod.CHAT
    if person.email:
        return DeliveryMethod.EMAIL
    return None


def _routed(row: Distribution, person: Person, *, platform: Platform, session: Session) -> None:
    assert person.id is not None
    method = route_for(person, chat=has_chat(session, person_id=person.id, platform=platform))
    row.method = method or DeliveryMethod.OTHER
    row.status = DeliveryStatus.PENDING if method else DeliveryStatus.NO_ROUTE
    row.detail = "" if method else "no chat account or email address known"


def queue_copies(
    session: Session,
    *,
    minutes: Minutes,
    version: MinutesVersion,
    members: Sequence[tuple[Role, Person]],
    platform: Platform,
    now: datetime,
) -> list[Distribution]:
    """One row per member, waiting to be sent (or marked for the chair to send another way)."""
    assert minutes.id is not None and version.id is not None
    rows = []
    for role, person in members:
        assert person.id is not None
        row = Distribution(
            minutes_id=minutes.id,
            person_id=person.id,
            version_id=version.id,
            copy_kind=copy_for(role, family=person.is_family),
            sent_at=now,
        )
        _routed(row, person, platform=platform, session=session)
        rows.append(row)
    session.add_all(rows)
    session.flush()
    return rows


def log_of(session: Session, *, minutes: Minutes) -> list[tuple[Person, Distribution]]:
    """Every member's copy of the minutes, in the order they were queued."""
    rows = session.exec(
        select(Person, Distribution)
        .join(Distribution, col(Distribution.person_id) == Person.id)
        .where(Distribution.minutes_id == minutes.id)
        .order_by(col(Distribution.id))
    ).all()
    return [(p, d) for p, d in rows]


def claim_pending(
    session: Session, *, now: datetime, lease: timedelta, limit: int, lock: bool
) -> list[Distribution]:
    """Claim copies due to be sent: pending ones, and claims whose sender died (lease over)."""
    due = or_(col(Distribution.claimed_until).is_(None), col(Distribution.claimed_until) <= now)
    query = (
        select(Distribution)
        .where(col(Distribution.status).in_(list(WAITING)), due)
        .order_by(col(Distribution.id))
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    rows = list(session.exec(query).all())
    for row in rows:
        row.status = DeliveryStatus.SENDING
        row.claimed_until = now + lease
        row.attempts += 1
        session.add(row)
    session.flush()
    return rows


def record_delivered(
    session: Session, *, row_id: int, ref: str, detail: str, now: datetime
) -> Distribution | None:
    """A copy arrived (the platform or the mail server accepted it)."""
    row = session.get(Distribution, row_id)
    if row is None:
        return None
    row.status, row.message_ref, row.detail = DeliveryStatus.DELIVERED, ref[:200], detail
    row.sent_at, row.claimed_until = now, None
    session.add(row)
    session.flush()
    return row


def record_failed(
    session: Session,
    *,
    row_id: int,
    detail: str,
    retryable: bool,
    now: datetime,
    max_attempts: int,
    retry_after: timedelta,
) -> Distribution | None:
    """A copy could not be sent: try again later if that may work, else it bounced."""
    row = session.get(Distribution, row_id)
    if row is None:
        return None
    row.detail, row.sent_at = detail, now
    if retryable and row.attempts < max_attempts:
        row.status, row.claimed_until = DeliveryStatus.PENDING, now + retry_after
    else:
        row.status, row.claimed_until = DeliveryStatus.BOUNCED, None
    session.add(row)
    session.flush()
    return row


def settle_circulation(session: Session, *, minutes: Minutes, now: datetime) -> bool:
    """Mark the minutes circulated once every member's copy is delivered; True when it is."""
    rows = [d for _, d in log_of(session, minutes=minutes)]
    complete = bool(rows) and all(d.status == DeliveryStatus.DELIVERED for d in rows)
    if complete and minutes.circulated_at is None:
        minutes.circulated_at = max([now, *(d.sent_at for d in rows)])
        session.add(minutes)
        session.flush()
    return complete


def log_other_means(
    session: Session, *, minutes: Minutes, person_id: int, how: str, now: datetime
) -> Distribution:
    """The chair gave a member their copy another way (by post, by hand): log it delivered."""
    row = session.exec(
        select(Distribution).where(
            Distribution.minutes_id == minutes.id, Distribution.person_id == person_id
        )
    ).first()
    if row is None:
        assert minutes.id is not None
        row = Distribution(minutes_id=minutes.id, person_id=person_id, sent_at=now)
    row.method, row.status = DeliveryMethod.OTHER, DeliveryStatus.DELIVERED
    row.detail, row.sent_at, row.claimed_until = how, now, None
    session.add(row)
    session.flush()
    return row


def requeue(
    session: Session,
    *,
    minutes: Minutes,
    people: Sequence[Person],
    platform: Platform,
    now: datetime,
) -> list[tuple[Person, Distribution]]:
    """Send again, with their current details, to people whose copy bounced or had no route."""
    wanted = {p.id for p in people}
    changed = []
    for person, row in log_of(session, minutes=minutes):
        if person.id not in wanted or row.status not in NOT_REACHED:
            continue
        _routed(row, person, platform=platform, session=session)
        row.sent_at, row.claimed_until, row.attempts = now, None, 0
        session.add(row)
        changed.append((person, row))
    session.flush()
    return changed


def waiting_minutes(session: Session, *, minutes_ids: Sequence[int]) -> set[int]:
    """Which of these minutes still have copies waiting to be sent."""
    if not minutes_ids:
        return set()
    rows = session.exec(
        select(Distribution.minutes_id).where(
            col(Distribution.minutes_id).in_(list(minutes_ids)),
            col(Distribution.status).in_(list(WAITING)),
        )
    ).all()
    return set(rows)


# --- words --------------------------------------------------------------------------------------


def how_words(person: Person, row: Distribution, *, address: bool = False) -> str:
    """How the copy goes; with `address` (for chairs only) the email address, masked."""
    match DeliveryMethod(row.method):
        case DeliveryMethod.CHAT:
            return "direct message in chat"
        case DeliveryMethod.EMAIL:
            return f"email ({masked(person.email)})" if address and person.email else "email"
    if row.status == DeliveryStatus.DELIVERED:
        return f"other means: {row.detail}"
    return "no way known yet"


def status_words(row: Distribution, tz: ZoneInfo, *, why: bool = True) -> str:
    """Where the copy stands, with when; `why` adds the mail server's reason for a bounce."""
    when = format_when(row.sent_at, tz)
    match DeliveryStatus(row.status):
        case DeliveryStatus.DELIVERED:
            return f"delivered {when}"
        case DeliveryStatus.BOUNCED:
            return f"BOUNCED {when}: {row.detail}" if why and row.detail else f"BOUNCED {when}"
        case DeliveryStatus.NO_ROUTE:
            return "to send by other means (no chat account or email address)"
        case DeliveryStatus.SENDING:
            return "being sent"
    if row.claimed_until is not None and row.detail:
        retry = f"waiting to try again after {format_when(row.claimed_until, tz)}"
        return f"{retry} ({row.detail})" if why else retry
    return "waiting to be sent"


def log_lines(
    log: Sequence[tuple[Person, Distribution]], tz: ZoneInfo, *, addresses: bool = False
) -> list[str]:
    """One line per member: who, which copy, how, and where it stands (`addresses`: chairs')."""
    return [
        f"{p.display_name} — {CopyKind(d.copy_kind).label}, by "
        f"{how_words(p, d, address=addresses)}: "
        f"{status_words(d, tz, why=addresses)}"
        for p, d in log
    ]


@dataclass(frozen=True)
class Tally:
    """Counts of where the copies stand."""

    delivered: int
    waiting: int
    bounced: int
    no_route: int

    @property
    def total(self) -> int:
        """Every member's copy."""
        return self.delivered + self.waiting + self.bounced + self.no_route


def tally(log: Sequence[tuple[Person, Distribution]]) -> Tally:
    """How many copies are delivered, waiting, bounced, or have no way to be sent."""
    statuses = [DeliveryStatus(d.status) for _, d in log]
    return Tally(
        delivered=statuses.count(DeliveryStatus.DELIVERED),
        waiting=sum(s in WAITING for s in statuses),
        bounced=statuses.count(DeliveryStatus.BOUNCED),
        no_route=statuses.count(DeliveryStatus.NO_ROUTE),
    )
