"""Kill -9 a Slack worker process, or the front process, with real processes and the fake Slack.

A killed worker breaks only its own pipe: every job still gets an answer at its response_url (the
ones it had not started are run by another worker, the ones it had started are reported to the
person as interrupted), the worker is replaced, and `/healthz` fails only while no worker can
work. Killing the front process takes its workers with it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import Engine

from bot.adapters.slack_work import RESTART_DELAY, ProcessWork, Runner, SlackJob
from bot.adapters.web import WebServer, build_web_app
from tests.slack.fake_slack import FakeSlack
from tests.slack.signing import SlackClient

ROOT = Path(__file__).resolve().parents[2]
ANSWERED = "answered"
INTERRUPTED = "interrupted"


def _post(url: str, text: str) -> None:
    request = urllib.request.Request(
        url, data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def _answering(pause: float, hang_marker: str = "") -> Runner:
    """In a worker process: a runner that answers each job at its response_url after `pause`
    seconds; a job whose text is "hang" first touches `hang_marker`, then never finishes."""

    def run(job: SlackJob) -> None:
        if job.body.get("text") == "hang":
            Path(hang_marker).touch()
            time.sleep(3600)
        time.sleep(pause)
        _post(job.body["response_url"], ANSWERED)

    return run


def _tell_interrupted(job: SlackJob) -> None:
    _post(job.body["response_url"], INTERRUPTED)


def _job(fake: FakeSlack, text: str = "") -> SlackJob:
    return SlackJob("command", {"text": text, "response_url": fake.response_url()})


def _wait(check: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _report(line: str) -> None:
    """Show a measured figure (with `pytest -s`)."""
    sys.stdout.write(line + "\n")


def _running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def _answers(fake: FakeSlack) -> dict[str, Counter[str]]:
    """What each response_url (by path) was told."""
    told: dict[str, Counter[str]] = {}
    for call in list(fake.responses):
        told.setdefault(urlparse(call.args["url"]).path, Counter())[call.args["text"]] += 1
    return told


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.mark.parametrize("trial", range(3))
def test_a_worker_killed_mid_burst_loses_no_command(fake: FakeSlack, trial: int) -> None:
    work = ProcessWork(partial(_answering, 0.2), processes=2, threads=2, on_lost=_tell_interrupted)
    try:
        _wait(lambda: work.working() == 2, "the workers")
        jobs = [_job(fake) for _ in range(30)]
        for job in jobs:
            work.submit(job)
        _wait(lambda: len(fake.responses) >= 3 + trial * 3, "the first answers")
        victim = work.pids()[trial % 2]
        os.kill(victim, signal.SIGKILL)

        urls = {urlparse(job.body["response_url"]).path for job in jobs}
        _wait(lambda: set(_answers(fake)) == urls, "an answer to every job")
        told = _answers(fake)
        interrupted = sum(1 for c in told.values() if c[INTERRUPTED])
        doubled = sum(1 for c in told.values() if sum(c.values()) > 1)
        _report(
            f"trial {trial}: {len(jobs)} jobs, {len(told)} answered, {len(urls - set(told))} lost, "
            f"{interrupted} told interrupted, {doubled} told twice"
        )
        assert interrupted <= 2  # at most the dead worker's two threads were mid-job
        assert all(c[ANSWERED] <= 1 for c in told.values())  # nothing ran twice
        _wait(lambda: work.replaced == 1 and victim not in work.pids(), "a replacement")
        _wait(lambda: work.working() == 2, "the replacement to work")
        work.submit(after := _job(fake))
        _wait(lambda: urlparse(after.body["response_url"]).path in _answers(fake), "more work")
    finally:
        work.close()
    assert not any(_running(pid) for pid in work.pids() if pid)


def test_a_job_running_in_the_dead_worker_is_reported_and_queued_ones_run(
    fake: FakeSlack, tmp_path: Path
) -> None:
    marker = tmp_path / "hanging"
    lost: list[SlackJob] = []

    def on_lost(job: SlackJob) -> None:
        lost.append(job)
        _tell_interrupted(job)

    work = ProcessWork(
        partial(_answering, 0.0, str(marker)), processes=1, threads=1, on_lost=on_lost
    )
    try:
        hang, queued = _job(fake, "hang"), _job(fake, "next")
        work.submit(hang)
        work.submit(queued)
        _wait(marker.exists, "the hanging job to start")
        os.kill(work.pids()[0], signal.SIGKILL)
        fake.wait_responses(2, timeout=60)
        told = _answers(fake)
        assert told[urlparse(hang.body["response_url"]).path] == Counter({INTERRUPTED: 1})
        assert told[urlparse(queued.body["response_url"]).path] == Counter({ANSWERED: 1})
        assert lost == [hang]
    finally:
        work.close()


def test_healthz_fails_while_no_worker_can_work_and_recovers(engine: Engine) -> None:
    work = ProcessWork(partial(_answering, 0.0), processes=1, threads=1)
    server = WebServer(build_web_app(engine, ready=work.ready), host="127.0.0.1").start()
    client = SlackClient(server.url, fake=None)  # type: ignore[arg-type]
    try:
        _wait(work.ready, "the worker")
        assert client.request("GET", "/healthz").status == 200
        killed = time.monotonic()
        os.kill(work.pids()[0], signal.SIGKILL)
        _wait(lambda: client.request("GET", "/healthz").status == 503, "503", timeout=2)
        noticed = time.monotonic() - killed
        _wait(lambda: client.request("GET", "/healthz").status == 200, "200 again")
        _report(
            f"/healthz 503 {noticed:.2f} s after the kill, 200 {time.monotonic() - killed:.1f} s"
        )
        assert work.replaced == 1
    finally:
        server.stop()
        work.close()


def _broken() -> Runner:
    """In a worker process: a runner that can never be built (a bad setting, say)."""
    raise RuntimeError("no runner here")


def test_a_worker_that_cannot_start_is_retried_with_a_growing_pause() -> None:
    # Real processes, so real time: how long a spawn takes varies with the machine's load, so
    # the test watches when each failed start is noticed and checks only the pauses between
    # them, which the supervisor guarantees: at least 1 s, then at least 2 s (no busy loop).
    work = ProcessWork(_broken, processes=1, threads=1)
    noticed: list[float] = []
    try:
        deadline = time.monotonic() + 60
        while len(noticed) < 3 and time.monotonic() < deadline:
            if work.replaced > len(noticed):
                noticed.append(time.monotonic())
            time.sleep(0.01)
        assert len(noticed) == 3 and work.replaced == 3, noticed
        assert not work.ready()
        first, second = noticed[1] - noticed[0], noticed[2] - noticed[1]
        slack = 0.05  # the 10 ms polling above, with room
        assert first >= RESTART_DELAY - slack
        assert second >= 2 * RESTART_DELAY - slack
    finally:
        work.close()


FRONT = """
import sys, time
from functools import partial
from bot.adapters.slack_work import ProcessWork
from tests.faults.test_dead_worker import _answering

work = ProcessWork(partial(_answering, 0.0), processes=2, threads=1)
while work.working() < 2:
    time.sleep(0.05)
print(*work.pids(), flush=True)
time.sleep(3600)
"""


def test_killing_the_front_process_stops_its_workers() -> None:
    front = subprocess.Popen(
        [sys.executable, "-c", FRONT], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert front.stdout is not None
        workers = [int(pid) for pid in front.stdout.readline().split()]
        assert len(workers) == 2 and all(_running(pid) for pid in workers)
        front.kill()
        front.wait(timeout=10)
        killed = time.monotonic()
        _wait(lambda: not any(_running(pid) for pid in workers), "the workers to exit", 5)
        _report(f"workers gone {time.monotonic() - killed:.2f} s after the front process")
    finally:
        front.kill()
        front.wait()
