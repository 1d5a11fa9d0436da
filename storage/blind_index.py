"""Blind indexes: a keyed hash of a sealed value, so the database can find a row by it.

`person.email` and `person.display_name` are sealed like case text; `person.email_index` and
`person.name_index` hold HMAC-SHA256 of each in its normal form under the index key, which is
kept in the `datakey` table wrapped by the KEK like a data key (purpose "index"). A chat
identity's handle (the first word of its name) is kept only as such a hash,
`chatidentity.handle_index`, hashed like a name so one hash of a typed name finds both. Equal
values have equal indexes; without the key an index reveals nothing of the value. A person's
indexes are set on every ORM insert and update of the value (a mapper event); a lookup hashes
what it is looking for (`email_index`, `name_index`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.orm import Mapper, attributes

from storage.keys import keys_of


def _index(conn: Connection, label: bytes, normal: str) -> str:
    key = keys_of(conn.dialect).index_key(conn)
    return hmac.new(key, label + normal.encode("utf-8"), hashlib.sha256).hexdigest()


def email_index(conn: Connection, email: str) -> str:
    """The blind index of an email address (compared in its normal form: trimmed, lower case)."""
    return _index(conn, b"coregroup:email:", email.strip().lower())


def name_index(conn: Connection, name: str) -> str:
    """The blind index of a name or handle (compared case- and space-insensitively: casefolded,
    runs of whitespace as one space, trimmed)."""
    return _index(conn, b"coregroup:name:", " ".join(name.split()).casefold())


def handle_of(name: str) -> str:
    """The handle a name is known by in a typed mention: its first word."""
    return name.split(" ")[0]


# Per table: the sealed attribute, the attribute holding its index, and how it is hashed.
INDEXED: dict[str, tuple[tuple[str, str, Callable[[Connection, str], str]], ...]] = {
    "person": (("email", "email_index", email_index), ("display_name", "name_index", name_index)),
}


def _index_values(mapper: Mapper[Any], conn: Connection, target: Any) -> None:
    indexed = INDEXED.get(mapper.local_table.name)  # type: ignore[attr-defined]
    if indexed is None:
        return
    state = attributes.instance_state(target)
    for attr, index_attr, index in indexed:
        if state.key is not None and not state.attrs[attr].history.has_changes():
            continue
        value = getattr(target, attr)
        setattr(target, index_attr, None if value is None else index(conn, value))


event.listen(Mapper, "before_insert", _index_values)
event.listen(Mapper, "before_update", _index_values)
