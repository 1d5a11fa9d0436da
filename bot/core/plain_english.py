"""Plain English: the jargon and unexplained initials guidance asks core groups to avoid.

Initials are matched as whole words and case-sensitively, so "hv" inside "have", or the "CP" of
a case reference like CP-2026-0142, never counts. Phrases are matched whole, ignoring case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# DOMAIN.md's starting glossary: initials → plain words.
GLOSSARY: dict[str, str] = {
    "ICPC": "first child protection conference",
    "RCPC": "review child protection conference",
    "CG": "core group",
    "CP": "child protection",
    "CPP": "child protection plan",
    "CPPM": "child protection planning meeting",
    "CPR": "child protection register",
    "CIN": "child in need",
    "S17": "support for a child in need",
    "S47": "enquiry into possible significant harm",
    "S20": "accommodation with parents' agreement",
    "S31": "care or supervision order",
    "LAC": "child looked after by the council",
    "CLA": "child looked after by the council",
    "CiC": "child looked after by the council",
    "IRO": "independent reviewing officer",
    "LADO": "officer who handles allegations against staff working with children",
    "MASH": "team that screens referrals",
    "DSL": "school's safeguarding lead",
    "DSP": "school's safeguarding lead",
    "PLO": "pre-court legal process",
    "ICO": "interim care order",
    "EPO": "emergency protection order",
    "PPO": "police protection",
    "SGO": "special guardianship order",
    "CAMHS": "children's mental health service",
    "HV": "health visitor",
    "SN": "school nurse",
    "SW": "social worker",
    "TM": "team manager",
    "FSW": "family support worker",
    "TAF": "team around the family",
    "TAC": "team around the child",
    "EH": "early help",
    "EHA": "early help assessment",
    "FGC": "family group conference",
    "DA": "domestic abuse",
    "DV": "domestic abuse",
    "MARAC": "meeting on high-risk domestic abuse",
    "IDVA": "domestic abuse advocate",
    "MAPPA": "arrangements for managing offenders",
    "CSE": "child sexual exploitation",
    "CCE": "child criminal exploitation",
    "NAI": "non-accidental injury",
    "FII": "fabricated or induced illness",
    "FGM": "female genital mutilation",
    "ABE": "video-recorded police interview",
    "YOT": "youth offending team",
    "EHCP": "education, health and care plan",
    "EWO": "education welfare officer",
    "NFA": "no further action",
    "SoS": "Signs of Safety",
}

DESCRIBE = "describe what was seen and heard instead"

# Phrases that label rather than describe (matched ignoring case; spelling variants allowed).
PHRASES: tuple[tuple[str, str], ...] = (
    (r"demonstrates an? disorgani[sz]ed attachment", DESCRIBE),
    (r"non[- ]?engagement", DESCRIBE),
    (r"presenting as", DESCRIBE),
    (r"disguised compliance", DESCRIBE),
)

_EDGE_BEFORE = r"(?<![A-Za-z0-9])"
_EDGE_AFTER = r"(?![A-Za-z0-9])"
# Longest first, so "CPPM" is found as itself rather than as "CPP" (the edges forbid it anyway).
_INITIALS = re.compile(
    _EDGE_BEFORE
    + "("
    + "|".join(re.escape(t) for t in sorted(GLOSSARY, key=len, reverse=True))
    + ")"
    + _EDGE_AFTER
)
_PHRASES = [
    (re.compile(_EDGE_BEFORE + pattern + _EDGE_AFTER, re.IGNORECASE), suggestion)
    for pattern, suggestion in PHRASES
]
# Case references (CP-2026-0142, CP/2026/142) are identifiers, not jargon.
_REFERENCE = re.compile(_EDGE_BEFORE + r"[A-Za-z]{1,6}[-/][0-9][A-Za-z0-9/-]*")


@dataclass(frozen=True)
class Finding:
    """A term to avoid, as written, and what to write instead."""

    term: str
    suggestion: str


def jargon_in(text: str) -> list[Finding]:
    """The jargon in `text`, each term once, in the order it first appears."""
    scrubbed = _REFERENCE.sub(lambda m: " " * len(m.group()), text)
    hits: list[tuple[int, Finding]] = [
        (m.start(), Finding(m.group(1), GLOSSARY[m.group(1)])) for m in _INITIALS.finditer(scrubbed)
    ]
    for pattern, suggestion in _PHRASES:
        hits += [(m.start(), Finding(m.group(), suggestion)) for m in pattern.finditer(scrubbed)]
    seen: set[str] = set()
    found = []
    for _, finding in sorted(hits, key=lambda hit: hit[0]):
        key = finding.term.casefold()
        if key not in seen:
            seen.add(key)
            found.append(finding)
    return found


def jargon_note(text: str) -> str:
    """One line for under a document: the jargon found and what to write instead, or all clear."""
    findings = jargon_in(text)
    if not findings:
        return "Plain English check: no jargon or unexplained initials found."
    parts = []
    for finding in findings:
        if finding.suggestion == DESCRIBE:
            parts.append(f'"{finding.term}" — {DESCRIBE}')
        else:
            parts.append(f'"{finding.term}" — say "{finding.suggestion}"')
    return "Plain English check, so the family can follow: " + "; ".join(parts) + "."
