"""The audit log's sealing key: AUDIT_KEY, or a key file made on first use (local use only)."""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets

from bot.config import AUDIT_KEY_BYTES as KEY_BYTES
from bot.config import ConfigError, Settings

log = logging.getLogger(__name__)


def decode_key(text: str, where: str) -> bytes:
    """A base64 key of 32 bytes; ConfigError naming `where` otherwise."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(
            f"{where}: give {KEY_BYTES} random bytes in base64 (openssl rand -base64 32)"
        )
    return key


def audit_key(settings: Settings) -> bytes:
    """AUDIT_KEY when set, else the key file (AUDIT_KEY_FILE), created 0600 if missing."""
    if settings.audit_key:
        return decode_key(settings.audit_key, "AUDIT_KEY")
    path = settings.audit_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
            log.info("created the audit sealing key file %s (keep it apart from backups)", path)
    return decode_key(path.read_text(), f"AUDIT_KEY_FILE ({path})")
