"""A team manager added later with `coregroup team --manager` hears, privately and once per
group, of the disagreements already recorded in the team's open groups."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from bot.clock import FakeClock, SystemClock
from storage.models import Disagreement
from tests.factories import clear_settings_environment
from tests.scenarios.conftest import ChatDriver
from tests.scenarios.test_conference_chair import DISAGREE, SETUP, dm
from tests.scenarios.test_meetings import REF

TOM = ["team", "--platform", "local", "--user", "tom", "--name", "Tom", "--team", "Key Workers"]


def test_a_manager_added_later_hears_of_the_groups_open_disagreements(
    chat: ChatDriver,
    engine: Engine,
    database_url: str,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clear_settings_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(SystemClock, "now", lambda self: clock.now())
    chat(SETUP)
    chat(DISAGREE)  # no manager known yet
    chat("/coregroup add @tina team manager")
    chat('as dan\n/coregroup disagree "We disagree about contact"\nas sam')  # Tina told

    assert main([*TOM, "--manager"]) == 0
    out = capsys.readouterr().out
    assert "Tom (local tom) is now a manager of Key Workers." in out
    assert "The bot will send them the disagreements already recorded in 1 of the team's" in out
    to_tom = dm(chat("clock +1m"), "tom")
    assert f"You now oversee the core group for {REF} as a team manager" in to_tom
    assert "recorded 2 disagreements" in to_tom
    assert "Dan (police), Fri 18 Dec 2026: The police disagree with stepping down visits" in to_tom
    assert "Dan (police), Fri 18 Dec 2026: We disagree about contact" in to_tom
    with Session(engine) as s:
        assert all(r.manager_told_at is not None for r in s.exec(select(Disagreement)))

    # Made a manager again (or told twice), nothing new to say: nothing is sent again.
    assert main([*TOM, "--manager"]) == 0
    assert "will send" not in capsys.readouterr().out
    assert "You now oversee" not in dm(chat("clock +1m"), "tom")


def test_a_member_of_the_team_who_is_no_manager_is_told_nothing(
    chat: ChatDriver,
    database_url: str,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clear_settings_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(SystemClock, "now", lambda self: clock.now())
    chat(SETUP)
    chat(DISAGREE)
    assert main(TOM) == 0
    assert "will send" not in capsys.readouterr().out
    assert "You now oversee" not in dm(chat("clock +1m"), "tom")
