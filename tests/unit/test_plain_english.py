"""The plain-English check: initials as whole words and case-sensitive, labelling phrases."""

from __future__ import annotations

import pytest

from bot.core.plain_english import DESCRIBE, GLOSSARY, Finding, jargon_in, jargon_note


def terms(text: str) -> list[str]:
    return [f.term for f in jargon_in(text)]


def test_initials_are_found_with_their_plain_words() -> None:
    assert jargon_in("The HV visited after the ICPC.") == [
        Finding("HV", "health visitor"),
        Finding("ICPC", "first child protection conference"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "We have been to the house",  # "hv" hides in no word, and case matters
        "the hv came",  # lower-case initials are ordinary words
        "Case CP-2026-0142 and CP/2026/142",  # case references are identifiers
        "SWAT team, CAMHSX, XHV",  # initials inside longer words
        "Mia sees her nan",
    ],
)
def test_no_false_alarms(text: str) -> None:
    assert jargon_in(text) == []


def test_longer_initials_win_over_their_prefixes() -> None:
    assert terms("A CPPM, a CPP and CP work") == ["CPPM", "CPP", "CP"]


def test_punctuation_is_a_word_boundary() -> None:
    assert terms("(S47), DA/DV; the SW's view") == ["S47", "DA", "DV", "SW"]


def test_each_term_once_in_order_of_first_appearance() -> None:
    assert terms("TM and HV; later the TM again") == ["TM", "HV"]


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("Mum Demonstrates a disorganised attachment", "Demonstrates a disorganised attachment"),
        ("ongoing non-engagement", "non-engagement"),
        ("Non engagement with services", "Non engagement"),
        ("presenting as low", "presenting as"),
        ("possible disguised compliance", "disguised compliance"),
    ],
)
def test_labelling_phrases_suggest_describing_instead(text: str, term: str) -> None:
    assert jargon_in(text) == [Finding(term, DESCRIBE)]


def test_mixed_case_initials_from_the_glossary_match_exactly() -> None:
    assert terms("Using SoS mapping") == ["SoS"]
    assert terms("sos") == [] and terms("CIC") == []
    assert "CiC" in GLOSSARY


def test_the_note_lists_what_to_write_instead() -> None:
    assert jargon_note("HV saw presenting as tired") == (
        'Plain English check, so the family can follow: "HV" — say "health visitor"; '
        '"presenting as" — describe what was seen and heard instead.'
    )
    assert jargon_note("All clear") == (
        "Plain English check: no jargon or unexplained initials found."
    )
