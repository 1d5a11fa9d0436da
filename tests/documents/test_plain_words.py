"""The plain-English check with one-click replacements, through the local chat: drafts and
amendments, members' update answers, the family's versions listed to the chair before publishing,
and a council's own glossary file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.plain_english import Glossary
from storage.models import MinutesVersion, UpdateAnswer
from tests.documents.realistic import Built
from tests.factories import clear_settings_environment
from tests.scenarios.conftest import ChatDriver
from tests.scenarios.test_minutes import button, to

JARGON = '"The HV and the SW will visit weekly after the ICPC. Dad\'s non-engagement worries us."'


def latest_body(engine: Engine) -> str:
    with Session(engine) as s:
        return (
            s.exec(select(MinutesVersion).order_by(col(MinutesVersion.number).desc())).first().body
        )


def test_the_author_replaces_jargon_with_one_click_and_the_chair_sees_what_is_left(
    chat: ChatDriver, long_group: Built, engine: Engine
) -> None:
    chat("as ffion\n/coregroup draft")
    out = chat(f"/coregroup amend 7 family {JARGON}")
    mine = to(out, "[to ")
    assert "Plain English — this version has jargon the family may not follow:" in mine
    assert '"HV" — say "health visitor"' in mine
    assert '"non-engagement" — describe what was seen and heard instead' in mine
    assert "Use “social worker” for SW" in mine
    # The family's copy now holds it: the check of the family's versions says so.
    assert "Still in the family's and the young person's versions: \"HV\"" in mine

    # One click replaces one term; the button for all does the rest (not the labelling phrase).
    out = chat(f"click {button(out, 'Use “health visitor” for HV')}")
    assert "Version 3 uses plain words (HV → health visitor)" in out
    assert "The health visitor and the SW" in latest_body(engine)
    out = chat(f"click {button(out, 'Use plain words for all')}")
    assert "Version 4 uses plain words (SW → social worker, ICPC → first child" in out
    body = latest_body(engine)
    assert (
        "The health visitor and the social worker will visit weekly after the first child "
        "protection conference." in body
    )
    assert "non-engagement" in body  # only the writer can say what was seen and heard

    # A member can't reword the minutes; the approval tells the chair what is still there.
    out = chat(f"as zoe\nclick {button(chat.out.getvalue(), 'Use plain words for all', '[to ')}")
    assert "Only the chair or the minute-taker can change the wording" in out
    out = chat("/coregroup approve")
    ready = to(out, "[DM to sian]")
    assert "ready to publish" in ready
    assert '"non-engagement" — describe what was seen and heard instead' in ready
    assert "The family's version: Flesch reading ease" in ready


def test_a_members_update_answer_is_reworded_with_one_click(
    chat: ChatDriver, long_group: Built, engine: Engine
) -> None:
    chat("as sian\n/coregroup updates")
    out = chat("as zoe\nThe HV came after the ICPC")
    hints = to(out, "[DM to zoe]")
    assert '"ICPC" — say "first child protection conference"' in hints
    out = chat(f"click {button(out, 'Use plain words for all')}")
    assert "your answer now reads:" in out
    assert "The health visitor came after the first child protection conference" in out
    with Session(engine) as s:
        answers = [a.answer for a in s.exec(select(UpdateAnswer)).all()]
    assert "The health visitor came after the first child protection conference" in answers
    # Someone else can't press it.
    number = button(chat.out.getvalue(), "Use plain words for all")
    out = chat(f"as ffion\nclick {number}")
    assert "That answer isn't yours to change." in out


def test_a_councils_glossary_reaches_the_check(
    engine: Engine, clock: FakeClock, long_group: Built, tmp_path: Path
) -> None:
    path = tmp_path / "council.toml"
    path.write_text('[initials]\nPEP = "personal education plan"\n', encoding="utf-8")
    chat = ChatDriver(
        engine, clock, tmp_path / "files", locale=Locale(glossary=Glossary.load(path))
    )
    chat("as ffion\n/coregroup draft")
    out = chat('/coregroup amend 9 "The PEP is due in March"')
    assert '"PEP" — say "personal education plan"' in out


def test_a_broken_glossary_file_stops_the_bot_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clear_settings_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "council.toml"
    path.write_text("[initials\nPEP = 1\n", encoding="utf-8")
    monkeypatch.setenv("GLOSSARY_FILE", str(path))
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "GLOSSARY_FILE: council.toml is not valid TOML" in err
    assert "unset GLOSSARY_FILE to use the bot's own glossary" in err
