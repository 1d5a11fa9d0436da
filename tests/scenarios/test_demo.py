"""`coregroup demo`: the sample group is built by real commands, and the chat is handed over."""

from __future__ import annotations

import io
import subprocess
import sys

from bot.demo import SEED, run_demo


def _demo(lines: list[str], *, show_seed: bool = False) -> str:
    out = io.StringIO()
    run_demo(lines, out=out, echo=True, show_seed=show_seed)
    return out.getvalue()


def test_every_setup_command_succeeds_and_builds_the_sample_group() -> None:
    transcript = _demo([], show_seed=True)
    # Each seed command echoed once, and none of them was refused.
    commands = [line for line in SEED.strip().splitlines() if line.startswith("/coregroup")]
    assert all(f"> {c}" in transcript for c in commands)
    for refusal in ("I don't know", "Please give", "Only the chair", "Sorry", "isn't", "can't"):
        assert refusal not in transcript, refusal
    assert transcript.count("has joined the core group") == 5
    assert "Booked: meeting 1 for CP-2026-0142" in transcript


def test_the_person_trying_the_demo_is_the_chair_in_the_group_space() -> None:
    transcript = _demo(["/coregroup status", "whoami"])
    assert "CP-2026-0142 — the core group at a glance" in transcript
    assert "Members: 6" in transcript
    assert "Next meeting: Tue 5 Jan 2027, 10:00 — Family Centre, Oak Road" in transcript
    assert "(you are Sam, in #cg-cp-2026-0142; it is Mon 21 Dec 2026 09:00)" in transcript
    # The setup itself stays out of the way unless asked for.
    assert "> /coregroup add @alex" not in transcript


def test_moving_the_clock_fires_the_meeting_reminders_once() -> None:
    transcript = _demo(["clock 2026-12-30 09:00", "clock +1h"])
    # Five professionals, and Alex (the parent) in family words.
    assert transcript.count("== Core group meeting in 5 working days · CP-2026-0142 ==") == 5
    assert transcript.count("== Your family's meeting is coming up ==") == 1


def test_the_console_script_runs_the_demo_from_a_pipe() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        input="/coregroup actions all\nquit\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Fix the broken heater with the landlord" in done.stdout
    assert done.stderr == ""
