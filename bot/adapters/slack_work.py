"""Where Slack work runs after the ack: a thread pool here, or worker processes of their own.

The ack path (signature check, routing, the 200) must never wait behind the work a request starts
(database, Web API calls), and in CPython threads of one process share one interpreter lock: under
load, work threads hold it while the HTTP server waits to answer Slack. So production runs the work
in separate processes (`ProcessWork`), each with a few threads of its own; the front process only
verifies, acks and enqueues. `ThreadWork` keeps everything in one process — for tests and the
simulated clock, which cannot cross into another process.

Each worker process has a pipe of its own, and a supervisor thread in the front process hands a job
to the least-loaded worker with a free thread, so a worker killed mid-job (SIGKILL, the OOM killer)
can break only its own pipe. The supervisor sees the death at once (the process's sentinel),
starts a replacement, re-queues the jobs the dead worker had not started and hands the ones it had
started to `on_lost` (they may have changed something, so they are not re-run blindly). Workers
die with the front process (PR_SET_PDEATHSIG on Linux, else a thread watching the parent).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from bot.adapters.slack_worker import run_guarded, worker_main
from bot.logs import log_failure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackJob:
    """One acknowledged request to work on: its kind, Slack's payload and the bot's user id."""

    kind: str  # command | action | answer | message | home
    body: dict[str, Any]
    bot_user_id: str | None = None


Runner = Callable[[SlackJob], None]

SUPERVISE_EVERY = 0.5  # seconds between the supervisor's checks when nothing wakes it
RESTART_DELAY = 1.0  # seconds before replacing a worker that died before it could work, doubled
RESTART_DELAY_MAX = 60.0  # each time again, up to this
CLOSE_WAIT = 30.0  # seconds `close` lets the workers finish what is queued


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


# --- in the front process -----------------------------------------------------------------------


@dataclass(eq=False)
class _Worker:
    """One worker process, its end of the pipe and the jobs handed to it: id → (job, started)."""

    process: BaseProcess
    conn: Connection
    ready: bool = False
    dead: bool = False
    jobs: dict[int, tuple[SlackJob, bool]] = field(default_factory=dict)


def _log_lost(job: SlackJob) -> None:
    log.error("a Slack %s job was interrupted by its worker's death", job.kind)


class ProcessWork:
    """Runs jobs in `processes` worker processes, `threads` at a time in each.

    `factory` builds a process's runner once, inside the process (its own database engine and
    Web API client); it must be picklable: a module-level function, or a partial of one.
    `on_lost` is called here, in the front process, with each job a worker died while running.
    """

    def __init__(
        self,
        factory: Callable[[], Runner],
        *,
        processes: int = 2,
        threads: int = 4,
        on_lost: Callable[[SlackJob], None] = _log_lost,
    ) -> None:
        self._context = multiprocessing.get_context("spawn")  # never fork a process with threads
        self._factory = factory
        self._threads = threads
        self._on_lost = on_lost
        self._ids = itertools.count()
        self._lock = threading.Lock()  # guards _pending, _close_by, _closed and _abandoned
        self._pending: deque[tuple[int, SlackJob]] = deque()
        self._close_by: float | None = None
        self._closed = False  # the wake-up pipe is closed
        self._abandoned = False  # the interpreter is exiting without close()
        self._workers: list[_Worker | None] = [None] * processes
        self._restart_at = [0.0] * processes
        self._failed_starts = [0] * processes
        self._replaced = 0
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self._notices = ThreadPoolExecutor(max_workers=2, thread_name_prefix="slack-lost")
        # Workers are started from this thread, which lives as long as they should: Linux sends
        # PR_SET_PDEATHSIG when the thread that started a process ends.
        self._supervisor = threading.Thread(
            target=self._supervise, name="slack-work-supervisor", daemon=True
        )
        self._supervisor.start()
        # Never closed (a test, a script): at exit stop supervising before multiprocessing ends
        # the workers, so their ends are not taken for deaths and replaced.
        atexit.register(self._abandon)

    def submit(self, job: SlackJob) -> None:
        """Queue a job for the next free worker thread; returns at once."""
        with self._lock:
            self._pending.append((next(self._ids), job))
        self._wake()

    def working(self) -> int:
        """How many worker processes are alive and have built their runner."""
        return sum(w is not None and w.ready and not w.dead for w in self._workers)

    def ready(self) -> bool:
        """Whether some worker process can work (`/healthz` fails while none can)."""
        return self.working() > 0

    def pids(self) -> list[int]:
        """The worker processes' ids (0 for one being replaced)."""
        return [w.process.pid or 0 if w is not None else 0 for w in self._workers]

    @property
    def replaced(self) -> int:
        """How many dead workers have been replaced."""
        return self._replaced

    def close(self) -> None:
        """Let the workers finish what is queued (up to CLOSE_WAIT seconds), then stop them."""
        atexit.unregister(self._abandon)
        with self._lock:
            self._close_by = time.monotonic() + CLOSE_WAIT
        self._wake()
        self._supervisor.join(timeout=CLOSE_WAIT + 15)
        self._notices.shutdown(wait=True)
        with self._lock:
            self._closed = True
            os.close(self._wake_read)
            os.close(self._wake_write)

    # The supervisor thread -------------------------------------------------------------------

    def _abandon(self) -> None:
        with self._lock:
            self._abandoned = True
        self._wake()
        self._supervisor.join(timeout=5)

    def _wake(self) -> None:
        with self._lock, contextlib.suppress(BlockingIOError):  # a wake-up is already waiting
            if not self._closed:
                os.write(self._wake_write, b"!")

    def _supervise(self) -> None:
        while not self._finished():
            try:
                self._supervise_once()
            except Exception:  # the supervisor's boundary: it must outlive any one round
                log_failure(log, "supervising the Slack workers failed")
                time.sleep(SUPERVISE_EVERY)
        if not self._abandoned:
            self._stop_workers()

    def _supervise_once(self) -> None:
        """Start missing workers, wait for news (or a submit), act on it and hand out jobs."""
        self._start_missing()
        live = [w for w in self._workers if w is not None]
        waitable: list[Any] = [self._wake_read]
        waitable += [w.conn for w in live] + [w.process.sentinel for w in live]
        woken = wait(waitable, timeout=SUPERVISE_EVERY)
        if self._wake_read in woken:
            os.read(self._wake_read, 4096)
        for worker in live:
            if worker.conn in woken:
                self._read(worker)
            if worker.dead or worker.process.sentinel in woken:
                self._bury(worker)
        self._dispatch()

    def _finished(self) -> bool:
        with self._lock:
            if self._abandoned:
                return True
            if self._close_by is None:
                return False
            idle = not self._pending and all(w is None or not w.jobs for w in self._workers)
            return idle or time.monotonic() > self._close_by

    def _start_missing(self) -> None:
        for n, worker in enumerate(self._workers):
            if worker is None and time.monotonic() >= self._restart_at[n]:
                here, there = self._context.Pipe(duplex=True)
                process = self._context.Process(
                    target=worker_main,
                    args=(self._factory, there, self._threads, os.getpid()),
                    name=f"slack-worker-{n}",
                    daemon=True,
                )
                process.start()
                there.close()  # only the worker holds its end: its death closes the pipe
                self._workers[n] = _Worker(process, here)

    def _read(self, worker: _Worker) -> None:
        """Take every message the worker has sent so far."""
        try:
            while worker.conn.poll():
                what, job_id = worker.conn.recv()
                if what == "ready":
                    worker.ready = True
                elif what == "start":
                    worker.jobs[job_id] = (worker.jobs[job_id][0], True)
                else:
                    del worker.jobs[job_id]
        except (EOFError, OSError):
            worker.dead = True

    def _bury(self, worker: _Worker) -> None:
        """Replace a dead worker; re-queue what it had not started, report what it had."""
        self._read(worker)  # what it said before it died
        worker.process.join(timeout=1)
        worker.conn.close()
        n = self._workers.index(worker)
        self._workers[n] = None
        self._failed_starts[n] = 0 if worker.ready else self._failed_starts[n] + 1
        delay = RESTART_DELAY * 2 ** (self._failed_starts[n] - 1) if self._failed_starts[n] else 0
        self._restart_at[n] = time.monotonic() + min(delay, RESTART_DELAY_MAX)
        self._replaced += 1
        waiting = [(i, job) for i, (job, started) in worker.jobs.items() if not started]
        lost = [job for job, started in worker.jobs.values() if started]
        with self._lock:
            self._pending.extendleft(reversed(waiting))
        log.error(
            "Slack worker %s (pid %s) died (exit code %s); replacing it: "
            "%d queued jobs handed on, %d interrupted",
            n,
            worker.process.pid,
            worker.process.exitcode,
            len(waiting),
            len(lost),
        )
        for job in lost:
            self._notices.submit(self._tell_lost, job)

    def _tell_lost(self, job: SlackJob) -> None:
        try:
            self._on_lost(job)
        except Exception:  # the notice's boundary: it must not stop the next one
            log_failure(log, "telling about an interrupted Slack %s job failed", job.kind)

    def _dispatch(self) -> None:
        """Hand queued jobs to the least-loaded ready workers with a free thread."""
        while True:
            free = [
                w
                for w in self._workers
                if w is not None and w.ready and not w.dead and len(w.jobs) < self._threads
            ]
            with self._lock:
                if not free or not self._pending:
                    return
                job_id, job = self._pending.popleft()
            worker = min(free, key=lambda w: len(w.jobs))
            worker.jobs[job_id] = (job, False)
            try:
                worker.conn.send((job_id, job))
            except OSError:  # it died: buried on the next round, the job handed on
                worker.dead = True

    def _stop_workers(self) -> None:
        live = [w for w in self._workers if w is not None]
        for worker in live:
            with contextlib.suppress(OSError):  # already dead
                worker.conn.send(None)
        for worker in live:
            worker.process.join(timeout=CLOSE_WAIT)
            if worker.process.is_alive():
                worker.process.terminate()
            worker.conn.close()
