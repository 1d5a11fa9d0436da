"""Reminders at national scale, on PostgreSQL or SQLite: the ledger design against one job per
reminder, every figure in wall time and in CPU (this process, and PostgreSQL's server processes
serving it), so a busy shared machine does not hide the work.

Usage (PostgreSQL: a fresh schema is created and dropped afterwards; SQLite: a temporary file):

    python -m bench.reminders_scale --url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        [--groups 5000] [--send-seconds 30] [--naive-jobs 10000]
    python -m bench.reminders_scale --url sqlite --groups 5000

Synthetic data, bulk-loaded (COPY on PostgreSQL, executemany on SQLite); per group: a team,
six memberships, three plan outcomes, ten actions and two meetings (one held, one booked).
Measured:

1. First start: planning every group into the ledger in one pass (what a first start, a change
   of rules or a long outage costs), against the shipped design before issue 15 (one batch of
   200 groups a one-minute tick, so groups/200 minutes before every group has its reminders).
2. The busy 09:00 tick as one figure: recover leases, plan the groups that changed (1%), claim
   every due reminder chunk by chunk, check, merge and word them, and hand each message to the
   outbox (an instant one here) and record it sent. Printed with its parts (wall, and this
   process's CPU in each: the thread's own, so PostgreSQL's is only in the whole), the
   statements and CPU per reminder while wording, and reminders per CPU second (process and
   database). Not included: the platform's own time and pacing (phase 3), and the planning of
   the groups whose look-ahead runs out that morning (the routine re-plan, which keeps to its
   budget). Also a quiet tick.
3. Sending against a paced fake platform: Slack's ~1 message per second per channel plus a
   workspace-wide cap (10 messages/s here, an assumption: Slack does not publish the figure), with
   50 ms per call; the rate achieved against the rate allowed.
4. The naive design on the same horizon: APScheduler's SQLAlchemyJobStore with one date job per
   reminder the ledger holds after the first start (the same rows, not six weeks of them): adding
   a sample of jobs one by one and one wakeup, extrapolated to that many jobs and to the due ones.
Peak memory (tracemalloc, which slows Python a lot) only in the phases named "memory:", never in a
timed one; the process's maximum RSS at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, event, insert, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, SQLModel, col, func, select

from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.reminders import (
    ReminderSettings,
    mark_changed,
)
from bot.messages import Message, ToGroup, ToPerson
from bot.scheduler import ReminderEngine
from storage.db import make_engine, upgrade
from storage.enums import Platform, ReminderStatus
from storage.models import Reminder
from storage.types import EncryptedText

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 3, 10, 9, 0, tzinfo=LONDON)  # Wed 10 Mar 2027, 09:00: a busy morning
TODAY = NOW.date()
CREATED = NOW - timedelta(days=120)
NATIONS = ["england"] * 90 + ["wales"] * 5 + ["scotland"] * 4 + ["northern-ireland"]


@dataclass
class Result:
    """One measurement, printed as a line and kept for the JSON summary."""

    name: str
    seconds: float
    peak_mb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    cpu: float | None = None  # this process (Python, and SQLite's engine)
    db_cpu: float | None = None  # PostgreSQL's server processes serving this process


class ServerCpu:
    """CPU seconds used by the PostgreSQL backends of this process's connections, read from
    /proc (the server runs on this machine); None where that cannot be read (SQLite, remote)."""

    def __init__(self) -> None:
        self.pids: set[int] = set()
        self.last: dict[int, float] = {}

    def watch(self, engine: Engine) -> Engine:
        """Note each new connection's backend."""
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", self._connected)
        return engine

    def _connected(self, dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        self.pids.add(int(cursor.fetchone()[0]))
        cursor.close()

    def total(self) -> float | None:
        """CPU seconds of every backend seen so far (the last reading of those that ended)."""
        if not self.pids:
            return None
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self.last[pid] = (int(fields[11]) + int(fields[12])) / tick
        return sum(self.last.values()) if self.last else None


SERVER = ServerCpu()


RESULTS: list[Result] = []


def rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def measured(name: str, *, trace: bool = False) -> Iterator[dict[str, Any]]:
    """Time a phase; with `trace`, also its peak Python allocations (tracemalloc slows Python a
    lot, so timed phases run without it). Details added to the yielded dict are reported."""
    extra: dict[str, Any] = {}
    print(f"... {name}", flush=True)
    if trace:
        tracemalloc.start()
    db0, cpu0, start = SERVER.total(), time.process_time(), time.perf_counter()
    try:
        yield extra
    finally:
        seconds, cpu, db1 = time.perf_counter() - start, time.process_time() - cpu0, SERVER.total()
        peak = None
        if trace:
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        db = db1 - (db0 or 0.0) if db1 is not None else None
        RESULTS.append(Result(name, seconds, peak, extra, None if trace else cpu, db))


def print_results() -> None:
    """Every measurement as a table."""
    print(f"{'phase':<58} {'wall':>9}  {'CPU':>9}  {'DB CPU':>9}")
    for r in RESULTS:
        memory = f"peak {r.peak_mb:6.1f} MB" if r.peak_mb is not None else ""
        details = ", ".join(f"{k}={v}" for k, v in r.extra.items())
        cpu = f"{r.cpu:8.3f}s" if r.cpu is not None else " " * 9
        db = f"{r.db_cpu:8.3f}s" if r.db_cpu is not None else " " * 9
        print(f"{r.name:<58} {r.seconds:8.3f}s  {cpu}  {db}  {memory}  {details}")
    print(f"{'process peak RSS (whole run)':<52} {rss_mb():8.1f} MB")


# --- the database ---------------------------------------------------------------------------------


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A new schema on the database; yields a URL whose connections use only it."""
    if url == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    base = make_url(url)
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


def copy_rows(engine: Engine, table: str, columns: list[str], rows: Iterator[tuple]) -> int:
    """Bulk-load rows with COPY (psycopg), streaming them, case text sealed as the bot seals it;
    on SQLite in executemany chunks (the column types seal it)."""
    if engine.dialect.name == "sqlite":
        return _insert_rows(engine, table, columns, rows)
    count = 0
    types: list[Any] = [SQLModel.metadata.tables[table].c[name].type for name in columns]
    sealed = [i for i, t in enumerate(types) if isinstance(t, EncryptedText)]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        statement = f'COPY "{table}" ({", ".join(columns)}) FROM STDIN'
        with cursor.copy(statement) as copy:
            for row in rows:
                if sealed:
                    row = tuple(
                        types[i].process_bind_param(v, engine.dialect) if i in sealed else v
                        for i, v in enumerate(row)
                    )
                copy.write_row(row)
                count += 1
        raw.commit()
    finally:
        raw.close()
    return count


def _insert_rows(engine: Engine, table: str, columns: list[str], rows: Iterator[tuple]) -> int:
    target, count, chunk = SQLModel.metadata.tables[table], 0, []
    with engine.begin() as conn:
        for row in rows:
            chunk.append(dict(zip(columns, row, strict=True)))
            if len(chunk) == 5000:
                conn.execute(insert(target), chunk)
                count, chunk = count + len(chunk), []
        if chunk:
            conn.execute(insert(target), chunk)
    return count + len(chunk)


ROLES = ["key-worker", "school", "health-visitor", "gp", "police", "parent-carer"]


@dataclass
class Country:
    """The synthetic data's shape: who is where, and the random choices made."""

    groups: int
    rng: random.Random
    teams: int = 0
    professionals: int = 0
    members: dict[int, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.teams = max(self.groups // 100, 1)
        self.professionals = max(self.groups * 6 // 5, 10)  # each sits in about four groups
        first, last = self.teams + 1, self.teams + self.professionals
        for g in range(1, self.groups + 1):
            # Five professionals (the chair first), then the group's parent.
            pros = self.rng.sample(range(first, last + 1), 5)
            self.members[g] = [*pros, last + g]

    def people(self) -> Iterator[tuple]:
        for t in range(1, self.teams + 1):  # one manager per team
            yield (
                t,
                f"Manager {t}",
                "Children's Services",
                False,
                LONDON.key,
                9,
                17,
                t,
                True,
                CREATED,
            )
        for p in range(self.professionals):
            yield (
                self.teams + 1 + p,
                f"Worker {p}",
                "Agency",
                False,
                LONDON.key,
                9,
                17,
                None,
                False,
                CREATED,
            )
        for g in range(1, self.groups + 1):  # a fifth of families take messages in the evening
            evening = g % 5 == 0
            yield (
                self.members[g][-1],
                f"Parent {g}",
                "",
                True,
                LONDON.key,
                18 if evening else 9,
                20 if evening else 17,
                None,
                False,
                CREATED,
            )

    def cases(self) -> Iterator[tuple]:
        for g in range(1, self.groups + 1):
            icpc = TODAY - timedelta(days=self.rng.randint(20, 400))
            yield (g, f"CP-{g:06d}", NATIONS[g % len(NATIONS)], icpc, "", "", "active", CREATED)

    def coregroups(self) -> Iterator[tuple]:
        for g in range(1, self.groups + 1):
            yield (g, g, 1 + g % self.teams, "slack", f"C{g:07d}", "active", CREATED)

    def memberships(self) -> Iterator[tuple]:
        for g, ids in self.members.items():
            for i, (pid, role) in enumerate(zip(ids, ROLES, strict=True)):
                yield (g, pid, role, "", i == 0, i == 1, True, CREATED)

    def outcomes(self) -> Iterator[tuple]:
        for g in range(1, self.groups + 1):
            for n in (1, 2, 3):
                active = NOW - timedelta(
                    days=self.rng.randint(0, 35), hours=self.rng.randint(0, 23)
                )
                yield (3 * (g - 1) + n, g, n, f"Outcome {n}", "active", True, CREATED, active)

    def actions(self) -> Iterator[tuple]:
        for g in range(1, self.groups + 1):
            for n in range(1, 11):
                due = TODAY + timedelta(days=self.rng.randint(-30, 60))
                done = self.rng.random() < (0.85 if due < TODAY else 0.1)
                owner = self.members[g][self.rng.randint(0, 5)]
                touched = NOW - timedelta(days=self.rng.randint(1, 40))
                status = "done" if done else "open"
                yield (
                    g,
                    n,
                    3 * (g - 1) + 1 + n % 3,
                    owner,
                    f"Task {n}",
                    due,
                    status,
                    True,
                    self.members[g][0],
                    CREATED,
                    touched,
                )

    def meetings(self) -> Iterator[tuple]:
        for g in range(1, self.groups + 1):
            held = NOW.replace(hour=10) - timedelta(days=self.rng.randint(1, 40))
            booked = NOW.replace(hour=14) + timedelta(days=self.rng.randint(0, 40))
            for when, status in ((held, "held"), (booked, "scheduled")):
                yield (
                    g,
                    "regular",
                    when,
                    60,
                    "Family Centre",
                    "",
                    status,
                    "",
                    "",
                    self.members[g][0],
                    CREATED,
                    CREATED,
                )


def generate(engine: Engine, groups: int, seed: int = 7) -> dict[str, int]:
    """Bulk-load the synthetic country; returns the rows per table."""
    country = Country(groups, random.Random(seed))
    tables: list[tuple[str, list[str], Iterator[tuple]]] = [
        ("team", ["id", "name"], ((t, f"Team {t}") for t in range(1, country.teams + 1))),
        (
            "person",
            [
                "id",
                "display_name",
                "agency",
                "is_family",
                "timezone",
                "contact_start_hour",
                "contact_end_hour",
                "team_id",
                "is_team_manager",
                "created_at",
            ],
            country.people(),
        ),
        (
            "case",
            [
                "id",
                "reference",
                "nation",
                "icpc_date",
                "category",
                "concerns",
                "plan_status",
                "created_at",
            ],
            country.cases(),
        ),
        (
            "coregroup",
            ["id", "case_id", "team_id", "platform", "channel_id", "status", "created_at"],
            country.coregroups(),
        ),
        (
            "membership",
            [
                "group_id",
                "person_id",
                "role",
                "agency",
                "is_chair",
                "is_minute_taker",
                "active",
                "joined_at",
            ],
            country.memberships(),
        ),
        (
            "outcome",
            [
                "id",
                "group_id",
                "number",
                "title",
                "status",
                "shared_with_family",
                "created_at",
                "last_activity_at",
            ],
            country.outcomes(),
        ),
        (
            "action",
            [
                "group_id",
                "number",
                "outcome_id",
                "owner_id",
                "description",
                "due_on",
                "status",
                "shared_with_family",
                "created_by",
                "created_at",
                "updated_at",
            ],
            country.actions(),
        ),
        (
            "meeting",
            [
                "group_id",
                "kind",
                "starts_at",
                "duration_minutes",
                "venue",
                "call_link",
                "status",
                "decisions",
                "contingency",
                "created_by",
                "created_at",
                "updated_at",
            ],
            country.meetings(),
        ),
    ]
    counts = {name: copy_rows(engine, name, columns, rows) for name, columns, rows in tables}
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        return counts
    with engine.begin() as conn:
        for table in ("team", "person", "case", "coregroup", "outcome"):
            conn.execute(
                text(
                    f"""SELECT setval(pg_get_serial_sequence('"{table}"', 'id'), """
                    f'(SELECT max(id) FROM "{table}"))'
                )
            )
        conn.execute(text("ANALYZE"))
    return counts


# --- the paced fake platform ----------------------------------------------------------------------


class PacedPlatform:
    """A fake chat platform with Slack-like limits: about one message per second per channel,
    and a workspace-wide rate with short bursts (a token bucket holding one second's worth,
    starting empty), plus some latency per call. It makes callers wait rather than refusing,
    as the paced sender in front of a real platform does."""

    def __init__(self, *, workspace_per_second: float, latency: float) -> None:
        self.rate = workspace_per_second
        self.latency = latency
        self.lock = threading.Lock()
        self.tokens = 0.0
        self.updated = time.monotonic()
        self.channel_free: dict[str, float] = {}
        self.delivered: list[float] = []

    def _slot(self, channel: str) -> float:
        """Reserve the next moment this channel may be sent to (tokens may go below zero)."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            workspace = now + max(0.0, (1 - self.tokens) / self.rate)
            self.tokens -= 1
            slot = max(workspace, self.channel_free.get(channel, 0.0))
            self.channel_free[channel] = slot + 1.0
            return slot

    def send(self, to: ToGroup | ToPerson, message: Message) -> str:
        channel = f"{type(to).__name__}:{getattr(to, 'person_id', getattr(to, 'group_id', 0))}"
        time.sleep(max(self._slot(channel) - time.monotonic(), 0) + self.latency)
        with self.lock:
            self.delivered.append(time.monotonic())
            return f"ts-{len(self.delivered)}"

    def find_sent(self, to: ToGroup | ToPerson, key: str) -> str | None:
        return None

    def sustained_rate(self) -> float:
        """Messages per second from the first delivery to the last."""
        if len(self.delivered) < 2:
            return 0.0
        return (len(self.delivered) - 1) / (max(self.delivered) - min(self.delivered))


# --- the phases -----------------------------------------------------------------------------------


def engine_for(url: str, outbox: object, **settings: Any) -> ReminderEngine:
    """A reminder engine at the benchmark's fixed moment."""
    return ReminderEngine(
        engine=SERVER.watch(make_engine(url)),
        clock=FakeClock(NOW),
        outboxes={Platform.SLACK: outbox},  # type: ignore[dict-item]
        locale=Locale(),
        settings=ReminderSettings(**settings),
        instance="bench",
    )


def ledger_size(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(select(Reminder.status, func.count()).group_by(Reminder.status)).all()
    return {status: count for status, count in rows}


def cold_start(url: str) -> None:
    """Plan every group from nothing in one pass with the shipped settings (timed), then one
    batch again under tracemalloc (memory only)."""
    reminders = engine_for(url, InstantPlatform())
    with measured("first start: plan every group (one pass)") as extra:
        report = reminders.plan(NOW - timedelta(hours=1))
    took = RESULTS[-1]
    extra.update(
        groups=report.planned,
        groups_per_cpu_s=round(report.planned / max(took.cpu or 0, 1e-9)),
        ms_cpu_per_group=round((took.cpu or 0) / max(report.planned, 1) * 1000, 3),
        ledger=ledger_size(reminders.engine),
        before_issue_15=f"{report.planned / 200:.0f} one-minute ticks (200 groups a tick)",
    )
    everyone = list(range(1, report.planned + 1))[: reminders.settings.plan_batch]
    with reminders.engine.begin() as conn:
        mark_changed(conn, everyone)
    with measured("memory: plan one batch of groups", trace=True) as extra:
        extra.update(groups=reminders.plan(NOW - timedelta(minutes=30)).planned)


class InstantPlatform:
    """An outbox that takes every message at once: what is measured is the bot's own work."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def send(self, to: ToGroup | ToPerson, message: Message) -> str:
        with self.lock:
            self.count += 1
            return f"ts-{self.count}"

    def find_sent(self, to: ToGroup | ToPerson, key: str) -> str | None:
        return None


class Parts:
    """Wall time and this process's CPU (the thread's own) spent in each step of a tick, and
    the statements issued while wording."""

    STEPS = ("release", "plan", "claim", "word", "hand over")

    def __init__(self, engine: Engine) -> None:
        self.seconds = dict.fromkeys(self.STEPS, 0.0)
        self.cpu = dict.fromkeys(self.STEPS, 0.0)
        self.lock = threading.Lock()
        self.wording: set[int] = set()  # threads now wording
        self.statements = 0
        event.listen(engine, "before_cursor_execute", self._statement)

    def _statement(self, *_: Any) -> None:
        if threading.get_ident() in self.wording:
            self.statements += 1

    def timed(self, step: str, fn: Any) -> Any:
        """`fn`, adding its wall time to `step`."""

        def run(*args: Any, **kw: Any) -> Any:
            start, cpu = time.perf_counter(), time.thread_time()
            if step == "word":
                self.wording.add(threading.get_ident())
            try:
                return fn(*args, **kw)
            finally:
                self.wording.discard(threading.get_ident())
                with self.lock:
                    self.seconds[step] += time.perf_counter() - start
                    self.cpu[step] += time.thread_time() - cpu

        return run


def busy_tick(url: str, groups: int, changed_share: float) -> None:
    """The whole 09:00 tick with some groups changed: recover, plan, then claim, word and hand
    over every due reminder, as one figure with its parts."""
    import bot.scheduler

    outbox = InstantPlatform()
    reminders = engine_for(url, outbox, send_workers=1)
    reminders.tick(NOW - timedelta(minutes=2))  # a new instance's first tick also backfills
    with measured("quiet tick (08:59: nothing due or changed)"):
        reminders.tick(NOW - timedelta(minutes=1))
    changed = random.Random(1).sample(range(1, groups + 1), max(int(groups * changed_share), 1))
    with reminders.engine.begin() as conn:
        mark_changed(conn, changed)
    with Session(reminders.engine) as session:
        waiting = session.exec(
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.status == ReminderStatus.PENDING, col(Reminder.due_at) <= NOW)
        ).one()
    parts = Parts(reminders.engine)
    patches = {
        "release_expired": "release",
        "claim_due": "claim",
        "prepare": "word",
    }
    originals = {name: getattr(bot.scheduler, name) for name in patches}
    for name, step in patches.items():
        setattr(bot.scheduler, name, parts.timed(step, originals[name]))
    plan, send, record = reminders.plan, reminders._send, reminders._record_waiting
    reminders.plan = parts.timed("plan", plan)  # type: ignore[method-assign]
    reminders._send = parts.timed("hand over", send)  # type: ignore[method-assign]
    reminders._record_waiting = parts.timed("hand over", record)  # type: ignore[method-assign]
    try:
        with measured(f"=> busy 09:00 tick, whole ({len(changed)} groups changed)") as extra:
            report = reminders.tick(NOW)
    finally:
        for name, fn in originals.items():
            setattr(bot.scheduler, name, fn)
    took = RESULTS[-1]
    cpu = (took.cpu or 0) + (took.db_cpu or 0)
    extra.update(
        due_now=waiting,
        planned=report.planned,
        claimed=report.claimed,
        messages=report.messages,
        reminders_sent=report.sent,
        dropped=report.dropped,
        deferred=report.deferred,
        reminders_per_cpu_s=round(report.claimed / max(cpu, 1e-9)),
        statements_per_reminder_wording=round(parts.statements / max(report.claimed, 1), 2),
        ms_cpu_per_reminder_wording=round(parts.cpu["word"] / max(report.claimed, 1) * 1000, 3),
        **{f"{step}_s": round(s, 3) for step, s in parts.seconds.items()},
        **{f"{step}_cpu_s": round(s, 3) for step, s in parts.cpu.items()},
    )


def throughput(url: str, seconds: float, *, cap: float, latency: float, workers: int) -> None:
    """Send for `seconds` against the paced platform; the rate achieved against the rate allowed
    (claiming and wording overlap sending, so the platform's pace is the limit)."""
    platform = PacedPlatform(workspace_per_second=cap, latency=latency)
    with make_engine(url).begin() as conn:  # the busy tick sent everything: the burst again
        conn.execute(
            update(Reminder)
            .where(col(Reminder.status) == ReminderStatus.SENT)
            .values(status=ReminderStatus.PENDING, attempts=0, batch_key=None, sent_at=None)
        )
    reminders = engine_for(
        url, platform, send_workers=workers, claim_chunk=50, send_budget=timedelta(seconds=seconds)
    )
    with measured(f"send for {seconds:.0f} s with {workers} sender(s)") as extra:
        report = reminders.tick(NOW + timedelta(minutes=1))
    overall = report.messages / RESULTS[-1].seconds
    sustained = platform.sustained_rate()
    extra.update(
        messages=report.messages,
        reminders=report.sent,
        allowed_per_s=cap,
        sustained_per_s=round(sustained, 2),
        sustained_share=f"{sustained / cap:.0%}",
        overall_per_s=round(overall, 2),
        overall_share=f"{overall / cap:.0%}",
    )


def naive_jobs_needed(url: str) -> int:
    """The jobs the naive design needs for the same horizon: one per row the ledger plans."""
    with Session(make_engine(url)) as session:
        return session.exec(select(func.count()).select_from(Reminder)).one()


def _noop(*_: object) -> None:
    """The job body: the naive design would look the reminder up and send it."""


def naive(url: str, jobs: int, full: int, due_now: int) -> None:
    """One APScheduler date job per reminder in its SQLAlchemy job store, on the same database.

    A tenth of the jobs are due now. The wakeup is what APScheduler does for due date jobs:
    fetch (and unpickle) them all, then remove each one it has run, one statement at a time.
    """
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    store = SQLAlchemyJobStore(engine=SERVER.watch(make_engine(url)))
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=UTC)
    scheduler.start(paused=True)  # paused: jobs are written to the store, nothing runs
    rng = random.Random(3)
    with measured(f"naive: add {jobs} jobs one by one") as extra:
        for n in range(jobs):
            due = rng.random() < 0.1
            later = NOW + timedelta(minutes=rng.randint(1, 48 * 60))  # the ledger's horizon
            when = NOW - timedelta(minutes=1) if due else later
            scheduler.add_job(
                _noop, "date", run_date=when, args=[n], id=f"r{n}", misfire_grace_time=None
            )
    per_job = RESULTS[-1].seconds / jobs
    cpu_per_job = ((RESULTS[-1].cpu or 0) + (RESULTS[-1].db_cpu or 0)) / jobs
    extra.update(
        ms_per_job=round(per_job * 1000, 2),
        ms_cpu_per_job=round(cpu_per_job * 1000, 2),
        jobs_for_the_same_rows=full,
        extrapolated_s=round(per_job * full),
        extrapolated_cpu_s=round(cpu_per_job * full),
    )
    with measured("naive: one wakeup (fetch due jobs, remove each)") as extra:
        due_jobs = store.get_due_jobs(NOW)
        for job in due_jobs:
            store.remove_job(job.id)
    per_due = RESULTS[-1].seconds / max(len(due_jobs), 1)
    cpu_per_due = ((RESULTS[-1].cpu or 0) + (RESULTS[-1].db_cpu or 0)) / max(len(due_jobs), 1)
    extra.update(
        due=len(due_jobs),
        jobs_in_store=jobs,
        ms_per_due_job=round(per_due * 1000, 2),
        due_at_0900=due_now,
        extrapolated_s=round(per_due * due_now),
        extrapolated_cpu_s=round(cpu_per_due * due_now, 1),
    )
    scheduler.shutdown(wait=False)


def main() -> None:
    """Run every phase on a fresh schema and print the results (and a JSON summary)."""
    from storage.crypto import new_key_text

    os.environ.setdefault("DATA_KEY", new_key_text())  # throw-away data, a throw-away key
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="PostgreSQL URL or `sqlite` (default: BENCH_DATABASE_URL)")
    parser.add_argument("--groups", type=int, default=5_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of groups changed")
    parser.add_argument("--send-seconds", type=float, default=30)
    parser.add_argument("--naive-jobs", type=int, default=10_000)
    args = parser.parse_args()
    url = args.url or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    with fresh_schema(url or "") as schema_url:
        engine = make_engine(schema_url)
        upgrade(engine)
        with measured("generate the data (COPY)") as extra:
            extra.update(generate(engine, args.groups))
        engine.dispose()
        cold_start(schema_url)
        busy_tick(schema_url, args.groups, args.changed)
        for workers in (1, 4):
            try:
                throughput(schema_url, args.send_seconds, cap=10, latency=0.05, workers=workers)
            except DBAPIError as err:  # reported, so the phases after it still run
                RESULTS.append(Result(f"send with {workers} sender(s) FAILED", 0, None, {
                    "error": type(err.orig).__name__}))  # fmt: skip
        due_now = next(r.extra["due_now"] for r in RESULTS if "due_now" in r.extra)
        naive(schema_url, args.naive_jobs, naive_jobs_needed(schema_url), due_now)
    print_results()
    summary: dict[str, Any] = {
        r.name: {"seconds": round(r.seconds, 3), "peak_mb": r.peak_mb, **r.extra} for r in RESULTS
    }
    summary["process_peak_rss_mb"] = round(rss_mb(), 1)
    print(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
