"""The neutral message model: what handlers return and every adapter renders.

All text here is literal, plain text. Renderers escape it for their platform, so nothing a user
typed can become a mention, a link or markup. A leaf module: it imports nothing from the project.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Style = Literal["primary", "danger"] | None


@dataclass(frozen=True)
class Button:
    """A button; `ask` makes the click first ask for a line of text (a note, a reason, a date)."""

    label: str
    action: str
    value: str
    style: Style = None
    ask: str | None = None


@dataclass(frozen=True)
class Heading:
    """A short bold title."""

    text: str


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Fields:
    """Label/value pairs, shown as a compact grid where the platform can."""

    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Bullets:
    """A bulleted list."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Buttons:
    """A row of buttons."""

    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class Choice:
    """A menu of options; choosing one is a click on `action` with the option's value."""

    action: str
    label: str
    options: tuple[tuple[str, str], ...]  # (value, label)


@dataclass(frozen=True)
class Prompt:
    """A question the person answers with their next message (or a text input)."""

    question: str
    hint: str = ""


@dataclass(frozen=True)
class Divider:
    """A horizontal rule between parts of a message."""


@dataclass(frozen=True)
class Context:
    """Small print: who did what and when, deadlines, footnotes."""

    text: str


Block = Heading | Text | Fields | Bullets | Buttons | Choice | Prompt | Divider | Context


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (a document made from the minutes).

    `source` names how to make the file again ("minutes/12/family/pdf"), so a platform that
    hands out download links (Teams) can serve it later without keeping the bytes. Files go only
    to a person's direct messages (ToPerson): never to a group's space.
    """

    filename: str
    mime_type: str
    data: bytes = field(repr=False)
    title: str
    source: str = ""


@dataclass(frozen=True)
class Message:
    """A message: `text` is the notification/fallback summary, `blocks` the full content."""

    text: str
    blocks: tuple[Block, ...] = ()
    key: str | None = None  # idempotency key carried in platform metadata (reminders)
    # A live card shown in several places (e.g. "action:42"): adapters remember every copy they
    # send, and a click on one replaces them all.
    card: str | None = None
    kind: str | None = None  # what the notification preview calls it ("action card")
    attachment: Attachment | None = None
    # What a reply to this message answers ("update:12", "action:7", "concern:3"); adapters
    # record it against the platform's id for the sent message, so a reply in its thread (or
    # `reply <n>` in the local chat) reaches what it answers.
    expects: str | None = None

    @classmethod
    def plain(cls, text: str) -> Message:
        """A message that is just one paragraph."""
        return cls(text=text, blocks=(Text(text),))

    def buttons(self) -> list[Button]:
        """Every button in the message, in order."""
        return [b for block in self.blocks if isinstance(block, Buttons) for b in block.buttons]


# Where a message goes.


@dataclass(frozen=True)
class ToActor:
    """Privately to the person who asked, where they asked (ephemeral on Slack)."""


@dataclass(frozen=True)
class ToGroup:
    """To the core group's private space."""

    group_id: int


@dataclass(frozen=True)
class ToPerson:
    """To one person's direct messages with the bot."""

    person_id: int


@dataclass(frozen=True)
class InPlace:
    """Replace the message whose button was clicked."""


Destination = ToActor | ToGroup | ToPerson | InPlace


@dataclass(frozen=True)
class Outbound:
    """One message to deliver."""

    to: Destination
    message: Message


# Changes to the platform's spaces, carried out by the adapter after the database commit.


@dataclass(frozen=True)
class CreateSpace:
    """Create the group's private space, named from the case reference."""

    group_id: int
    name: str
    topic: str
    member_ids: tuple[int, ...]


@dataclass(frozen=True)
class AddToSpace:
    """Invite people to the group's space."""

    group_id: int
    person_ids: tuple[int, ...]


@dataclass(frozen=True)
class RemoveFromSpace:
    """Remove a person from the group's space."""

    group_id: int
    person_id: int


@dataclass(frozen=True)
class ArchiveSpace:
    """Close the group's space when the group closes; `member_ids` are those still in it."""

    group_id: int
    member_ids: tuple[int, ...] = ()


Effect = CreateSpace | AddToSpace | RemoveFromSpace | ArchiveSpace


@dataclass
class Reply:
    """Everything a handler wants done: messages to send and space changes to make."""

    outbound: list[Outbound] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)

    def say(self, message: Message | str, to: Destination | None = None) -> Reply:
        """Queue a message (to the actor unless told otherwise); returns self for chaining."""
        msg = Message.plain(message) if isinstance(message, str) else message
        self.outbound.append(Outbound(to or ToActor(), msg))
        return self

    def extend(self, other: Reply) -> Reply:
        """Append another reply's messages and effects."""
        self.outbound.extend(other.outbound)
        self.effects.extend(other.effects)
        return self

    def to_actor_text(self) -> str:
        """The plain text of what the actor will see; handy in logs and tests."""
        return "\n".join(o.message.text for o in self.outbound if isinstance(o.to, ToActor))


def bullets(items: Sequence[str]) -> Bullets:
    """A Bullets block from any sequence."""
    return Bullets(tuple(items))


def fields(pairs: Sequence[tuple[str, str]]) -> Fields:
    """A Fields block from any sequence of pairs."""
    return Fields(tuple(pairs))
