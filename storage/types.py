"""Column types that behave the same on SQLite and PostgreSQL: aware UTC times, sealed text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import ColumnElement, DateTime, MetaData, Text, cast, literal_column, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from storage.crypto import key_id_of, open_sealed, seal
from storage.keys import keys_of


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; SQLite's naive values come back tagged as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; every time must be aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class SealedText(str):
    """Text to be sealed under a given data key for a given row (None: not known yet): what
    storage.case_keys puts in a row's sealed attributes as it is written, so the column type
    seals it under the row's case key and binds it to the row."""

    seal_key: tuple[int, AESGCM]
    seal_row: int | None

    def __new__(cls, value: str, key: tuple[int, AESGCM], row: int | None) -> SealedText:
        text = super().__new__(cls, value)
        text.seal_key, text.seal_row = key, row
        return text


class SealedDict(dict[str, Any]):
    """A JSON document to be sealed under a given data key for a given row (see SealedText)."""

    seal_key: tuple[int, AESGCM]
    seal_row: int | None

    def __init__(self, value: dict[str, Any], key: tuple[int, AESGCM], row: int | None) -> None:
        super().__init__(value)
        self.seal_key, self.seal_row = key, row


class EncryptedText(TypeDecorator[str]):
    """Text sealed with AES-256-GCM, bound to its column.

    A value labelled by storage.case_keys (SealedText, SealedDict) is sealed under its case's
    data key and bound to its row; any other under the newest shared key, bound to its column
    only. `place` ("table.column") is set for every column by `label_encrypted_columns`; with
    the row id it is the associated data, so a value copied into another column or row fails to
    open (crypto.WontOpen). A SELECT reads the value prefixed with the id of the row it comes
    from (`column_expression`), which must be the row the value was sealed for.
    """

    impl = Text
    cache_ok = True

    def __init__(self, place: str = "") -> None:
        super().__init__()
        self.place = place

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        key = getattr(value, "seal_key", None)
        key_id, cipher = key if key is not None else keys_of(dialect).for_sealing()
        row = getattr(value, "seal_row", None)
        return seal(cipher, key_id, self.place, self._dump(value), row)

    def column_expression(self, colexpr: ColumnElement[Any]) -> ColumnElement[Any]:
        """`<row id>|<value>` when the column's table (or alias) has an id, so the value is
        checked against the row it is read from; the value alone otherwise (not checked)."""
        table = getattr(colexpr, "table", None)
        row_id = table.c.get("id") if table is not None else None
        if row_id is None:
            return colexpr
        return type_coerce(cast(row_id, Text) + literal_column("'|'") + colexpr, self)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        row_text, bar, stored = value.rpartition("|")
        row = int(row_text) if bar else None
        cipher = keys_of(dialect).for_opening(key_id_of(stored, self.place))
        return self._load(open_sealed(cipher, stored, self.place, row))

    def _dump(self, value: Any) -> str:
        return str(value)

    def _load(self, text: str) -> Any:
        return text


class EncryptedJSON(EncryptedText):
    """A JSON document sealed like EncryptedText (a queued Slack post holds case text)."""

    cache_ok = True

    def _dump(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    def _load(self, text: str) -> Any:
        return json.loads(text)


def label_encrypted_columns(metadata: MetaData) -> list[str]:
    """Tell each encrypted column's type where it lives; the "table.column" names, sorted."""
    places = []
    for table in metadata.tables.values():
        for col in table.columns:
            if isinstance(col.type, EncryptedText):
                col.type.place = f"{table.name}.{col.name}"
                places.append(col.type.place)
    return sorted(places)
