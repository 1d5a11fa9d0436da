"""Block Kit rendering: escaping, Slack's limits, and clicks decoded back to neutral actions."""

from __future__ import annotations

import json

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
from bot.render.blockkit import (
    ask_modal,
    escape,
    fallback_text,
    fit,
    home_view,
    modal_answer,
    parse_click,
    to_blocks,
)
from tests.slack.fake_slack import blocks_problems, view_problems


@pytest.mark.parametrize(
    ("typed", "safe"),
    [
        ("<!channel> urgent", "&lt;!channel&gt; urgent"),
        ("<@U024BE7LH> did it", "&lt;@U024BE7LH&gt; did it"),
        ("<https://evil.test|your bank>", "&lt;https://evil.test|your bank&gt;"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ("@here and @Channel and @everyone", "@\u200bhere and @\u200bChannel and @\u200beveryone"),
        ("email me@here.org", "email me@here.org"),
        ("&lt; already", "&amp;lt; already"),
    ],
)
def test_escape_leaves_nothing_slack_would_act_on(typed: str, safe: str) -> None:
    assert escape(typed) == safe


def test_fit_never_cuts_an_entity_in_half() -> None:
    cut = fit("&" * 100, 22)
    assert cut == "&amp;" * 4 + "…"
    assert len(fit("x" * 5000, 3000)) == 3000


def test_every_kind_of_block_renders_within_limits() -> None:
    message = Message(
        "Action 3 is overdue",
        (
            Heading("Action 3 · CP-2026-0142"),
            Text("Referral to the family support service"),
            Fields((("Owner", "Kim Health"), ("Due", "Fri 15 Jan 2027"))),
            Bullets(("first", "second")),
            Divider(),
            Prompt("How is it going?", hint="Reply in a few words"),
            Choice("meeting.attend", "Will you attend?", (("yes", "Yes"), ("no", "No"))),
            Buttons(
                (
                    Button("Done", "action.done", "3", style="primary"),
                    Button("Can't do", "action.cannot", "3", style="danger", ask="Why not?"),
                )
            ),
            Context("Updated by Sam at 09:12"),
        ),
    )
    blocks = to_blocks(message)
    assert blocks_problems(blocks, limit=50) == []
    assert [b["type"] for b in blocks] == [
        "header",
        "section",
        "section",
        "section",
        "divider",
        "section",
        "context",
        "section",
        "actions",
        "context",
    ]
    assert blocks[2]["fields"][0]["text"] == "*Owner*\nKim Health"
    assert blocks[3]["text"]["text"] == "• first\n• second"
    done, cannot = blocks[8]["elements"]
    assert (done["action_id"], done["value"], done["style"]) == ("action.done#2", "3", "primary")
    assert cannot["action_id"] == "action.cannot#3?"
    assert blocks[7]["accessory"]["action_id"] == "meeting.attend#1"


def test_same_action_on_many_buttons_gets_unique_action_ids_and_comes_back_intact() -> None:
    buttons = tuple(Button(f"Done {n}", "action.done", str(n)) for n in range(12))
    blocks = to_blocks(Message("Your actions", (Buttons(buttons),)))
    assert blocks_problems(blocks, limit=50) == []
    assert [len(b["elements"]) for b in blocks] == [5, 5, 2]  # five to an actions block
    elements = [e for b in blocks for e in b["elements"]]
    clicks = [parse_click(e["action_id"], e["value"]) for e in elements]
    assert [(c.action, c.value, c.ask) for c in clicks] == [
        ("action.done", str(n), None) for n in range(12)
    ]


def test_an_asking_button_carries_its_question_back() -> None:
    button = Button("New date", "action.newdate", "42|x#y", ask="What date do you need?")
    [actions] = to_blocks(Message("x", (Buttons((button,)),)))
    element = actions["elements"][0]
    click = parse_click(element["action_id"], element["value"])
    assert (click.action, click.value, click.ask) == (
        "action.newdate",
        "42|x#y",
        "What date do you need?",
    )


def test_an_action_id_that_was_not_numbered_passes_through() -> None:
    assert parse_click("groups.close", "5").action == "groups.close"
    assert parse_click("meeting#room", "5").action == "meeting#room"


def test_long_text_is_split_into_sections_and_long_labels_truncated() -> None:
    long = "\n".join(f"Line {n}: " + "word " * 30 for n in range(200))
    message = Message(
        "x",
        (
            Heading("H" * 400),
            Text(long),
            Fields(tuple((f"Label {n}", "v" * 2500) for n in range(23))),
            Buttons((Button("B" * 200, "a", "v" * 3000),)),
            Choice("c", "Pick", tuple((f"v{n}" * 50, f"Option {n}" * 20) for n in range(150))),
        ),
    )
    blocks = to_blocks(message)
    assert blocks_problems(blocks, limit=50) == []
    sections = [b for b in blocks if b["type"] == "section" and "text" in b]
    assert sum(len(s["text"]["text"]) for s in sections) > len(long) - 100
    assert blocks[0]["text"]["text"].endswith("…")


def test_a_message_over_fifty_blocks_is_cut_and_says_so() -> None:
    message = Message("x", tuple(Text(f"paragraph {n}") for n in range(80)))
    blocks = to_blocks(message)
    assert len(blocks) == 50
    assert "shortened" in blocks[-1]["elements"][0]["text"]
    assert blocks_problems(blocks, limit=50) == []


def test_empty_pieces_produce_no_invalid_blocks() -> None:
    blocks = to_blocks(Message("fallback", (Text(""), Heading("  "), Context(""), Text("\n\n"))))
    assert blocks == []
    assert to_blocks(Message("only text"))[0]["text"]["text"] == "only text"


def test_fallback_text_names_only_the_case_and_the_kind() -> None:
    # Slack shows `text` in notifications: no names, nothing anyone typed.
    assert fallback_text(Message("<!channel> Sam said " + "x" * 5000)) == "Core Group Bot: message"
    card = Message("CP-2026-0142: Pat's action", (Buttons((Button("Done", "action.done", "1"),)),))
    assert fallback_text(card) == "CP-2026-0142: action card"


def test_the_ask_modal_and_its_answer() -> None:
    modal = ask_modal("Why can't you do it?", json.dumps({"a": "action.cannot", "v": "3"}))
    assert view_problems(modal) == []
    submitted = {**modal, "state": {"values": {"answer": {"answer": {"value": "family moved"}}}}}
    assert modal_answer(submitted) == "family moved"
    assert modal_answer(modal) == ""


def test_the_home_view_joins_messages_and_stays_under_one_hundred_blocks() -> None:
    messages = [Message("m", tuple(Text(f"{m}.{n}") for n in range(30))) for m in range(5)]
    view = home_view(messages)
    assert view["type"] == "home"
    assert view_problems(view) == []
    assert len(view["blocks"]) == 100
