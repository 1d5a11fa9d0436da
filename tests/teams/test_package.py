"""`coregroup teams package`: the manifest with the bot id, the icons, one zip to upload."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from bot.adapters.teams import TeamsSettings
from bot.config import ConfigError, Settings
from bot.teams_package import build_package
from tests.teams.conftest import APP_ID


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """Width, height and pixels of an RGBA PNG written without filters."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (depth, colour) == (8, 6)
    idat_len = struct.unpack(">I", data[33:37])[0]
    raw = zlib.decompress(data[41 : 41 + idat_len])
    stride = width * 4 + 1
    pixels = [
        tuple(raw[y * stride + 1 + x * 4 : y * stride + 5 + x * 4])
        for y in range(height)
        for x in range(width)
    ]
    return width, height, pixels  # type: ignore[return-value]


def test_the_package_has_the_manifest_with_the_bot_id_and_both_icons(tmp_path: Path) -> None:
    settings = Settings(microsoft_app_id=APP_ID)
    package = build_package(settings, tmp_path / "teams", teams=TeamsSettings())
    with zipfile.ZipFile(package) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        color = read_png(archive.read("color.png"))
        outline = read_png(archive.read("outline.png"))
    assert manifest["id"] == APP_ID
    (bot,) = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    commands = bot["commandLists"][0]["commands"]
    assert 1 < len(commands) <= 10
    assert commands[0]["title"] == "help"
    assert {"new", "add", "schedule"} <= {c["title"] for c in commands}
    assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in commands)
    assert (color[0], color[1]) == (192, 192) and (outline[0], outline[1]) == (32, 32)
    # The outline icon is white on transparency only; the colour icon is fully opaque.
    assert {p for p in outline[2]} <= {(255, 255, 255, 255), (0, 0, 0, 0)}
    assert (255, 255, 255, 255) in outline[2] and all(p[3] == 255 for p in color[2])
    assert (tmp_path / "teams" / "manifest.json").exists()


def test_the_package_needs_the_app_id(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MICROSOFT_APP_ID"):
        build_package(Settings(), tmp_path, teams=TeamsSettings())
