"""What runs inside a Slack worker process (bot.adapters.slack_work.ProcessWork): it builds its
runner, then runs the jobs its pipe brings on a few threads, telling the front process when each
starts and ends, and it ends when the front process does.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from bot.logs import log_failure

if TYPE_CHECKING:
    from bot.adapters.slack_work import Runner, SlackJob

log = logging.getLogger(__name__)

# Worker processes run a little below the front process, so under load the OS gives the acks the
# CPU first, but not at the lowest priority: at nice 19 anything else on the host starved them
# (bench/slack_ack.py at 20 requests/s on a shared 2-core machine: command → reply p99 3.5-7.1 s
# at nice 19, 0.5 s at nice 5; nice 0 let the workers slow acks at 200/s to a 476 ms p99).
WORKER_NICENESS = 5
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def run_guarded(runner: Runner, job: SlackJob) -> None:
    """Run one job; a failure is logged (without the payload: it holds user text) and contained."""
    try:
        runner(job)
    except Exception:  # the job boundary: one bad request must not stop the worker
        log_failure(log, "Slack %s job failed", job.kind)


def _die_with_parent(parent: int) -> None:
    """Have this process end when `parent` does: SIGTERM from Linux, else a watching thread."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        asked = libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux: no prctl
        asked = False
    if not asked:

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, name="slack-parent-watch", daemon=True).start()
    if os.getppid() != parent:  # the parent died before Linux was asked
        os._exit(1)


def worker_main(factory: Callable[[], Runner], conn: Connection, threads: int, parent: int) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    os.nice(WORKER_NICENESS)
    runner = factory()
    sending = threading.Lock()

    def tell(what: str, job_id: int = -1) -> None:
        with sending, contextlib.suppress(OSError):  # OSError: the front process is gone
            conn.send((what, job_id))

    tell("ready")  # the runner is built (imports, engine, client): this process can work
    jobs: queue.Queue[tuple[int, SlackJob] | None] = queue.Queue()

    def drain() -> None:
        while (item := jobs.get()) is not None:
            job_id, job = item
            tell("start", job_id)
            run_guarded(runner, job)
            tell("done", job_id)

    pool = [threading.Thread(target=drain, name=f"slack-work-{n}") for n in range(threads)]
    for thread in pool:
        thread.start()
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):  # the front process is gone
            break
        if item is None:  # close(): finish what was handed over, then stop
            break
        jobs.put(item)
    for _ in pool:
        jobs.put(None)
    for thread in pool:
        thread.join()
