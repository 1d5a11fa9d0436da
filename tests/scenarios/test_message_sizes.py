"""Every kind of message, built by real commands with long, realistic content, fits the platforms:
each Teams activity under 28 KB serialised and a valid Adaptive Card, each Slack post within
Block Kit's limits. A 40-action plan (31 for one member), 5,000-character answers, emoji and
Welsh names; the messages are caught on their way to the local chat and rendered for both."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from bot.messages import Message, Reply
from bot.render.adaptive import ACTIVITY_BYTES, size_of, to_activities
from bot.render.blockkit import MESSAGE_BLOCKS, to_messages
from bot.render.preview import kind_of
from commands.plan import MAX_ACTION, MAX_OUTCOME
from tests.scenarios.conftest import ChatDriver
from tests.slack.fake_slack import blocks_problems
from tests.specs import ADAPTIVE_CARD_SCHEMA

REF = "CP-2026-0142"
SPACE = "#cg-cp-2026-0142"
# Welsh names (one word each: the local chat's people are known by one word).
MEMBERS = (
    ("llinos", "parent"),
    ("gwenllian", 'school agency "Ysgol Gymraeg Bro Ddyfi 🏫"'),
    ("dafydd", 'gp agency "Meddygfa Penrhyncoch"'),
    ("rhiannon", 'hv agency "Bwrdd Iechyd Hywel Dda"'),
    ("ioan", "police"),
)
LONG = (
    "Mae'r plant yn mynd i'r ysgol bob dydd 🙂 and the family centre reports steady progress; "
    "the school nurse saw Cerys twice, the GP reviewed the medication, and the housing "
    "officer confirmed the repairs. <Nothing> in angle brackets is lost & no *markdown* works. "
)


def long_text(size: int) -> str:
    """Realistic prose of about `size` characters."""
    return (LONG * (size // len(LONG) + 1))[:size].rstrip()


class Recorder:
    """Catches every message the core produces on its way to the local chat."""

    def __init__(self, chat: ChatDriver) -> None:
        self.messages: list[Message] = []
        dispatcher = chat.dispatcher
        for name in ("command", "click", "message"):
            setattr(dispatcher, name, self._catching(getattr(dispatcher, name)))
        send = chat.local.send

        def sending(to: Any, message: Message) -> str:
            self.messages.append(message)
            return send(to, message)

        chat.local.send = sending  # type: ignore[method-assign]

    def _catching(self, run: Callable[..., Reply]) -> Callable[..., Reply]:
        def caught(*args: Any, **kwargs: Any) -> Reply:
            reply = run(*args, **kwargs)
            self.messages += [o.message for o in reply.outbound]
            return reply

        return caught


@pytest.fixture(scope="module")
def card_schema() -> jsonschema.Draft6Validator:
    return jsonschema.Draft6Validator(json.loads(ADAPTIVE_CARD_SCHEMA.read_text(encoding="utf-8")))


def test_every_message_fits_teams_and_slack(
    chat: ChatDriver, card_schema: jsonschema.Draft6Validator
) -> None:
    recorder = Recorder(chat)
    lines = ["clock 2026-12-18 15:00", "as sam", f"/coregroup new {REF} icpc 18/12/2026"]
    lines += [f"/coregroup add {REF} @{name} {role}" for name, role in MEMBERS]
    lines.append(f"in {SPACE}")
    # Outcomes and actions as long as they may be (the plan's limits).
    lines += [f'/coregroup outcome add "{n}. {long_text(MAX_OUTCOME - 4)}"' for n in range(1, 11)]
    for n in range(1, 41):
        owner = "gwenllian" if n <= 31 else MEMBERS[n % 5][0]
        lines.append(
            f'/coregroup action @{owner} to "{n} 📋 {long_text(MAX_ACTION - 8)}" by 15/1/2027 '
            f"outcome {n % 10 + 1}"
        )
    lines += ['/coregroup schedule 6/1/2027 2pm at "Canolfan Deulu, Heol y Wig 🏠"']
    lines += ["clock 2026-12-30 10:00", "/coregroup updates"]
    lines += ["as gwenllian", "in dm", "/coregroup myupdate"]
    lines += [long_text(5000)] * 3 + ["skip"] * 80
    lines += ["as rhiannon", "in dm", long_text(5000), long_text(5000)] + ["skip"] * 10
    lines += ["clock 2027-01-06 16:30", "as sam", f"in {SPACE}", "/coregroup draft"]
    lines += [f'/coregroup amend 2 "{long_text(5000)}"', "/coregroup minutes"]
    lines += ["as gwenllian", f"in {SPACE}", "/coregroup approve", "as sam", "/coregroup publish"]
    lines += ["/coregroup status", "/coregroup actions all", "/coregroup help", "/coregroup home"]
    lines += ["/coregroup members", "/coregroup meetings", "/coregroup outcomes"]
    lines += ["click 1", "clock +10d", "clock +20d"]
    chat("\n".join(lines))

    kinds = {kind_of(m) for m in recorder.messages}
    assert {"action card", "minutes", "update questions"} <= kinds, kinds
    biggest = max(recorder.messages, key=lambda m: size_of(to_activities(m, limit=10**9)))
    assert size_of(to_activities(biggest, limit=10**9)) > 4 * ACTIVITY_BYTES  # really long
    assert len(to_messages(biggest)) > 1 and len(to_activities(biggest)) > 1
    for message in recorder.messages:
        activities = to_activities(message)
        for activity in activities:
            assert size_of(activity) < ACTIVITY_BYTES, message.text
            card = activity["attachments"][0]["content"]
            errors = sorted(card_schema.iter_errors(card), key=str)
            assert not errors, errors[0].message
        posts = to_messages(message)
        assert "shortened" not in json.dumps(posts)  # split, never cut
        for post in posts:
            assert len(post["blocks"]) <= MESSAGE_BLOCKS
            assert blocks_problems(post["blocks"], limit=MESSAGE_BLOCKS) == [], message.text
            assert len(post["text"]) <= 3000
