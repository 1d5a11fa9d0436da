"""What sealing case text at rest costs: a chat command, and wording a busy tick's reminders.

Usage:  python -m bench.encryption_cost [--groups 200] [--rounds 15] [--database-url URL]

Each mode gets its own fresh, identical database (a throw-away SQLite file, or a new schema at
--database-url on PostgreSQL): `--groups` core groups built like the tests' (six members, three
outcomes, ten actions with history, three meetings), plus one group typed into the local chat.
"sealed" is the bot as shipped; "clear" is the same schema with the sealed column types passing
text through unchanged, so the difference is the encryption alone. Timed, median of `--rounds`:

1. a command: `/coregroup actions all` in the group's space, through the local chat (parse,
   authorise, read the plan, word the reply);
2. wording the reminders due at a busy 09:00: claim the due rows and turn them into merged
   messages (`claim_due` + `prepare`, rolled back after each round), N reminders.

Rounds alternate between the modes (after a warm-up run each). Prints the median of each figure
(and the minimum, the least disturbed by a busy machine) for both modes, and the ratio (aim:
under 1.2x), then the median of the bot process's CPU time (the database server's excluded).
On a busy machine the wall times are noisy, so it also counts the values a run seals and opens
and prices them at the measured cost of one seal and one open: an estimate of the ratio that
load does not disturb.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import timeit
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session, col, func, select  # noqa: E402

from bot.app import local_chat  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.core.context import Locale  # noqa: E402
from bot.core.oversight import join_team  # noqa: E402
from bot.core.people import Who, person_for  # noqa: E402
from bot.core.reminders import claim_due, prepare  # noqa: E402
from bot.scheduler import ReminderEngine  # noqa: E402
from storage import types as sealed_types  # noqa: E402
from storage.crypto import KeyEncryptionKeys, open_sealed, seal  # noqa: E402
from storage.db import make_engine, session_scope, upgrade  # noqa: E402
from storage.enums import Platform, ReminderStatus  # noqa: E402
from storage.models import Reminder  # noqa: E402
from tests.factories import build_core_group  # noqa: E402

LONDON = ZoneInfo("Europe/London")
START = datetime(2026, 11, 23, 9, 0, tzinfo=LONDON)
REF = "CP-2026-0142"
SETUP = f"""
as sam
/coregroup new {REF} icpc 18/12/2026
in #cg-cp-2026-0142
/coregroup add @jo parent
/coregroup add @alex hv
/coregroup add @dan police
/coregroup outcome add "The home is warm and safe for the children"
/coregroup outcome add "The children go to school every day"
/coregroup action @alex to arrange a developmental check by 15/1 outcome 1
/coregroup action @jo to keep the heating on by 15/1 outcome 1
/coregroup action @dan to share the police checks by 15/1 outcome 2
/coregroup schedule 6/1 2pm at "Family Centre"
""".strip().splitlines()
COMMAND = ["as sam", "in #cg-cp-2026-0142", "/coregroup actions all"]


@contextmanager
def clear_columns() -> Iterator[None]:
    """The sealed column types pass text through unchanged (the schema is the same)."""
    cls = sealed_types.EncryptedText
    saved = cls.process_bind_param, cls.process_result_value, cls.column_expression

    def bind(self: Any, value: Any, dialect: Any) -> Any:
        return None if value is None else self._dump(value)

    def result(self: Any, value: Any, dialect: Any) -> Any:
        return None if value is None else self._load(value)

    def plain_column(self: Any, colexpr: Any) -> Any:  # no row id read alongside
        return colexpr

    cls.process_bind_param, cls.process_result_value = bind, result  # type: ignore[method-assign]
    cls.column_expression = plain_column  # type: ignore[method-assign]
    try:
        yield
    finally:
        cls.process_bind_param, cls.process_result_value, _ = saved  # type: ignore[method-assign]
        cls.column_expression = saved[2]  # type: ignore[method-assign]


@contextmanager
def database(base_url: str | None) -> Iterator[str]:
    """A fresh database URL: a temporary SQLite file, or a new schema dropped afterwards."""
    if base_url is None:
        with tempfile.TemporaryDirectory(prefix="bench-enc-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    name = f"bench_enc_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    try:
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={name}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


Runners = dict[str, Callable[[], None]]


def timed(run: Callable[[], None]) -> tuple[float, float]:
    """Wall time and this process's CPU time of one run."""
    started, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - started, time.process_time() - cpu


def set_up(url: str, groups: int) -> tuple[Engine, Runners, int]:
    """Build the data on `url`; the engine, the runs to time, and how many reminders are due."""
    engine = make_engine(url, KeyEncryptionKeys(os.urandom(32)))
    upgrade(engine)
    clock = FakeClock(START)
    with session_scope(engine) as session:
        for n in range(groups):
            build_core_group(session=session, clock=clock, reference=f"CP-2026-{5000 + n}")
        sam = person_for(session, Who(Platform.LOCAL, "sam", "Sam"), clock)
        join_team(session, person=sam, team_name="North Team", manager=False)
    clock.set(datetime(2026, 12, 18, 15, 0, tzinfo=LONDON))
    out = io.StringIO()
    chat = local_chat(engine=engine, clock=clock, locale=Locale(), out=out, echo=False)
    chat.on_clock = lambda: None  # reminders are timed below, not sent while typing
    chat.run(SETUP)
    assert "Booked: meeting 1" in out.getvalue(), out.getvalue()[-2000:]

    def command() -> None:
        chat.run(COMMAND)

    command()
    assert "developmental check" in out.getvalue().split("/coregroup actions all")[-1]
    word, due = _wording(engine, clock)
    return engine, {"command": command, "reminders": word}, due


def _wording(engine: Engine, clock: FakeClock) -> tuple[Callable[[], None], int]:
    reminders = ReminderEngine(
        engine=engine, clock=clock, outboxes={}, locale=Locale(), instance="bench"
    )
    reminders.plan(clock.now())
    with Session(engine) as session:
        dues = session.exec(
            select(Reminder.due_at)
            .where(Reminder.status == ReminderStatus.PENDING)
            .order_by(col(Reminder.due_at))
        ).all()
    # The moment by which the first 1,000 (or all) planned reminders are due: a busy tick.
    now = dues[min(len(dues), 1000) - 1]
    with Session(engine) as session:
        due = session.exec(
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.status == ReminderStatus.PENDING, col(Reminder.due_at) <= now)
        ).one()

    def word() -> None:
        with Session(engine) as session:
            rows = claim_due(
                session, now=now, limit=due, owner="bench", lease=timedelta(minutes=5), lock=True
            )
            prepare(session, rows, planner=reminders.planner, now=now)
            session.rollback()

    return word, due


TYPICAL = "Alex to arrange a developmental check with the health visitor by 15/1"


def counted_calls(run: Callable[[], None]) -> tuple[int, int]:
    """How many values one run seals and opens."""
    saved = sealed_types.seal, sealed_types.open_sealed
    counts = [0, 0]

    def counting_seal(*args: Any) -> str:
        counts[0] += 1
        return saved[0](*args)

    def counting_open(*args: Any) -> str:
        counts[1] += 1
        return saved[1](*args)

    sealed_types.seal, sealed_types.open_sealed = counting_seal, counting_open  # type: ignore[assignment]
    try:
        run()
    finally:
        sealed_types.seal, sealed_types.open_sealed = saved
    return counts[0], counts[1]


def cost_per_value(n: int = 20000) -> tuple[float, float]:
    """Seconds to seal, and to open, one typical value (best of five runs of `n`)."""
    cipher = AESGCM(os.urandom(32))
    stored = seal(cipher, 1, "action.description", TYPICAL, 1)
    sealing = min(
        timeit.repeat(lambda: seal(cipher, 1, "action.description", TYPICAL, 1), number=n, repeat=5)
    )
    opening = min(
        timeit.repeat(lambda: open_sealed(cipher, stored, "action.description"), number=n, repeat=5)
    )
    return sealing / n, opening / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    with database(args.database_url) as clear_url, database(args.database_url) as sealed_url:
        with clear_columns():
            clear_engine, clear, due = set_up(clear_url, args.groups)
        sealed_engine, sealed, _ = set_up(sealed_url, args.groups)
        # Rounds alternate between the modes, and which goes first, so a busy machine slows both
        # alike.
        times: dict[tuple[str, str], list[float]] = {}
        cpu: dict[tuple[str, str], list[float]] = {}
        runs = {"clear": clear, "sealed": sealed}
        for n in range(args.rounds):
            for key in ("command", "reminders"):
                for mode in ("clear", "sealed") if n % 2 else ("sealed", "clear"):
                    with clear_columns() if mode == "clear" else nullcontext():
                        wall, used = timed(runs[mode][key])
                        times.setdefault((mode, key), []).append(wall)
                        cpu.setdefault((mode, key), []).append(used)
        calls = {key: counted_calls(sealed[key]) for key in ("command", "reminders")}
        clear_engine.dispose()
        sealed_engine.dispose()
    per_value = cost_per_value()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{backend}, {args.groups} groups, median of {args.rounds} alternating rounds")
    for key, label in (
        ("command", "command: /coregroup actions all"),
        ("reminders", f"wording {due} due reminders (claim + prepare)"),
    ):
        for stat in (statistics.median, min):
            plain, secret = stat(times["clear", key]), stat(times["sealed", key])
            print(
                f"{label:<48} {stat.__name__:<6} clear {plain * 1000:8.1f} ms   "
                f"sealed {secret * 1000:8.1f} ms   ratio {secret / plain:.2f}x"
            )
        plain, secret = statistics.median(cpu["clear", key]), statistics.median(cpu["sealed", key])
        print(
            f"{'':<48} {'cpu':<6} clear {plain * 1000:8.1f} ms   "
            f"sealed {secret * 1000:8.1f} ms   ratio {secret / plain:.2f}x  (median CPU time)"
        )
        sealed_n, opened_n = calls[key]
        added = sealed_n * per_value[0] + opened_n * per_value[1]
        plain = min(times["clear", key])
        print(
            f"{'':<48} {sealed_n} values sealed + {opened_n} opened = {added * 1000:.2f} ms of "
            f"AES-GCM: {(plain + added) / plain:.3f}x the fastest clear run"
        )
    print(
        f"one value of {len(TYPICAL)} characters: seal {per_value[0] * 1e6:.1f} µs, "
        f"open {per_value[1] * 1e6:.1f} µs"
    )


if __name__ == "__main__":
    main()
