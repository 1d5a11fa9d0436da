"""The /coregroup command set: each module registers its subcommands, clicks and listeners."""

from __future__ import annotations

import importlib

from commands.registry import Registry

# Order matters for message listeners: update conversations first, then replies to reminders.
MODULES = ("groups", "meetings", "updates", "plan", "minutes", "oversight", "reminders")


def build_registry() -> Registry:
    """A registry filled by every command module's `register(registry)`."""
    registry = Registry()
    for name in MODULES:
        importlib.import_module(f"commands.{name}").register(registry)
    return registry
