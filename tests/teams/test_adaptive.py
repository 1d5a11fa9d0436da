"""Rendering neutral messages as Adaptive Cards 1.5, and reading submits back as clicks."""

from __future__ import annotations

import re

import jsonschema
import pytest

from bot.messages import (
    Bullets,
    Button,
    Buttons,
    Choice,
    Context,
    Divider,
    Fields,
    Heading,
    Message,
    Prompt,
    Text,
)
from bot.render.adaptive import Click, escape, parse_submit, to_card
from tests.teams.conftest import submit_data, unescape

EVERYTHING = Message(
    text="CP-2026-0142: action 1 is due",
    blocks=(
        Heading("Action 1 · CP-2026-0142"),
        Text("Make a referral"),
        Fields((("Due", "Fri 15 Jan 2027"), ("Who", "Priya Shah"))),
        Divider(),
        Bullets(("one", "two")),
        Buttons(
            (
                Button("Done", "action.done", "1", style="primary"),
                Button("Can't do", "action.cant", "1", style="danger", ask="What is stopping it?"),
            )
        ),
        Choice("update.status", "Status", (("done", "Done"), ("stuck", "Stuck"))),
        Prompt("What is going well?", hint="A sentence is enough"),
        Context("Sent by Core Group Bot"),
    ),
)


def test_every_block_renders_to_a_valid_card(card_schema: jsonschema.Draft6Validator) -> None:
    card = to_card(EVERYTHING)
    assert list(card_schema.iter_errors(card)) == []
    types = [element["type"] for element in card["body"]]
    assert types == [
        "TextBlock",
        "TextBlock",
        "FactSet",
        "Container",
        "ActionSet",
        "Container",
        "Container",
        "TextBlock",
    ]
    assert card["body"][3]["separator"] is True  # the divider
    assert card["fallbackText"] == "CP-2026-0142: action card"  # no names, no free text
    done, cant = card["body"][4]["actions"]
    assert (done["type"], done["style"], done["data"]) == (
        "Action.Submit",
        "positive",
        {"action": "action.done", "value": "1"},
    )
    assert (cant["type"], cant["style"]) == ("Action.ShowCard", "destructive")
    assert cant["card"]["body"][0]["label"] == "What is stopping it?"


def test_a_message_without_blocks_is_its_text() -> None:
    card = to_card(Message(text="Hello"))
    assert card["body"] == [{"type": "TextBlock", "text": "Hello", "wrap": True}]


@pytest.mark.parametrize(
    ("title", "answer", "click"),
    [
        ("Done", None, Click("action.done", "1")),
        ("Can't do", "  the family moved GP ", Click("action.cant", "1", "the family moved GP")),
        ("Choose", "stuck", Click("update.status", "stuck")),
    ],
)
def test_a_submitted_card_reads_back_as_the_neutral_click(
    title: str, answer: str | None, click: Click
) -> None:
    assert parse_submit(submit_data(to_card(EVERYTHING), title, answer)) == click


@pytest.mark.parametrize(
    "value", [None, "text", {"verb": "x"}, {"action": 3}, {"action": "a", "value": 5}]
)
def test_values_that_are_not_our_clicks_are_ignored(value: object) -> None:
    assert parse_submit(value) is None


@pytest.mark.parametrize(
    "typed",
    [
        "**bold** and _italic_ and ~~gone~~",
        "[click me](https://evil.example)",
        "- not a list\n1. not numbered\n# not a heading\n> not a quote",
        "mail sam@example.org or see www.example.org or https://example.org",
        "back\\slash & ampersand and a lone `",
        "a <safe> fire guard by <date>",
    ],
)
def test_typed_text_shows_as_typed_and_formats_nothing(typed: str) -> None:
    escaped = escape(typed)
    assert unescape(escaped) == typed
    # Every character with a markdown meaning is escaped with a backslash.
    assert not re.search(r"(?<!\\)[*_~`\[\]]", escaped.replace("\\\\", ""))
    assert "://e" not in escaped and "@e" not in escaped and "www.e" not in escaped
    for line in escaped.splitlines():
        assert not line.startswith(("- ", "1.", "# ", "> "))


def test_angle_brackets_cannot_become_tags() -> None:
    # Teams drops anything that looks like an HTML tag; a word joiner after "<" stops that.
    assert "<safe>" not in escape("buy a <safe> fire guard")
    assert unescape(escape("buy a <safe> fire guard")) == "buy a <safe> fire guard"


def test_things_to_type_are_bold_and_address_the_bot_by_mention() -> None:
    hint = escape("Type `/coregroup status CP-2026-0142` or `done`.")
    assert "`" not in hint and "/coregroup" not in hint
    assert unescape(hint).replace("**", "") == "Type @Core Group Bot status CP-2026-0142 or done."
    assert hint.startswith("Type **@") and "**done**" in hint


def test_each_line_is_its_own_paragraph() -> None:
    card = to_card(Message(text="x", blocks=(Text("Setting up:\nline one\n\nline two"),)))
    assert card["body"][0]["text"] == "Setting up:\n\nline one\n\nline two"


def test_control_characters_are_dropped() -> None:
    assert escape("a\x1b[31mred\x07") == "a\\[31mred"
