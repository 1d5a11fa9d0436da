"""The data keys of one database: opened with the engine's KEKs on first use, cached, rotated.

Each engine carries a `DataKeys` (see `attach`); the encrypted column types find it through the
engine's dialect. New values are sealed with the newest data key; a value names the key it was
sealed with, so older keys keep opening older rows.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, column, insert, select, table, update
from sqlalchemy.engine import Dialect

from storage.crypto import (
    KEY_BYTES,
    KeyEncryptionKeys,
    KeysMissing,
    WrongKey,
    fingerprint,
    unwrap,
    wrap,
)

# The `datakey` table as Core sees it (storage.models.DataKey is the same table for the schema).
DATAKEY = table(
    "datakey",
    column("id"),
    column("wrapped"),
    column("kek_id"),
    column("created_at"),
    column("rewrapped_at"),
)


class DataKeys:
    """The unwrapped data keys of one engine's database, loaded once and cached."""

    def __init__(self, engine: Engine, keks: KeyEncryptionKeys | None) -> None:
        self._engine = weakref.ref(engine)
        self.keks = keks
        self._ciphers: dict[int, AESGCM] = {}
        self._lock = threading.Lock()

    def for_sealing(self) -> tuple[int, AESGCM]:
        """The newest data key (created on a database that has none yet) and its cipher."""
        if not self._ciphers:
            with self._lock:
                if not self._ciphers:
                    self._load()
                if not self._ciphers:
                    self._create()
        newest = max(self._ciphers)
        return newest, self._ciphers[newest]

    def for_opening(self, key_id: int) -> AESGCM:
        """The cipher of data key `key_id` (reloaded once if another process made it since)."""
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            with self._lock:
                self._load()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise WrongKey(f"data key {key_id} is not in this database")
        return cipher

    def check(self) -> int:
        """Open every data key afresh (WrongKey if the KEKs do not fit); how many there are."""
        with self._lock:
            self._ciphers.clear()
            self._load()
        return len(self._ciphers)

    def forget(self) -> None:
        """Drop the cached keys (a migration made or removed the table they came from)."""
        with self._lock:
            self._ciphers.clear()

    def _keks(self) -> KeyEncryptionKeys:
        if self.keks is None:
            raise KeysMissing(
                "No key-encryption key: set DATA_KEY (base64 of 32 bytes) or DATA_KEY_FILE"
            )
        return self.keks

    def _engine_or_fail(self) -> Engine:
        engine = self._engine()
        if engine is None:  # pragma: no cover - the engine owns its dialect, which owns us
            raise KeysMissing("the engine these data keys belong to is gone")
        return engine

    def _load(self) -> None:
        keks = self._keks().by_id()
        with self._engine_or_fail().connect() as conn:
            rows = conn.execute(select(DATAKEY.c.id, DATAKEY.c.wrapped, DATAKEY.c.kek_id)).all()
        for key_id, wrapped, kek_id in rows:
            if key_id not in self._ciphers:  # those held stay usable whatever wraps them now
                self._ciphers[key_id] = AESGCM(open_data_key(keks, key_id, wrapped, kek_id))

    def _create(self) -> None:
        keks = self._keks()
        with self._engine_or_fail().begin() as conn:
            add_data_key(conn, keks)
        self._load()


def open_data_key(keks: dict[str, bytes], key_id: int, wrapped: str, kek_id: str) -> bytes:
    """Unwrap one data key with whichever accepted KEK wrapped it; WrongKey saying what to set."""
    kek = keks.get(kek_id)
    if kek is None:
        given = ", ".join(sorted(keks))
        raise WrongKey(
            f"DATA_KEY does not open this database: data key {key_id} is wrapped by the KEK "
            f"with id {kek_id}, and the key(s) given have id(s) {given}. Set DATA_KEY to the key "
            "this database was set up with (during a rotation, the old one as DATA_KEY_PREVIOUS)."
        )
    try:
        return unwrap(kek, wrapped)
    except InvalidTag:
        raise WrongKey(f"data key {key_id} is damaged: its wrapping does not verify") from None


def add_data_key(conn: Connection, keks: KeyEncryptionKeys) -> int:
    """Store a new random data key wrapped by the current KEK; its id (newest: used from now)."""
    result = conn.execute(
        insert(DATAKEY)
        .values(
            wrapped=wrap(keks.current, os.urandom(KEY_BYTES)),
            kek_id=keks.current_id,
            created_at=_now(conn),
        )
        .returning(DATAKEY.c.id)
    )
    return int(result.scalar_one())


def _now(conn: Connection) -> datetime:
    now = datetime.now(UTC)
    return now.replace(tzinfo=None) if conn.dialect.name == "sqlite" else now


def attach(engine: Engine, keks: KeyEncryptionKeys | None) -> None:
    """Give `engine` its data keys, opened with `keks` (None: sealing or opening fails clearly)."""
    engine.dialect.coregroup_keys = DataKeys(engine, keks)  # type: ignore[attr-defined]


def keys_of(dialect: Dialect) -> DataKeys:
    """The data keys of the engine `dialect` belongs to."""
    keys = getattr(dialect, "coregroup_keys", None)
    if keys is None:
        raise KeysMissing(
            "this engine was not made by storage.db.make_engine, so it has no data keys"
        )
    assert isinstance(keys, DataKeys)
    return keys


@dataclass(frozen=True)
class Rotation:
    """What a rotation did: data keys re-wrapped now, and those already under the new KEK."""

    rewrapped: int
    already: int


def rotate(
    engine: Engine,
    keks: KeyEncryptionKeys,
    new_kek: bytes,
    *,
    after_each: Callable[[int], None] | None = None,
) -> Rotation:
    """Re-wrap every data key under `new_kek`, one key per transaction, so an interrupted run is
    resumed by running it again. Values are never re-encrypted, so running bots keep working."""
    new_id = fingerprint(new_kek)
    accepted = {**keks.by_id(), new_id: new_kek}
    with engine.connect() as conn:
        rows = conn.execute(select(DATAKEY.c.id, DATAKEY.c.kek_id).order_by(DATAKEY.c.id)).all()
    todo = [key_id for key_id, kek_id in rows if kek_id != new_id]
    for key_id in todo:
        with engine.begin() as conn:
            wrapped, kek_id = conn.execute(
                select(DATAKEY.c.wrapped, DATAKEY.c.kek_id)
                .where(DATAKEY.c.id == key_id)
                .with_for_update()
            ).one()
            if kek_id != new_id:
                data_key = open_data_key(accepted, key_id, wrapped, kek_id)
                conn.execute(
                    update(DATAKEY)
                    .where(DATAKEY.c.id == key_id, DATAKEY.c.kek_id == kek_id)
                    .values(wrapped=wrap(new_kek, data_key), kek_id=new_id, rewrapped_at=_now(conn))
                )
        if after_each is not None:
            after_each(key_id)
    return Rotation(rewrapped=len(todo), already=len(rows) - len(todo))


def kek_counts(engine: Engine) -> dict[str, int]:
    """How many data keys each KEK (by fingerprint) wraps."""
    with engine.connect() as conn:
        rows = conn.execute(select(DATAKEY.c.kek_id)).scalars().all()
    counts: dict[str, int] = {}
    for kek_id in rows:
        counts[kek_id] = counts.get(kek_id, 0) + 1
    return counts
