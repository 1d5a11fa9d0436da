"""Render neutral messages as Adaptive Cards 1.5 for Microsoft Teams: a pure Message → JSON step.

Buttons become Action.Submit whose `data` carries the neutral click (`action`, `value`); a button
that asks for a line of text first becomes an Action.ShowCard holding an Input.Text and its own
submit; a Choice becomes an Input.ChoiceSet with a submit. When Teams posts a submit back, the
merged data and inputs come in the activity's `value`, and `parse_submit` turns them back into a
neutral click. All text is literal: `escape` makes sure nothing typed becomes markdown, a link or
a mention when Teams renders it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.messages import (
    Block,
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

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
ANSWER_MAX = 2000  # characters accepted in an `ask` answer

# The keys of a submit's data; "ask" names the Input.Text holding the typed answer, "pick" the
# Input.ChoiceSet holding the chosen value.
ACTION, VALUE, ASK, PICK = "action", "value", "ask", "pick"

_STYLES = {"primary": "positive", "danger": "destructive"}
# Characters with a meaning in the card's markdown (bold, italic, links, code, strike-through,
# entities), escaped with a backslash as CommonMark allows.
_INLINE = re.compile(r"([\\`*_~\[\]&])")
# At the start of a line these would start a list, a heading, a quote or a table.
_LINE_START = re.compile(r"^(\s*)([-+#>=|])", re.MULTILINE)
_NUMBERED = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)
# Teams turns web addresses and e-mail addresses into links; a word joiner (U+2060, invisible)
# after "://", "www." or "@" stops that without changing what people read.
_LINKISH = re.compile(r"(://|(?i:www)\.|@)")
_WORD_JOINER = "\u2060"


def escape(text: str) -> str:
    """Literal text made safe for a TextBlock: no markdown, links or mentions."""
    escaped = _INLINE.sub(r"\\\1", plain(text))
    escaped = _LINE_START.sub(r"\1\\\2", escaped)
    escaped = _NUMBERED.sub(r"\1\\\2", escaped)
    return _LINKISH.sub(lambda m: m.group(1) + _WORD_JOINER, escaped)


def plain(text: str) -> str:
    """Literal text for places Teams shows without markdown (summaries, titles, labels)."""
    return "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())


@dataclass(frozen=True)
class Click:
    """A neutral click read back from a submitted card."""

    action: str
    value: str
    text: str | None = None


def parse_submit(data: Any) -> Click | None:
    """The click a submitted card's `value` describes; None when it is not one of our cards."""
    if not isinstance(data, dict) or not isinstance(data.get(ACTION), str):
        return None
    value = data.get(VALUE, "")
    pick = data.get(PICK)
    if isinstance(pick, str):
        value = data.get(pick, "")
    text = None
    ask = data.get(ASK)
    if isinstance(ask, str):
        text = str(data.get(ask) or "").strip()[:ANSWER_MAX]
    if not isinstance(value, str):
        return None
    return Click(data[ACTION], value, text)


class _Builder:
    """Turns blocks into card elements, numbering inputs so their ids are unique in the card."""

    def __init__(self) -> None:
        self.inputs = 0
        self.separate = False

    def _input_id(self, kind: str) -> str:
        self.inputs += 1
        return f"{kind}{self.inputs}"

    def element(self, element: dict[str, Any]) -> dict[str, Any]:
        if self.separate:
            element["separator"] = True
            self.separate = False
        return element

    def blocks(self, blocks: tuple[Block, ...]) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = []
        for block in blocks:
            if isinstance(block, Divider):
                self.separate = bool(body)
                continue
            body.append(self.element(self.block(block)))
        return body

    def block(self, block: Block) -> dict[str, Any]:
        match block:
            case Heading(text=text):
                return _text(text, weight="Bolder", size="Medium")
            case Text(text=text):
                return _text(text)
            case Fields(pairs=pairs):
                facts = [{"title": escape(k), "value": escape(v)} for k, v in pairs]
                return {"type": "FactSet", "facts": facts}
            case Bullets(items=items):
                lines = [_text(f"• {item}", spacing="None") for item in items]
                return {"type": "Container", "items": lines or [_text("")]}
            case Buttons(buttons=buttons):
                return {"type": "ActionSet", "actions": [self.button(b) for b in buttons]}
            case Choice():
                return self.choice(block)
            case Prompt(question=question, hint=hint):
                parts = [_text(question, weight="Bolder")]
                if hint:
                    parts.append(_text(hint, isSubtle=True, size="Small", spacing="None"))
                return {"type": "Container", "items": parts}
            case Context(text=text):
                return _text(text, isSubtle=True, size="Small")
        raise TypeError(f"unknown block {block!r}")

    def button(self, button: Button) -> dict[str, Any]:
        data: dict[str, Any] = {ACTION: button.action, VALUE: button.value}
        if button.ask is None:
            return _styled(
                {"type": "Action.Submit", "title": plain(button.label), "data": data}, button
            )
        field = self._input_id("ask")
        data[ASK] = field
        question = {
            "type": "Input.Text",
            "id": field,
            "label": plain(button.ask),
            "isMultiline": True,
            "isRequired": True,
            "maxLength": ANSWER_MAX,
            "errorMessage": "Please type an answer first.",
        }
        inner = {
            "type": "AdaptiveCard",
            "body": [question],
            "actions": [_styled({"type": "Action.Submit", "title": "Send", "data": data}, button)],
        }
        return _styled(
            {"type": "Action.ShowCard", "title": plain(button.label), "card": inner}, button
        )

    def choice(self, choice: Choice) -> dict[str, Any]:
        field = self._input_id("pick")
        menu = {
            "type": "Input.ChoiceSet",
            "id": field,
            "label": plain(choice.label),
            "style": "compact",
            "isRequired": True,
            "errorMessage": "Please choose one first.",
            "choices": [{"title": plain(label), "value": value} for value, label in choice.options],
        }
        submit = {
            "type": "Action.Submit",
            "title": "Choose",
            "data": {ACTION: choice.action, PICK: field},
        }
        return {"type": "Container", "items": [menu, {"type": "ActionSet", "actions": [submit]}]}


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": escape(text), "wrap": True, **style}


def _styled(action: dict[str, Any], button: Button) -> dict[str, Any]:
    if button.style in _STYLES:
        action["style"] = _STYLES[button.style]
    return action


def to_card(message: Message) -> dict[str, Any]:
    """The message as an Adaptive Card 1.5 (a JSON-ready dict)."""
    blocks = message.blocks or (Text(message.text),)
    return {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "fallbackText": plain(message.text),
        "body": _Builder().blocks(blocks),
    }


def to_attachment(message: Message) -> dict[str, Any]:
    """The message's card wrapped as a Bot Framework attachment."""
    return {"contentType": CARD_CONTENT_TYPE, "content": to_card(message)}
