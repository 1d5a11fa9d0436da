"""Sealing and checking the audit log's hash chain (the chain itself: storage.audit_chain).

A seal is an HMAC-SHA256 under AUDIT_KEY over a finished UTC day's last place and hash. Someone
who can write to the database but does not hold the key can rewrite the chain consistently from
some row on, but not the seals of the days after it, so `verify` still names the first bad row.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, func, select

from storage.audit_chain import GENESIS, link
from storage.db import insert_for
from storage.models import AuditChain, AuditEntry, AuditSeal


def seal_mac(key: bytes, day: date, last_seq: int, last_hash: str) -> str:
    """The seal of `day` whose last row is `last_seq` with hash `last_hash`."""
    message = f"{day.isoformat()}|{last_seq}|{last_hash}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def seal_days(session: Session, key: bytes, now: datetime) -> list[date]:
    """Seal every finished UTC day that has rows not yet under a seal; the days sealed.

    A day's rows run from the row after the last seal to the row before the first one stamped
    on a later day. Two instances sealing at once agree (the first seal of a day stays).
    """
    today = now.astimezone(UTC).date()
    sealed: list[date] = []
    last_sealed = session.exec(select(func.max(AuditSeal.last_seq))).one() or 0
    while True:
        first = session.exec(
            select(AuditEntry).where(AuditEntry.seq > last_sealed).order_by(col(AuditEntry.seq))
        ).first()
        if first is None or first.at.astimezone(UTC).date() >= today:
            return sealed
        day = first.at.astimezone(UTC).date()
        end = datetime.combine(day + timedelta(days=1), time(), UTC)
        later = session.exec(
            select(func.min(AuditEntry.seq)).where(
                AuditEntry.seq > last_sealed, AuditEntry.at >= end
            )
        ).one()
        if later is not None:
            last_seq = later - 1
        else:
            last_seq = session.exec(select(func.max(AuditEntry.seq))).one() or first.seq
        last = session.exec(select(AuditEntry).where(AuditEntry.seq == last_seq)).one()
        session.execute(
            insert_for(session.get_bind().dialect.name)(AuditSeal)
            .values(
                day=day,
                last_seq=last_seq,
                last_hash=last.row_hash,
                mac=seal_mac(key, day, last_seq, last.row_hash),
                sealed_at=now,
            )
            .on_conflict_do_nothing()
        )
        sealed.append(day)
        last_sealed = last_seq


@dataclass(frozen=True)
class Broken:
    """Where the audit log first fails its check: a row's id and date, and why (no content)."""

    row_id: int | None
    day: date | None
    reason: str


@dataclass(frozen=True)
class Verified:
    """What `verify` walked, and the first break if any."""

    rows: int
    seals: int
    broken: Broken | None


def verify(session: Session, key: bytes, *, batch: int = 1000) -> Verified:
    """Walk the chain in order, then the seals; stop at the first break."""
    expected, last, rows = 1, GENESIS, 0
    hashes: dict[int, str] = {}
    seals = session.exec(select(AuditSeal).order_by(col(AuditSeal.day))).all()
    sealed_at = {seal.last_seq for seal in seals}
    stream = session.exec(
        select(AuditEntry).order_by(col(AuditEntry.seq)).execution_options(yield_per=batch)
    )
    for entry in stream:
        day = entry.at.astimezone(UTC).date()
        if entry.seq != expected:
            return Verified(rows, 0, Broken(entry.id, day, "a row before it is missing"))
        if entry.prev_hash != last:
            return Verified(rows, 0, Broken(entry.id, day, "it does not follow the row before it"))
        if entry.row_hash != link(last, entry.content()):
            return Verified(rows, 0, Broken(entry.id, day, "its content was changed"))
        if entry.seq in sealed_at:
            hashes[entry.seq] = entry.row_hash
        last, expected, rows = entry.row_hash, expected + 1, rows + 1
    head = session.get(AuditChain, 1)
    if head is not None and (head.seq, head.last_hash) != (rows, last):
        return Verified(rows, 0, Broken(None, None, f"rows after row {rows} are missing"))
    for n, seal in enumerate(seals):
        good = seal_mac(key, seal.day, seal.last_seq, seal.last_hash)
        if not hmac.compare_digest(good, seal.mac):
            return Verified(rows, n, Broken(None, seal.day, "the day's seal is not genuine"))
        if hashes.get(seal.last_seq) != seal.last_hash:
            return Verified(rows, n, Broken(None, seal.day, "the day's rows do not match its seal"))
    return Verified(rows, len(seals), None)
