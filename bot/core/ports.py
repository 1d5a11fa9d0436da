"""What the core needs from a chat platform to deliver messages it was not asked for."""

from __future__ import annotations

from typing import Protocol

from bot.messages import Message, ToGroup, ToPerson


class DeliveryError(Exception):
    """A message could not be delivered; `retryable` says whether trying later may work."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Outbox(Protocol):
    """Sends proactive messages (reminders, prompts, briefs) on one platform."""

    def send(self, to: ToGroup | ToPerson, message: Message) -> str:
        """Deliver `message`; return the platform's id for it. Raises DeliveryError."""
        ...

    def find_sent(self, to: ToGroup | ToPerson, key: str) -> str | None:
        """The id of a message already delivered to `to` carrying idempotency `key`, if any."""
        ...
