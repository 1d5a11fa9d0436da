"""The plain-English check as people meet it: each piece of jargon with its plain words and a
button to use them (or one button for all), for drafts and amendments of the minutes and for
members' update answers; and, for the chair, what is left in the family's and the young person's
versions with how readable the family's version is."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import minutes as mins
from bot.core.documents.build import young_sections_text
from bot.core.plain_english import Finding, Glossary, advice, readability
from bot.messages import Block, Bullets, Button, Buttons, Context, Text

MINUTES = "plain.minutes"
ANSWER = "plain.answer"
ALL = "*"
MAX_BUTTONS = 8
LABEL_MAX = 75  # Slack's limit for a button's text


def choice(value: str) -> tuple[str, str]:
    """A plain-words button's value: (what it is about, the term or ALL)."""
    key, _, term = value.partition(":")
    return key, term


def _button(finding: Finding, action: str, key: str) -> Button:
    label = f"Use “{finding.plain}” for {finding.term}"
    if len(label) > LABEL_MAX:
        label = f"Use the plain words for {finding.term}"[:LABEL_MAX]
    return Button(label, action, f"{key}:{finding.term}")


def hits_blocks(findings: Sequence[Finding], *, action: str, key: str, where: str) -> list[Block]:
    """Each hit with what to write instead, a button per replaceable hit and one for them all."""
    if not findings:
        return []
    blocks: list[Block] = [
        Text(f"Plain English — {where} has jargon the family may not follow:"),
        Bullets(tuple(advice(f) for f in findings)),
    ]
    replaceable = [f for f in findings if f.plain is not None]
    if replaceable:
        buttons = [_button(f, action, key) for f in replaceable[:MAX_BUTTONS]]
        if len(replaceable) > 1:
            buttons.append(
                Button("Use plain words for all", action, f"{key}:{ALL}", style="primary")
            )
        blocks.append(Buttons(tuple(buttons)))
    if len(replaceable) < len(findings):
        blocks.append(
            Context(
                "Phrases that label people can't be swapped for you: say what was seen and heard."
            )
        )
    return blocks


def family_text(body: mins.MinutesBody) -> str:
    """What the family version says: the family's copy of each section it includes."""
    return "\n".join(
        body.text(n, family=True) for n in mins.SECTIONS if mins.family_shares(body, n)
    )


def family_check(body: mins.MinutesBody, glossary: Glossary) -> list[Block]:
    """For the chair: jargon left in the family's and young person's versions, and readability."""
    family = family_text(body)
    young = young_sections_text(body)
    hits = glossary.findings(f"{family}\n{young}")
    blocks: list[Block] = []
    if hits:
        blocks.append(
            Text(
                "Still in the family's and the young person's versions: "
                + "; ".join(advice(f) for f in hits)
                + '. Word the family\'s copy of a section with `/coregroup amend <n> family "…"`.'
            )
        )
    else:
        blocks.append(
            Text(
                "The family's and the young person's versions have no jargon or unexplained "
                "initials."
            )
        )
    score = readability(family)
    if score is not None:
        blocks.append(Context(f"The family's version: {score.words}."))
    return blocks


def minutes_check(body: mins.MinutesBody, glossary: Glossary, *, version_id: int) -> list[Block]:
    """For the author of a version: every hit with its button, then the family's versions."""
    hits = glossary.findings(body.whole_text() + "\n" + family_text(body))
    blocks = hits_blocks(hits, action=MINUTES, key=str(version_id), where="this version")
    return blocks + family_check(body, glossary)


def replaced_body(body: mins.MinutesBody, glossary: Glossary, term: str) -> mins.MinutesBody:
    """The body with one term (or ALL) in plain words, in the professionals' and family's text."""
    terms = None if term == ALL else {term}
    return mins.MinutesBody(
        {n: glossary.replaced(t, terms) for n, t in body.sections.items()},
        {n: glossary.replaced(t, terms) for n, t in body.family.items()},
    )
