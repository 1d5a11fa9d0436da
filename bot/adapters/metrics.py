"""`GET /metrics` in Prometheus' text format (prometheus-client), and the hooks that feed it.

What is measured, and the only labels used (fixed, small sets — never a name, a case reference,
a channel, a user id or anything a person typed):

- `coregroup_requests_total{platform, kind, status}` and `coregroup_ack_seconds{platform, kind}`:
  each request Slack or Teams sends, by platform (slack, teams), kind (`command`, `action`,
  `view_submission`, `message`, `app_home_opened`, … for Slack; the activity type for Teams; any
  other value is counted as `other`) and HTTP status; the time to answer it is the ack latency
  (Slack retries a request not acked within 3 s).
- `coregroup_reminders_total{outcome}`: reminder rows `due` (claimed to send), `sent`, `failed`
  (gave up), `retrying`, `deferred` (to the recipient's working hours), `dropped` (no longer
  true when due), `released` (a lapsed claim taken back), `returned` (claims given back unsent on
  a graceful shutdown). `coregroup_reminder_tick_seconds`: how
  long each scheduler tick took.
- `coregroup_outbox_queue_depth`: reminders due now and not yet sent (pending or claimed), read
  from the ledger when scraped; `coregroup_rate_limited_total{platform}`: 429 answers received.
- `coregroup_db_pool_in_use` / `coregroup_db_pool_size`: database connections checked out now,
  and the pool's size.

The counters live in this process's registry. Slack's worker processes (bot.adapters.slack_work)
count in their own memory, which this endpoint does not see: the requests and acks are counted
here, in the front process, and so are reminders (the scheduler runs here).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from storage.enums import ReminderStatus
from storage.models import Reminder

disable_created_metrics()  # no `*_created` series: they double the output and say little here
REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    "coregroup_requests",
    "Requests from the chat platform, by platform, kind and HTTP status.",
    ["platform", "kind", "status"],
    registry=REGISTRY,
)
ACK_SECONDS = Histogram(
    "coregroup_ack_seconds",
    "Seconds from a platform's request arriving to its acknowledgement.",
    ["platform", "kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
    registry=REGISTRY,
)
REMINDERS = Counter(
    "coregroup_reminders",
    "Reminder rows by outcome: due, sent, failed, retrying, deferred, dropped, released, returned.",
    ["outcome"],
    registry=REGISTRY,
)
TICK_SECONDS = Histogram(
    "coregroup_reminder_tick_seconds",
    "Seconds each reminder scheduler tick took.",
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0),
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "coregroup_rate_limited",
    "HTTP 429 answers received from the platform's API.",
    ["platform"],
    registry=REGISTRY,
)
REMINDER_OUTCOMES = (
    "due",
    "sent",
    "failed",
    "retrying",
    "deferred",
    "dropped",
    "released",
    "returned",
)
for _outcome in REMINDER_OUTCOMES:  # every series exists from the start, at 0
    REMINDERS.labels(_outcome)
for _platform in ("slack", "teams"):
    RATE_LIMITED.labels(_platform)

PLATFORM_PATHS = {"/slack/events": "slack", "/api/messages": "teams"}
SLACK_KINDS = frozenset(
    {
        "command",
        "block_actions",
        "view_submission",
        "view_closed",
        "block_suggestion",
        "shortcut",
        "message_action",
        "url_verification",
        "message",
        "app_home_opened",
        "app_mention",
        "member_joined_channel",
    }
)
TEAMS_KINDS = frozenset(
    {"message", "invoke", "conversationUpdate", "messageReaction", "installationUpdate", "event"}
)
OTHER = "other"


# --- the hooks ------------------------------------------------------------------------------------


def observe_tick(report: Any, seconds: float) -> None:
    """Count one scheduler tick's reminders (a bot.scheduler.TickReport) and its duration."""
    TICK_SECONDS.observe(seconds)
    counts = {
        "due": report.claimed,
        "sent": report.sent,
        "failed": report.failed,
        "retrying": report.retrying,
        "deferred": report.deferred,
        "dropped": report.dropped,
        "released": report.released,
        "returned": report.returned,
    }
    for outcome, count in counts.items():
        if count:
            REMINDERS.labels(outcome).inc(count)


def rate_limited(platform: str) -> None:
    """Count one 429 from `platform`'s API."""
    RATE_LIMITED.labels(platform).inc()


# --- gauges read when scraped ---------------------------------------------------------------------


class _Live(Collector):
    """The database pool and the ledger's waiting reminders, read at each scrape."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.now: Callable[[], datetime] | None = None

    def collect(self) -> Iterable[Metric]:
        in_use = GaugeMetricFamily(
            "coregroup_db_pool_in_use", "Database connections checked out of the pool now."
        )
        size = GaugeMetricFamily("coregroup_db_pool_size", "The database pool's size.")
        depth = GaugeMetricFamily(
            "coregroup_outbox_queue_depth", "Reminders due now and not yet sent."
        )
        engine, now = self.engine, self.now
        if engine is not None:
            pool = engine.pool
            checked_out = getattr(pool, "checkedout", None)
            in_use.add_metric([], float(checked_out() if callable(checked_out) else 0))
            pool_size = getattr(pool, "size", None)
            size.add_metric([], float(pool_size() if callable(pool_size) else 0))
            if now is not None:
                waiting = _waiting(engine, now())
                if waiting is not None:
                    depth.add_metric([], float(waiting))
        return [in_use, size, depth]


def _waiting(engine: Engine, now: datetime) -> int | None:
    query = (
        select(func.count())
        .select_from(Reminder)
        .where(col(Reminder.status).in_([ReminderStatus.PENDING, ReminderStatus.CLAIMED]))
        .where(col(Reminder.due_at) <= now)
    )
    try:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
    except SQLAlchemyError:
        return None


LIVE = _Live()
REGISTRY.register(LIVE)


def generate_latest() -> bytes:
    """The registry in Prometheus' text format."""
    return _generate_latest(REGISTRY)


# --- the web side ---------------------------------------------------------------------------------


def _slack_kind(body: bytes, content_type: str) -> str:
    try:
        if content_type.startswith("application/json"):
            data = json.loads(body)
            event = data.get("event") if isinstance(data.get("event"), dict) else None
            kind = event.get("type") if event else data.get("type")
        else:
            form = parse_qs(body.decode("utf-8", "replace"))
            if "command" in form:
                kind = "command"
            elif "payload" in form:
                kind = json.loads(form["payload"][0]).get("type")
            else:
                kind = None
    except (ValueError, AttributeError):
        return OTHER
    return kind if kind in SLACK_KINDS else OTHER


def _teams_kind(body: bytes) -> str:
    try:
        kind = json.loads(body).get("type")
    except (ValueError, AttributeError):
        return OTHER
    return kind if kind in TEAMS_KINDS else OTHER


@web.middleware
async def measure(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Count each platform request and time its answer (the ack)."""
    platform = PLATFORM_PATHS.get(request.path)
    if platform is None or request.method != "POST":
        return await handler(request)
    start = time.perf_counter()
    body = await request.read()  # aiohttp keeps it: the handler reads it again for free
    kind = _slack_kind(body, request.content_type) if platform == "slack" else _teams_kind(body)
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        ACK_SECONDS.labels(platform, kind).observe(time.perf_counter() - start)
        REQUESTS.labels(platform, kind, str(status)).inc()


async def _metrics(request: web.Request) -> web.Response:
    body = await asyncio.get_running_loop().run_in_executor(None, generate_latest)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def instrument(
    app: web.Application, engine: Engine, now: Callable[[], datetime] | None = None
) -> web.Application:
    """Add `GET /metrics` and the request counter to `app` (before it starts); the gauges read
    `engine`'s pool, and the reminders due by `now()` (a clock's `now`)."""
    app.middlewares.append(measure)
    app.router.add_get("/metrics", _metrics)
    LIVE.engine, LIVE.now = engine, now
    return app
