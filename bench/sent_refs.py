"""What recording each post costs (bot.core.sent_messages.record_sent: one small INSERT in its own
transaction, made after every Slack or Teams post so retention can delete it later), and what
marking a closed group's posts due costs.

Usage:  python bench/sent_refs.py [--posts 2000] [--database-url URL]

A fresh SQLite file is used unless --database-url names an empty database (a PostgreSQL schema
made for the run, as the tests do). Prints the median and 95th percentile per post, and the time
to mark one group's posts (as the retention job does) with --posts rows in the table.

On the shared 2-CPU machine (Fri 4 Dec 2026, load average about 2), 2000 posts: SQLite median
3.94 ms, p95 7.15 ms a post, marking a group's 200 posts 9.8 ms; PostgreSQL median 2.46 ms,
p95 8.17 ms, marking 24.1 ms. Before, posts were not recorded (0 ms); a Slack or Teams call
itself takes tens of milliseconds or more.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from bot.core.sent_messages import queue_group, record_sent
from storage.crypto import KeyEncryptionKeys
from storage.db import make_engine, upgrade
from storage.enums import GroupStatus, Platform
from storage.models import Case, CoreGroup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine = make_engine(url, KeyEncryptionKeys(b"b" * 32))
    upgrade(engine)
    now = datetime.now(UTC)
    with Session(engine) as s:
        case = Case(reference="CP-BENCH-0001", icpc_date=now.date(), created_at=now)
        s.add(case)
        s.flush()
        assert case.id is not None
        group = CoreGroup(
            case_id=case.id,
            status=GroupStatus.CLOSED,
            platform=Platform.SLACK,
            channel_id="C0BENCH00",
            created_at=now,
            closed_at=now,
        )
        s.add(group)
        s.commit()
        group_id = group.id
    assert group_id is not None
    times = []
    for n in range(args.posts):
        channel = "C0BENCH00" if n % 10 == 0 else f"D0{n % 200:07d}"
        start = time.perf_counter()
        record_sent(
            engine,
            platform=Platform.SLACK,
            place=channel,
            message_id=f"1790000000.{n:06d}",
            now=now,
        )
        times.append(time.perf_counter() - start)
    times.sort()
    start = time.perf_counter()
    with Session(engine) as s:
        marked = queue_group(s, group_id, now)
        s.commit()
    marking = time.perf_counter() - start
    print(
        f"{url.split(':')[0]}: record_sent median {statistics.median(times) * 1000:.2f} ms, "
        f"p95 {times[int(len(times) * 0.95)] * 1000:.2f} ms per post ({args.posts} posts); "
        f"marking one group's {marked} posts due: {marking * 1000:.1f} ms"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
