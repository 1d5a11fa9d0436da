"""Render neutral messages as Adaptive Cards 1.5 for Microsoft Teams: a pure Message → JSON step.

Buttons become Action.Submit whose `data` carries the neutral click (`action`, `value`); a button
that asks for a line of text first becomes an Action.ShowCard holding an Input.Text and its own
submit; a Choice becomes an Input.ChoiceSet with a submit. When Teams posts a submit back, the
merged data and inputs come in the activity's `value`, and `parse_submit` turns them back into a
neutral click. All text is literal: `escape` makes sure nothing typed becomes markdown, a link or
a mention when Teams renders it.
"""

from __future__ import annotations

import json
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
from bot.render.preview import preview

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
# Teams turns web addresses and e-mail addresses into links, and drops anything that looks like
# an HTML tag ("<date>", "a <safe> fire guard"); a word joiner (U+2060, invisible) after "://",
# "www.", "@" or "<" stops both without changing what people read.
_LINKISH = re.compile(r"(://|(?i:www)\.|@|<)")
_WORD_JOINER = "\u2060"
# `…` spans are how the core marks something to type; Teams shows no code spans, so they are bold.
_CODE = re.compile(r"`([^`\n]+)`")
# Teams has no slash commands: one addresses the bot by @mentioning it.
_SLASH_COMMAND = re.compile(r"(?<![\w/])/coregroup\b")
BOT_NAME = "Core Group Bot"
# Teams refuses bot messages over about 40 KB; 28 KB is the documented safe size of a card.
ACTIVITY_BYTES = 28 * 1024
KEY_FIELD = "coregroupKey"  # where a message's idempotency key travels in channelData


def _literal(text: str) -> str:
    escaped = _INLINE.sub(r"\\\1", text)
    escaped = _LINE_START.sub(r"\1\\\2", escaped)
    escaped = _NUMBERED.sub(r"\1\\\2", escaped)
    return _LINKISH.sub(lambda m: m.group(1) + _WORD_JOINER, escaped)


def _addressed(text: str, bot_name: str) -> str:
    return _SLASH_COMMAND.sub("@" + bot_name, text)


def escape(text: str, *, bot_name: str = BOT_NAME) -> str:
    """Literal text made safe for a TextBlock: no markdown, links, tags or mentions.

    Two things are translated for Teams: `/coregroup` (Slack's way in) becomes "@Core Group Bot",
    how one addresses the bot in Teams, and a `code span` (something to type) is shown in bold.
    """
    text = plain(text)
    pieces: list[str] = []
    last = 0
    for match in _CODE.finditer(text):
        pieces.append(_literal(_addressed(text[last : match.start()], bot_name)))
        inner = _literal(_addressed(match.group(1).strip(), bot_name))
        pieces.append(f"**{inner}**" if inner else "")
        last = match.end()
    pieces.append(_literal(_addressed(text[last:], bot_name)))
    return "".join(pieces)


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

    def __init__(self, bot_name: str) -> None:
        self.bot_name = bot_name
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

    def text(self, text: str, **style: Any) -> dict[str, Any]:
        """A TextBlock; each line its own paragraph (Teams joins lines split by one newline)."""
        lines = [escape(line, bot_name=self.bot_name) for line in text.split("\n")]
        return {
            "type": "TextBlock",
            "text": PARAGRAPH.join(line for line in lines if line.strip()),
            "wrap": True,
            **style,
        }

    def block(self, block: Block) -> dict[str, Any]:
        match block:
            case Heading(text=text):
                return self.text(text, weight="Bolder", size="Medium")
            case Text(text=text):
                return self.text(text)
            case Fields(pairs=pairs):
                facts = [{"title": self.fact(k), "value": self.fact(v)} for k, v in pairs]
                return {"type": "FactSet", "facts": facts}
            case Bullets(items=items):
                lines = [self.text(f"• {item}", spacing="None") for item in items]
                return {"type": "Container", "items": lines or [self.text("")]}
            case Buttons(buttons=buttons):
                return {"type": "ActionSet", "actions": [self.button(b) for b in buttons]}
            case Choice():
                return self.choice(block)
            case Prompt(question=question, hint=hint):
                parts = [self.text(question, weight="Bolder")]
                if hint:
                    parts.append(self.text(hint, isSubtle=True, size="Small", spacing="None"))
                return {"type": "Container", "items": parts}
            case Context(text=text):
                return self.text(text, isSubtle=True, size="Small")
        raise TypeError(f"unknown block {block!r}")

    def fact(self, text: str) -> str:
        lines = [escape(line, bot_name=self.bot_name) for line in text.split("\n")]
        return PARAGRAPH.join(line for line in lines if line.strip())

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


PARAGRAPH = "\n\n"


def _styled(action: dict[str, Any], button: Button) -> dict[str, Any]:
    if button.style in _STYLES:
        action["style"] = _STYLES[button.style]
    return action


def _card(message: Message, body: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "fallbackText": preview(message),
        "body": body,
    }


def _elements(message: Message, bot_name: str) -> list[dict[str, Any]]:
    return _Builder(bot_name).blocks(message.blocks or (Text(message.text),))


def to_card(message: Message, *, bot_name: str = BOT_NAME) -> dict[str, Any]:
    """The message as one Adaptive Card 1.5 (a JSON-ready dict), however long."""
    return _card(message, _elements(message, bot_name))


def to_attachment(message: Message, *, bot_name: str = BOT_NAME) -> dict[str, Any]:
    """The message's card wrapped as a Bot Framework attachment."""
    return _attachment(to_card(message, bot_name=bot_name))


def _attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def _activity(
    message: Message, body: list[dict[str, Any]], part: int, parts: int
) -> dict[str, Any]:
    summary = preview(message) + (f" ({part} of {parts})" if parts > 1 else "")
    activity: dict[str, Any] = {
        "type": "message",
        "summary": summary,
        "attachments": [_attachment(_card(message, body))],
    }
    if message.key:
        activity["channelData"] = {KEY_FIELD: message.key}
    return activity


def size_of(payload: Any) -> int:
    """Bytes of `payload` serialised as it is sent (JSON with non-ASCII as \\u escapes)."""
    return len(json.dumps(payload).encode())


def to_activities(
    message: Message, *, bot_name: str = BOT_NAME, limit: int = ACTIVITY_BYTES
) -> list[dict[str, Any]]:
    """The message as message activities in order, each under `limit` bytes serialised.

    Long content is split between elements (paragraphs, facts, list items) across as many
    activities as it needs; each one after the first starts by saying it continues. Buttons stay
    with the content before them, so a card's buttons are in its last activity.
    """
    shell = size_of(_activity(message, [_continued(99, 99)], 99, 99))
    budget = limit - shell - 16  # a margin
    pieces = [piece for e in _elements(message, bot_name) for piece in _split(e, budget)]
    parts: list[list[dict[str, Any]]] = [[]]
    used = 0
    for piece in pieces:
        size = size_of(piece) + len(", ")  # json.dumps puts ", " between a list's elements
        if parts[-1] and used + size > budget:
            parts.append([])
            used = 0
        parts[-1].append(piece)
        used += size
    total = len(parts)
    return [
        _activity(message, ([_continued(n, total)] if n > 1 else []) + body, n, total)
        for n, body in enumerate(parts, start=1)
    ]


def _continued(part: int, parts: int) -> dict[str, Any]:
    return {
        "type": "TextBlock",
        "text": f"Continued ({part} of {parts})",
        "wrap": True,
        "isSubtle": True,
        "size": "Small",
    }


def _split(element: dict[str, Any], budget: int) -> list[dict[str, Any]]:
    """`element` as elements of at most `budget` bytes each (buttons and menus stay whole)."""
    if size_of(element) <= budget:
        return [element]
    match element.get("type"):
        case "TextBlock":
            return [{**element, "text": chunk} for chunk in _text_chunks(element, budget)]
        case "FactSet":
            return _regroup(element, "facts", budget, _fact_as_text)
        case "Container":
            return _regroup(element, "items", budget, lambda item: _split(item, budget))
    return [element]


def _fact_as_text(fact: dict[str, Any]) -> list[dict[str, Any]]:
    block = {"type": "TextBlock", "text": f"{fact['title']}: {fact['value']}", "wrap": True}
    return [block]


def _regroup(element: dict[str, Any], key: str, budget: int, alone: Any) -> list[dict[str, Any]]:
    """Spread a container's children over copies of it; a child too big alone is split."""
    groups: list[dict[str, Any]] = []
    current: list[Any] = []
    for child in element[key]:
        trial = {**element, key: [*current, child]}
        if size_of(trial) <= budget:
            current.append(child)
            continue
        if current:
            groups.append({**element, key: current})
            current = []
        if size_of({**element, key: [child]}) <= budget:
            current = [child]
        else:
            groups.extend(piece for part in alone(child) for piece in _split(part, budget))
    if current:
        groups.append({**element, key: current})
    return groups


def _text_chunks(element: dict[str, Any], budget: int) -> list[str]:
    """A TextBlock's text cut at paragraph breaks where it can, else at a safe character."""
    text: str = element["text"]
    chunks: list[str] = []
    while text:
        low, high = 1, len(text)
        while low < high:  # the longest prefix whose block fits
            mid = (low + high + 1) // 2
            if size_of({**element, "text": text[:mid]}) <= budget:
                low = mid
            else:
                high = mid - 1
        cut = low
        if cut < len(text):
            paragraph = text.rfind(PARAGRAPH, 0, cut)
            space = text.rfind(" ", 0, cut)
            if paragraph > cut // 2:
                cut = paragraph
            elif space > cut // 2:
                cut = space
            while cut > 1 and _escaped_at(text, cut):
                cut -= 1  # never split a backslash from the character it escapes
        chunks.append(text[:cut].strip())
        text = text[cut:].lstrip()
    return [c for c in chunks if c]


def _escaped_at(text: str, cut: int) -> bool:
    """Whether text[cut] is escaped by an odd run of backslashes just before it."""
    run = 0
    while cut - run - 1 >= 0 and text[cut - run - 1] == "\\":
        run += 1
    return run % 2 == 1


def fit_activity(
    message: Message, *, bot_name: str = BOT_NAME, limit: int = ACTIVITY_BYTES
) -> dict[str, Any]:
    """One activity for the message, to replace a card in place: as much as fits, a note that
    the rest was left out, and the card's last row of buttons."""
    activities = to_activities(message, bot_name=bot_name, limit=limit)
    if len(activities) == 1:
        return activities[0]
    elements = _elements(message, bot_name)
    note = _continued(1, 1) | {"text": "Shortened: the rest is too long for one message."}
    tail = [e for e in elements if e.get("type") == "ActionSet"][-1:] + [note]
    body: list[dict[str, Any]] = []
    for element in elements:
        if element.get("type") == "ActionSet":
            continue
        for piece in _split(element, limit // 2):
            if size_of(_activity(message, [*body, piece, *tail], 1, 1)) > limit:
                return _activity(message, [*body, *tail], 1, 1)
            body.append(piece)
    return _activity(message, [*body, *tail], 1, 1)
