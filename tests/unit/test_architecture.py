"""Imports flow one way: bot.app → bot.adapters → commands → bot.core → storage.

Checked with `ast` over the source files, so a violation fails even if nothing imports the module
yet. A few shared modules sit outside the chain and anyone may import them; they in turn import
only each other. Only bot/adapters/ may talk to a chat platform's SDK.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "commands", "storage")

# The chain, lowest first: a module may import its own layer and the layers below it.
LAYERS = ("storage", "bot.core", "commands", "bot.adapters", "bot.app")
# Outside the chain, importable from anywhere (except storage, which imports no bot code).
SHARED = ("bot.messages", "bot.clock", "bot.config", "bot.render", "bot.logs")
# bot's own __init__ only holds the version; any other bot module (cli, scheduler, …) wires things
# together at the top of the chain, so nothing below may import it.
TOP = "bot.app"
LEAVES = ("bot.messages",)  # import nothing from the project at all
PLATFORM_SDKS = ("slack_bolt", "slack_sdk", "msal", "microsoft_agents")
PLATFORM_HOME = "bot.adapters"


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_of(module: str) -> str | None:
    """The layer a project module belongs to; None for shared modules and the bot package."""
    if module == "bot" or any(_within(module, shared) for shared in SHARED):
        return None
    for layer in reversed(LAYERS):
        if _within(module, layer):
            return layer
    return TOP if _within(module, "bot") else None


def is_project(module: str) -> bool:
    """Whether a module name belongs to this project."""
    return any(_within(module, package) for package in PACKAGES)


@dataclass(frozen=True)
class Import:
    """One imported module, with the line it is on."""

    module: str
    line: int


def imports_of(module: str, source: str, *, is_package: bool, known: Iterable[str]) -> list[Import]:
    """Every module `source` imports, relative imports resolved; `from a import b` names `a.b`
    when that is a known module."""
    known = set(known)
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.append(Import(child if child in known else base, node.lineno))
    return found


def violations(
    module: str, source: str, *, is_package: bool = False, known: Iterable[str] = ()
) -> list[str]:
    """Every rule `source` (the text of `module`) breaks, one line each."""
    problems = []
    mine = layer_of(module)
    for imp in imports_of(module, source, is_package=is_package, known=known):
        where = f"{module}:{imp.line} imports {imp.module}"
        if imp.module.split(".")[0] in PLATFORM_SDKS and not _within(module, PLATFORM_HOME):
            problems.append(f"{where}: only bot/adapters/ may use a platform SDK")
        if not is_project(imp.module) or imp.module == module:
            continue
        theirs = layer_of(imp.module)
        if any(_within(module, leaf) for leaf in LEAVES):
            problems.append(f"{where}: {module} must import nothing from the project")
        elif mine == "storage" and theirs != "storage":
            problems.append(f"{where}: storage imports nothing from bot or commands")
        elif mine is None and theirs is not None:
            problems.append(f"{where}: a shared module may import only other shared modules")
        elif mine is not None and theirs is not None and LAYERS.index(theirs) > LAYERS.index(mine):
            problems.append(f"{where}: {mine} may not import the layer above it ({theirs})")
    return problems


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_files() -> dict[str, Path]:
    """Every project module by name (migration scripts included: they must obey storage's rule)."""
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            files[_module_name(path)] = path
    return files


FILES = project_files()


def _check(modules: Iterable[str]) -> list[str]:
    problems = []
    for name in modules:
        path = FILES[name]
        problems += violations(
            name,
            path.read_text(encoding="utf-8"),
            is_package=path.name == "__init__.py",
            known=FILES,
        )
    return problems


def _modules_in(prefix: str) -> list[str]:
    found = [name for name in FILES if _within(name, prefix)]
    if not found:
        pytest.skip(f"{prefix} has no modules yet")
    return found


# --- the rules, on the real code ----------------------------------------------------------------


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_itself_and_the_layers_below(layer: str) -> None:
    modules = [name for name in _modules_in(layer) if layer_of(name) == layer]
    if not modules:
        pytest.skip(f"{layer} has no modules yet")
    assert _check(modules) == []


def test_other_bot_modules_sit_at_the_top_and_nothing_below_imports_them() -> None:
    top = [name for name in FILES if layer_of(name) == TOP]
    assert _check(top) == []


def test_shared_modules_import_only_shared_modules() -> None:
    shared = [name for name in FILES if name == "bot" or layer_of(name) is None]
    assert _check(shared) == []


def test_messages_imports_nothing_from_the_project() -> None:
    assert _check(_modules_in("bot.messages")) == []


def test_storage_imports_nothing_from_bot_or_commands() -> None:
    assert _check(_modules_in("storage")) == []


def test_only_adapters_import_platform_sdks() -> None:
    outside = [name for name in FILES if not _within(name, PLATFORM_HOME)]
    sdk_problems = [p for p in _check(outside) if "platform SDK" in p]
    assert sdk_problems == []


# --- the checker bites --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "source", "complaint"),
    [
        ("storage.models", "from bot.core.calendar import Nation", "storage imports nothing"),
        ("storage.db", "import bot.clock", "storage imports nothing"),
        ("bot.core.groups", "from commands.registry import Registry", "layer above it (commands)"),
        ("bot.core.groups", "from ..adapters import slack", "layer above it (bot.adapters)"),
        ("commands.groups", "from bot.adapters.slack import SlackAdapter", "layer above it"),
        ("bot.adapters.slack", "from bot import app", "layer above it (bot.app)"),
        ("bot.core.reminders", "from bot.scheduler import Scheduler", "layer above it (bot.app)"),
        ("bot.core.groups", "import slack_sdk", "only bot/adapters/ may use a platform SDK"),
        ("commands.plan", "from msal import PublicClientApplication", "platform SDK"),
        ("bot.render.blockkit", "from slack_sdk.models.blocks import SectionBlock", "SDK"),
        ("bot.messages", "from bot.clock import Clock", "must import nothing from the project"),
        ("bot.render.text", "from bot.core.errors import BadInput", "only other shared modules"),
    ],
)
def test_the_checker_flags_a_violation(module: str, source: str, complaint: str) -> None:
    known = {"bot.app", "bot.adapters.slack"}
    found = violations(module, source, known=known)
    assert len(found) == 1 and complaint in found[0], found


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("storage.models", "from storage.enums import Role\nimport sqlalchemy"),
        ("bot.core.groups", "from storage.models import Case\nfrom bot.clock import Clock"),
        ("bot.core.groups", "from . import calendar\nfrom .errors import BadInput"),
        ("commands.groups", "from bot.core.access import audit\nfrom bot.messages import Reply"),
        ("bot.adapters.slack", "import slack_bolt\nfrom commands.dispatch import Dispatcher"),
        ("bot.adapters.teams", "from microsoft_agents.activity import Activity"),
        ("bot.app", "from bot.adapters import slack\nfrom storage.db import make_engine"),
        ("bot.cli", "from bot.app import build\nfrom bot.config import load_settings"),
        ("bot.render.blockkit", "from bot.messages import Message"),
        ("bot.messages", "from dataclasses import dataclass"),
    ],
)
def test_the_checker_allows_the_one_way_flow(module: str, source: str) -> None:
    assert violations(module, source, known={"bot.adapters.slack", "bot.core.calendar"}) == []
