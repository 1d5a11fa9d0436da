"""Which sections a change asked for on the minutes is about, so an amendment answers only the
requests about the section it changed; the others stay open on the new version."""

from __future__ import annotations

import re

from bot.core.minutes import SECTIONS

# "section 4", "sections 4 and 5", "§4", or a number leading the comment: "4: Mia was…".
_NAMED = re.compile(
    r"\bsections?\s*\d{1,2}(?:\s*(?:,|and|&)\s*\d{1,2})*|§\s*\d{1,2}|^\s*\d{1,2}\s*[:.)]",
    re.IGNORECASE,
)


def sections_named(comment: str) -> set[int]:
    """The section numbers a comment names; empty when it names none."""
    found: set[int] = set()
    for match in _NAMED.finditer(comment):
        found.update(int(n) for n in re.findall(r"\d{1,2}", match.group(0)))
    return {n for n in found if n in SECTIONS}


def answers(comment: str, section: int) -> bool:
    """Whether amending `section` answers this change request: it names that section, or none
    (then there is no telling, and the chair's amendment is taken as the answer)."""
    named = sections_named(comment)
    return not named or section in named
