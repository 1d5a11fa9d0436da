"""The /coregroup command set: each module registers its subcommands, clicks and listeners."""

from __future__ import annotations

import importlib

from commands.registry import Registry

# Ordinary messages go to one listener (conversation): it decides what each message answers.
MODULES = (
    "groups",
    "family",
    "meetings",
    "updates",
    "plan",
    "concerns",
    "conversation",
    "share",
    "minutes",
    "oversight",
    "report",
    "reminders",
)


def build_registry() -> Registry:
    """A registry filled by every command module's `register(registry)`."""
    registry = Registry()
    for name in MODULES:
        importlib.import_module(f"commands.{name}").register(registry)
    return registry
