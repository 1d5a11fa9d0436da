"""Reminders at national scale on PostgreSQL: the ledger design against one job per reminder.

Usage (a fresh schema is created in the database and dropped afterwards):

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        python -m bench.reminders_scale [--groups 50000] [--send-seconds 30] [--naive-jobs 10000]

Synthetic data, bulk-loaded with COPY: 50,000 open groups (each with a team), 300,000
memberships (six per group), 150,000 plan outcomes, 500,000 actions and 100,000 meetings (one
held, one booked per group). Measured:

1. Cold start: planning every group into the ledger (what a first start or a long outage costs).
2. One tick at a busy 09:00 on a working day: recover leases, plan the groups that changed (1%)
   or whose look-ahead ran out, then find and claim the first chunk of due reminders and turn it
   into merged messages (the ledger's "find and claim what is due"). Also a quiet tick.
3. Sending against a paced fake platform: Slack's ~1 message per second per channel plus a
   workspace-wide cap (10 messages/s here, an assumption: Slack does not publish the figure), with
   50 ms per call; the rate achieved against the rate allowed.
4. The naive design: APScheduler's SQLAlchemyJobStore with one date job per reminder. Adding the
   jobs one by one and one wakeup (fetching and removing the due jobs) on a subset, extrapolated to
   the number of jobs the same rules would need for six weeks ahead.
Peak memory: tracemalloc (Python allocations) per phase and the process's maximum RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session, SQLModel, col, func, select

from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.reminders import (
    ReminderSettings,
    claim_due,
    load_states,
    mark_changed,
    prepare,
    release_expired,
)
from bot.messages import Message, ToGroup, ToPerson
from bot.scheduler import ReminderEngine, TickReport
from storage.db import make_engine, session_scope, upgrade
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
    start = time.perf_counter()
    try:
        yield extra
    finally:
        seconds = time.perf_counter() - start
        peak = None
        if trace:
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        RESULTS.append(Result(name, seconds, peak, extra))


def print_results() -> None:
    """Every measurement as a table."""
    for r in RESULTS:
        memory = f"peak {r.peak_mb:6.1f} MB" if r.peak_mb is not None else " " * 14
        details = ", ".join(f"{k}={v}" for k, v in r.extra.items())
        print(f"{r.name:<52} {r.seconds:8.3f} s  {memory}  {details}")
    print(f"{'process peak RSS (whole run)':<52} {rss_mb():8.1f} MB")


# --- the database ---------------------------------------------------------------------------------


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A new schema on the database; yields a URL whose connections use only it."""
    base = make_url(url)
    if base.get_backend_name() != "postgresql":
        raise SystemExit("This benchmark needs PostgreSQL: set BENCH_DATABASE_URL.")
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
    """Bulk-load rows with COPY (psycopg), streaming them; case text sealed as the bot seals it."""
    count = 0
    types = [SQLModel.metadata.tables[table].c[name].type for name in columns]
    sealed = [i for i, t in enumerate(types) if isinstance(t, EncryptedText)]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        statement = f'COPY "{table}" ({", ".join(columns)}) FROM STDIN'
        with cursor.copy(statement) as copy:  # type: ignore[attr-defined]
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
        engine=make_engine(url),
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
    """Plan every group from nothing, batch after batch (timed), then one batch traced."""
    reminders = engine_for(
        url, PacedPlatform(workspace_per_second=10, latency=0), plan_budget=timedelta(hours=1)
    )
    with measured("cold start: plan every group") as extra:
        report = reminders.plan(NOW - timedelta(hours=1))
    extra.update(
        groups=report.planned,
        groups_per_s=round(report.planned / RESULTS[-1].seconds),
        ledger=ledger_size(reminders.engine),
    )
    everyone = list(range(1, report.planned + 1))[: reminders.settings.plan_batch]
    with reminders.engine.begin() as conn:
        mark_changed(conn, everyone)
    with measured("memory: plan one batch of groups", trace=True) as extra:
        extra.update(groups=reminders.plan(NOW - timedelta(minutes=30)).planned)


def busy_tick(url: str, groups: int, changed_share: float) -> None:
    """A tick at 09:00 with some groups changed: recover and plan, then find and claim the first
    chunk of what is due. Turning that chunk into merged messages is timed apart: its cost is per
    message, and it overlaps sending (which the platform paces anyway)."""
    reminders = engine_for(url, PacedPlatform(workspace_per_second=10, latency=0))
    reminders.tick(NOW - timedelta(minutes=2))  # a new instance's first tick also backfills
    with measured("quiet tick (08:59: nothing due or changed)"):
        reminders.tick(NOW - timedelta(minutes=1))
    changed = random.Random(1).sample(range(1, groups + 1), max(int(groups * changed_share), 1))
    with reminders.engine.begin() as conn:
        mark_changed(conn, changed)
    report = TickReport()
    with measured(f"09:00 tick: recover, plan ({len(changed)} groups changed)") as extra:
        with session_scope(reminders.engine) as session:
            release_expired(session, now=NOW)
        reminders.plan(NOW, report)
    extra.update(planned=report.planned, withdrawn=report.withdrawn)
    plan_seconds = RESULTS[-1].seconds
    with Session(reminders.engine) as session:
        waiting = session.exec(
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.status == ReminderStatus.PENDING, col(Reminder.due_at) <= NOW)
        ).one()
    settings = reminders.settings
    with session_scope(reminders.engine) as session:
        with measured("09:00 tick: find + claim one chunk") as extra:
            rows = claim_due(
                session,
                now=NOW,
                limit=settings.claim_chunk,
                owner="bench",
                lease=settings.lease,
                lock=True,
            )
        extra.update(due_now=waiting, claimed=len(rows))
        claim_seconds = RESULTS[-1].seconds
        with measured("memory: check, merge and word that chunk", trace=True) as extra:
            prepared = prepare(session, rows, planner=reminders.planner, now=NOW)
        extra.update(messages=len(prepared.outgoing), dropped=prepared.dropped)
    tick = plan_seconds + claim_seconds
    RESULTS.append(Result("=> one busy tick: recover, plan, find and claim", tick))


def throughput(url: str, seconds: float, *, cap: float, latency: float, workers: int) -> None:
    """Send for `seconds` against the paced platform; the rate achieved against the rate allowed
    (claiming and wording overlap sending, so the platform's pace is the limit)."""
    platform = PacedPlatform(workspace_per_second=cap, latency=latency)
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


def naive_jobs_needed(url: str, groups: int, sample: int = 500) -> int:
    """How many date jobs the same rules need for six weeks ahead (estimated from a sample)."""
    reminders = engine_for(url, PacedPlatform(workspace_per_second=10, latency=0))
    ids = random.Random(2).sample(range(1, groups + 1), min(sample, groups))
    with Session(reminders.engine) as session:
        states = load_states(session, ids)
    found = sum(
        len(reminders.planner.derive(s, lo=NOW, hi=NOW + timedelta(weeks=6)))
        for s in states.values()
    )
    return round(found / len(ids) * groups)


def _noop(*_: object) -> None:
    """The job body: the naive design would look the reminder up and send it."""


def naive(url: str, jobs: int, full: int, due_now: int) -> None:
    """One APScheduler date job per reminder in its SQLAlchemy job store, on the same database.

    A tenth of the jobs are due now. The wakeup is what APScheduler does for due date jobs:
    fetch (and unpickle) them all, then remove each one it has run, one statement at a time.
    """
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    store = SQLAlchemyJobStore(engine=make_engine(url))
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=UTC)
    scheduler.start(paused=True)  # paused: jobs are written to the store, nothing runs
    rng = random.Random(3)
    with measured(f"naive: add {jobs} jobs one by one") as extra:
        for n in range(jobs):
            due = rng.random() < 0.1
            when = NOW - timedelta(minutes=1) if due else NOW + timedelta(days=rng.randint(1, 42))
            scheduler.add_job(
                _noop, "date", run_date=when, args=[n], id=f"r{n}", misfire_grace_time=None
            )
    per_job = RESULTS[-1].seconds / jobs
    extra.update(
        ms_per_job=round(per_job * 1000, 2),
        jobs_for_6_weeks=full,
        extrapolated_s=round(per_job * full),
    )
    with measured("naive: one wakeup (fetch due jobs, remove each)", trace=True) as extra:
        due_jobs = store.get_due_jobs(NOW)
        for job in due_jobs:
            store.remove_job(job.id)
    per_due = RESULTS[-1].seconds / max(len(due_jobs), 1)
    extra.update(
        due=len(due_jobs),
        jobs_in_store=jobs,
        ms_per_due_job=round(per_due * 1000, 2),
        due_at_0900=due_now,
        extrapolated_s=round(per_due * due_now),
    )
    scheduler.shutdown(wait=False)


def main() -> None:
    """Run every phase on a fresh schema and print the results (and a JSON summary)."""
    from storage.crypto import new_key_text

    os.environ.setdefault("DATA_KEY", new_key_text())  # throw-away data, a throw-away key
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="PostgreSQL URL (default: BENCH_DATABASE_URL)")
    parser.add_argument("--groups", type=int, default=50_000)
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
            throughput(schema_url, args.send_seconds, cap=10, latency=0.05, workers=workers)
        due_now = next(r.extra["due_now"] for r in RESULTS if "due_now" in r.extra)
        naive(schema_url, args.naive_jobs, naive_jobs_needed(schema_url, args.groups), due_now)
    print_results()
    summary: dict[str, Any] = {
        r.name: {"seconds": round(r.seconds, 3), "peak_mb": r.peak_mb, **r.extra} for r in RESULTS
    }
    summary["process_peak_rss_mb"] = round(rss_mb(), 1)
    print(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
