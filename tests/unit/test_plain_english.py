"""The plain-English check: initials as whole words and case-sensitive, labelling phrases."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.plain_english import (
    DESCRIBE,
    Finding,
    Glossary,
    GlossaryError,
    bundled,
    family_findings,
    jargon_in,
    jargon_note,
    readability,
)


def terms(text: str) -> list[str]:
    return [f.term for f in jargon_in(text)]


def test_initials_are_found_with_their_plain_words() -> None:
    assert jargon_in("The HV visited after the ICPC.") == [
        Finding("HV", "health visitor", "health visitor"),
        Finding("ICPC", "first child protection conference", "first child protection conference"),
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
    assert "CiC" in bundled().initials


def test_the_note_lists_what_to_write_instead() -> None:
    assert jargon_note("HV saw presenting as tired") == (
        'Plain English check, so the family can follow: "HV" — say "health visitor"; '
        '"presenting as" — describe what was seen and heard instead.'
    )
    assert jargon_note("All clear") == (
        "Plain English check: no jargon or unexplained initials found."
    )


def test_one_click_replaces_initials_as_whole_words_and_leaves_references_alone() -> None:
    glossary = bundled()
    text = "ICPC held on 2 Dec. The HV and the SW visited; CP-2026-0142 stays; CP work too."
    assert glossary.replaced(text) == (
        "First child protection conference held on 2 Dec. The health visitor and the social "
        "worker visited; CP-2026-0142 stays; child protection work too."
    )
    assert glossary.replaced(text, {"HV"}) == text.replace("HV", "health visitor")
    # A phrase with no plain words is never replaced: the writer describes what they saw.
    assert glossary.replaced("presenting as low") == "presenting as low"


def test_a_councils_glossary_file_adds_and_changes_entries(tmp_path: Path) -> None:
    path = tmp_path / "council.toml"
    path.write_text(
        '[initials]\nLAC = "child in our care"\nPEP = "personal education plan"\n\n'
        '[[phrases]]\npattern = "contact"\ninstead = "time together"\n',
        encoding="utf-8",
    )
    glossary = Glossary.load(path)
    assert glossary.initials["LAC"] == "child in our care"
    assert glossary.initials["ICPC"] == "first child protection conference"  # kept
    assert [f.term for f in glossary.findings("The PEP and contact with Dad")] == ["PEP", "contact"]
    assert glossary.replaced("Contact with Dad") == "Time together with Dad"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("[initials\nICPC = 1", "is not valid TOML"),
        ("[initials]\nICPC = 1", "[initials] must be lines like"),
        ('[[phrases]]\npattern = "non[- engagement"', "is not a valid pattern"),
        ('[[phrases]]\ninstead = "x"', "phrase 1 has no pattern"),
    ],
)
def test_a_broken_glossary_file_says_what_is_wrong(tmp_path: Path, content: str, why: str) -> None:
    path = tmp_path / "council.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GlossaryError) as raised:
        Glossary.load(path)
    assert "council.toml" in str(raised.value) and why in str(raised.value)


def test_readability_is_reported_in_words_a_chair_can_use() -> None:
    easy = "We met at the family centre. Mia is happy at school. The house is warm now. " * 3
    hard = (
        "Notwithstanding the multi-agency safeguarding considerations articulated previously, "
        "practitioners collectively determined that comprehensive therapeutic interventions "
        "necessitate further interdisciplinary consultation and organisational authorisation."
    )
    assert readability("Too short") is None
    assert readability(easy).score > 80 and "easy" in readability(easy).words
    assert readability(hard).score < 30 and "shorter sentences" in readability(hard).words


def test_family_findings_flag_a_reference_core_group_working_days_and_an_unexplained_chair() -> (
    None
):
    text = "The core group for CP-2026-0142 meets in 5 working days. Ask the chair, or the IRO."
    terms = [f.term for f in family_findings(text)]
    assert terms == ["core group", "CP-2026-0142", "working days", "chair", "IRO"]
    assert family_findings("Sam is the chair (runs the meetings) and your key worker.") == []
    assert family_findings("The group supporting your family meets on Tue 5 Jan, 9am-5pm.") == []


def test_a_councils_glossary_adds_family_words() -> None:
    extra = Glossary.parse('[[family]]\npattern = "LAC review"\n', source="council.toml")
    assert [f.term for f in extra.family_findings("Your LAC review is on Monday.")] == [
        "LAC review"
    ]
    with pytest.raises(GlossaryError, match="family phrase 1 has no pattern"):
        Glossary.parse("[[family]]\ninstead = 'x'\n", source="council.toml")
