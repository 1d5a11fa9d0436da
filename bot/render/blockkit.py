"""Render neutral messages as Slack Block Kit: pure functions over plain dicts, no Slack SDK.

Everything in the neutral model is literal text, so every string goes through `escape`: Slack's
control characters (&, <, >) become entities and the broadcast words (@channel, @here, @everyone)
get a zero-width space after the "@", so nothing a person typed can ping, mention or link.
Text objects are `mrkdwn` with `verbatim` on (no auto-linking of names), except where Slack allows
only `plain_text` (headers, buttons, options).

Interactive elements: Slack needs every `action_id` in one message to be unique, while one neutral
action may sit on several buttons (e.g. "done" under each action). So an element's action_id is
`<action>#<n>` (n = its position in the message), and a button that asks for a line of text first
(`Button.ask`) ends in `#<n>?` and its value packs the question: `{"value": …, "ask": …}`.
`parse_click` undoes both. A Choice becomes a static_select whose options carry the neutral values.

Block Kit limits are respected by splitting (long text into several sections, more than ten fields
into several sections, buttons five to an actions block) and truncating with "…" where a single
string is too long. `to_messages` splits a message over the block limit into several posts;
`to_blocks` (for replacing one message in place) keeps the first blocks and says it was cut.

Views: `ask_modal` (one question, for asking buttons), `form_modal` (several inputs: text, date,
time, person, choice — read back with `form_values`) and `home_view` (the Home tab).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

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

# Limits from Slack's Block Kit reference (blocks, block elements, composition objects, surfaces).
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
FIELD_TEXT = 2000
FIELDS_PER_SECTION = 10
HEADER_TEXT = 150
CONTEXT_TEXT = 3000
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTION_ID = 255
BUTTONS_PER_ACTIONS = 5
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100
PLACEHOLDER_TEXT = 150
FALLBACK_TEXT = 3000  # top-level `text`: Slack truncates past 40k; notifications show far less
MODAL_TITLE = 24
INPUT_LABEL = 2000
PRIVATE_METADATA = 3000

ELLIPSIS = "…"
ASK_SUFFIX = "?"
ASK_CALLBACK = "coregroup_ask"
ANSWER_ID = "answer"

_BROADCAST = re.compile(r"(?<!\w)@(channel|here|everyone)\b", re.IGNORECASE)


def escape(text: str) -> str:
    """Literal text made safe for any Slack text field: no markup links, mentions or broadcasts."""
    # str.replace, "&" first: the same as mapping each character, at a tenth of the cost.
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "@" not in escaped:
        return escaped
    return _BROADCAST.sub("@\u200b\\1", escaped)


def _fitting_prefix(text: str, budget: int) -> int:
    """The longest prefix of `text` whose escaped form fits in `budget` (escaping only grows)."""
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if len(escape(text[:mid])) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def fit(text: str, limit: int) -> str:
    """`text` escaped and cut (with "…") so the escaped result has at most `limit` characters."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    # Cut the raw text, never the escaped one, so no entity is split in half.
    return escape(text[: _fitting_prefix(text, limit - len(ELLIPSIS))]) + ELLIPSIS


def _pieces(line: str, limit: int) -> Iterator[str]:
    """One line escaped, hard-split into pieces within `limit` if it is too long."""
    while len(escape(line)) > limit:
        cut = max(_fitting_prefix(line, limit), 1)
        yield escape(line[:cut])
        line = line[cut:]
    yield escape(line)


def _chunks(text: str, limit: int) -> Iterator[str]:
    """Escaped pieces of `text`, each within `limit`, split at line ends where possible."""
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        for piece in _pieces(line, limit):
            extra = len(piece) + (1 if current else 0)
            if current and size + extra > limit:
                yield "\n".join(current)
                current, size, extra = [], 0, len(piece)
            current.append(piece)
            size += extra
    yield "\n".join(current)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _sections(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": _mrkdwn(chunk)}
        for chunk in _chunks(text, SECTION_TEXT)
        if chunk.strip()
    ]


def _field(label: str, value: str) -> dict[str, Any]:
    head = f"*{fit(label, 200)}*\n" if label.strip() else ""
    return _mrkdwn(head + fit(value or "-", FIELD_TEXT - len(head)))


@dataclass
class _Numbering:
    """Hands out each interactive element's position in the message."""

    count: int = 0

    def action_id(self, action: str, *, asks: bool = False) -> str:
        self.count += 1
        suffix = f"#{self.count}" + (ASK_SUFFIX if asks else "")
        return action[: ACTION_ID - len(suffix)] + suffix


def _button(button: Button, numbering: _Numbering) -> dict[str, Any]:
    if button.ask:
        value = json.dumps({"value": button.value, "ask": button.ask[:INPUT_LABEL]})
    else:
        value = button.value
    element: dict[str, Any] = {
        "type": "button",
        "text": _plain(fit(button.label or "OK", BUTTON_TEXT)),
        "action_id": numbering.action_id(button.action, asks=bool(button.ask)),
        "value": value[:BUTTON_VALUE],
    }
    if button.style:
        element["style"] = button.style
    return element


def _choice(choice: Choice, numbering: _Numbering) -> list[dict[str, Any]]:
    options = [
        {"text": _plain(fit(label or value, OPTION_TEXT)), "value": value[:OPTION_VALUE]}
        for value, label in choice.options[:SELECT_OPTIONS]
    ]
    if not options:
        return []
    label = choice.label.strip() or "Choose one"
    return [
        {
            "type": "section",
            "text": _mrkdwn(fit(label, SECTION_TEXT)),
            "accessory": {
                "type": "static_select",
                "action_id": numbering.action_id(choice.action),
                "placeholder": _plain(fit("Choose…", PLACEHOLDER_TEXT)),
                "options": options,
            },
        }
    ]


def _batches(items: tuple[Any, ...], size: int) -> Iterator[tuple[Any, ...]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _block(block: Block, numbering: _Numbering) -> list[dict[str, Any]]:
    match block:
        case Heading(text=text):
            header = {"type": "header", "text": _plain(fit(text, HEADER_TEXT))}
            return [header] if text.strip() else []
        case Text(text=text):
            return _sections(text)
        case Fields(pairs=pairs):
            return [
                {"type": "section", "fields": [_field(label, value) for label, value in batch]}
                for batch in _batches(pairs, FIELDS_PER_SECTION)
            ]
        case Bullets(items=items):
            return _sections("\n".join(f"• {item}" for item in items))
        case Buttons(buttons=buttons):
            return [
                {"type": "actions", "elements": [_button(b, numbering) for b in batch]}
                for batch in _batches(buttons, BUTTONS_PER_ACTIONS)
            ]
        case Choice():
            return _choice(block, numbering)
        case Prompt(question=question, hint=hint):
            blocks = [{"type": "section", "text": _mrkdwn(f"*{fit(question, SECTION_TEXT - 2)}*")}]
            if hint.strip():
                blocks.append(_context(hint))
            return blocks
        case Divider():
            return [{"type": "divider"}]
        case Context(text=text):
            return [_context(text)] if text.strip() else []
    raise TypeError(f"unknown block {block!r}")


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(fit(text, CONTEXT_TEXT))]}


def to_blocks(message: Message, *, max_blocks: int = MESSAGE_BLOCKS) -> list[dict[str, Any]]:
    """The message as Block Kit blocks, within Slack's limits (50 in a message, 100 in a view)."""
    numbering = _Numbering()
    source = message.blocks or (Text(message.text),)
    blocks = [rendered for block in source for rendered in _block(block, numbering)]
    if len(blocks) > max_blocks:
        blocks = blocks[: max_blocks - 1]
        blocks.append(_context("… (shortened: the full text is too long for one message)"))
    return blocks


def to_messages(message: Message) -> list[dict[str, Any]]:
    """The message as `chat.postMessage` payloads (`text` and `blocks`), in order, each within
    Slack's limits: a long message is split into several posts of at most 50 blocks, nothing
    cut. Buttons stay after the content they follow, so a card's buttons are in its last post."""
    numbering = _Numbering()
    source = message.blocks or (Text(message.text),)
    blocks = [rendered for block in source for rendered in _block(block, numbering)]
    batches = [blocks[i : i + MESSAGE_BLOCKS] for i in range(0, len(blocks), MESSAGE_BLOCKS)]
    if not batches:
        batches = [[]]
    text = fallback_text(message)
    total = len(batches)
    return [
        {"text": text if total == 1 else f"{text} ({n} of {total})", "blocks": batch}
        for n, batch in enumerate(batches, start=1)
    ]


def fallback_text(message: Message) -> str:
    """The top-level `text` Slack shows in notifications: the case and the kind of message only
    (no names, no free text; the blocks say the rest)."""
    return fit(preview(message), FALLBACK_TEXT)


# --- the way back: clicks ----------------------------------------------------------------------


@dataclass(frozen=True)
class Click:
    """A click decoded back into the neutral action and value (and the question, if it asks)."""

    action: str
    value: str
    ask: str | None = None


def parse_click(action_id: str, value: str) -> Click:
    """Undo the action_id numbering (and the question packed into an asking button's value)."""
    action, sep, tail = action_id.rpartition("#")
    if not sep or not tail.rstrip(ASK_SUFFIX).isdigit():
        return Click(action_id, value)
    if not tail.endswith(ASK_SUFFIX):
        return Click(action, value)
    try:
        packed = json.loads(value)
        return Click(action, str(packed["value"]), str(packed["ask"]))
    except (ValueError, KeyError, TypeError):
        return Click(action, value)


# --- views: modals and the Home tab ------------------------------------------------------------


def ask_modal(question: str, private_metadata: str) -> dict[str, Any]:
    """A modal with one text input asking `question`; submitting it completes the click."""
    return {
        "type": "modal",
        "callback_id": ASK_CALLBACK,
        "title": _plain(fit("Core Group Bot", MODAL_TITLE)),
        "submit": _plain("Send"),
        "close": _plain("Cancel"),
        "private_metadata": private_metadata[:PRIVATE_METADATA],
        "blocks": [
            {
                "type": "input",
                "block_id": ANSWER_ID,
                "label": _plain(fit(question or "Your answer", INPUT_LABEL)),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ANSWER_ID,
                    "multiline": True,
                    "max_length": 3000,
                },
            }
        ],
    }


def modal_answer(view: dict[str, Any]) -> str:
    """The text typed into an `ask_modal` (empty when missing)."""
    values = view.get("state", {}).get("values", {})
    return str(values.get(ANSWER_ID, {}).get(ANSWER_ID, {}).get("value") or "")


def home_view(messages: list[Message]) -> dict[str, Any]:
    """A Home tab showing `messages` one after another, within the view's block limit."""
    blocks: list[dict[str, Any]] = []
    for message in messages:
        if blocks:
            blocks.append({"type": "divider"})
        blocks.extend(to_blocks(message, max_blocks=VIEW_BLOCKS))
    if len(blocks) > VIEW_BLOCKS:
        blocks = blocks[: VIEW_BLOCKS - 1] + [_context("… (more than fits on this page)")]
    return {"type": "home", "blocks": blocks}


# --- forms: modals with several inputs ----------------------------------------------------------

FORM_CALLBACK = "coregroup_form"
FieldKind = Literal["text", "long_text", "date", "time", "user", "choice"]


@dataclass(frozen=True)
class FormField:
    """One input of a form: its id, label and kind (choices are (value, label) pairs)."""

    id: str
    label: str
    kind: FieldKind = "text"
    optional: bool = False
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Form:
    """A modal asking for several things at once (a new group, an action, a meeting)."""

    name: str
    title: str
    submit: str
    fields: tuple[FormField, ...]


def _input_element(field: FormField) -> dict[str, Any]:
    match field.kind:
        case "text" | "long_text":
            return {
                "type": "plain_text_input",
                "action_id": field.id,
                "multiline": field.kind == "long_text",
                "max_length": 3000,
            }
        case "date":
            return {"type": "datepicker", "action_id": field.id}
        case "time":
            return {"type": "timepicker", "action_id": field.id}
        case "user":
            return {"type": "users_select", "action_id": field.id}
        case "choice":
            return {
                "type": "static_select",
                "action_id": field.id,
                "options": [
                    {"text": _plain(fit(label, OPTION_TEXT)), "value": value[:OPTION_VALUE]}
                    for value, label in field.options[:SELECT_OPTIONS]
                ],
            }
    raise TypeError(f"unknown field kind {field.kind!r}")


def form_modal(form: Form, private_metadata: str) -> dict[str, Any]:
    """The modal for `form`: one input block per field; submitting it sends FORM_CALLBACK."""
    blocks = []
    for field in form.fields:
        block: dict[str, Any] = {
            "type": "input",
            "block_id": field.id,
            "label": _plain(fit(field.label, INPUT_LABEL)),
            "element": _input_element(field),
            "optional": field.optional,
        }
        if field.hint:
            block["hint"] = _plain(fit(field.hint, INPUT_LABEL))
        blocks.append(block)
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "title": _plain(fit(form.title, MODAL_TITLE)),
        "submit": _plain(fit(form.submit, MODAL_TITLE)),
        "close": _plain("Cancel"),
        "private_metadata": private_metadata,
        "blocks": blocks,
    }


def form_values(view: dict[str, Any]) -> dict[str, str]:
    """What was entered in a submitted form modal, by field id (empty fields left out)."""
    values: dict[str, str] = {}
    for block_id, inputs in view.get("state", {}).get("values", {}).items():
        for entered in inputs.values():
            value = (
                entered.get("value")
                or entered.get("selected_date")
                or entered.get("selected_time")
                or entered.get("selected_user")
                or (entered.get("selected_option") or {}).get("value")
            )
            if value:
                values[block_id] = str(value)
    return values
