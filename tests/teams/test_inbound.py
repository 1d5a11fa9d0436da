"""Teams message text into the core's literal text, and which messages are commands."""

from __future__ import annotations

from microsoft_agents.activity import Activity

from bot.adapters.teams import command_text, inbound_text
from tests.teams.conftest import BOT_ID, PRIYA

KNOWN = {"schedule", "actions", "help"}


def activity(text: str, *mentions: dict) -> Activity:
    return Activity.model_validate(
        {
            "type": "message",
            "text": text,
            "recipient": {"id": BOT_ID, "name": "CoreGroup"},
            "entities": list(mentions),
        }
    )


BOT_MENTION = {"type": "mention", "text": "<at>CoreGroup</at>", "mentioned": {"id": BOT_ID}}


def test_the_bots_mention_goes_and_peoples_mentions_become_core_tokens() -> None:
    text = f"<at>CoreGroup</at> add {PRIYA.at()} school"
    assert inbound_text(activity(text, BOT_MENTION, PRIYA.mention())) == "add <@29:priya> school"


def test_tag_mentions_markup_and_entities_become_plain_words() -> None:
    tag = {"type": "mention", "text": "<at>Safeguarding</at>", "mentioned": {"id": "tag-1"}}
    text = "<p>note for <at>Safeguarding</at>:&nbsp;a &lt;b&gt; &amp; c<br>next</p>"
    assert inbound_text(activity(text, tag)) == "note for @Safeguarding: a <b> & c\nnext"


def test_commands_in_a_channel_and_in_a_1_to_1_chat() -> None:
    assert command_text("schedule friday", personal=False, known=KNOWN) == "schedule friday"
    assert command_text("hello there", personal=False, known=KNOWN) == "hello there"
    assert command_text("/coregroup schedule friday", personal=True, known=KNOWN) == (
        "schedule friday"
    )
    assert command_text("Schedule friday", personal=True, known=KNOWN) == "Schedule friday"
    assert command_text("CP-2026-0142 status", personal=True, known=KNOWN) is not None
    assert command_text("done — referral sent", personal=True, known=KNOWN) is None
