"""The registry of /coregroup subcommands, button actions and conversation handlers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.access import GroupView
from bot.core.context import Ctx
from bot.core.routing import Target
from bot.messages import Reply
from commands.parse import Args

CommandHandler = Callable[[Ctx, GroupView | None, Args], Reply]
ClickHandler = Callable[[Ctx, str, str | None], Reply]
# (ctx, text, direct, what the message answers when it names the message it replies to)
MessageHandler = Callable[[Ctx, str, bool, Target | None], Reply | None]


@dataclass(frozen=True)
class Command:
    """A subcommand: its handler and the words that explain it."""

    name: str
    summary: str
    usage: str
    examples: tuple[str, ...]
    handler: CommandHandler
    needs_group: bool = True
    aliases: tuple[str, ...] = ()
    topic: str = "Group"
    changes: bool = True  # audited as a change (True) or a read (False)


@dataclass
class Registry:
    """Everything the dispatcher can route to, filled by each command module's `register`."""

    commands: dict[str, Command] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    clicks: dict[str, ClickHandler] = field(default_factory=dict)
    listeners: list[MessageHandler] = field(default_factory=list)

    def command(self, cmd: Command) -> None:
        """Add a subcommand (and its aliases)."""
        if cmd.name in self.commands or cmd.name in self.aliases:
            raise ValueError(f"duplicate command {cmd.name}")
        self.commands[cmd.name] = cmd
        for alias in cmd.aliases:
            if alias in self.commands or alias in self.aliases:
                raise ValueError(f"alias {alias} of {cmd.name} is already taken")
            self.aliases[alias] = cmd.name

    def click(self, action: str, handler: ClickHandler) -> None:
        """Handle clicks on buttons or menus whose action is `action`."""
        if action in self.clicks:
            raise ValueError(f"duplicate click handler {action}")
        self.clicks[action] = handler

    def listen(self, handler: MessageHandler) -> None:
        """Offer ordinary messages to `handler` (first one to return a Reply wins)."""
        self.listeners.append(handler)

    def find(self, name: str) -> Command | None:
        """The command called `name` or one of its aliases."""
        key = name.lower()
        return self.commands.get(self.aliases.get(key, key))

    def words(self) -> list[str]:
        """Every name and alias, for typo suggestions."""
        return [*self.commands, *self.aliases]
