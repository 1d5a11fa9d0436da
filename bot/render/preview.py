"""Notification previews: the case reference and the kind of message, never names or free text.

A phone's lock screen, a Teams activity feed or a Slack notification shows a message's preview to
anyone near the device, so the preview says only which case and what kind of message it is
("CP-2026-0142: action card"); the message itself, behind the app's sign-in, says the rest.
"""

from __future__ import annotations

import re

from bot.messages import Heading, Message

APP_NAME = "Core Group Bot"
# A case reference as the bot writes it (CP-2026-0142, ABC/12345): capitals, a separator, digits.
_REFERENCE = re.compile(r"\b[A-Z]{1,6}[-/][0-9][A-Z0-9/-]*[0-9]\b")
# What a message is, from the actions of its buttons, then from its idempotency key's prefix.
_BY_ACTION = (
    ("action.", "action card"),
    ("minutes.", "minutes"),
    ("meeting.", "meeting"),
    ("update.", "update questions"),
    ("groups.", "core group"),
    ("reminder.", "reminder"),
)
_BY_KEY = (("deadline:", "deadline reminder"), ("minutes:", "minutes reminder"))


def case_reference(message: Message) -> str | None:
    """The first case reference in the message's summary or headings, if any."""
    texts = [message.text, *(b.text for b in message.blocks if isinstance(b, Heading))]
    for text in texts:
        found = _REFERENCE.search(text)
        if found:
            return found.group(0)
    return None


def kind_of(message: Message) -> str:
    """What kind of message this is, in two or three words."""
    if message.kind:
        return message.kind
    for button in message.buttons():
        for prefix, kind in _BY_ACTION:
            if button.action.startswith(prefix):
                return kind
    if message.key:
        for prefix, kind in _BY_KEY:
            if message.key.startswith(prefix):
                return kind
        return "reminder"
    return "message"


def preview(message: Message) -> str:
    """The message's notification preview: "CP-2026-0142: action card"."""
    return f"{case_reference(message) or APP_NAME}: {kind_of(message)}"
