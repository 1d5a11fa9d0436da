"""The /coregroup command set: each module registers its subcommands, clicks and listeners."""

from __future__ import annotations

import importlib

from commands.registry import Registry

# Order matters for message listeners: conversations first, then replies to reminders.
MODULES = ("groups", "meetings", "plan", "updates", "minutes", "oversight")


def build_registry() -> Registry:
    """A registry filled by every command module's `register(registry)`."""
    registry = Registry()
    for name in MODULES:
        try:
            module = importlib.import_module(f"commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"commands.{name}":
                raise
            continue
        module.register(registry)
    return registry
