"""The words that may mean a new concern: a data file, matched on whole words, checked at start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.core.context import Locale
from bot.core.signals import ConcernSignals, SignalsError, built_in_signals


@pytest.mark.parametrize(
    "text",
    [
        "Mia told her teacher this morning that dad is back living at the house",
        "Police were called to the address on Saturday night",
        "He had a bruise on his cheek",
        "She said she is scared to go home",
        "Jamie disclosed that mum\u2019s partner hits him",
        "The children don\u2019t feel safe when he visits",
    ],
)
def test_the_built_in_list_finds_what_reads_like_a_disclosure(text: str) -> None:
    assert built_in_signals().find(text)


@pytest.mark.parametrize(
    "text",
    [
        "Booked the GP appointment for next Tuesday",
        "in progress",
        "Referral to the school nurse sent; mum was pleased",
        "Attendance is up to 96% this half term",
        "White goods delivered; this is now done",  # "hit" is not inside "white" or "this"
    ],
)
def test_ordinary_updates_are_not_flagged(text: str) -> None:
    assert built_in_signals().find(text) == []


def test_phrases_match_whole_words_in_order_and_a_star_matches_any_ending() -> None:
    signals = ConcernSignals.parse("# a note\n\nbruis*\nback living at\nCounty Lines\n")
    assert signals.find("BRUISING seen on his arm") == ["bruis*"]
    assert signals.find("he is back, living at his mum's") == ["back living at"]
    assert signals.find("living back at") == []
    assert signals.find("worried about county lines") == ["county lines"]
    assert signals.find("countylines") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("hit\nbruise!\n", "line 2: 'bruise!' is not a word"),
        ("# only notes\n\n", "the file lists no phrases"),
        ("police *\n", "line 1: '*' is not a word"),
    ],
)
def test_a_file_that_cannot_be_used_names_the_line(text: str, problem: str) -> None:
    with pytest.raises(SignalsError, match=re.escape(problem)):
        ConcernSignals.parse(text)


def test_the_council_file_is_checked_at_start_up_and_replaces_the_list(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.txt"
    with pytest.raises(ConfigError, match="CONCERN_SIGNALS_FILE") as raised:
        load_settings(_env_file=None, concern_signals_file=str(missing))
    assert "no file at" in str(raised.value)

    bad = tmp_path / "bad.txt"
    bad.write_text("hit\nnot (a) phrase\n", encoding="utf-8")
    settings = load_settings(_env_file=None, concern_signals_file=str(bad))
    with pytest.raises(ConfigError, match="CONCERN_SIGNALS_FILE: line 2"):
        Locale.from_settings(settings)

    ours = tmp_path / "signals.txt"
    ours.write_text("county lines\ncuckooing\n", encoding="utf-8")
    locale = Locale.from_settings(load_settings(_env_file=None, concern_signals_file=str(ours)))
    assert locale.signals.find("Signs of cuckooing at the flat") == ["cuckooing"]
    assert locale.signals.find("He hit his brother") == []  # the council's list, not ours
    assert Locale.from_settings(load_settings(_env_file=None)).signals == built_in_signals()
