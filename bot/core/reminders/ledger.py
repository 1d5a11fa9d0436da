"""The reminder ledger: upserting and withdrawing planned rows, claiming, marking, retrying.

Planning upserts derived keys into the `Reminder` ledger and withdraws pending rows whose key
is no longer derived (a moved meeting has new keys; a done action has none).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.core.context import Locale
from bot.core.groups import chairs
from bot.core.reminders.changes import table_of
from bot.core.reminders.message import Outgoing
from bot.core.reminders.settings import (
    ASAP,
    UNPLANNED_PREFIXES,
    Kind,
    Occurrence,
    ReminderSettings,
)
from bot.core.working_hours import (
    day_start,
)
from storage.db import insert_for
from storage.enums import (
    GroupStatus,
    ReminderStatus,
)
from storage.models import (
    CoreGroup,
    Reminder,
    ReminderPlanState,
)

log = logging.getLogger(__name__)

# --- planning: keeping the ledger in step with the state ---------------------------------------


@dataclass(frozen=True)
class PlanDue:
    """A group to plan, with the change count seen (to detect changes made meanwhile)."""

    group_id: int
    changes: int
    planned_until: datetime | None
    asap: bool = False  # new or changed (planned at once), not a routine re-plan


def ensure_plan_states(session: Session) -> int:
    """Give each open group that has none a plan state (groups written without the ORM)."""
    has_state = select(ReminderPlanState.group_id).where(ReminderPlanState.group_id == CoreGroup.id)
    missing = session.exec(
        select(CoreGroup.id)
        .where(CoreGroup.status == GroupStatus.ACTIVE, ~has_state.exists())
        .order_by(col(CoreGroup.id))  # one order for every instance: no deadlock between them
    ).all()
    if not missing:
        return 0
    table = table_of(ReminderPlanState)
    stmt = insert_for(session.get_bind().dialect.name)(table).on_conflict_do_nothing()
    rows = [{"group_id": g, "changes": 0, "next_plan_at": ASAP} for g in missing]
    for chunk in _chunks(rows, 5000):
        session.execute(stmt, chunk)
    return len(missing)


def groups_to_plan(session: Session, *, now: datetime, limit: int, lock: bool) -> list[PlanDue]:
    """Groups that changed or whose look-ahead runs out, oldest first (locked on PostgreSQL)."""
    query = (
        select(
            ReminderPlanState.group_id,
            ReminderPlanState.changes,
            ReminderPlanState.planned_until,
            ReminderPlanState.next_plan_at,
        )
        .where(ReminderPlanState.next_plan_at <= now)
        .order_by(col(ReminderPlanState.next_plan_at), col(ReminderPlanState.group_id))
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    return [PlanDue(g, c, u, n <= ASAP) for g, c, u, n in session.exec(query).all()]


def plan_window(
    due: PlanDue, *, now: datetime, settings: ReminderSettings, locale: Locale
) -> tuple[datetime, datetime]:
    """What to plan: from where the last plan ended (or today's start) to the look-ahead.

    After downtime the window reaches back to the last plan, so what was missed is caught up,
    but never further than the catch-up limit.
    """
    today = day_start(now.astimezone(locale.tz).date(), locale.tz)
    lo = today if due.planned_until is None else min(today, due.planned_until)
    return max(lo, now - settings.catch_up), now + settings.horizon


def _chunks(rows: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _row(occurrence: Occurrence, now: datetime) -> dict[str, Any]:
    return {
        "dedup_key": occurrence.key,
        "kind": occurrence.kind.value,
        "group_id": occurrence.group_id,
        "person_id": occurrence.person_id,
        "subject_id": occurrence.subject_id,
        "due_at": occurrence.due_at,
        "not_after": occurrence.not_after,
        "status": ReminderStatus.PENDING.value,
        "attempts": 0,
        "payload": occurrence.detail or None,
        "created_at": now,
    }


def on_conflict_replan(stmt: Any) -> Any:
    """The conflict rule of every planned insert (`stmt`, PostgreSQL's or SQLite's INSERT into
    the ledger): a pending row whose time changed moves, a withdrawn row derived again comes
    back; rows already sent, dropped, failed, claimed or retrying stay as they are."""
    table = table_of(Reminder)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[table.c.dedup_key],
        set_={
            "due_at": new.due_at,
            "not_after": new.not_after,
            "payload": new.payload,
            "status": ReminderStatus.PENDING.value,
            "attempts": 0,
            "batch_key": None,
            "last_error": None,
        },
        where=or_(
            table.c.status == ReminderStatus.WITHDRAWN.value,
            and_(
                table.c.status == ReminderStatus.PENDING.value,
                table.c.attempts == 0,
                or_(
                    table.c.due_at.is_distinct_from(new.due_at),
                    table.c.not_after.is_distinct_from(new.not_after),
                ),
            ),
        ),
    )


def upsert(session: Session, occurrences: Iterable[Occurrence], *, now: datetime) -> int:
    """Add new occurrences as pending rows; move pending ones whose time changed; revive withdrawn
    ones derived again. Rows already sent, dropped, failed, claimed or retrying stay as they are.
    """
    rows = [_row(o, now) for o in {o.key: o for o in occurrences}.values()]
    if not rows:
        return 0
    stmt = on_conflict_replan(insert_for(session.get_bind().dialect.name)(table_of(Reminder)))
    for chunk in _chunks(rows, 1000):
        session.execute(stmt, chunk)
    return len(rows)


def withdraw_stale(
    session: Session, *, windows: dict[int, datetime], desired: dict[int, set[str]]
) -> list[int]:
    """Withdraw each group's pending rows from its window on that are no longer derived."""
    if not windows:
        return []
    rows = session.exec(
        select(Reminder.id, Reminder.group_id, Reminder.dedup_key, Reminder.due_at).where(
            col(Reminder.group_id).in_(list(windows)),
            Reminder.status == ReminderStatus.PENDING,
        )
    ).all()
    gone: list[int] = [
        rid
        for rid, gid, key, due in rows
        if rid is not None
        and gid is not None
        and due >= windows[gid]
        and key not in desired.get(gid, set())
        and not key.startswith(UNPLANNED_PREFIXES)
    ]
    for chunk in _chunks(gone, 1000):
        session.execute(
            update(table_of(Reminder))
            .where(
                table_of(Reminder).c.id.in_(chunk),
                table_of(Reminder).c.status == ReminderStatus.PENDING.value,
            )
            .values(status=ReminderStatus.WITHDRAWN.value)
        )
    return gone


def finish_plans(session: Session, done: list[tuple[PlanDue, datetime, datetime]]) -> None:
    """Record each group's next planning time, unless it changed while being planned."""
    if not done:
        return
    table = table_of(ReminderPlanState)
    stmt = (
        update(table)
        .where(table.c.group_id == bindparam("b_group"), table.c.changes == bindparam("b_seen"))
        .values(
            next_plan_at=bindparam("b_next", type_=table.c.next_plan_at.type),
            planned_until=bindparam("b_until", type_=table.c.planned_until.type),
        )
    )
    session.connection().execute(
        stmt,
        [
            {"b_group": d.group_id, "b_seen": d.changes, "b_next": nxt, "b_until": until}
            for d, nxt, until in done
        ],
    )


# --- claiming, marking, retrying ----------------------------------------------------------------


def _in_id_order(*where: ColumnElement[bool]) -> Select[tuple[int]]:
    """The ids of the ledger rows matching `where`, locked in id order (PostgreSQL; SQLite has
    one writer at a time): every statement that changes several claimed rows locks them through
    this, so two senders (renewing a lease, marking a message sent) never wait on each other in
    a cycle."""
    table = table_of(Reminder)
    return select(table.c.id).where(*where).order_by(table.c.id).with_for_update()


def release_expired(session: Session, *, now: datetime) -> list[int]:
    """Claims whose lease ran out (the process died) go back to pending, keeping their batch key
    so the next claim first asks the platform whether that message arrived."""
    table = table_of(Reminder)
    expired = (table.c.status == ReminderStatus.CLAIMED.value, table.c.claimed_until < now)
    # Almost always there are none: look before writing, so a quiet tick writes nothing.
    if session.connection().execute(select(table.c.id).where(*expired).limit(1)).first() is None:
        return []
    result = session.connection().execute(
        update(table)
        .where(table.c.id.in_(_in_id_order(*expired)))
        .values(status=ReminderStatus.PENDING.value, claimed_by=None, claimed_until=None)
        .returning(table.c.id)
    )
    return list(result.scalars())


def release_claims(session: Session, *, owners: Sequence[str]) -> list[int]:
    """Give back the rows `owners` claimed and did not send (a graceful shutdown): pending again
    at once, the attempt not counted, the batch key kept so a later claim asks the platform
    first."""
    if not owners:
        return []
    table = table_of(Reminder)
    theirs = (
        table.c.status == ReminderStatus.CLAIMED.value,
        table.c.claimed_by.in_(list(owners)),
    )
    result = session.connection().execute(
        update(table)
        .where(table.c.id.in_(_in_id_order(*theirs)))
        .values(
            status=ReminderStatus.PENDING.value,
            claimed_by=None,
            claimed_until=None,
            attempts=table.c.attempts - 1,
        )
        .returning(table.c.id)
    )
    return list(result.scalars())


def claim_due(
    session: Session, *, now: datetime, limit: int, owner: str, lease: timedelta, lock: bool
) -> list[Reminder]:
    """Claim up to `limit` due rows, plus every other due row for the same recipients (so they
    can be merged). PostgreSQL skips rows another instance holds, and leaves a recipient some of
    whose rows it holds to a later claim; the guarded UPDATE makes a second SQLite process
    harmless too."""
    due = (Reminder.status == ReminderStatus.PENDING, col(Reminder.due_at) <= now)
    first_query = (
        select(Reminder.id, Reminder.person_id, Reminder.group_id)
        .where(*due)
        .order_by(col(Reminder.due_at), col(Reminder.id))
        .limit(limit)
    )
    if lock:
        first_query = first_query.with_for_update(skip_locked=True)
    first = session.exec(first_query).all()
    if not first:
        return []
    ids = {rid for rid, _, _ in first}
    people = {pid for _, pid, _ in first if pid is not None}
    spaces = {gid for _, pid, gid in first if pid is None and gid is not None}
    same_recipient: list[ColumnElement[bool]] = []
    if people:
        same_recipient.append(col(Reminder.person_id).in_(people))
    if spaces:
        same_recipient.append(
            and_(col(Reminder.person_id).is_(None), col(Reminder.group_id).in_(spaces))
        )
    more_query = select(Reminder.id).where(*due, or_(*same_recipient), col(Reminder.id).not_in(ids))
    if lock:
        more_query = more_query.with_for_update(skip_locked=True)
    ids.update(session.exec(more_query).all())
    if lock:
        ids = _whole_recipients(session, ids, or_(*same_recipient), due)
    if not ids:
        return []
    table = table_of(Reminder)
    session.connection().execute(
        update(table)
        .where(table.c.id.in_(ids), table.c.status == ReminderStatus.PENDING.value)
        .values(
            status=ReminderStatus.CLAIMED.value,
            claimed_by=owner,
            claimed_until=now + lease,
            attempts=table.c.attempts + 1,
        )
    )
    return list(
        session.exec(
            select(Reminder)
            .where(
                col(Reminder.id).in_(ids),
                Reminder.claimed_by == owner,
                Reminder.status == ReminderStatus.CLAIMED,
            )
            .order_by(col(Reminder.due_at), col(Reminder.id))
            .execution_options(populate_existing=True)
        ).all()
    )


def _whole_recipients(
    session: Session,
    ids: set[int | None],
    same_recipient: ColumnElement[bool],
    due: tuple[Any, ...],
) -> set[int | None]:
    """Drop the recipients of which another instance, claiming at this moment, locked some due
    rows (SKIP LOCKED passed them by): their rows are left for a later claim to take whole, so
    one person's reminders are never split into two messages by two instances."""
    visible = session.exec(
        select(Reminder.id, Reminder.person_id, Reminder.group_id).where(*due, same_recipient)
    ).all()
    rows: dict[tuple[str, int | None], set[int | None]] = {}
    for rid, pid, gid in visible:
        key = ("person", pid) if pid is not None else ("space", gid)
        rows.setdefault(key, set()).add(rid)
    return {rid for found in rows.values() if found <= ids for rid in found}


def renew_claims(
    session: Session,
    *,
    ids: Sequence[int],
    owner: str,
    until: datetime,
    also: Sequence[str] = (),
) -> bool:
    """Just before a send: extend the lease of every row `owner` (one claimed chunk) and `also`
    (the chunk waiting behind it) still hold, so chunks sent slowly keep their claims. True when
    all of `ids` (the message about to go) are still `owner`'s; otherwise (the claim lapsed and
    another took some) the ones still held are given back unsent, so the message is built afresh
    by whoever claims them next."""
    table = table_of(Reminder)
    claimed = table.c.status == ReminderStatus.CLAIMED.value
    renewed = session.connection().execute(
        update(table)
        .where(table.c.id.in_(_in_id_order(claimed, table.c.claimed_by.in_([owner, *also]))))
        .values(claimed_until=until)
        .returning(table.c.id, table.c.claimed_by)
    )
    mine = {row_id for row_id, by in renewed if by == owner}
    if set(ids) <= mine:
        return True
    mine_now = (table.c.id.in_(list(ids)), claimed, table.c.claimed_by == owner)
    session.connection().execute(
        update(table)
        .where(table.c.id.in_(_in_id_order(*mine_now)))
        .values(
            status=ReminderStatus.PENDING.value,
            claimed_by=None,
            claimed_until=None,
            attempts=table.c.attempts - 1,
        )
    )
    return False


@dataclass(frozen=True)
class Sent:
    """A message that went out: the rows it carried, the claim they went under, the platform's
    id for it, and when."""

    ids: tuple[int, ...]
    owner: str
    ref: str
    at: datetime


def mark_all_sent(session: Session, sent: Sequence[Sent]) -> list[int]:
    """Mark the rows of many sent messages sent, each with its message's id, in one statement
    (rows in id order); returns the ids that were no longer held by their claim (it lapsed and
    another took them), which may go out again."""
    rows = sorted((row_id, s.owner, s.ref[:200], s.at) for s in sent for row_id in s.ids)
    if not rows:
        return []
    table = table_of(Reminder)
    claimed = table.c.status == ReminderStatus.CLAIMED.value
    session.connection().execute(
        update(table)
        .where(table.c.id == bindparam("b_id"), claimed, table.c.claimed_by == bindparam("b_by"))
        .values(
            status=ReminderStatus.SENT.value,
            sent_at=bindparam("b_at", type_=table.c.sent_at.type),
            message_ref=bindparam("b_ref"),
            claimed_until=None,
            last_error=None,
        ),
        [
            {"b_id": row_id, "b_by": owner, "b_ref": ref, "b_at": at}
            for row_id, owner, ref, at in rows
        ],
    )
    wanted = {row_id: (owner, ref) for row_id, owner, ref, _ in rows}
    now_held = session.connection().execute(
        select(table.c.id, table.c.status, table.c.claimed_by, table.c.message_ref).where(
            table.c.id.in_(list(wanted))
        )
    )
    marked = {
        row_id
        for row_id, status, by, ref in now_held
        if status == ReminderStatus.SENT.value and (by, ref) == wanted[row_id]
    }
    return [row_id for row_id in wanted if row_id not in marked]


def record_failure(
    session: Session,
    *,
    ids: Sequence[int],
    owner: str,
    error: str,
    retryable: bool,
    now: datetime,
    settings: ReminderSettings,
) -> list[Reminder]:
    """After a failed send: retry later with exponential back-off, or give up; returns the rows
    that failed for good (their chair is to be told)."""
    rows = session.exec(
        select(Reminder)
        .where(
            col(Reminder.id).in_(list(ids)),
            Reminder.status == ReminderStatus.CLAIMED,
            Reminder.claimed_by == owner,
        )
        .order_by(col(Reminder.id))
        .with_for_update()  # in id order, as every statement changing several claimed rows
    ).all()
    failed = []
    for row in rows:
        row.last_error, row.claimed_by, row.claimed_until = error[:500], None, None
        if not retryable or row.attempts >= settings.max_attempts:
            row.status = ReminderStatus.FAILED
            failed.append(row)
        else:
            # The batch key stays: a timeout may have delivered it, which the retry checks first.
            row.status = ReminderStatus.PENDING
            row.due_at = now + settings.retry_after * 2 ** max(row.attempts - 1, 0)
        session.add(row)
    session.flush()
    return failed


def notify_failures(session: Session, failed: Sequence[Reminder], *, now: datetime) -> int:
    """Tell each group's chairs (or, if the chair was the one unreachable, the group's space)."""
    added = 0
    for row in failed:
        if row.kind == Kind.DELIVERY_FAILED or row.group_id is None:
            log.error("reminder %s (%s) failed; nobody else to tell", row.id, row.kind)
            continue
        others = [c.id for c in chairs(session, group_id=row.group_id) if c.id != row.person_id]
        for target in others or [None]:
            key = f"failed:{row.id}:{target if target is not None else 'space'}"
            if session.exec(select(Reminder.id).where(Reminder.dedup_key == key)).first():
                continue
            session.add(
                Reminder(
                    dedup_key=key,
                    kind=Kind.DELIVERY_FAILED.value,
                    group_id=row.group_id,
                    person_id=target,
                    subject_id=row.id,
                    due_at=now,
                    created_at=now,
                    payload={"kind": row.kind, "person": row.person_id, "tries": row.attempts},
                )
            )
            added += 1
    session.flush()
    return added


def refused_after_all(
    session: Session, *, refs: Sequence[str], error: str, now: datetime
) -> list[Reminder]:
    """Rows marked sent in a message the platform kept to send later (its ref one of `refs`,
    "deferred:…" or "held:…") and then refused for good: failed after all, and each group's
    chairs told as `notify_failures` does; returns them."""
    rows = list(
        session.exec(
            select(Reminder)
            .where(
                col(Reminder.message_ref).in_(list(refs)),
                Reminder.status == ReminderStatus.SENT,
            )
            .order_by(col(Reminder.id))
            .with_for_update()
        ).all()
    )
    for row in rows:
        row.status, row.sent_at, row.last_error = ReminderStatus.FAILED, None, error[:500]
        session.add(row)
    session.flush()
    notify_failures(session, rows, now=now)
    return rows


def settle_found(session: Session, rows: Sequence[Reminder], *, ref: str, now: datetime) -> None:
    """Rows whose earlier message the platform confirms arrived: sent, not sent again."""
    for row in rows:
        row.status, row.sent_at, row.message_ref = ReminderStatus.SENT, now, ref[:200]
        row.claimed_until = None
        session.add(row)
    session.flush()


def set_batch_keys(session: Session, outgoing: Sequence[Outgoing]) -> None:
    """Record on each row the idempotency key of the message it goes in, in one statement."""
    keyed = [(row, o.message.key) for o in outgoing for row in o.rows if o.message.key]
    if not keyed:
        return
    table = table_of(Reminder)
    session.connection().execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(batch_key=bindparam("b_key", type_=table.c.batch_key.type)),
        [{"b_id": row.id, "b_key": key} for row, key in keyed],
    )
    for row, key in keyed:  # the loaded rows say so too, without the session writing them again
        set_committed_value(row, "batch_key", key)


def set_aside(session: Session, row: Reminder, *, status: ReminderStatus, reason: str) -> None:
    """Drop or withdraw a claimed row, with a log line naming only ids."""
    row.status, row.last_error, row.claimed_until = status, reason, None
    session.add(row)
    log.info("reminder %s (%s) %s: %s", row.id, row.kind, status.value, reason)


def defer(session: Session, row: Reminder, *, until: datetime) -> None:
    """Put a claimed row back for later (outside working hours, or not due after all)."""
    row.status, row.due_at, row.claimed_until = ReminderStatus.PENDING, until, None
    row.attempts = max(row.attempts - 1, 0)  # waiting is not a try
    session.add(row)
