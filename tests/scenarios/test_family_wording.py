"""Issue 10, family wording: every message a parent receives, over a realistic journey in the
local chat, reads in family words — no case reference, no "core group", "working days" or
"chair" unless explained, none of the plain-English glossary's jargon."""

from __future__ import annotations

import re

import pytest

from bot.core.plain_english import family_findings
from tests.scenarios.conftest import ChatDriver

REF = "CP-2026-0142"

SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup add @priya school
/coregroup add @dan police
/coregroup outcome add "Mia is safe at home and at school"
/coregroup action @priya to check Mia's attendance every week by 15/1 outcome 1
/coregroup action @jo to take Mia to school on time by 8/1 outcome 1
/coregroup schedule 6/1 2pm at "Family Centre"
"""


def to_parent(transcript: str, name: str = "jo") -> list[str]:
    """Each message addressed to the parent: her direct messages and the private replies to her
    (a message changed in place counts when she was the one who clicked)."""
    messages: list[list[str]] = []
    current: list[str] | None = None
    actor = None
    for line in transcript.splitlines():
        if line.startswith("> "):
            if line.startswith("> as "):
                actor = line[5:].strip()
            current = None
            continue
        if line.startswith(("[", "(", "*")) and not line.startswith("  "):
            mine = line == f"[DM to {name}]" or (
                actor == name
                and (line == f"[to {name.title()}, only you]" or line == "[message updated]")
            )
            current = [] if mine else None
            if current is not None:
                messages.append(current)
            continue
        if current is not None:
            current.append(line.strip())
    return ["\n".join(m) for m in messages if m]


# Not the bot's wording: the local chat's own hint under a message and its note of where a file
# was saved, her own words echoed back, and the attached file's name (the documents' naming).
_CHAT_HINT = re.compile(
    r"^(\((reply \d+ <your words> answers this message|You typed: .*|Your copy is attached: .*)\)"
    r"|\[file\] .*)$",
    re.M,
)


def assert_family_words(messages: list[str]) -> None:
    problems = []
    for text in messages:
        found = family_findings(_CHAT_HINT.sub("", text))
        if found:
            problems.append(f"{[f.term for f in found]} in:\n{text}")
    assert not problems, "\n\n".join(problems)


@pytest.fixture
def group(chat: ChatDriver) -> ChatDriver:
    chat(SETUP)
    return chat


def test_every_message_a_parent_receives_over_a_journey_is_in_family_words(
    group: ChatDriver,
) -> None:
    # What she asks for, what she is refused, and the help.
    group(
        """
        as jo
        /coregroup help
        /coregroup status
        /coregroup actions mine
        /coregroup action 2
        /coregroup members
        /coregroup meetings
        /coregroup chair @jo
        /coregroup add @bob parent
        /coregroup schedule 7/1 2pm
        /coregroup status CP-2026-9999
        /coregroup hepl
        /coregroup help status
        /coregroup help schedule
        /coregroup myupdate
        /coregroup hours 9am-5pm
        """
    )
    # Notices, her update conversation and action reminders.
    group("clock 2026-12-31 10:00")
    group(
        """
        as jo
        in dm
        still doing it
        she's been on time every day
        Mia likes her new teacher
        money is tight
        Nothing new
        yes I'll be there
        """
    )
    group("clock 2027-01-05 09:00")
    group("clock 2027-01-06 13:00")
    group("clock 2027-01-06 16:00")
    # The meeting is held and the minutes go out.
    group(
        """
        as sam
        in #cg-cp-2026-0142
        /coregroup held
        /coregroup minute-taker @sam
        /coregroup draft
        /coregroup approve
        /coregroup publish override "checked with everyone at the meeting"
        """
    )
    group("as jo\n/coregroup minutes")
    group("clock 2027-01-08 10:00")
    group("clock 2027-01-14 10:00")
    group("as jo\nin dm\ndone — she went every day")
    group("as sam\n/coregroup close confirm plan ended")
    group("as jo\n/coregroup status\n/coregroup actions mine\n/coregroup add @bob parent")
    messages = to_parent(group.out.getvalue())
    # Her welcome, her action and its reminders, help, refusals, the meeting notices, her update
    # conversation, the minutes and the notice that the group has finished: all of them checked.
    joined = "\n".join(messages)
    for seen in (
        "added you to the group supporting your family",
        "What you can ask me",
        "That's something your key worker does.",
        "Your family's meeting is coming up",
        "Before the meeting on Wed 6 Jan 2027, 14:00 · question 1 of 6",
        "What was agreed at your family's meeting",
        "A reminder: you agreed to do this by",
        "This was due on Fri 8 Jan 2027.",
        "The group has finished its work",
    ):
        assert seen in joined, seen
    assert len(messages) > 30
    assert_family_words(messages)
