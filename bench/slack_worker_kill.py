"""Kill -9 a Slack worker process mid-burst, then the front process: the real app (HTTP mode,
PostgreSQL, two worker processes) against the fake Slack, as bench/slack_ack.py starts them.

Usage:  python bench/slack_worker_kill.py [--trials 3] [--commands 40]

Per trial: set up a group, send `--commands` signed slash commands at 20/s, SIGKILL one worker
after a quarter of them, and wait (up to 60 s) for a reply at every response_url; then SIGKILL the
front process and time how long its workers outlive it. Prints answered / lost / told twice per
trial, how soon the dead worker was replaced, and what `/healthz` said meanwhile.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.slack_ack import (  # noqa: E402  (after the path is set)
    DEFAULT_DB,
    Stack,
    _fake_state,
    _post,
    _stop,
    drop_schema,
    set_up_group,
    slash,
    start_stack,
)

RATE = 20.0


def _children(pid: int) -> set[int]:
    """The worker processes of the front process `pid` (not multiprocessing's resource tracker)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return {c for c in found if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()}


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def _health(stack: Stack) -> int:
    try:
        with urllib.request.urlopen(f"{stack.target.app_url}/healthz", timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def trial(n: int, commands: int, base_url: str) -> None:
    """One trial: a worker killed mid-burst, then the front process."""
    stack = start_stack("full", base_url)
    try:
        set_up_group(stack.target)
        workers = _children(stack.app.pid)
        victim = sorted(workers)[n % 2]
        first = 20_000 + n * 1_000
        sent = [f"/respond/{first + i}" for i in range(commands)]
        health: set[int] = set()
        before = _fake_state(stack.target)["responses"]
        for i in range(commands):
            _post(stack.target, slash(stack.target, first + i, "help"))
            if i == commands // 4:
                killed = time.monotonic()
                os.kill(victim, signal.SIGKILL)
            health.add(_health(stack))
            time.sleep(1 / RATE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = _fake_state(stack.target)
            if all(path in state["response_times"] for path in sent):
                break
            time.sleep(0.2)
        replaced = _children(stack.app.pid) - workers
        answered = [path for path in sent if path in state["response_times"]]
        twice = state["responses"] - before - len(answered)
        print(
            f"trial {n}: {commands} commands, {len(answered)} answered, "
            f"{commands - len(answered)} lost, {twice} told twice; "
            f"worker {'replaced' if replaced else 'NOT replaced'} ({time.monotonic() - killed:.1f} "
            f"s after the kill, by then); /healthz answered {sorted(health)} during the burst",
            flush=True,
        )
        workers = _children(stack.app.pid)
        stack.app.kill()
        stack.app.wait()
        front_killed = time.monotonic()
        while any(_running(pid) for pid in workers) and time.monotonic() - front_killed < 30:
            time.sleep(0.01)
        left = [pid for pid in workers if _running(pid)]
        print(
            f"trial {n}: front process killed: {len(workers)} workers, {len(left)} still running "
            f"after {time.monotonic() - front_killed:.2f} s",
            flush=True,
        )
    finally:
        _stop(stack.app)
        _stop(stack.fake)
        drop_schema(base_url, stack.schema)


def main() -> None:
    """Run the trials."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--commands", type=int, default=40)
    options = parser.parse_args()
    base_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_DB)
    for n in range(options.trials):
        trial(n, options.commands, base_url)


if __name__ == "__main__":
    main()
