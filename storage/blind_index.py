"""Blind indexes: a keyed hash of a sealed value, so the database can find a row by it.

`person.email` is sealed like case text, and `person.email_index` holds HMAC-SHA256 of the
address in its normal form under the index key, which is kept in the `datakey` table wrapped by
the KEK like a data key (purpose "index"). Equal addresses have equal indexes; without the key
an index reveals nothing of the address. The index is set on every ORM insert and update of the
address (a mapper event), and a lookup hashes the address it is looking for (`email_index`).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.orm import Mapper, attributes

from storage.keys import keys_of


def email_index(conn: Connection, email: str) -> str:
    """The blind index of an email address (compared in its normal form: trimmed, lower case)."""
    key = keys_of(conn.dialect).index_key(conn)
    normal = email.strip().lower().encode("utf-8")
    return hmac.new(key, b"coregroup:email:" + normal, hashlib.sha256).hexdigest()


def _index_email(mapper: Mapper[Any], conn: Connection, target: Any) -> None:
    if mapper.local_table.name != "person":  # type: ignore[attr-defined]
        return
    state = attributes.instance_state(target)
    if state.key is not None and not state.attrs["email"].history.has_changes():
        return
    email = target.email
    target.email_index = None if email is None else email_index(conn, email)


event.listen(Mapper, "before_insert", _index_email)
event.listen(Mapper, "before_update", _index_email)
