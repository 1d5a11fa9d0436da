"""Which key-encryption keys the bot runs with, and the local chat's key file made on first use.

Slack and Teams need DATA_KEY or DATA_KEY_FILE: a key made silently on one server would leave the
data unreadable anywhere else. The local chat, credential-free, makes `data-key` (mode 0600) in
the app's data directory once and says so.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from platformdirs import user_data_dir

from bot.config import ConfigError, Settings
from storage.crypto import BadKey, KeyEncryptionKeys, new_key_text, parse_key, read_key_file

log = logging.getLogger(__name__)

KEY_FILE_MODE = 0o600


def default_key_file() -> Path:
    """Where the local chat keeps its key when no DATA_KEY is set."""
    return Path(user_data_dir("coregroup-bot")) / "data-key"


def keys_for(settings: Settings) -> KeyEncryptionKeys:
    """The KEKs from DATA_KEY(_FILE) and DATA_KEY_PREVIOUS(_FILE); for the local chat without
    them, the key file in the data directory (made now if missing). ConfigError otherwise."""
    try:
        current = _key(settings, "data_key")
        previous = _key(settings, "data_key_previous")
    except BadKey as exc:
        raise ConfigError(f"Invalid configuration — {exc}") from None
    if current is None:
        if settings.platform != "local":
            raise ConfigError(
                "Invalid configuration — DATA_KEY: Slack and Teams need the key that seals case "
                "text at rest; set DATA_KEY (base64 of 32 bytes) or DATA_KEY_FILE. Make one with "
                "`coregroup keys new --out FILE` and keep it apart from the database backups."
            )
        current = local_key(default_key_file())
    return KeyEncryptionKeys(current, (previous,) if previous is not None else ())


def _key(settings: Settings, name: str) -> bytes | None:
    secret = getattr(settings, name)
    path: Path | None = getattr(settings, f"{name}_file")
    if secret is not None:
        return parse_key(secret.get_secret_value(), name=name.upper())
    if path is not None:
        return read_key_file(path, name=f"{name.upper()}_FILE")
    return None


def local_key(path: Path) -> bytes:
    """The key in `path`, made there (mode 0600) with one log line if it does not exist yet."""
    try:
        write_key_file(path)
    except FileExistsError:
        pass
    else:  # a warning: whoever runs the bot must now keep this file safe
        log.warning(
            "made a data key at %s (mode 0600) to seal case text at rest; keep it safe and apart "
            "from backups of the database: without it the case text cannot be read",
            path,
        )
    return read_key_file(path, name="the local data key file")


def write_key_file(path: Path) -> None:
    """Write a new random key to `path`, readable by its owner only; FileExistsError if there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(new_key_text() + "\n")
