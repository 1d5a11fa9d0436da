"""Where Slack work runs after the ack: a thread pool here, or worker processes of their own.

The ack path (signature check, routing, the 200) must never wait behind the work a request starts
(database, Web API calls), and in CPython threads of one process share one interpreter lock: under
load, work threads hold it while the HTTP server waits to answer Slack. So production runs the work
in separate processes (`ProcessWork`), each with a few threads of its own, fed through a queue; the
front process only verifies, acks and enqueues. `ThreadWork` keeps everything in one process — for
tests and the simulated clock, which cannot cross into another process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bot.logs import log_failure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackJob:
    """One acknowledged request to work on: its kind, Slack's payload and the bot's user id."""

    kind: str  # command | action | answer | message | home
    body: dict[str, Any]
    bot_user_id: str | None = None


Runner = Callable[[SlackJob], None]

# Worker processes run a little below the front process, so under load the OS gives the acks the
# CPU first, but not at the lowest priority: at nice 19 anything else on the host starved them
# (bench/slack_ack.py at 20 requests/s on a shared 2-core machine: command → reply p99 3.5-7.1 s
# at nice 19, 0.5 s at nice 5; nice 0 let the workers slow acks at 200/s to a 476 ms p99).
WORKER_NICENESS = 5


def run_guarded(runner: Runner, job: SlackJob) -> None:
    """Run one job; a failure is logged (without the payload: it holds user text) and contained."""
    try:
        runner(job)
    except Exception:  # the job boundary: one bad request must not stop the worker
        log_failure(log, "Slack %s job failed", job.kind)


class ThreadWork:
    """Runs jobs on a thread pool in this process."""

    def __init__(self, runner: Runner, *, threads: int = 16) -> None:
        self.runner = runner
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="slack-work")

    def submit(self, job: SlackJob) -> None:
        """Queue a job; returns at once."""
        self._pool.submit(run_guarded, self.runner, job)

    def ready(self) -> bool:
        """Threads here can always work."""
        return True

    def close(self) -> None:
        """Finish queued jobs, then stop."""
        self._pool.shutdown(wait=True)


def _worker_main(factory: Callable[[], Runner], queue: Any, threads: int, ready: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    os.nice(WORKER_NICENESS)
    runner = factory()
    ready.set()  # the runner is built (imports, engine, client): this process can work

    def drain() -> None:
        while (job := queue.get()) is not None:
            run_guarded(runner, job)

    pool = [threading.Thread(target=drain, name=f"slack-work-{n}") for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


class ProcessWork:
    """Runs jobs in `processes` worker processes, `threads` at a time in each.

    `factory` builds a process's runner once, inside the process (its own database engine and
    Web API client); it must be picklable: a module-level function, or a partial of one.
    """

    def __init__(
        self, factory: Callable[[], Runner], *, processes: int = 2, threads: int = 4
    ) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that has threads
        self._queue = context.Queue()
        self._stops = processes * threads
        self._ready = [context.Event() for _ in range(processes)]
        self._processes = [
            context.Process(
                target=_worker_main,
                args=(factory, self._queue, threads, self._ready[n]),
                name=f"slack-worker-{n}",
                daemon=True,
            )
            for n in range(processes)
        ]
        for process in self._processes:
            process.start()

    def submit(self, job: SlackJob) -> None:
        """Queue a job for the next free worker thread; returns at once."""
        self._queue.put(job)

    def ready(self) -> bool:
        """Whether every worker process is alive and has built its runner."""
        return all(
            event.is_set() and process.is_alive()
            for event, process in zip(self._ready, self._processes, strict=True)
        )

    def close(self) -> None:
        """Let the workers finish what is queued, then stop them."""
        for _ in range(self._stops):
            self._queue.put(None)
        for process in self._processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
        self._queue.close()
