"""The young person's own page (ages 8+): how they feel, what's going well, what worries them,
what they want the meeting to know, and whether they want to come or have someone speak for them.

The answers are kept in the child's MemberUpdate under the `yp_*` keys, never shared with the
rest of the family automatically (a child's worry may be about home), and reach the brief and
section 4 of the minutes as the child's voice, marked as their own words. The wording follows the
young person's guide (seed 003): the meeting looks over their plan to keep them safe; they can
come, or ask for an advocate or the Children's Rights Officer to go for them; they can leave at
any time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

FEELING = "yp_feeling"
GOING_WELL = "yp_going_well"
WORRIES = "yp_worries"
MUST_KNOW = "yp_must_know"
ATTEND = "yp_attend"


@dataclass(frozen=True)
class Option:
    """One answer on the page: its stored value, its words, and a picture for the scale."""

    value: str
    label: str
    picture: str = ""


@dataclass(frozen=True)
class YoungQuestion:
    """One question on the young person's page."""

    key: str
    ask: str
    label: str  # how the brief and minutes name it
    hint: str = ""
    options: tuple[Option, ...] = ()

    def option(self, value: str) -> Option | None:
        """The option with this value."""
        return next((o for o in self.options if o.value == value), None)


FEELINGS = (
    Option("really-good", "Really good", "\U0001f604"),
    Option("good", "Good", "\U0001f642"),
    Option("ok", "OK", "\U0001f610"),
    Option("not-good", "Not good", "\U0001f641"),
    Option("really-bad", "Really bad", "\U0001f622"),
)
ATTEND_CHOICES = (
    Option("come", "I'd like to come to the meeting"),
    Option("come-with-advocate", "I'd like to come, with an advocate to help me"),
    Option(
        "advocate",
        "I'd like an advocate or the Children's Rights Officer to go for me and say what I want "
        "said",
    ),
    Option("not-sure", "I'm not sure yet"),
)
QUESTIONS = (
    YoungQuestion(FEELING, "How are you feeling at the moment?", "How they feel", options=FEELINGS),
    YoungQuestion(
        GOING_WELL,
        "What is going well for you?",
        "What is going well",
        "At home, at school, with friends — anything.",
    ),
    YoungQuestion(WORRIES, "Is anything worrying you?", "What worries them"),
    YoungQuestion(
        MUST_KNOW,
        "What do you want the people at the meeting to know?",
        "What they want the meeting to know",
    ),
    YoungQuestion(
        ATTEND,
        "Would you like to come to the meeting, or have someone speak for you?",
        "The meeting",
        "If you come, you can leave at any point if you feel uncomfortable or upset. An "
        "advocate can tell you afterwards what happened and what was agreed.",
        options=ATTEND_CHOICES,
    ),
)
BY_KEY = {q.key: q for q in QUESTIONS}
KEYS = tuple(BY_KEY)
OWN_WORDS = "In their own words, from their page"


def shown(key: str, stored: str) -> str:
    """A stored answer as people read it (an option's words, or what they wrote)."""
    question = BY_KEY.get(key)
    option = question.option(stored) if question is not None else None
    return option.label if option is not None else stored


def voice_lines(said: Callable[[str], str | None]) -> list[str]:
    """The child's voice from their own page, each answer marked as their own words."""
    lines = []
    for question in QUESTIONS:
        text = said(question.key)
        if not text:
            continue
        value = shown(question.key, text)
        quoted = value if question.options else f"\u201c{value}\u201d"
        lines.append(f"{question.label}: {quoted}")
    return lines
