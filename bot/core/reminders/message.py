"""Messages made of reminders: where they go, their parts, and merging parts into one."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.reminders.settings import SNOOZE_ACTION
from bot.messages import (
    Block,
    Button,
    Buttons,
    Divider,
    Heading,
    Message,
    ToGroup,
    ToPerson,
)
from storage.enums import (
    Platform,
)
from storage.models import (
    CoreGroup,
    Reminder,
)


@dataclass(frozen=True)
class Recipient:
    """Where a message goes: one person's direct messages, or a group's space, on a platform."""

    platform: Platform
    to: ToPerson | ToGroup


@dataclass(frozen=True)
class Part:
    """One reminder's share of a message."""

    summary: str
    blocks: tuple[Block, ...]
    reference: str | None
    conversation: bool = False  # a question the next reply answers: always a message of its own
    expects: str | None = None  # what a reply to it answers ("update:12", "action:7")


@dataclass
class Outgoing:
    """A message ready to send and the ledger rows it carries."""

    recipient: Recipient
    rows: list[Reminder]
    message: Message

    @property
    def ids(self) -> list[int]:
        """The ids of the rows it carries."""
        return [r.id for r in self.rows if r.id is not None]


@dataclass
class Prepared:
    """The outcome of looking at claimed rows: what to send, and how many were set aside."""

    outgoing: list[Outgoing] = field(default_factory=list)
    dropped: int = 0
    deferred: int = 0


def recipient_of(row: Reminder, group: CoreGroup | None) -> Recipient:
    """Where a row's message goes."""
    if group is not None:
        platform = Platform(group.platform)
    else:
        platform = Platform((row.payload or {}).get("platform", Platform.LOCAL.value))
    if row.person_id is None:
        assert row.group_id is not None
        return Recipient(platform, ToGroup(row.group_id))
    return Recipient(platform, ToPerson(row.person_id))


def batch_key(rows: Sequence[Reminder]) -> str:
    """The idempotency key of the message carrying `rows`: the row's own key when alone."""
    if len(rows) == 1:
        return rows[0].dedup_key
    digest = hashlib.sha256("\n".join(sorted(r.dedup_key for r in rows)).encode()).hexdigest()
    return f"merged:{digest[:32]}"


def compose(parts: Sequence[Part], *, key: str, snooze: int | None) -> Message:
    """One message from several parts: the news, a snooze button, then any question last."""
    news = [p.blocks for p in parts if not p.conversation]
    questions = [p.blocks for p in parts if p.conversation]
    if snooze is not None and news:
        button = Button("Snooze until tomorrow", SNOOZE_ACTION, str(snooze))
        news[-1] = (*news[-1], Buttons((button,)))
    blocks: list[Block] = [Heading(f"{len(parts)} reminders")] if len(parts) > 1 else []
    for i, section in enumerate([*news, *questions]):
        if i:
            blocks.append(Divider())
        blocks.extend(section)
    if len(parts) == 1:
        text = parts[0].summary
    else:
        refs = sorted({p.reference for p in parts if p.reference})
        text = f"{len(parts)} reminders" + (f" for {', '.join(refs)}" if refs else "")
    return Message(text=text, blocks=tuple(blocks), key=key, expects=_expects(parts))


def _expects(parts: Sequence[Part]) -> str | None:
    """What a reply to the message answers: its question, or the actions it reminds about."""
    questions = [p.expects for p in parts if p.conversation and p.expects]
    if questions:
        return questions[0]
    actions = [
        p.expects.partition(":")[2] for p in parts if p.expects and p.expects.startswith("action:")
    ]
    return f"action:{','.join(actions)}" if actions else None
