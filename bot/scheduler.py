"""The reminder scheduler: APScheduler ticks every minute; the database ledger holds the truth.

Each tick: (1) claims whose lease ran out (a process died mid-send) go back to pending;
(2) groups that changed, or whose look-ahead runs out, are planned into the ledger;
(3) due rows are claimed in chunks, checked against the current state, merged per recipient,
sent through the platform's outbox and marked sent. A row that was claimed before (a crash or a
failed try) is first looked up on the platform by its message key, so it is never sent twice.
Several instances may share one PostgreSQL database: claims use FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, func
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from bot.adapters.metrics import observe_tick
from bot.clock import Clock
from bot.core.context import Locale
from bot.core.planning_basis import replan_changed_rules
from bot.core.ports import DeliveryError, Outbox
from bot.core.reminders import (
    Occurrence,
    Outgoing,
    PlanDue,
    Planner,
    ReminderSettings,
    Sent,
    claim_due,
    defer,
    digest_managers,
    ensure_plan_states,
    finish_plans,
    groups_to_plan,
    load_plan_states,
    mark_all_sent,
    notify_failures,
    plan_window,
    prepare,
    recipient_of,
    record_failure,
    release_claims,
    release_expired,
    renew_claims,
    settle_found,
    track_changes,
    upsert,
    write_batch,
)
from bot.core.reminders.collector import paused_collector
from bot.core.routing import remember_prompts
from bot.core.working_hours import day_start
from bot.logs import log_failure
from storage.db import session_scope
from storage.enums import GroupStatus, Platform, ReminderStatus
from storage.models import CoreGroup, Reminder, ReminderPlanState

log = logging.getLogger(__name__)

# A closed group is looked at again only if something changes.
_IDLE = timedelta(days=365)
_BACKFILL_EVERY = timedelta(hours=1)
# Recording a sent message on a busy SQLite database: tries, and the first wait (it grows).
_LOCKED_TRIES = 5
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)
_LOCKED_WAIT = 0.2
# Sent messages are recorded together, at most this long after the first was sent (a reply's
# routing needs the record), and at the end of each chunk.
_RECORD_EVERY = 0.2


@dataclass
class TickReport:
    """What one tick did, in counts (for logs, tests and the benchmark)."""

    released: int = 0
    planned: int = 0
    withdrawn: int = 0
    claimed: int = 0
    messages: int = 0
    sent: int = 0
    found: int = 0
    dropped: int = 0
    deferred: int = 0
    retrying: int = 0
    failed: int = 0
    returned: int = 0  # claims given back unsent on a graceful shutdown
    lapsed: int = 0  # claims found lapsed just before sending: left to their new claim

    def add(self, other: TickReport) -> None:
        """Fold another report's counts into this one."""
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class _Record:
    """A sent message waiting to be recorded."""

    sent: Sent
    platform: Platform
    expects: str | None


class _Records:
    """Messages sent and not recorded yet, written many at a time (`write`): by the sender that
    finds the oldest waiting `every` seconds, by a timer that long after the first if no sender
    comes, or by the tick at the end of a chunk (`take`)."""

    def __init__(self, every: float, write: Callable[[list[_Record]], None]) -> None:
        self.every, self.write = every, write
        self.lock = threading.Lock()
        self.waiting: list[_Record] = []
        self.since = 0.0

    def add(self, record: _Record) -> None:
        """Keep a record, writing what waits once the oldest has waited long enough."""
        with self.lock:
            if not self.waiting:
                self.since = time.monotonic()
                timer = threading.Timer(self.every, lambda: self.write(self.take()))
                timer.daemon = True
                timer.start()
            self.waiting.append(record)
            due: list[_Record] = []
            if time.monotonic() - self.since >= self.every:
                due, self.waiting = self.waiting, []
        self.write(due)

    def take(self) -> list[_Record]:
        """Everything waiting, to write now."""
        with self.lock:
            taken, self.waiting = self.waiting, []
        return taken


def _ids(ids: list[int]) -> str:
    """Row ids for a log line (ids only, never names or text), shortened when there are many."""
    shown = ", ".join(str(i) for i in ids[:20])
    return shown + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")


def _ceil_minute(when: datetime) -> datetime:
    floor = when.replace(second=0, microsecond=0)
    return floor if floor == when else floor + timedelta(minutes=1)


class ReminderEngine:
    """Plans, claims and sends reminders; `tick()` is safe to run from several processes."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        outboxes: Mapping[Platform, Outbox],
        locale: Locale,
        settings: ReminderSettings | None = None,
        instance: str | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.outboxes = dict(outboxes)
        self.locale = locale
        self.settings = settings or ReminderSettings()
        self.planner = Planner(locale=locale, settings=self.settings)
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lock = engine.dialect.name == "postgresql"
        self._claims = itertools.count(1)
        self._next_backfill: datetime | None = None
        self._next_digests: datetime | None = None
        self._digests_until: datetime | None = None
        self._last = clock.now()
        # While the local chat catches up with a clock moved on, when its reader sees the
        # messages: one about a meeting that has begun by then is not sent ("Starting soon").
        self._read_at: datetime | None = None
        self._stopping = threading.Event()
        self._renewed: dict[str, datetime] = {}  # when each claimed chunk's lease was renewed
        self._records = _Records(_RECORD_EVERY, self._after_send)
        track_changes()

    def stop(self) -> None:
        """Shut down gracefully: claim nothing more, let the sends in flight finish, and give
        back the rest of this tick's claims (`tick` returns soon after)."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        """Whether `stop` was called."""
        return self._stopping.is_set()

    # The tick --------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> TickReport:
        """One pass: recover, plan, then claim and send until nothing more is due.

        With `now` given (simulations, the local chat) every step uses it; otherwise the clock
        is read afresh for each chunk, so leases stay honest during a long burst.
        """
        moment: Callable[[], datetime] = self.clock.now if now is None else (lambda: now)
        report = TickReport()
        if self.stopping:
            return report
        started = time.monotonic()
        start = moment()
        with session_scope(self.engine) as session:
            released = release_expired(session, now=start)
        if released:
            log.warning(
                "%s reminders (%s) had a lapsed claim; checking before sending again",
                len(released),
                _ids(released),
            )
        report.released = len(released)
        self.plan(start, report)
        self._claim_and_send(moment, report)
        observe_tick(report, time.monotonic() - started)
        return report

    def _claim_and_send(self, moment: Callable[[], datetime], report: TickReport) -> None:
        """Claim and prepare the next chunk while the senders work through the previous one, so
        a rate-limited platform is kept busy; at most one chunk waits, so leases stay short.

        Not on SQLite: there the claim's transaction holds the only write lock while it words
        the chunk, and every sender recording a message would queue behind it (polling for the
        lock), so the chunk in flight is finished first."""
        stop = time.monotonic() + self.settings.send_budget.total_seconds()
        owners: list[str] = []
        overlap = self.engine.dialect.name != "sqlite"
        with ThreadPoolExecutor(max_workers=max(self.settings.send_workers, 1)) as senders:
            sending: list[Future[TickReport]] = []
            while time.monotonic() < stop and not self.stopping:
                if not overlap:
                    for future in sending:
                        report.add(future.result())
                    sending = []
                    self._record_waiting()
                claimed = self._claim(moment(), report, moment)
                if claimed is not None:
                    owners.append(claimed[0])  # renewed from now on with the chunk being sent
                for future in sending:
                    report.add(future.result())
                sending = []
                self._record_waiting()
                if claimed is None:
                    break
                owner, outgoing = claimed
                sending = [
                    senders.submit(self._send, owner, item, moment, lambda: owners[-1:])
                    for item in outgoing
                ]
            for future in sending:
                report.add(future.result())
        self._record_waiting()  # before any claim is given back
        for owner in owners:
            self._renewed.pop(owner, None)
        if self.stopping:
            with session_scope(self.engine) as session:
                returned = release_claims(session, owners=owners)
            report.returned += len(returned)
            if returned:
                log.info("shutting down: %s claimed reminders given back unsent", len(returned))

    def safe_tick(self) -> None:
        """The APScheduler job: a tick whose failure is logged, never raised into the scheduler."""
        try:
            report = self.tick()
        except Exception:
            log_failure(log, "reminder tick failed; the next tick will try again")
            return
        if report.messages or report.dropped or report.failed:
            log.info(
                "reminder tick: %s messages (%s reminders), %s dropped, %s failed",
                report.messages,
                report.sent,
                report.dropped,
                report.failed,
            )

    # Planning --------------------------------------------------------------------------------

    def plan(self, now: datetime, report: TickReport | None = None) -> TickReport:
        """Plan the groups that are due for it, batch by batch, within the time budget."""
        report = report or TickReport()
        if self._next_backfill is None:
            with session_scope(self.engine) as session:
                changed = replan_changed_rules(
                    session, locale=self.locale, settings=self.settings, now=now
                )
            if changed:
                log.info(
                    "Timescales, closure days, time zone or reminder settings changed for %s: "
                    "re-planning their groups' reminders",
                    ", ".join(nation.label for nation in changed),
                )
        if self._next_backfill is None or now >= self._next_backfill:
            with session_scope(self.engine) as session:
                ensure_plan_states(session)
            self._next_backfill = now + _BACKFILL_EVERY
        # The budget is for routine re-plans only: new and changed groups are planned in one
        # pass, so a first start or a change of rules never waits hours for its reminders.
        deadline = time.monotonic() + self.settings.plan_budget.total_seconds()
        while True:
            planned, routine = self._plan_batch(now, report)
            if planned < self.settings.plan_batch or (routine and time.monotonic() > deadline):
                break
        self._plan_digests(now)
        return report

    def _plan_batch(self, now: datetime, report: TickReport) -> tuple[int, bool]:
        """Plan one batch; returns how many groups, and whether any was a routine re-plan."""
        with session_scope(self.engine) as session:
            due = groups_to_plan(session, now=now, limit=self.settings.plan_batch, lock=self.lock)
            if not due:
                return 0, False
            spans = [
                plan_window(item, now=now, settings=self.settings, locale=self.locale)
                for item in due
            ]
            states = load_plan_states(
                session,
                [d.group_id for d in due],
                actions_due_by=self.planner.action_horizon(max(hi for _, hi in spans)),
            )
            windows: dict[int, datetime] = {}
            done: list[tuple[PlanDue, datetime, datetime]] = []
            occurrences: list[Occurrence] = []
            for item, (lo, hi) in zip(due, spans, strict=True):
                state = states.get(item.group_id)
                found = self.planner.derive(state, lo=lo, hi=hi) if state else {}
                windows[item.group_id] = lo
                occurrences.extend(found.values())
                active = state is not None and state.group.status == GroupStatus.ACTIVE
                done.append((item, now + (self.settings.replan_every if active else _IDLE), hi))
            withdrawn = write_batch(session, occurrences, windows=windows, now=now)
            finish_plans(session, done)
        if withdrawn:
            log.info(
                "%s reminders withdrawn (%s): what they were about changed",
                len(withdrawn),
                _ids(withdrawn),
            )
        report.planned += len(due)
        report.withdrawn += len(withdrawn)
        return len(due), not all(d.asap for d in due)

    def _plan_digests(self, now: datetime) -> None:
        if self._next_digests is not None and now < self._next_digests:
            return
        today = now.astimezone(self.locale.tz).date()
        week_start = day_start(today - timedelta(days=today.weekday()), self.locale.tz)
        lo = max(self._digests_until or week_start, now - self.settings.catch_up)
        hi = now + self.settings.horizon
        with session_scope(self.engine) as session:
            managers = digest_managers(session)
            platforms = {
                team: Platform(platform)
                for team, platform in session.exec(
                    select(CoreGroup.team_id, CoreGroup.platform).where(
                        CoreGroup.status == GroupStatus.ACTIVE
                    )
                ).all()
                if team is not None
            }
            upsert(
                session,
                self.planner.digests(managers, platforms=platforms, lo=lo, hi=hi).values(),
                now=now,
            )
        self._digests_until, self._next_digests = hi, now + self.settings.replan_every

    # Claiming and sending --------------------------------------------------------------------

    def _claim(
        self,
        now: datetime,
        report: TickReport,
        moment: Callable[[], datetime] | None = None,
    ) -> tuple[str, list[Outgoing]] | None:
        """Claim a chunk of due rows and turn them into messages, in one short transaction (the
        lease counted from when it ends: waiting on another instance's locks does not use it)."""
        owner = f"{self.instance}#{next(self._claims)}"[-80:]
        with paused_collector(), session_scope(self.engine) as session:
            rows = claim_due(
                session,
                now=now,
                limit=self.settings.claim_chunk,
                owner=owner,
                lease=self.settings.lease,
                lock=self.lock,
            )
            if not rows:
                return None
            report.claimed += len(rows)
            rows = self._settle_earlier_tries(session, rows, now, report)
            prepared = prepare(session, rows, planner=self.planner, now=now, read_at=self._read_at)
            if moment is not None:
                renewed = moment()
                renew_claims(session, ids=(), owner=owner, until=renewed + self.settings.lease)
                self._renewed[owner] = renewed
        report.dropped += prepared.dropped
        report.deferred += prepared.deferred
        return owner, prepared.outgoing

    def _settle_earlier_tries(
        self, session: Session, rows: list[Reminder], now: datetime, report: TickReport
    ) -> list[Reminder]:
        """Rows claimed before (a crash, a failed try) may have arrived: ask the platform."""
        earlier: dict[str, list[Reminder]] = {}
        for row in rows:
            if row.batch_key is not None:
                earlier.setdefault(row.batch_key, []).append(row)
        settled: set[int] = set()
        for key, batch in earlier.items():
            group = session.get(CoreGroup, batch[0].group_id) if batch[0].group_id else None
            recipient = recipient_of(batch[0], group)
            outbox = self.outboxes.get(recipient.platform)
            if outbox is None:
                continue
            try:
                ref = outbox.find_sent(recipient.to, key)
            except DeliveryError:
                for row in batch:
                    defer(session, row, until=now + self.settings.retry_after)
                    settled.add(id(row))
                continue
            if ref is not None:
                settle_found(session, batch, ref=ref, now=now)
                settled.update(id(row) for row in batch)
                report.found += len(batch)
                log.info(
                    "reminders %s had been delivered already; marked sent", [r.id for r in batch]
                )
        return [row for row in rows if id(row) not in settled]

    def _send(
        self,
        owner: str,
        item: Outgoing,
        moment: Callable[[], datetime],
        waiting: Callable[[], list[str]] = list,
    ) -> TickReport:
        """Send one message and record the outcome against its rows; `waiting` names the chunk
        claimed behind this one, whose lease is renewed with this chunk's."""
        result = TickReport()
        if self.stopping:  # not started yet: its claim is given back once the sends in flight end
            return result
        outbox = self.outboxes.get(item.recipient.platform)
        try:
            if outbox is None:
                raise DeliveryError(
                    f"no sender for {item.recipient.platform.value}", retryable=False
                )
            # Slow sends (429s) must not outlive the claim: renew it before a message once a
            # third of the lease has gone (renewing every row of both chunks for every message
            # cost more than the rest of sending), and leave the rows to whoever holds them now
            # if it lapsed meanwhile.
            now, holders = moment(), [owner, *waiting()]
            held = all(
                self._renewed.get(o, _NEVER) > now - self.settings.lease / 3 for o in holders
            )
            if not held:
                with session_scope(self.engine) as session:
                    held = renew_claims(
                        session,
                        ids=item.ids,
                        owner=owner,
                        until=now + self.settings.lease,
                        also=holders[1:],
                    )
                if held:
                    self._renewed.update(dict.fromkeys(holders, now))
            if not held:
                log.warning("reminders %s: claim lapsed before sending; not sent here", item.ids)
                result.lapsed = len(item.ids)
                return result
            ref = outbox.send(item.recipient.to, item.message)
        except DeliveryError as err:
            with session_scope(self.engine) as session:
                failed = record_failure(
                    session,
                    ids=item.ids,
                    owner=owner,
                    error=str(err),
                    retryable=err.retryable,
                    now=moment(),
                    settings=self.settings,
                )
                notify_failures(session, failed, now=moment())
            log.warning("reminders %s not delivered (retryable=%s)", item.ids, err.retryable)
            result.failed = len(failed)
            result.retrying = len(item.ids) - len(failed)
            return result

        sent = Sent(tuple(item.ids), owner, ref, moment())
        self._records.add(_Record(sent, item.recipient.platform, item.message.expects))
        result.messages, result.sent = 1, len(item.ids)
        return result

    def _record_waiting(self) -> None:
        """Record every sent message still waiting (the chunk's sends have all returned)."""
        self._after_send(self._records.take())

    def _after_send(self, records: list[_Record]) -> None:
        """Record messages that went out, in one transaction: their rows sent, and what a reply
        to each answers (in its thread). A busy SQLite database (`database is locked`) is
        waited for and tried again, never raised: the tick must not fail after a send. If it
        stays busy the rows keep their claim, and once it lapses the platform is asked whether
        the message arrived before anything is sent again."""
        if not records:
            return
        ids = [i for r in records for i in r.sent.ids]
        prompts = [(r.platform, r.sent.ref, r.expects, r.sent.at) for r in records if r.expects]
        for attempt in range(1, _LOCKED_TRIES + 1):
            try:
                with session_scope(self.engine) as session:
                    lapsed = mark_all_sent(session, [r.sent for r in records])
                    remember_prompts(session, prompts)
                if lapsed:
                    log.warning("reminders %s: sent after their claim lapsed; may repeat", lapsed)
                return
            except OperationalError as err:
                if "database is locked" not in str(err):
                    raise
                log.warning(
                    "reminders %s sent; database busy recording it (try %s)", _ids(ids), attempt
                )
                time.sleep(_LOCKED_WAIT * attempt)
        log.error("reminders %s sent but not recorded; checked with the platform later", _ids(ids))

    # Simulated time (tests, the local chat) --------------------------------------------------

    def next_wakeup(self) -> datetime | None:
        """The earliest moment a tick would have something to do."""
        pending = select(func.min(Reminder.due_at)).where(Reminder.status == ReminderStatus.PENDING)
        leases = select(func.min(Reminder.claimed_until)).where(
            Reminder.status == ReminderStatus.CLAIMED
        )
        plans = select(func.min(ReminderPlanState.next_plan_at))
        with Session(self.engine) as session:
            row = session.exec(
                select(pending.scalar_subquery(), leases.scalar_subquery(), plans.scalar_subquery())
            ).one()
        candidates = [
            *row,
            self._next_digests,
            # Nothing has been planned yet: the first tick must look at every group.
            self._last if self._next_backfill is None else None,
        ]
        found = [c for c in candidates if c is not None]
        return min(found) if found else None

    def run_until(self, end: datetime) -> TickReport:
        """Tick at each minute something fell due since the last run, up to `end`.

        Equivalent to the minute-by-minute ticks a running scheduler makes, without the idle
        ones: the local chat's `clock +3d` shows what those three days would have sent.
        """
        report = TickReport()
        at = self._last
        while end > at:
            wake = self.next_wakeup()
            if wake is None:
                break
            step = max(_ceil_minute(wake), at + timedelta(minutes=1))
            if step > end:
                break
            report.add(self.tick(step))
            at = step
        report.add(self.tick(end))
        self._last = max(self._last, end)
        return report

    def on_clock(self) -> None:
        """The local chat's hook: catch up with its simulated clock (what would have gone out
        meanwhile, except reminders about a meeting that has begun by the time it is read)."""
        now = self.clock.now()
        self._read_at = now
        try:
            self.run_until(now)
        finally:
            self._read_at = None


class ReminderScheduler(BackgroundScheduler):
    """APScheduler running the reminder ticks, with a graceful `stop` for SIGTERM."""

    def __init__(self, reminders: ReminderEngine, **options: object) -> None:
        super().__init__(**options)
        self.reminders = reminders

    def stop_claiming(self) -> None:
        """The first step of `stop`, at once: the tick in progress claims and starts nothing
        more (the sends in flight go on)."""
        self.reminders.stop()

    def stop(self) -> None:
        """Stop gracefully: the tick in progress claims nothing more, finishes the sends in
        flight and gives back the rest of its claims; the running jobs end; then the scheduler."""
        self.reminders.stop()
        self.shutdown(wait=True)


def start_scheduler(
    reminders: ReminderEngine, *, every: timedelta = timedelta(minutes=1)
) -> ReminderScheduler:
    """Start APScheduler calling `reminders.safe_tick` every minute (first run at once).

    One run at a time: while a long tick is still sending, the runs that fall due are skipped
    (the tick in progress carries on with whatever became due). Stop it with
    `scheduler.stop()` (gracefully) or `scheduler.shutdown()`.
    """
    scheduler = ReminderScheduler(reminders, timezone=UTC)
    scheduler.add_job(
        reminders.safe_tick,
        IntervalTrigger(seconds=max(int(every.total_seconds()), 1)),
        id="reminders",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=int(every.total_seconds()),
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    return scheduler
