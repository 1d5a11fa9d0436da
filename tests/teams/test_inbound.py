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
    tag = {
        "type": "mention",
        "text": "<at>Safeguarding</at>",
        "mentioned": {"id": "tag-1", "name": "Safeguarding", "type": "tag"},
    }
    text = "<p>note for <at>Safeguarding</at>:&nbsp;a &lt;b&gt; &amp; c<br>next</p>"
    assert inbound_text(activity(text, tag)) == "note for @Safeguarding: a <b> & c\nnext"


def test_a_name_with_spaces_is_one_mention_token_whatever_the_id_looks_like() -> None:
    # The Agents Playground's users have ids like user-id-1, not Teams' 29:… ids.
    megan = {
        "type": "mention",
        "text": "<at>Megan Bowen</at>",
        "mentioned": {"id": "user-id-1", "name": "Megan Bowen"},
    }
    text = "<at>CoreGroup</at> add <at>Megan Bowen</at> parent"
    assert inbound_text(activity(text, BOT_MENTION, megan)) == "add <@user-id-1> parent"


def test_a_mention_teams_splits_into_first_and_last_name_is_one_token() -> None:
    first = {"type": "mention", "text": "<at>Megan</at>", "mentioned": {"id": "29:megan"}}
    last = {"type": "mention", "text": "<at>Bowen</at>", "mentioned": {"id": "29:megan"}}
    text = "add <at>Megan</at> <at>Bowen</at> parent"
    assert inbound_text(activity(text, first, last)) == "add <@29:megan> parent"


def test_a_channel_mention_stays_words() -> None:
    channel = {
        "type": "mention",
        "text": "<at>General</at>",
        "mentioned": {"id": "19:abc@thread.tacv2", "name": "General"},
    }
    assert inbound_text(activity("see <at>General</at>", channel)) == "see @General"


def test_commands_in_a_channel_and_in_a_1_to_1_chat() -> None:
    assert command_text("schedule friday", personal=False, known=KNOWN) == "schedule friday"
    assert command_text("hello there", personal=False, known=KNOWN) == "hello there"
    assert command_text("/coregroup schedule friday", personal=True, known=KNOWN) == (
        "schedule friday"
    )
    assert command_text("Schedule friday", personal=True, known=KNOWN) == "Schedule friday"
    assert command_text("CP-2026-0142 status", personal=True, known=KNOWN) is not None
    assert command_text("done — referral sent", personal=True, known=KNOWN) is None
    # The hints say "@Core Group Bot status": typed as plain text, that is a command too.
    assert command_text("@Core Group Bot status", personal=True, known=KNOWN) == "status"
