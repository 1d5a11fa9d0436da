"""The data keys of one database: opened with the engine's KEKs on first use, cached, rotated,
and a case's destroyed when retention erases it (crypto-shredding).

Each engine carries a `DataKeys` (see `attach`); the encrypted column types find it through the
engine's dialect. Each case has its own data key (made on its first sealed value, see
storage.case_keys); rows of no case use the newest shared key. A value names the key it was
sealed with, so opening needs no context and older keys keep opening older rows.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, column, event, insert, inspect, select, table, update
from sqlalchemy.engine import Dialect

from storage.crypto import (
    KEY_BYTES,
    KeyEncryptionKeys,
    KeysMissing,
    WontOpen,
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
    column("case_id"),
    column("destroyed_at"),
    column("purpose"),
)
SEAL, INDEX = "seal", "index"  # datakey.purpose: a data key, or the blind indexes' key
CACHE_SIZE = 4096  # unwrapped data keys (and case → key, row → case entries) kept per engine
_LEARNED = "coregroup_keys_learned"  # connection.info: cache entries its open transaction made
RESEAL = "coregroup_reseal"  # connection.info: new rows' values to seal again (storage.case_keys)

Key = tuple[int, AESGCM]  # a data key's id and its cipher


class KeyDestroyed(WontOpen):
    """The data key a value names was destroyed when its case's working copies were erased."""


class _LRU:
    """A bounded mapping that forgets the least recently used entry first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def pop(self, key: Hashable) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


class DataKeys:
    """The data keys of one engine's database: a shared key for rows of no case, and one key per
    case (made on first use, in the writing transaction), unwrapped on demand and cached.

    What a transaction learns (a new case key, the case of a new row) is cached at once but
    forgotten again if that transaction rolls back: SQLite may reuse the ids it gave out."""

    def __init__(self, engine: Engine, keks: KeyEncryptionKeys | None) -> None:
        self._engine = weakref.ref(engine)
        self.keks = keks
        self._ciphers = _LRU(CACHE_SIZE)  # key id → AESGCM
        self._case_keys = _LRU(CACHE_SIZE)  # case id → key id
        self._row_cases = _LRU(CACHE_SIZE * 4)  # (table, row id) → case id
        self._index = _LRU(1)  # INDEX → the blind indexes' key
        self._shared: Key | None = None
        self._lock = threading.RLock()

    # --- sealing ---------------------------------------------------------------------------

    def for_sealing(self) -> Key:
        """The newest shared data key (created on a database that has none yet): for values of
        no case, and for any value not labelled with its case's key (storage.case_keys)."""
        if self._shared is None:
            with self._lock:
                if self._shared is None:
                    self._shared = self._newest_shared() or self._create_shared()
        return self._shared

    def for_case(self, conn: Connection, case_id: int) -> Key:
        """The data key of case `case_id`, read or made on `conn` (the writing transaction)."""
        with self._lock:
            key_id = self._case_keys.get(case_id)
            cipher = self._ciphers.get(key_id) if key_id is not None else None
            if key_id is not None and cipher is not None:
                return key_id, cipher
        row = conn.execute(
            select(DATAKEY.c.id, DATAKEY.c.wrapped, DATAKEY.c.kek_id)
            .where(DATAKEY.c.case_id == case_id, DATAKEY.c.destroyed_at.is_(None))
            .order_by(DATAKEY.c.id.desc())
            .limit(1)
        ).first()
        if row is None:
            key_id = add_data_key(conn, self._keks(), case_id=case_id)
            row = conn.execute(
                select(DATAKEY.c.id, DATAKEY.c.wrapped, DATAKEY.c.kek_id).where(
                    DATAKEY.c.id == key_id
                )
            ).one()
        key_id, wrapped, kek_id = row
        cipher = AESGCM(open_data_key(self._keks().by_id(), key_id, wrapped, kek_id))
        with self._lock:
            self._ciphers.put(key_id, cipher)
            self._case_keys.put(case_id, key_id)
        self.learned(conn, (self._ciphers, key_id), (self._case_keys, case_id))
        return key_id, cipher

    def index_key(self, conn: Connection) -> bytes:
        """The key of the blind indexes (storage.blind_index), read or made on `conn`."""
        with self._lock:
            known = self._index.get(INDEX)
        if known is not None:
            return bytes(known)
        query = select(DATAKEY.c.id, DATAKEY.c.wrapped, DATAKEY.c.kek_id).where(
            DATAKEY.c.purpose == INDEX
        )
        row = conn.execute(query.order_by(DATAKEY.c.id).limit(1)).first()
        if row is None:
            add_data_key(conn, self._keks(), purpose=INDEX)
            row = conn.execute(query.order_by(DATAKEY.c.id).limit(1)).one()
        key_id, wrapped, kek_id = row
        key = open_data_key(self._keks().by_id(), key_id, wrapped, kek_id)
        with self._lock:
            self._index.put(INDEX, key)
        self.learned(conn, (self._index, INDEX))
        return key

    def cached_case(self, row: tuple[str, int]) -> int | None:
        """The case of a (table, id) row, if known (storage.case_keys.case_of)."""
        with self._lock:
            found = self._row_cases.get(row)
        return None if found is None else int(found)

    def remember_case(self, conn: Connection, rows: list[tuple[str, int]], case_id: int) -> None:
        """Note the case of (table, id) rows read on `conn`."""
        with self._lock:
            for row in rows:
                self._row_cases.put(row, case_id)
        self.learned(conn, *((self._row_cases, row) for row in rows))

    def learned(self, conn: Connection, *entries: tuple[_LRU, Hashable]) -> None:
        """Note cache entries `conn`'s open transaction made, to drop if it rolls back."""
        conn.info.setdefault(_LEARNED, []).extend(entries)

    # --- opening ---------------------------------------------------------------------------

    def for_opening(self, key_id: int) -> AESGCM:
        """The cipher of data key `key_id`, unwrapped on first use."""
        with self._lock:
            cipher = self._ciphers.get(key_id)
        if cipher is not None:
            return cipher
        with self._engine_or_fail().connect() as conn:
            row = conn.execute(
                select(DATAKEY.c.wrapped, DATAKEY.c.kek_id, DATAKEY.c.destroyed_at).where(
                    DATAKEY.c.id == key_id
                )
            ).first()
        if row is None:
            raise WrongKey(f"data key {key_id} is not in this database")
        wrapped, kek_id, destroyed_at = row
        if destroyed_at is not None:
            raise KeyDestroyed(
                f"data key {key_id} was destroyed when its case's working copies were erased: "
                "values sealed under it cannot be opened any more"
            )
        cipher = AESGCM(open_data_key(self._keks().by_id(), key_id, wrapped, kek_id))
        with self._lock:
            self._ciphers.put(key_id, cipher)
        return cipher

    # --- upkeep ----------------------------------------------------------------------------

    def check(self) -> int:
        """Unwrap every live data key (WrongKey if the KEKs do not fit); how many there are."""
        keks = self._keks().by_id()
        with self._engine_or_fail().connect() as conn:
            rows = conn.execute(
                select(DATAKEY.c.id, DATAKEY.c.wrapped, DATAKEY.c.kek_id).where(
                    DATAKEY.c.destroyed_at.is_(None)
                )
            ).all()
        for key_id, wrapped, kek_id in rows:
            open_data_key(keks, key_id, wrapped, kek_id)
        return len(rows)

    def forget(self) -> None:
        """Drop the cached keys (a migration made or removed the table they came from)."""
        with self._lock:
            self._ciphers.clear()
            self._case_keys.clear()
            self._row_cases.clear()
            self._index.clear()
            self._shared = None

    def forget_case(self, case_id: int, key_ids: list[int]) -> None:
        """Drop a case's keys from the cache (they were just destroyed)."""
        with self._lock:
            self._case_keys.pop(case_id)
            for key_id in key_ids:
                self._ciphers.pop(key_id)

    def _rolled_back(self, conn: Connection) -> None:
        conn.info.pop(RESEAL, None)
        entries = conn.info.pop(_LEARNED, [])
        with self._lock:
            for cache, key in entries:
                cache.pop(key)

    def _committed(self, conn: Connection) -> None:
        conn.info.pop(_LEARNED, None)

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

    def _newest_shared(self) -> Key | None:
        with self._engine_or_fail().connect() as conn:
            shared = (
                [DATAKEY.c.case_id.is_(None), DATAKEY.c.purpose == SEAL]
                if _has_case_column(conn)
                else []
            )
            row = conn.execute(
                select(DATAKEY.c.id, DATAKEY.c.wrapped, DATAKEY.c.kek_id)
                .where(*shared)
                .order_by(DATAKEY.c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        key_id, wrapped, kek_id = row
        cipher = AESGCM(open_data_key(self._keks().by_id(), key_id, wrapped, kek_id))
        self._ciphers.put(key_id, cipher)
        return key_id, cipher

    def _create_shared(self) -> Key:
        with self._engine_or_fail().begin() as conn:
            add_data_key(conn, self._keks())
        key = self._newest_shared()
        assert key is not None
        return key


def _has_case_column(conn: Connection) -> bool:
    """Whether the datakey table has per-case keys yet (not while migrating up to them)."""
    return any(c["name"] == "case_id" for c in inspect(conn).get_columns("datakey"))


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


def add_data_key(
    conn: Connection, keks: KeyEncryptionKeys, *, case_id: int | None = None, purpose: str = SEAL
) -> int:
    """Store a new random key wrapped by the current KEK: a data key for case `case_id` or (None)
    the shared key of rows of no case, or the blind indexes' key; its id (the newest of its kind
    is used from now)."""
    values: dict[str, Any] = {
        "wrapped": wrap(keks.current, os.urandom(KEY_BYTES)),
        "kek_id": keks.current_id,
        "created_at": _now(conn),
    }
    if case_id is not None:
        values["case_id"] = case_id
    if purpose != SEAL:
        values["purpose"] = purpose
    result = conn.execute(insert(DATAKEY).values(values).returning(DATAKEY.c.id))
    return int(result.scalar_one())


def destroy_case_keys(conn: Connection, case_id: int) -> list[int]:
    """Crypto-shred case `case_id`: its data keys lose their wrapped bytes (the row stays, marked
    destroyed, so a value sealed under one says so); the ids of the keys destroyed."""
    key_ids = list(
        conn.execute(
            select(DATAKEY.c.id).where(
                DATAKEY.c.case_id == case_id, DATAKEY.c.destroyed_at.is_(None)
            )
        ).scalars()
    )
    if key_ids:
        conn.execute(
            update(DATAKEY)
            .where(DATAKEY.c.id.in_(key_ids))
            .values(wrapped="", destroyed_at=_now(conn))
        )
        keys_of(conn.dialect).forget_case(case_id, key_ids)
    return key_ids


def _now(conn: Connection) -> datetime:
    now = datetime.now(UTC)
    return now.replace(tzinfo=None) if conn.dialect.name == "sqlite" else now


def attach(engine: Engine, keks: KeyEncryptionKeys | None) -> None:
    """Give `engine` its data keys, opened with `keks` (None: sealing or opening fails clearly)."""
    keys = DataKeys(engine, keks)
    engine.dialect.coregroup_keys = keys  # type: ignore[attr-defined]
    event.listen(engine, "commit", keys._committed)
    event.listen(engine, "rollback", keys._rolled_back)


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
        rows = conn.execute(
            select(DATAKEY.c.id, DATAKEY.c.kek_id)
            .where(DATAKEY.c.destroyed_at.is_(None))
            .order_by(DATAKEY.c.id)
        ).all()
    todo = [key_id for key_id, kek_id in rows if kek_id != new_id]
    for key_id in todo:
        with engine.begin() as conn:
            wrapped, kek_id, destroyed_at = conn.execute(
                select(DATAKEY.c.wrapped, DATAKEY.c.kek_id, DATAKEY.c.destroyed_at)
                .where(DATAKEY.c.id == key_id)
                .with_for_update()
            ).one()
            if kek_id != new_id and destroyed_at is None:  # shredded meanwhile: nothing to wrap
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
    """How many live (not destroyed) data keys each KEK (by fingerprint) wraps."""
    with engine.connect() as conn:
        rows = (
            conn.execute(select(DATAKEY.c.kek_id).where(DATAKEY.c.destroyed_at.is_(None)))
            .scalars()
            .all()
        )
    counts: dict[str, int] = {}
    for kek_id in rows:
        counts[kek_id] = counts.get(kek_id, 0) + 1
    return counts
