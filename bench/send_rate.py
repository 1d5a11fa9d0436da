"""The real outboxes' sending rate against each platform's allowed rate (issue 15: >= 90%).

Usage:  python bench/send_rate.py [--platform slack,teams] [--dms N] [--posts M] [--mix K]
        [--workers 4] [--slack-ws 10] [--database-url URL]

The real `SlackOutbox` (slack_handlers: slack_client, the database-booked SharedPacer, deferral
and `retry_deferred` every RETRY_EVERY seconds, as the running bot does) and the real Teams
outbox (build_teams_runtime: msal tokens, the Bot Connector client and its Pacer) send to the
fakes the tests use, over real HTTP on 127.0.0.1, in a child process, enforcing the documented
limits and answering 429 with Retry-After beyond them:
- Slack chat.postMessage: 1 a second per channel with bursts of 3, and a workspace-wide 10 a
  second with bursts of 10 (Slack publishes no workspace figure: this one is stated, --slack-ws).
- Teams, per conversation: 7 in 1 s, 8 in 2 s, 60 in 30 s, 1800 an hour; per tenant 50 a second.
Senders are `--workers` threads calling `outbox.send`, like the scheduler's (send_workers = 4).

Cases: (a) a 09:00 burst of --dms DMs to different people, (b) --posts messages to one group's
channel/conversation, (c) a mix: --mix DMs interleaved with --posts to one group. For each:
messages, wall seconds from the first send to the last post the fake accepted, achieved rate,
the allowed rate (messages / the least time the limits allow for them, computed from the same
limits), achieved/allowed %, 429s the fake answered and this process's CPU seconds (the fakes run
in their own process). Rates count the messages' M - 1 gaps. Defaults (SIZES) take about a
minute in all; a fresh SQLite database unless --database-url is given (a PostgreSQL URL gets a
fresh schema).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SLACK_CHANNEL = (1.0, 3)  # chat.postMessage per channel: rate a second, burst
TEAMS_CONVERSATION = ((1.0, 7), (2.0, 8), (30.0, 60), (3600.0, 1800))
TEAMS_TENANT = ((1.0, 50),)
# Default sizes (DMs, posts to one group, DMs in the mix): large enough that each case's limits
# bind (Teams lets 7 posts to a conversation and 50 sends in the tenant go at once).
SIZES = {"slack": (60, 10, 40), "teams": (150, 24, 80)}


# --- the least time the limits allow --------------------------------------------------------------


def bucket_time(count: int, rate: float, burst: int) -> float:
    """Seconds from the first to the last of `count` posts through a token bucket."""
    return max(0.0, (count - burst) / rate)


def windows_time(count: int, windows: tuple[tuple[float, int], ...]) -> float:
    """Seconds from the first to the last of `count` sends under sliding-window limits (each
    send as early as every window allows, which is the fastest any sender can go)."""
    times: list[float] = []
    for _ in range(count):
        t = times[-1] if times else 0.0
        for window, n in windows:
            if len(times) >= n:
                t = max(t, times[-n] + window)
        times.append(t)
    return times[-1] if times else 0.0


# --- the fakes, in a child process ----------------------------------------------------------------


def slack_fake(conn: Connection, users: list[str], workspace: float) -> None:
    """Run the fake Slack Web API with chat.postMessage's limits until asked for its figures."""
    from tests.slack.fake_slack import FakeSlack, PostLimits

    os.nice(5)
    fake = FakeSlack().start()
    for user in users:
        fake.add_user(user, f"Person {user}")
    channels = [fake.add_channel(f"cg-cp-2026-014{n}").id for n in (1, 2)]
    rate, burst = SLACK_CHANNEL
    fake.enforce_post_limits(
        PostLimits(
            per_channel=rate,
            channel_burst=burst,
            workspace=workspace,
            workspace_burst=int(workspace),
        )
    )
    conn.send((fake.api_url, channels))
    while conn.recv() == "figures":
        posts = [c for c in fake.calls if c.method == "chat.postMessage"]
        ok = sum(c.status == 200 for c in posts)
        conn.send((ok, len(posts) - ok, fake.last_post_at))
    fake.stop()


def teams_fake(conn: Connection, tmp: str) -> None:
    """Run the fake Bot Connector (and its token endpoint) with the send limits enforced."""
    from tests.teams.conftest import FakeConnector, SendLimits
    from tests.tls import make_tls

    os.nice(5)
    tls = make_tls(Path(tmp))
    fake = FakeConnector(tls)
    fake.limits = SendLimits()
    conn.send((fake.server.url, fake.service_url, tls.ca_file))
    while conn.recv() == "figures":
        posts = [s for s in fake.sent if s.method == "POST"]
        conn.send((len(posts), fake.throttled, fake.last_post_at))
    fake.server.stop()


# --- driving the real outbox ----------------------------------------------------------------------


@dataclass
class Case:
    name: str
    to: list[Any]  # ToGroup / ToPerson, in sending order
    least: float  # seconds the limits need at the least


@dataclass
class Figures:
    messages: int
    wall: float
    least: float
    throttled: int
    cpu: float
    deferred: int


def drive(
    send: Callable[[Any, Any], str],
    case: Case,
    workers: int,
    figures: Callable[[], tuple[int, int, float]],
    retry: Callable[[], int] | None,
    retry_every: float,
) -> Figures:
    """Send the case's messages from `workers` threads; wait until the fake has them all."""
    from bot.messages import Message

    before_posts, before_429, _ = figures()
    cpu0, start = time.process_time(), time.monotonic()

    def one(n_to: tuple[int, Any]) -> str:
        n, to = n_to
        return send(to, Message.plain(f"Reminder {n}: the core group meets on Thursday at 10:00."))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        refs = list(pool.map(one, enumerate(case.to)))
    deferred = sum(ref.startswith(("deferred:", "held:")) for ref in refs)
    while True:  # as the running bot does: look for deferred posts every `retry_every` seconds
        posts, throttled, last = figures()
        if posts - before_posts >= len(case.to):
            break
        if retry is None or time.monotonic() - start > 600:
            raise SystemExit(f"{case.name}: only {posts - before_posts} of {len(case.to)} arrived")
        time.sleep(retry_every)
        retry()
    return Figures(
        len(case.to), last - start, case.least, throttled - before_429,
        time.process_time() - cpu0, deferred,
    )  # fmt: skip


def report(platform: str, case: Case, f: Figures) -> None:
    achieved = (f.messages - 1) / f.wall if f.wall > 0 else math.inf
    allowed = (f.messages - 1) / f.least if f.least > 0 else math.inf
    pct = 100.0 * f.least / f.wall if f.wall > 0 else 100.0
    print(
        f"{platform:5} {case.name:14} {f.messages:5d} msgs  {f.wall:6.2f} s wall  "
        f"{achieved:6.2f}/s achieved  {allowed:6.2f}/s allowed  {pct:5.1f}%  "
        f"{f.throttled:4d}x429  {f.deferred:4d} deferred  {f.cpu:5.2f} s CPU",
        flush=True,
    )


def sizes(platform: str, args: argparse.Namespace) -> tuple[int, int, int]:
    """The case sizes for `platform`: the flags, else its defaults."""
    dms, posts, mix = SIZES[platform]
    return args.dms or dms, args.posts or posts, args.mix or mix


def cases(
    groups: list[Any],
    people: list[Any],
    size: tuple[int, int, int],
    least: Callable[[int, int], float],
) -> list[Case]:
    """(a) DMs to different people, (b) posts to one group, (c) DMs interleaved with posts to
    another group (whose limits (b) has not used up)."""
    n_dms, n_posts, n_mix = size
    dms = people[:n_dms]
    mixed_people = people[n_dms : n_dms + n_mix]
    mixed: list[Any] = list(mixed_people)
    step = max(1, len(mixed) // max(n_posts, 1))
    for n in range(n_posts):
        mixed.insert(min(len(mixed), n * (step + 1)), groups[1])
    return [
        Case("a:09:00-DMs", dms, least(len(dms), 0)),
        Case("b:one-group", [groups[0]] * n_posts, least(0, n_posts)),
        Case("c:mix", mixed, least(len(mixed_people), n_posts)),
    ]


def people_and_groups(
    engine: Any, platform: Any, users: list[str], channels: list[str]
) -> tuple[list[Any], list[Any]]:
    from sqlmodel import Session

    from bot.clock import SystemClock
    from bot.messages import ToGroup, ToPerson
    from tests.factories import make_group, make_person

    clock = SystemClock()
    with Session(engine) as session:
        people = [
            make_person(session=session, clock=clock, platform=platform, user_id=u) for u in users
        ]
        groups = [
            make_group(session=session, clock=clock, platform=platform, channel_id=channel)
            for channel in channels
        ]
        session.commit()
        ids = [g.id for g in groups], [p.id for p in people]
    return [ToGroup(n) for n in ids[0] if n], [ToPerson(n) for n in ids[1] if n]


def run_slack(engine: Any, args: argparse.Namespace) -> None:
    from bot.adapters.slack import RETRY_EVERY, slack_handlers
    from bot.clock import SystemClock
    from bot.config import Settings
    from storage.enums import Platform
    from tests.slack.fake_slack import BOT_TOKEN

    size = sizes("slack", args)
    users = [f"U0P{n:06d}" for n in range(size[0] + size[2])]
    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=slack_fake, args=(child, users, args.slack_ws))
    proc.start()
    api_url, channels = parent.recv()

    def figures() -> tuple[int, int, float]:
        parent.send("figures")
        return parent.recv()

    settings = Settings(slack_bot_token=BOT_TOKEN, slack_api_url=api_url)
    handlers = slack_handlers(settings, engine, SystemClock())
    groups, people = people_and_groups(engine, Platform.SLACK, users, channels)
    rate, burst = SLACK_CHANNEL
    ws = args.slack_ws

    def least(dms: int, posts: int) -> float:
        return max(bucket_time(posts, rate, burst), bucket_time(dms + posts, ws, int(ws)))

    for case in cases(groups, people, size, least):
        time.sleep(1.5)  # the workspace bucket fills again (each case posts to other channels)
        f = drive(
            handlers.outbox.send, case, args.workers, figures, handlers.retry_deferred, RETRY_EVERY
        )
        report("slack", case, f)
    parent.send("stop")
    proc.join()


def run_teams(engine: Any, args: argparse.Namespace) -> None:
    from bot.adapters.teams import TeamsSettings, build_teams_runtime
    from bot.clock import SystemClock
    from bot.config import Settings
    from storage.enums import Platform
    from tests.teams.conftest import APP_ID, APP_SECRET, TENANT

    size = sizes("teams", args)
    users = [f"29:p{n:06d}" for n in range(size[0] + size[2])]
    parent, child = mp.Pipe()
    with tempfile.TemporaryDirectory() as tmp:
        proc = mp.get_context("fork").Process(target=teams_fake, args=(child, tmp))
        proc.start()
        server_url, service_url, ca_file = parent.recv()

        def figures() -> tuple[int, int, float]:
            parent.send("figures")
            return parent.recv()

        settings = Settings(
            microsoft_app_id=APP_ID, microsoft_app_password=APP_SECRET,
            microsoft_app_tenant_id=TENANT,
        )  # fmt: skip
        teams = TeamsSettings(
            teams_authority_url=server_url, teams_graph_url=server_url,
            teams_service_url=service_url, teams_ca_bundle=ca_file,
        )  # fmt: skip
        runtime = build_teams_runtime(settings, engine, SystemClock(), teams)
        chats = [f"19:group-{n}@thread.v2" for n in (1, 2)]
        groups, people = people_and_groups(engine, Platform.TEAMS, users, chats)

        def least(dms: int, posts: int) -> float:
            one = windows_time(posts, TEAMS_CONVERSATION)
            return max(one, windows_time(dms + posts, TEAMS_TENANT))

        for case in cases(groups, people, size, least):
            time.sleep(1.5)  # outside the tenant's window (each case has its own conversations)
            f = drive(runtime.outbox.send, case, args.workers, figures, None, 1.0)
            report("teams", case, f)
        runtime.close()
        parent.send("stop")
        proc.join()


def fresh_engine(url: str | None, tmp: str) -> tuple[Any, Callable[[], None]]:
    """An engine on an empty database at the newest schema, and how to clean it up."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from storage.db import make_engine, upgrade

    if url is None:
        engine = make_engine(f"sqlite:///{tmp}/send_rate.db")
        upgrade(engine)
        return engine, engine.dispose
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    rendered = (
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={name}"})
        .render_as_string(hide_password=False)
    )
    engine = make_engine(rendered)
    upgrade(engine)

    def drop() -> None:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()

    return engine, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", default="slack,teams")
    parser.add_argument("--dms", type=int, help="case (a): DMs to different people")
    parser.add_argument("--posts", type=int, help="cases (b), (c): posts to one group")
    parser.add_argument("--mix", type=int, help="case (c): DMs beside the posts")
    parser.add_argument("--workers", type=int, default=4, help="sender threads (send_workers)")
    parser.add_argument("--slack-ws", type=float, default=10.0, help="Slack workspace posts/s")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    from storage.crypto import new_key_text

    os.environ.setdefault("DATA_KEY", new_key_text())  # throw-away data, a throw-away key
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine, cleanup = fresh_engine(args.database_url, tmp)
        try:
            if "slack" in args.platform:
                run_slack(engine, args)
            if "teams" in args.platform:
                run_teams(engine, args)
        finally:
            cleanup()
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)


if __name__ == "__main__":
    main()
