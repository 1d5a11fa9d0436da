"""AES-256-GCM for case text at rest: key-encryption keys (KEKs), wrapped data keys, sealed values.

A KEK comes from DATA_KEY (base64 of 32 bytes) or DATA_KEY_FILE and never enters the database.
Data keys are random 32-byte keys kept in the `datakey` table only wrapped (AES-GCM) by a KEK.
A sealed value is `v2:<data key id>:<row id>:<base64url(nonce ‖ ciphertext ‖ tag)>` with a fresh
96-bit nonce, and its associated data names the table, column and row it belongs to, so a value
copied into another column or row does not open. `v1:<data key id>:<…>` values are bound to
their column only (0010's, and what a bulk UPDATE writes: one value for many rows).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
PREFIX = "v1"  # bound to table and column
ROW_PREFIX = "v2"  # bound to table, column and row id
_WRAP_AAD = b"coregroup:datakey:v1"


class KeyProblem(RuntimeError):
    """Base of the key problems below; the message says what to set or check."""


class BadKey(KeyProblem):
    """A configured key is not base64 of exactly 32 bytes."""


class KeysMissing(KeyProblem):
    """Case text must be sealed or opened but no DATA_KEY was given to this engine."""


class WrongKey(KeyProblem):
    """None of the configured KEKs wrapped a data key this database holds."""


class WontOpen(KeyProblem):
    """A stored value does not open: written for another column, altered, or not sealed at all."""


def parse_key(text: str, *, name: str) -> bytes:
    """The 32 bytes a base64 key text stands for; BadKey naming `name` otherwise."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadKey(
            f"{name}: not base64; make one with `openssl rand -base64 32` "
            "(or `coregroup keys new --out FILE`)"
        ) from None
    if len(raw) != KEY_BYTES:
        raise BadKey(f"{name}: must be {KEY_BYTES} bytes once base64-decoded, not {len(raw)}")
    return raw


def read_key_file(path: Path, *, name: str) -> bytes:
    """The key in a file holding its base64 text."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise BadKey(f"{name}: no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadKey(f"{name}: cannot read {path}: {exc}") from None
    return parse_key(text, name=f"{name} ({path})")


def new_key_text() -> str:
    """A fresh random key, as the base64 text DATA_KEY and key files hold."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def fingerprint(kek: bytes) -> str:
    """A short public name for a KEK (an HMAC of a constant under it: reveals nothing of it)."""
    return hmac.new(kek, b"coregroup:kek-id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class KeyEncryptionKeys:
    """The KEK new wrappings use, and earlier KEKs still accepted while a rotation runs."""

    current: bytes
    previous: tuple[bytes, ...] = ()

    @property
    def current_id(self) -> str:
        """The current KEK's fingerprint."""
        return fingerprint(self.current)

    def by_id(self) -> dict[str, bytes]:
        """Every accepted KEK by fingerprint."""
        return {fingerprint(k): k for k in (*self.previous, self.current)}

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> KeyEncryptionKeys | None:
        """DATA_KEY or DATA_KEY_FILE, with DATA_KEY_PREVIOUS(_FILE); None when neither is set."""
        env = os.environ if env is None else env
        current = _one_key(env, "DATA_KEY")
        if current is None:
            return None
        previous = _one_key(env, "DATA_KEY_PREVIOUS")
        return cls(current, (previous,) if previous is not None else ())


def _one_key(env: Mapping[str, str], name: str) -> bytes | None:
    text, path = env.get(name), env.get(f"{name}_FILE")
    if text and path:
        raise BadKey(f"{name} and {name}_FILE: set one, not both")
    if text:
        return parse_key(text, name=name)
    if path:
        return read_key_file(Path(path), name=f"{name}_FILE")
    return None


def wrap(kek: bytes, data_key: bytes) -> str:
    """`data_key` sealed under `kek`, as base64 text for the database."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(kek).encrypt(nonce, data_key, _WRAP_AAD)
    return base64.b64encode(nonce + sealed).decode("ascii")


def unwrap(kek: bytes, wrapped: str) -> bytes:
    """The data key inside `wrapped`; InvalidTag if `kek` is not the one that wrapped it."""
    raw = base64.b64decode(wrapped)
    return AESGCM(kek).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _WRAP_AAD)


def place_aad(place: str, key_id: int, row: int | None = None) -> bytes:
    """The associated data of a value stored at `place` ("table.column") under data key `key_id`,
    in row `row` (None: a value bound to its column only, as 0010 and bulk statements write)."""
    if row is None:
        return f"coregroup:{PREFIX}:{place}:{key_id}".encode()
    return f"coregroup:{ROW_PREFIX}:{place}:{key_id}:{row}".encode()


def seal(cipher: AESGCM, key_id: int, place: str, plain: str, row: int | None = None) -> str:
    """`plain` sealed for `place` under data key `key_id`, bound to row `row` if given."""
    nonce = os.urandom(NONCE_BYTES)
    body = cipher.encrypt(nonce, plain.encode("utf-8"), place_aad(place, key_id, row))
    sealed = base64.urlsafe_b64encode(nonce + body).decode("ascii")
    if row is None:
        return f"{PREFIX}:{key_id}:{sealed}"
    return f"{ROW_PREFIX}:{key_id}:{row}:{sealed}"


def _parts(stored: str, place: str) -> tuple[int, int | None, str]:
    """A sealed value's data key id, the row it was sealed for (None: any) and its body."""
    head, _, rest = stored.partition(":")
    if head == PREFIX:
        key, _, body = rest.partition(":")
        row = ""
    elif head == ROW_PREFIX:
        key, _, rest = rest.partition(":")
        row, _, body = rest.partition(":")
    else:
        key = body = ""
    if not key.isdigit() or not body or (head == ROW_PREFIX and not row.isdigit()):
        raise WontOpen(f"{place}: the stored value is not sealed (clear text in a sealed column)")
    return int(key), int(row) if row else None, body


def key_id_of(stored: str, place: str) -> int:
    """The data key id a sealed value names; WontOpen if it is not a sealed value."""
    return _parts(stored, place)[0]


def row_of(stored: str, place: str) -> int | None:
    """The row a sealed value was sealed for (None: one bound to its column only)."""
    return _parts(stored, place)[1]


def open_sealed(cipher: AESGCM, stored: str, place: str, row: int | None = None) -> str:
    """The text inside a sealed value; WontOpen if it belongs elsewhere or was altered. `row` is
    the id of the row it was read from: a value sealed for another row does not open."""
    key_id, sealed_for, body = _parts(stored, place)
    if row is not None and sealed_for is not None and sealed_for != row:
        raise WontOpen(
            f"{place}: the stored value in row {row} was sealed for row {sealed_for}: "
            "it was moved from another row"
        )
    try:
        raw = base64.urlsafe_b64decode(body)
        aad = place_aad(place, key_id, sealed_for)
        plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError, binascii.Error):
        raise WontOpen(
            f"{place}: the stored value does not open under data key {key_id}: it was written "
            "for another column or row, or altered"
        ) from None
    return plain.decode("utf-8")
