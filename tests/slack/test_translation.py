"""Slack's inbound markup into the neutral model's literal text, and names into channel names."""

from __future__ import annotations

import pytest

from bot.adapters.slack import Origin, channel_name, inbound_text
from bot.adapters.slack_forms import FORMS, form_for
from bot.render.blockkit import PRIVATE_METADATA


@pytest.mark.parametrize(
    ("sent", "literal"),
    [
        ("add <@U0SCHOOL1|alex> school", "add <@U0SCHOOL1|alex> school"),  # the core parses these
        ("add <@U0SCHOOL1> school", "add <@U0SCHOOL1> school"),
        ("<!channel> urgent", "@channel urgent"),
        ("<!here|here> now", "@here now"),
        ("&lt;!channel&gt; pasted", "<!channel> pasted"),
        ("Tom &amp; Jerry &lt;3", "Tom & Jerry <3"),
        ("&amp;lt; stays literal", "&lt; stays literal"),
        ("see <#C0GENERAL|general>", "see #general"),
        ("ask <!subteam^S0NURSES|@school-nurses>", "ask @school-nurses"),
        ("link <https://meet.example/abc>", "link https://meet.example/abc"),
        ("link <https://meet.example/abc|the call>", "link the call (https://meet.example/abc)"),
        ("on <!date^1790000000^{date}|Fri 15 Jan 2027>", "on Fri 15 Jan 2027"),
    ],
)
def test_inbound_text_is_what_the_person_saw(sent: str, literal: str) -> None:
    assert inbound_text(sent) == literal


@pytest.mark.parametrize(
    ("name", "channel"),
    [
        ("cg-cp-2026-0142", "cg-cp-2026-0142"),
        ("CG CP/2026/142", "cg-cp-2026-142"),
        ("cg--ABC.12345--", "cg-abc-12345"),
        ("x" * 100, "x" * 80),
        ("***", "core-group"),
    ],
)
def test_channel_names_follow_slacks_rules(name: str, channel: str) -> None:
    assert channel_name(name) == channel


def test_a_pending_click_survives_the_modal_round_trip() -> None:
    origin = Origin(
        user_id="U1",
        channel_id="C1",
        response_url="https://hooks.slack.com/actions/T/1/abc",
        message_ts="1.2",
        ephemeral=True,
    )
    packed = origin.metadata("action.cannot", "3")
    assert Origin.from_metadata("U1", packed) == (origin, "action.cannot", "3")


def test_a_long_response_url_is_dropped_before_the_metadata_overflows() -> None:
    origin = Origin(user_id="U1", channel_id="C1", response_url="https://x/" + "a" * 3000)
    packed = origin.metadata("action.cannot", "3")
    assert len(packed) <= PRIVATE_METADATA
    restored, action, value = Origin.from_metadata("U1", packed)
    assert (restored.response_url, restored.channel_id, action, value) == (
        None,
        "C1",
        "action.cannot",
        "3",
    )


def test_forms_become_the_commands_a_person_would_type() -> None:
    assert form_for(" New ") is FORMS["new"] and form_for("new CP-1") is None
    assert (
        FORMS["new"].compose(
            {"reference": "CP-2026-0142", "icpc": "2026-12-18", "nation": "wales", "initials": "AB"}
        )
        == "new CP-2026-0142 icpc 18/12/2026 nation wales initials AB"
    )
    assert (
        FORMS["action"].compose(
            {"owner": "U0GPDOC01", "what": 'register  the "children"', "due": "2027-01-15"}
        )
        == "action <@U0GPDOC01> to \"register the 'children'\" by 15/01/2027"
    )
    assert (
        FORMS["schedule"].compose(
            {"reference": "CP-2026-0142", "day": "2027-01-05", "time": "10:00", "link": "https://x"}
        )
        == "CP-2026-0142 schedule 05/01/2027 10:00 link https://x"
    )
