"""A Slack job that crashes is logged at the job boundary with its type, where it was raised and
an error id, never its message (which may carry statement parameters or what was typed)."""

from __future__ import annotations

import logging
import re

import pytest

from bot.adapters.slack_work import SlackJob, ThreadWork

SENTINEL = "Jamie Zebedee-Smith"


def test_a_crashing_job_is_logged_without_its_message(caplog: pytest.LogCaptureFixture) -> None:
    def runner(job: SlackJob) -> None:
        raise RuntimeError(f"(parameters: {{'description': '{job.body['text']}'}})")

    caplog.set_level(logging.DEBUG)
    work = ThreadWork(runner, threads=1)
    work.submit(SlackJob("command", {"text": f"action @jo to take {SENTINEL} to the dentist"}))
    work.close()

    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1
    line = failures[0].getMessage()
    assert re.search(r"Slack command job failed \(error [0-9a-f]{8}: RuntimeError at ", line)
    assert failures[0].exc_info is None  # no traceback: its message would carry the text
    assert SENTINEL not in caplog.text and "Zebedee" not in caplog.text
