"""Render neutral messages as plain text for the local chat and notification fallbacks."""

from __future__ import annotations

from collections.abc import Callable

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

Numberer = Callable[[Button], int]


def _clean(text: str) -> str:
    # Control characters could rewrite the terminal; keep newlines and tabs only.
    return "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())


def _block(block: Block, number: Numberer) -> list[str]:
    match block:
        case Heading(text=text):
            return [f"== {_clean(text)} =="]
        case Text(text=text):
            return _clean(text).splitlines() or [""]
        case Fields(pairs=pairs):
            return [f"{_clean(k)}: {_clean(v)}" for k, v in pairs]
        case Bullets(items=items):
            return [f"  • {_clean(item)}" for item in items]
        case Buttons(buttons=buttons):
            return ["  " + "  ".join(f"[{number(b)}] {_clean(b.label)}" for b in buttons)]
        case Choice(action=action, label=label, options=options):
            numbered = [
                f"[{number(Button(text, action, value))}] {_clean(text)}" for value, text in options
            ]
            return [f"  {_clean(label)}: " + "  ".join(numbered)]
        case Prompt(question=question, hint=hint):
            return [f"? {_clean(question)}"] + ([f"  ({_clean(hint)})"] if hint else [])
        case Divider():
            return ["  ---"]
        case Context(text=text):
            return [f"  ({_clean(text)})"]
    raise TypeError(f"unknown block {block!r}")


def render_text(message: Message, number: Numberer) -> str:
    """The message as lines of text; `number` assigns each button the number to `click`."""
    if not message.blocks:
        return _clean(message.text)
    return "\n".join(line for block in message.blocks for line in _block(block, number))
