"""The Teams app package: manifest.json with the bot id filled in, two icons, zipped for upload.

`coregroup teams package` calls `build_package`. The icons are drawn here and written as PNG with
the standard library (zlib and struct), so the package needs no image files or tools.
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot import __version__
from bot.adapters.teams import TeamsSettings, load_teams_settings
from bot.config import ConfigError, Settings
from commands import build_registry
from commands.registry import Registry

MANIFEST_VERSION = "1.19"
MANIFEST_SCHEMA = (
    "https://developer.microsoft.com/en-us/json-schemas/teams/v1.19/MicrosoftTeams.schema.json"
)
PACKAGE_NAME = "coregroup-teams.zip"
ACCENT = (0x1F, 0x6F, 0x78)  # the colour icon's background, also the manifest's accentColor
COMMAND_SCOPES = ["personal", "team", "groupChat"]
COMMANDS_MAX = 10  # Teams shows at most ten commands per scope
TITLE_MAX, DESCRIPTION_MAX = 32, 128
# The commands most people need first, in the order the compose box lists them.
FAVOURITES = ("new", "add", "schedule", "status", "actions", "action", "myupdate", "draft", "home")

Rgba = tuple[int, int, int, int]


# --- icons ----------------------------------------------------------------------------------------


def png(width: int, height: int, pixel: Callable[[int, int], Rgba]) -> bytes:
    """A truecolour-with-alpha PNG whose pixel (x, y) is `pixel(x, y)`."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type 0: the row as it is
        for x in range(width):
            rows.extend(pixel(x, y))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def _mark(size: int) -> Callable[[int, int], bool]:
    """The bot's mark: a ring of people (dots) around a centre, scaled to `size` pixels."""
    centre = (size - 1) / 2
    ring, dot, middle = size * 0.30, size * 0.085, size * 0.13
    seats = [(0.0, -1.0), (0.95, -0.31), (0.59, 0.81), (-0.59, 0.81), (-0.95, -0.31)]

    def inside(x: int, y: int) -> bool:
        dx, dy = x - centre, y - centre
        if dx * dx + dy * dy <= middle * middle:
            return True
        return any((dx - sx * ring) ** 2 + (dy - sy * ring) ** 2 <= dot * dot for sx, sy in seats)

    return inside


def color_icon() -> bytes:
    """The 192×192 full-colour icon: the mark in white on the accent colour."""
    inside = _mark(192)
    return png(192, 192, lambda x, y: (255, 255, 255, 255) if inside(x, y) else (*ACCENT, 255))


def outline_icon() -> bytes:
    """The 32×32 outline icon: the mark in white on transparency, as Teams requires."""
    inside = _mark(32)
    return png(32, 32, lambda x, y: (255, 255, 255, 255) if inside(x, y) else (0, 0, 0, 0))


# --- manifest -------------------------------------------------------------------------------------


def command_list(registry: Registry) -> list[dict[str, str]]:
    """The compose-box commands: help, then favourites, then the rest, at most ten."""
    entries = [{"title": "help", "description": "What I can do, with an example of each command"}]
    names = [n for n in FAVOURITES if n in registry.commands]
    names += [n for n in registry.commands if n not in names]
    for name in names[: COMMANDS_MAX - 1]:
        summary = registry.commands[name].summary
        description = summary[0].upper() + summary[1:] if summary else name
        entries.append({"title": name[:TITLE_MAX], "description": description[:DESCRIPTION_MAX]})
    return entries


def manifest(app_id: str, teams: TeamsSettings, registry: Registry) -> dict[str, Any]:
    """The Teams app manifest for bot `app_id`."""
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": __version__,
        "id": app_id,
        "developer": {
            "name": teams.teams_developer_name,
            "websiteUrl": teams.teams_website_url,
            "privacyUrl": teams.teams_privacy_url,
            "termsOfUseUrl": teams.teams_terms_url,
        },
        "name": {"short": "Core Group Bot", "full": "Core Group Bot for child protection"},
        "description": {
            "short": "Runs child protection core groups: meetings, the plan, actions, minutes.",
            "full": (
                "Core Group Bot helps a child protection core group keep to its statutory "
                "timescales: it books meetings, collects each member's update before the "
                "meeting, tracks the plan's actions and reminds their owners, drafts the minutes "
                "for approval and tells the chair when something is at risk. Cases are known "
                "only by their reference, never by a child's name."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": app_id,
                "scopes": COMMAND_SCOPES,
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [{"scopes": COMMAND_SCOPES, "commands": command_list(registry)}],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
    }


def build_package(settings: Settings, out_dir: Path, *, teams: TeamsSettings | None = None) -> Path:
    """Write manifest.json and the icons to `out_dir`, zip them for upload; returns the zip."""
    if not settings.microsoft_app_id:
        raise ConfigError(
            "Invalid configuration — MICROSOFT_APP_ID is needed to build the Teams app package "
            "(the bot's app id goes into the manifest)"
        )
    teams = teams or load_teams_settings()
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "manifest.json": json.dumps(
            manifest(settings.microsoft_app_id, teams, build_registry()), indent=2
        ).encode(),
        "color.png": color_icon(),
        "outline.png": outline_icon(),
    }
    for name, data in files.items():
        (out_dir / name).write_bytes(data)
    package = out_dir / PACKAGE_NAME
    with zipfile.ZipFile(package, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return package
